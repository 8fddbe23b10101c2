/* zlib_yajl_ref.c - reference reader for bench/run: gunzip with zlib, split lines with memchr, yajl-parse each with empty callbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#include <zlib.h>

/* Every callback accepts and ignores its value: the cost measured is
 * inflate + line framing + yajl's lexer/parser, nothing else. */
static int on_null(void *ctx) { (void)ctx; return 1; }
static int on_bool(void *ctx, int b) { (void)ctx; (void)b; return 1; }
static int on_num(void *ctx, const char *s, size_t n) { (void)ctx; (void)s; (void)n; return 1; }
static int on_str(void *ctx, const unsigned char *s, size_t n) { (void)ctx; (void)s; (void)n; return 1; }
static int on_open(void *ctx) { (void)ctx; return 1; }
static int on_close(void *ctx) { (void)ctx; return 1; }

static const yajl_callbacks callbacks = {
    on_null, on_bool, NULL, NULL, on_num, on_str, on_open, on_str, on_close, on_open, on_close,
};

/* One handle for the whole file, each line one more top-level value (the
 * cheapest way to drive yajl line by line); yajl validates UTF-8 itself. */
static yajl_handle new_handle(void)
{
    yajl_handle h = yajl_alloc(&callbacks, NULL, NULL);
    if (!h) abort();
    yajl_config(h, yajl_allow_multiple_values, 1);
    return h;
}

int main(int argc, char **argv)
{
    enum { CHUNK = 1 << 18 };
    gzFile gz;
    yajl_handle h;
    char *buf;
    size_t cap = 1 << 20, len = 0;
    long long lines = 0, bad = 0, bytes = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: zlib_yajl_ref SLOG.jsonl.gz\n");
        return 64;
    }
    gz = gzopen(argv[1], "rb");
    if (!gz) {
        fprintf(stderr, "zlib_yajl_ref: cannot open %s\n", argv[1]);
        return 66;
    }
    gzbuffer(gz, CHUNK);
    h = new_handle();
    buf = malloc(cap);
    if (!buf) abort();
    for (;;) {
        int got;
        char *p, *nl, *end;
        if (cap - len < CHUNK) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) abort();
        }
        got = gzread(gz, buf + len, CHUNK);
        if (got < 0) {
            fprintf(stderr, "zlib_yajl_ref: gzread failed\n");
            return 74;
        }
        if (got == 0) break;
        bytes += got;
        len += (size_t)got;
        p = buf;
        end = buf + len;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            if (nl > p) {
                if (yajl_parse(h, (const unsigned char *)p, (size_t)(nl - p)) != yajl_status_ok ||
                    yajl_complete_parse(h) != yajl_status_ok) {
                    bad++; /* an errored handle stays errored: start a fresh one */
                    yajl_free(h);
                    h = new_handle();
                }
                lines++;
            }
            p = nl + 1;
        }
        len = (size_t)(end - p);
        memmove(buf, p, len);
    }
    printf("%lld lines, %lld bad, %lld bytes\n", lines, bad, bytes);
    yajl_free(h);
    free(buf);
    gzclose(gz);
    return 0;
}
