/* test_inflate.c - sp_inflate (ISA-L or zlib) on real slog bytes: split inputs and outputs, members, header fields, bad trailers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../ingest/sp_inflate.h"
#include "reader_util.h"
#include "sp_test.h"

#define BASIC SP_TEST_DATA "/basic/slog.jsonl.gz"

/* gzip member of p[0,n) by zlib's deflate, with optional header fields. */
static unsigned char *gz_member(const char *p, size_t n, int fields, size_t *outlen)
{
    z_stream zs;
    gz_header h;
    size_t cap = compressBound((uLong)n) + 256;
    unsigned char *out = sp_xmalloc(cap);
    memset(&zs, 0, sizeof zs);
    CHECK_INT(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    if (fields) {
        static unsigned char extra[] = "XYex";
        memset(&h, 0, sizeof h);
        h.name = (Bytef *)"slog.jsonl";
        h.comment = (Bytef *)"made by test_inflate";
        h.extra = extra;
        h.extra_len = 4;
        h.hcrc = 1;
        CHECK_INT(deflateSetHeader(&zs, &h), Z_OK);
    }
    zs.next_in = (Bytef *)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    CHECK_INT(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *outlen = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* Inflate gz[0,n) fed in pieces of at most `in_step` bytes into outputs of at
 * most `out_step`; returns the bytes produced (caller frees), the members
 * completed and the first bad reason (NULL if none). */
static char *inflate_all(const unsigned char *gz, size_t n, size_t in_step, size_t out_step, size_t *len,
                         int *members, const char **bad)
{
    struct sp_inflate *z = sp_inflate_new();
    size_t cap = 1 << 20, at = 0, used = 0;
    char *out = sp_xmalloc(cap);
    int open = 0;
    unsigned seed = 7;

    *members = 0;
    *bad = NULL;
    for (;;) {
        size_t produced = 0;
        int r;
        if (sp_inflate_pending(z) == 0) {
            size_t k;
            if (at == n) break;
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 8) % in_step;
            if (k > n - at) k = n - at;
            sp_inflate_feed(z, gz + at, k);
            at += k;
        }
        if (!open) {
            sp_inflate_member(z);
            open = 1;
        }
        if (cap - used < out_step) out = sp_xrealloc(out, cap *= 2);
        r = sp_inflate_run(z, out + used, 1 + (seed >> 4) % out_step, &produced, bad);
        used += produced;
        if (r == SP_INFLATE_END) {
            ++*members;
            open = 0;
        } else if (r == SP_INFLATE_BAD) {
            break;
        }
    }
    sp_inflate_free(z);
    *len = used;
    return out;
}

int main(void)
{
    size_t gzlen, ref_len, len, m1len, m2len;
    char *gz = ru_slurp(BASIC, &gzlen);
    char *ref = ru_gunzip(BASIC, &ref_len);
    const char *want = getenv("SLOGPIPE_INFLATE");
    const char *bad;
    int members;
    char *out;

    {
        struct sp_inflate *z = sp_inflate_new();
        fprintf(stderr, "  backend: %s\n", sp_inflate_backend(z));
        if (want && strcmp(want, "zlib") == 0) CHECK_STR(sp_inflate_backend(z), "zlib");
        sp_inflate_free(z);
    }

    /* the real sample, whole and in odd pieces both ways */
    out = inflate_all((unsigned char *)gz, gzlen, 1 << 16, 1 << 16, &len, &members, &bad);
    CHECK(bad == NULL);
    CHECK_INT(members, 1);
    CHECK(len == ref_len && memcmp(out, ref, ref_len) == 0);
    free(out);
    out = inflate_all((unsigned char *)gz, gzlen, 7, 301, &len, &members, &bad);
    CHECK(bad == NULL);
    CHECK_INT(members, 1);
    CHECK(len == ref_len && memcmp(out, ref, ref_len) == 0);
    free(out);

    /* two members, the second with name, comment, extra field and header CRC;
     * fed whole (the second member's bytes arrive behind the first trailer) and in pieces */
    {
        size_t cut = ref_len / 3;
        unsigned char *m1 = gz_member(ref, cut, 0, &m1len), *m2 = gz_member(ref + cut, ref_len - cut, 1, &m2len);
        unsigned char *two = sp_xmalloc(m1len + m2len);
        memcpy(two, m1, m1len);
        memcpy(two + m1len, m2, m2len);
        out = inflate_all(two, m1len + m2len, m1len + m2len, 1 << 16, &len, &members, &bad);
        CHECK(bad == NULL);
        CHECK_INT(members, 2);
        CHECK(len == ref_len && memcmp(out, ref, ref_len) == 0);
        free(out);
        out = inflate_all(two, m1len + m2len, 13, 4099, &len, &members, &bad);
        CHECK(bad == NULL);
        CHECK_INT(members, 2);
        CHECK(len == ref_len && memcmp(out, ref, ref_len) == 0);
        free(out);

        /* a wrong CRC-32 in the first trailer: every byte of the member, then bad */
        two[m1len - 8] ^= 0x40;
        out = inflate_all(two, m1len + m2len, 4096, 1 << 16, &len, &members, &bad);
        CHECK(bad != NULL && strstr(bad, "incorrect data check") != NULL);
        CHECK_INT(members, 0);
        CHECK(len == cut && memcmp(out, ref, cut) == 0);
        free(out);
        two[m1len - 8] ^= 0x40;

        /* a wrong length (ISIZE) in the first trailer */
        two[m1len - 1] ^= 0x01;
        out = inflate_all(two, m1len + m2len, 4096, 1 << 16, &len, &members, &bad);
        CHECK(bad != NULL && (strstr(bad, "incorrect length check") || strstr(bad, "incorrect data check")));
        CHECK_INT(members, 0);
        free(out);
        two[m1len - 1] ^= 0x01;

        /* not gzip behind a complete member */
        memcpy(two + m1len, "this is not gzip", 16);
        out = inflate_all(two, m1len + 16, 4096, 1 << 16, &len, &members, &bad);
        CHECK(bad != NULL);
        CHECK_INT(members, 1);
        CHECK(len == cut);
        free(out);
        free(m1);
        free(m2);
        free(two);
    }

    /* one byte at a time: the header with every optional field (and its CRC) in pieces */
    {
        unsigned char *m = gz_member(ref, 5000, 1, &m1len);
        out = inflate_all(m, m1len, 1, 1, &len, &members, &bad);
        CHECK(bad == NULL);
        CHECK_INT(members, 1);
        CHECK(len == 5000 && memcmp(out, ref, 5000) == 0);
        free(out);
        m[m1len - 8] ^= 0x01;
        out = inflate_all(m, m1len, 1, 3, &len, &members, &bad);
        CHECK(bad != NULL && strstr(bad, "incorrect data check") != NULL);
        free(out);
        m[m1len - 8] ^= 0x01;
        m[10 + 2 + 4 + 11 + 21] ^= 0x01; /* the header CRC: after the fixed part, extra (length + 4), name, comment */
        out = inflate_all(m, m1len, 1, 3, &len, &members, &bad);
        CHECK(bad != NULL && strstr(bad, "header crc mismatch") != NULL);
        CHECK_INT(len, 0);
        free(out);
        free(m);
    }

    /* a deflate block of the reserved type 3 right after the header */
    {
        unsigned char *m = gz_member(ref, 1000, 0, &m1len);
        m[10] = 0x07;
        out = inflate_all(m, m1len, 4096, 1 << 16, &len, &members, &bad);
        CHECK(bad != NULL && (strstr(bad, "invalid block type") || strstr(bad, "invalid deflate block")));
        CHECK_INT(len, 0);
        free(out);
        free(m);
    }
    free(gz);
    free(ref);
    return TEST_DONE();
}
