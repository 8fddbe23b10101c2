/* sp_core.c - errors, slices, allocation, logging, excerpts, UTF-8 checks. */
#define _POSIX_C_SOURCE 200809L
#include "sp_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sp_log_level = SP_LOG_INFO;

int sp_err_set(struct sp_err *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->rc = rc;
    }
    return rc;
}

int sp_err_prefix(struct sp_err *err, const char *fmt, ...)
{
    char pre[256], old[sizeof(err->msg)];
    va_list ap;

    if (!err) return SP_OK;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    {
        /* pre + old, cut to the buffer (truncation is intended) */
        size_t a = strnlen(pre, sizeof(pre)), b = strnlen(old, sizeof(old));
        if (a > sizeof(err->msg) - 1) a = sizeof(err->msg) - 1;
        if (b > sizeof(err->msg) - 1 - a) b = sizeof(err->msg) - 1 - a;
        memcpy(err->msg, pre, a);
        memcpy(err->msg + a, old, b);
        err->msg[a + b] = '\0';
    }
    return err->rc;
}

void sp_err_clear(struct sp_err *err)
{
    if (err) {
        err->rc = SP_OK;
        err->msg[0] = '\0';
    }
}

struct sp_str sp_str_c(const char *cstr)
{
    struct sp_str s = {cstr, cstr ? strlen(cstr) : 0};
    return s;
}

int sp_str_eq(struct sp_str a, struct sp_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int sp_str_eq_c(struct sp_str a, const char *cstr)
{
    return sp_str_eq(a, sp_str_c(cstr));
}

char *sp_str_to_buf(struct sp_str s, char *dst, size_t cap)
{
    size_t n = s.n < cap - 1 ? s.n : cap - 1;
    if (n) memcpy(dst, s.p, n);
    dst[n] = '\0';
    return dst;
}

static void oom(size_t n)
{
    fprintf(stderr, "slogpipe: out of memory allocating %zu bytes\n", n);
    abort();
}

void *sp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *sp_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p) oom(nmemb * size);
    return p;
}

void *sp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *sp_xstrdup(const char *s)
{
    return sp_xstrndup(s, strlen(s));
}

char *sp_xstrndup(const char *s, size_t n)
{
    char *d = sp_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void sp_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    va_list ap;

    if (level > sp_log_level) return;
    fprintf(stderr, "slogpipe: %s: ", names[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

uint64_t sp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double sp_now_s(void)
{
    return (double)sp_now_ns() / 1e9;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0; /* UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

int sp_utf8_valid(const char *s, size_t n, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t k;
        /* fast path: 8 ASCII bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        k = utf8_seq(p + i, n - i);
        if (!k) {
            if (bad_at) *bad_at = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

char *sp_excerpt(const char *s, size_t n, size_t max, char *dst, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;

    if (cap == 0) return dst;
    while (i < n && i < max && o + 4 < cap) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)) k = 0;
        if (k == 0) {
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + k + 4 >= cap) break;
        memcpy(dst + o, p + i, k);
        o += k;
        i += k;
    }
    if (i < n && o + 3 < cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}
