/* reader_util.h - helpers shared by the reader unit tests: temp dirs, files, whole-file gunzip via zlib's gz* API. */
#ifndef READER_UTIL_H
#define READER_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../../core/sp_core.h"
#include "../../ingest/sp_input.h"

/* A reader on path, or exit(2) naming why it could not open. */
static inline struct sp_reader *ru_open(const char *path, size_t max_line, int follow)
{
    struct sp_reader_opts o = {max_line, follow};
    struct sp_reader *r = NULL;
    struct sp_err err = {0};
    int rc = sp_reader_open(&r, path, &o, &err);
    if (rc != SP_OK) {
        fprintf(stderr, "open %s: %d %s\n", path, rc, err.msg);
        exit(2);
    }
    return r;
}

/* A fresh temp dir (mkdtemp); caller frees the path (and the dir is removed by ru_rmrf). */
static inline char *ru_tmpdir(void)
{
    char tmpl[] = "/tmp/sp_reader_test.XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) {
        perror("mkdtemp");
        exit(2);
    }
    return sp_xstrdup(d);
}

static inline char *ru_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = sp_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static inline void ru_write(const char *path, const void *p, size_t n, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static inline void ru_write_str(const char *path, const char *s, const char *mode)
{
    ru_write(path, s, strlen(s), mode);
}

/* Append one gzip member holding p[0, n) to path (creating it). */
static inline void ru_gz_member(const char *path, const void *p, size_t n, const char *mode)
{
    gzFile g = gzopen(path, mode); /* "wb" = new file, "ab" = append another member */
    if (!g || (n && gzwrite(g, p, (unsigned)n) != (int)n) || gzclose(g) != Z_OK) {
        fprintf(stderr, "gz write %s failed\n", path);
        exit(2);
    }
}

static inline long long ru_slurp_len(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Whole raw file into memory. */
static inline char *ru_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 20, n = 0;
    char *b = sp_xmalloc(cap);
    if (!f) {
        perror(path);
        exit(2);
    }
    for (;;) {
        size_t k;
        if (n == cap) b = sp_xrealloc(b, cap *= 2);
        k = fread(b + n, 1, cap - n, f);
        if (k == 0) break;
        n += k;
    }
    fclose(f);
    *len = n;
    return b;
}

/* Decompress a whole .gz (all members) with zlib's gz* API: the reference the reader is checked against.
 * Returns what gzread delivered (for a truncated file: everything it could decode). */
static inline char *ru_gunzip(const char *path, size_t *len)
{
    gzFile g = gzopen(path, "rb");
    size_t cap = 16 << 20, n = 0;
    char *b = sp_xmalloc(cap);
    if (!g) {
        fprintf(stderr, "gzopen %s failed\n", path);
        exit(2);
    }
    gzbuffer(g, 256 * 1024);
    for (;;) {
        int k;
        if (cap - n < (1 << 20)) b = sp_xrealloc(b, cap *= 2);
        k = gzread(g, b + n, 1 << 20);
        if (k <= 0) break;
        n += (size_t)k;
    }
    gzclose(g);
    *len = n;
    return b;
}

/* Line index of a buffer: starts[i] = offset of line i+1 (0-based array), count lines ending in '\n'
 * (plus a final unterminated one if final_partial). */
struct ru_lines {
    size_t *start, *len;
    size_t n;
};

static inline void ru_index(const char *b, size_t n, int final_partial, struct ru_lines *out)
{
    size_t cap = 1024, i = 0, pos = 0;
    out->start = sp_xmalloc(cap * sizeof(size_t));
    out->len = sp_xmalloc(cap * sizeof(size_t));
    while (pos < n) {
        const char *nl = memchr(b + pos, '\n', n - pos);
        if (!nl && !final_partial) break;
        if (i == cap) {
            cap *= 2;
            out->start = sp_xrealloc(out->start, cap * sizeof(size_t));
            out->len = sp_xrealloc(out->len, cap * sizeof(size_t));
        }
        out->start[i] = pos;
        out->len[i] = nl ? (size_t)(nl - (b + pos)) : n - pos;
        i++;
        pos = nl ? (size_t)(nl - b) + 1 : n;
    }
    out->n = i;
}

static inline void ru_lines_free(struct ru_lines *l)
{
    free(l->start);
    free(l->len);
}

static inline void ru_rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

#endif
