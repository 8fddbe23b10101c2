/* sp_buf.h - growable byte buffer with a hard size cap, and a reset-not-free arena. */
#ifndef SP_BUF_H
#define SP_BUF_H

#include "sp_core.h"

#include <string.h>

/*
 * struct sp_buf: caller-owned (sp_buf_init / sp_buf_free). Grows by doubling
 * up to `cap` bytes; sp_buf_reserve returns SP_EBADINPUT (not an abort) when
 * the cap would be exceeded, so a hostile 100 MB line is an error, not an OOM.
 * The contents are always followed by a NUL byte (not counted in len), so a
 * buffer can be handed to strtod & co.
 */
struct sp_buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap;
};

void sp_buf_init(struct sp_buf *b, size_t cap);
void sp_buf_free(struct sp_buf *b);
static inline void sp_buf_reset(struct sp_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}
/* Ensure room for `extra` more bytes (+ NUL). */
int sp_buf_reserve(struct sp_buf *b, size_t extra);
/* sp_buf_reserve with the common case (room already there) inline. */
static inline int sp_buf_ensure(struct sp_buf *b, size_t extra)
{
    return extra < b->alloc - b->len ? SP_OK : sp_buf_reserve(b, extra);
}
/* Append n bytes / a C string / one byte. Inline: the JSON encoders call
 * them for every key and value, and the room check is one compare. */
static inline int sp_buf_append(struct sp_buf *b, const void *p, size_t n)
{
    if (sp_buf_ensure(b, n) != SP_OK) return SP_EBADINPUT;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SP_OK;
}
static inline int sp_buf_append_c(struct sp_buf *b, const char *s)
{
    return sp_buf_append(b, s, strlen(s));
}
static inline int sp_buf_putc(struct sp_buf *b, char c)
{
    return sp_buf_append(b, &c, 1);
}
int sp_buf_printf(struct sp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (quotes included, escapes applied).
 * Invalid UTF-8 bytes are written as \ufffd. */
int sp_buf_json_str(struct sp_buf *b, const char *s, size_t n);
/* Drop the first n bytes (memmove). */
void sp_buf_consume(struct sp_buf *b, size_t n);

/*
 * struct sp_arena: bump allocator for per-line / per-batch strings. Reset
 * (O(1)) between batches; memory is reused, never freed until sp_arena_free.
 * Pointers returned are valid until the next sp_arena_reset.
 */
struct sp_arena_block;
struct sp_arena {
    struct sp_arena_block *head; /* current block */
    struct sp_arena_block *free_list;
    size_t block_size;
};

void sp_arena_init(struct sp_arena *a, size_t block_size);
void sp_arena_free(struct sp_arena *a);
void sp_arena_reset(struct sp_arena *a);
void *sp_arena_alloc(struct sp_arena *a, size_t n);
/* Copy bytes into the arena; returns a slice of the copy. */
struct sp_str sp_arena_dup(struct sp_arena *a, const char *p, size_t n);

#endif
