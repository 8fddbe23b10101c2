/* sp_inflate.h - gzip members inflated by ISA-L's igzip when slogpipe is built with it, else by zlib. */
#ifndef SP_INFLATE_H
#define SP_INFLATE_H

#include <stddef.h>

/*
 * One gzip member at a time: the caller feeds compressed bytes, starts each
 * member (multi-member / concatenated .gz files), and runs the inflater
 * into its own output buffer. Both backends check the member's header and
 * its CRC-32 trailer; they differ only in speed (igzip inflates ~2x faster
 * than zlib on these machines) and in the wording of corrupt-data reasons.
 *
 * Backend: ISA-L when the build found libisal (CMake option SP_ISAL,
 * SP_HAVE_ISAL) unless the environment variable SLOGPIPE_INFLATE is "zlib"
 * (for comparisons and for the tests of both paths); zlib otherwise.
 *
 * Ownership: the inflater is the caller's (sp_inflate_free); fed bytes stay
 * the caller's and must stay valid until consumed (sp_inflate_pending == 0)
 * or discarded. Out of memory aborts, as sp_xmalloc does.
 */
struct sp_inflate;

enum {
    SP_INFLATE_MORE = 0, /* needs more input or more output room */
    SP_INFLATE_END = 1,  /* the member is complete, trailer checked */
    SP_INFLATE_BAD = 2   /* corrupt data: *why says how (static text) */
};

struct sp_inflate *sp_inflate_new(void);
void sp_inflate_free(struct sp_inflate *z);

/* Start a new gzip member; input fed and not consumed yet is kept. */
void sp_inflate_member(struct sp_inflate *z);

/* Drop input fed and not consumed (after an error, or to restart). */
void sp_inflate_discard(struct sp_inflate *z);

/* Give the next compressed bytes (only when sp_inflate_pending is 0). */
void sp_inflate_feed(struct sp_inflate *z, const void *p, size_t n);

/* Compressed bytes fed and not consumed yet. */
size_t sp_inflate_pending(const struct sp_inflate *z);

/* Inflate into out[0, cap); *produced = bytes written. */
int sp_inflate_run(struct sp_inflate *z, void *out, size_t cap, size_t *produced, const char **why);

/* "isa-l" or "zlib": the backend this inflater uses. */
const char *sp_inflate_backend(const struct sp_inflate *z);

#endif
