/* sp_inflate.c - gzip member inflation: ISA-L's igzip (when built with it) or zlib, behind one small interface. */
#include "sp_inflate.h"
#include "../core/sp_core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef SP_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

/*
 * Why two backends: gunzip is a fifth of a whole ingest's CPU, and Debian's
 * ISA-L (libisal2, Intel's igzip) inflates the same gzip streams at about
 * twice zlib's speed here (docs/performance.md). It is optional: a build
 * without libisal-dev uses zlib, and SLOGPIPE_INFLATE=zlib selects zlib at
 * run time in a build with it.
 *
 * With ISA-L, zlib still reads each member's gzip header (inflate with
 * Z_BLOCK stops right after it) and igzip gets the deflate data and the
 * trailer (ISAL_GZIP_NO_HDR_VER: CRC-32 and length checked). igzip 2.30
 * parses headers itself, but rejects a valid header CRC (FHCRC) when the
 * header arrives in more than one piece (tests/unit/test_inflate.c feeds
 * one byte at a time); zlib's header reader has no such limit.
 */
struct sp_inflate {
    int isal;  /* 1: igzip inflates the deflate data */
    int body;  /* isal: the header is read, igzip holds the input */
    z_stream zs; /* zlib: the whole member; with isal: its header */
#ifdef SP_HAVE_ISAL
    struct inflate_state *is;
#endif
};

struct sp_inflate *sp_inflate_new(void)
{
    struct sp_inflate *z = sp_xcalloc(1, sizeof(*z));
    /* 15 + 16: gzip members only (the stream was sniffed as gzip: 1f 8b) */
    if (inflateInit2(&z->zs, 15 + 16) != Z_OK) {
        sp_error("inflateInit2: out of memory");
        abort();
    }
#ifdef SP_HAVE_ISAL
    const char *want = getenv("SLOGPIPE_INFLATE");
    if (!want || strcmp(want, "zlib") != 0) {
        z->isal = 1;
        z->is = sp_xmalloc(sizeof(*z->is));
        isal_inflate_init(z->is);
    }
#endif
    return z;
}

void sp_inflate_free(struct sp_inflate *z)
{
    if (!z) return;
#ifdef SP_HAVE_ISAL
    free(z->is);
#endif
    inflateEnd(&z->zs);
    free(z);
}

void sp_inflate_member(struct sp_inflate *z)
{
#ifdef SP_HAVE_ISAL
    if (z->body) { /* the next member's bytes may already be fed, behind the trailer */
        z->zs.next_in = z->is->next_in;
        z->zs.avail_in = z->is->avail_in;
        z->is->avail_in = 0;
        z->body = 0;
    }
#endif
    inflateReset(&z->zs); /* keeps next_in / avail_in */
}

void sp_inflate_discard(struct sp_inflate *z)
{
#ifdef SP_HAVE_ISAL
    if (z->is) {
        z->is->next_in = NULL;
        z->is->avail_in = 0;
    }
#endif
    z->zs.next_in = NULL;
    z->zs.avail_in = 0;
}

void sp_inflate_feed(struct sp_inflate *z, const void *p, size_t n)
{
    /* callers feed at most one read chunk (SP_READ_CHUNK) at a time */
#ifdef SP_HAVE_ISAL
    if (z->body) {
        z->is->next_in = (uint8_t *)p;
        z->is->avail_in = (uint32_t)n;
        return;
    }
#endif
    z->zs.next_in = (Bytef *)p;
    z->zs.avail_in = (uInt)n;
}

size_t sp_inflate_pending(const struct sp_inflate *z)
{
#ifdef SP_HAVE_ISAL
    if (z->body) return z->is->avail_in;
#endif
    return z->zs.avail_in;
}

#ifdef SP_HAVE_ISAL
static const char *isal_why(int r)
{
    switch (r) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
    case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
    default: return "inflate error";
    }
}

/* igzip on the deflate data and trailer of the member whose header zlib read. */
static int isal_run(struct sp_inflate *z, void *out, size_t cap, size_t *produced, const char **why)
{
    struct inflate_state *s = z->is;
    int r;

    s->next_out = out;
    s->avail_out = (uint32_t)cap;
    r = isal_inflate(s);
    *produced = cap - s->avail_out;
    if (r != ISAL_DECOMP_OK && r != ISAL_END_INPUT && r != ISAL_OUT_OVERFLOW) {
        *why = isal_why(r);
        return SP_INFLATE_BAD;
    }
    return s->block_state == ISAL_BLOCK_FINISH ? SP_INFLATE_END : SP_INFLATE_MORE;
}
#endif

int sp_inflate_run(struct sp_inflate *z, void *out, size_t cap, size_t *produced, const char **why)
{
    int zr;

    if (cap > UINT32_MAX) cap = UINT32_MAX;
#ifdef SP_HAVE_ISAL
    if (z->body) return isal_run(z, out, cap, produced, why);
#endif
    z->zs.next_out = out;
    z->zs.avail_out = (uInt)cap;
    /* with igzip, zlib stops right after the header (nothing is written) */
    zr = inflate(&z->zs, z->isal ? Z_BLOCK : Z_NO_FLUSH);
    *produced = cap - z->zs.avail_out;
    if (zr == Z_STREAM_END) return SP_INFLATE_END;
    if (zr != Z_OK && zr != Z_BUF_ERROR) {
        *why = z->zs.msg ? z->zs.msg : zr == Z_NEED_DICT ? "needs a dictionary" : "inflate error";
        return SP_INFLATE_BAD;
    }
#ifdef SP_HAVE_ISAL
    if (z->isal && (z->zs.data_type & 128)) { /* header read: the deflate data is next */
        isal_inflate_reset(z->is);
        z->is->crc_flag = ISAL_GZIP_NO_HDR_VER;
        z->is->next_in = z->zs.next_in;
        z->is->avail_in = z->zs.avail_in;
        z->zs.avail_in = 0;
        z->body = 1;
        return isal_run(z, out, cap, produced, why);
    }
#endif
    return SP_INFLATE_MORE;
}

const char *sp_inflate_backend(const struct sp_inflate *z)
{
    return z->isal ? "isa-l" : "zlib";
}
