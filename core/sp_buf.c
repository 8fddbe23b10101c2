/* sp_buf.c - growable capped buffer and bump arena. */
#include "sp_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sp_buf_init(struct sp_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap ? cap : SIZE_MAX / 2;
}

void sp_buf_free(struct sp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

int sp_buf_reserve(struct sp_buf *b, size_t extra)
{
    size_t need, na;

    if (extra > b->cap || b->len > b->cap - extra) return SP_EBADINPUT;
    need = b->len + extra + 1;
    if (need <= b->alloc) return SP_OK;
    na = b->alloc ? b->alloc : 256;
    while (na < need) na *= 2;
    if (na > b->cap + 1) na = b->cap + 1;
    b->data = sp_xrealloc(b->data, na);
    b->alloc = na;
    return SP_OK;
}

int sp_buf_printf(struct sp_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[256];

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return SP_EINTERNAL;
    if ((size_t)n < sizeof(small)) return sp_buf_append(b, small, (size_t)n);
    if (sp_buf_reserve(b, (size_t)n) != SP_OK) return SP_EBADINPUT;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SP_OK;
}

int sp_buf_json_str(struct sp_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;

    if (sp_buf_reserve(b, n + 2) != SP_OK) return SP_EBADINPUT;
    sp_buf_putc(b, '"');
    while (i < n) {
        unsigned char c;
        /* 8 bytes at a time while none needs a look (SWAR: no byte < 0x20,
         * no '"' or '\\', no byte >= 0x80): most strings are plain ASCII.
         * The lowest such byte always sets its high bit in one of the terms
         * (no borrow reaches it from the plain bytes below it); bytes above
         * it may too, which only ends the fast run early. */
        while (n - i >= 8) {
            uint64_t x, q, bs;
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            memcpy(&x, p + i, 8);
            q = x ^ (ones * '"');
            bs = x ^ (ones * '\\');
            if (((x - ones * 0x20) | (q - ones) | (bs - ones) | x) & highs) break;
            run += 8;
            i += 8;
        }
        if (i == n) break;
        c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            run++;
            i++;
            continue;
        }
        if (run) {
            if (sp_buf_append(b, p + i - run, run)) return SP_EBADINPUT;
            run = 0;
        }
        if (c >= 0x80) {
            size_t bad = 0, k = n - i < 4 ? n - i : 4, len = 1;
            /* find the length of this sequence by validating a prefix */
            while (len <= k && !sp_utf8_valid((const char *)p + i, len, &bad)) len++;
            if (len <= k) {
                if (sp_buf_append(b, p + i, len)) return SP_EBADINPUT;
                i += len;
            } else {
                if (sp_buf_append(b, "\\ufffd", 6)) return SP_EBADINPUT;
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': sp_buf_append(b, "\\\"", 2); break;
        case '\\': sp_buf_append(b, "\\\\", 2); break;
        case '\n': sp_buf_append(b, "\\n", 2); break;
        case '\r': sp_buf_append(b, "\\r", 2); break;
        case '\t': sp_buf_append(b, "\\t", 2); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            if (sp_buf_append(b, e, 6)) return SP_EBADINPUT;
        }
        }
        i++;
    }
    if (run && sp_buf_append(b, p + i - run, run)) return SP_EBADINPUT;
    return sp_buf_putc(b, '"');
}

void sp_buf_consume(struct sp_buf *b, size_t n)
{
    if (n >= b->len) {
        sp_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

struct sp_arena_block {
    struct sp_arena_block *next;
    size_t size, used;
    char mem[];
};

void sp_arena_init(struct sp_arena *a, size_t block_size)
{
    a->head = NULL;
    a->free_list = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
}

static void free_chain(struct sp_arena_block *b)
{
    while (b) {
        struct sp_arena_block *n = b->next;
        free(b);
        b = n;
    }
}

void sp_arena_free(struct sp_arena *a)
{
    free_chain(a->head);
    free_chain(a->free_list);
    a->head = a->free_list = NULL;
}

void sp_arena_reset(struct sp_arena *a)
{
    /* Keep standard-size blocks for reuse; give oversized ones back. */
    struct sp_arena_block *b = a->head;
    while (b) {
        struct sp_arena_block *n = b->next;
        if (b->size == a->block_size) {
            b->used = 0;
            b->next = a->free_list;
            a->free_list = b;
        } else {
            free(b);
        }
        b = n;
    }
    a->head = NULL;
}

void *sp_arena_alloc(struct sp_arena *a, size_t n)
{
    struct sp_arena_block *b = a->head;
    size_t need = (n + 7) & ~(size_t)7;

    if (!b || b->size - b->used < need) {
        if (need <= a->block_size && a->free_list) {
            b = a->free_list;
            a->free_list = b->next;
        } else {
            size_t sz = need > a->block_size ? need : a->block_size;
            b = sp_xmalloc(sizeof(*b) + sz);
            b->size = sz;
        }
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    b->used += need;
    return b->mem + b->used - need;
}

struct sp_str sp_arena_dup(struct sp_arena *a, const char *p, size_t n)
{
    char *d = sp_arena_alloc(a, n + 1);
    if (n) memcpy(d, p, n);
    d[n] = '\0';
    return sp_str_make(d, n);
}
