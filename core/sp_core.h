/* sp_core.h - shared basics: string slices, errors, logging, allocation. */
#ifndef SP_CORE_H
#define SP_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define SP_VERSION "0.1.0"

/*
 * Result codes. Every fallible function returns one of these (0 = success)
 * and, when it fails, fills the caller's struct sp_err with a message that
 * already carries the context (file:line, topic/partition@offset, SQL step).
 * Whoever decides what to do with an error logs it; whoever only detects it
 * returns it.
 */
enum sp_rc {
    SP_OK = 0,
    SP_EOF = 1,        /* end of input: not an error */
    SP_AGAIN = 2,      /* nothing available now (follow mode, Kafka poll) */
    SP_EBADINPUT = -1, /* one bad record: counted, dead-lettered, run goes on */
    SP_EIO = -2,       /* read/write/OS failure: stops the source or sink */
    SP_ESINK = -3,     /* sink failure (SQLite, Kafka produce) */
    SP_EUSAGE = -4,    /* bad option or configuration */
    SP_ENOMEM = -5,
    SP_EINTERNAL = -6,
    SP_ENOINPUT = -7   /* an input could not be opened or read (exit 66) */
};

/* Error carrier: fixed size, lives on the caller's stack, never allocated. */
struct sp_err {
    int rc;
    char msg[512];
};

/* Set err (if non-NULL) to rc and a printf-style message; returns rc. */
int sp_err_set(struct sp_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message with more context ("file.gz:12: " + msg). */
int sp_err_prefix(struct sp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sp_err_clear(struct sp_err *err);

/*
 * A length-delimited, non-owning view of bytes (not NUL-terminated). Its
 * owner is stated where a slice is handed out; slices into a per-line or
 * per-batch arena die when that arena is reset.
 */
struct sp_str {
    const char *p;
    size_t n;
};
#define SP_STR_NULL ((struct sp_str){NULL, 0})
#define SP_STR_LIT(s) ((struct sp_str){(s), sizeof(s) - 1})
static inline struct sp_str sp_str_make(const char *p, size_t n)
{
    struct sp_str s = {p, n};
    return s;
}
struct sp_str sp_str_c(const char *cstr); /* view of a C string; NULL -> {NULL,0} */
int sp_str_eq(struct sp_str a, struct sp_str b);
int sp_str_eq_c(struct sp_str a, const char *cstr);
/* Copy into a NUL-terminated buffer of size cap (truncating); returns dst. */
char *sp_str_to_buf(struct sp_str s, char *dst, size_t cap);

/* Allocation: out of memory aborts the process with a message (Redis-style);
 * callers never check for NULL. */
void *sp_xmalloc(size_t n);
void *sp_xcalloc(size_t nmemb, size_t size);
void *sp_xrealloc(void *p, size_t n);
char *sp_xstrdup(const char *s);
char *sp_xstrndup(const char *s, size_t n);

/* Logging to stderr. Levels: 0 error, 1 warn, 2 info, 3 debug. */
enum sp_log_level { SP_LOG_ERROR = 0, SP_LOG_WARN, SP_LOG_INFO, SP_LOG_DEBUG };
extern int sp_log_level;
void sp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define sp_error(...) sp_log(SP_LOG_ERROR, __VA_ARGS__)
#define sp_warn(...) sp_log(SP_LOG_WARN, __VA_ARGS__)
#define sp_info(...) sp_log(SP_LOG_INFO, __VA_ARGS__)
#define sp_debug(...)                                                     \
    do {                                                                  \
        if (sp_log_level >= SP_LOG_DEBUG) sp_log(SP_LOG_DEBUG, __VA_ARGS__); \
    } while (0)

/* Monotonic clock in nanoseconds / seconds. */
uint64_t sp_now_ns(void);
double sp_now_s(void);

/*
 * Make a printable excerpt of untrusted bytes for error messages and the
 * dead-letter table: at most max bytes, control bytes and invalid UTF-8
 * replaced by '?', an ellipsis when cut. Writes a NUL-terminated string of
 * at most cap bytes into dst; returns dst.
 */
char *sp_excerpt(const char *p, size_t n, size_t max, char *dst, size_t cap);

/* Validate UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
 * Returns 1 if valid; else 0 and *bad_at = offset of the first bad byte. */
int sp_utf8_valid(const char *p, size_t n, size_t *bad_at);

#endif
