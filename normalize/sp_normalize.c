/* sp_normalize.c - one slog JSON line -> struct sp_event via yajl's callback parser (no tree, no malloc per line). */
#include "sp_normalize.h"

#include "../core/sp_buf.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#define MAX_DEPTH 1000 /* deeper nesting is rejected (bad input, not a crash) */
#define MAX_KEY_LEN 32 /* longest known key / type name bucket index */
#define MAX_TYPE_LEN 64

/* What a known top-level key holds. */
enum kind {
    K_TYPE,   /* the event type: string */
    K_STR,    /* string kept as a slice */
    K_INT,    /* integral number fitting int64 */
    K_DBL,    /* any number */
    K_BOOL,   /* true / false */
    K_RAW,    /* any JSON value, kept as the exact input bytes */
    K_SIZE    /* any JSON value, only its byte size is kept (vatSourceBundle) */
};

/* Where a field lands: in the event, or in the alias scratch (resolved after the line). */
enum base { B_EV, B_AL };

/* Aliases and fields whose meaning depends on the type: resolved once the whole object is read. */
struct alias {
    uint32_t has;
    struct sp_str hash;      /* heap-snapshot-*: hash (alias of snapshotID) */
    struct sp_str syscall;   /* syscall / syscall-result: `syscall` (>=u20) */
    struct sp_str source;    /* console/slogger source, or bridge-inbound source */
    struct sp_str vd0, vsc0; /* first elements of vd / vsc when strings */
    struct sp_str msg_type;  /* message.type */
    int64_t snap_pos, end_pos, raw_bytes, comp_bytes, compute;
    double raw_save;
};
enum {
    AL_SNAP_POS = 1u << 0,
    AL_END_POS = 1u << 1,
    AL_RAW_BYTES = 1u << 2,
    AL_COMP_BYTES = 1u << 3,
    AL_RAW_SAVE = 1u << 4,
    AL_COMPUTE = 1u << 5
};

/* Sub-values inside the top-level value that we look into. */
enum sub { SUB_NONE = 0, SUB_VD, SUB_VSC, SUB_DR, SUB_MESSAGE };

struct field {
    const char *name;
    uint8_t len;
    uint8_t kind;
    uint8_t base;
    uint8_t sub;
    uint32_t has; /* SP_HAS_* (B_EV) or AL_* (B_AL) bit set when present; 0 for slices */
    size_t off;   /* offsetof target in struct sp_event / struct alias */
};

#define EV(name, kind, has, member, sub) \
    {name, sizeof(name) - 1, kind, B_EV, sub, has, offsetof(struct sp_event, member)}
#define AL(name, kind, has, member) \
    {name, sizeof(name) - 1, kind, B_AL, SUB_NONE, has, offsetof(struct alias, member)}

/* Every top-level key we understand (agoric-formats.md §2.2-§2.4). Index = field id (< 64). */
static const struct field fields[] = {
    EV("type", K_TYPE, 0, type_name, SUB_NONE),
    EV("time", K_DBL, SP_HAS_TIME, time, SUB_NONE),
    EV("monotime", K_DBL, SP_HAS_MONOTIME, monotime, SUB_NONE),
    EV("seconds", K_DBL, SP_HAS_SECONDS, seconds, SUB_NONE),
    EV("vatID", K_STR, 0, vat_id, SUB_NONE),
    EV("crankNum", K_INT, SP_HAS_CRANK_NUM, crank_num, SUB_NONE),
    EV("deliveryNum", K_INT, SP_HAS_DELIVERY_NUM, delivery_num, SUB_NONE),
    EV("syscallNum", K_INT, SP_HAS_SYSCALL_NUM, syscall_num, SUB_NONE),
    EV("replay", K_BOOL, SP_HAS_REPLAY, replay, SUB_NONE),
    EV("blockHeight", K_INT, SP_HAS_BLOCK_HEIGHT, block_height, SUB_NONE),
    EV("blockTime", K_INT, SP_HAS_BLOCK_TIME, block_time, SUB_NONE),
    EV("dispatch", K_STR, 0, dispatch, SUB_NONE),
    AL("syscall", K_STR, 0, syscall),
    EV("kd", K_RAW, 0, kd, SUB_NONE),
    EV("vd", K_RAW, 0, vd, SUB_VD),
    EV("dr", K_RAW, 0, dr, SUB_DR),
    EV("ksc", K_RAW, 0, ksc, SUB_NONE),
    EV("vsc", K_RAW, 0, vsc, SUB_VSC),
    EV("ksr", K_RAW, 0, ksr, SUB_NONE),
    EV("vsr", K_RAW, 0, vsr, SUB_NONE),
    EV("crankType", K_STR, 0, crank_type, SUB_NONE),
    EV("messageType", K_STR, 0, message_type, SUB_NONE),
    EV("message", K_RAW, 0, message, SUB_MESSAGE),
    EV("crankhash", K_STR, 0, crankhash, SUB_NONE),
    EV("activityhash", K_STR, 0, activityhash, SUB_NONE),
    EV("mode", K_STR, 0, clist_mode, SUB_NONE),
    EV("kobj", K_STR, 0, kobj, SUB_NONE),
    EV("vobj", K_STR, 0, vobj, SUB_NONE),
    EV("name", K_STR, 0, name, SUB_NONE),
    EV("description", K_STR, 0, description, SUB_NONE),
    EV("managerType", K_STR, 0, manager_type, SUB_NONE),
    EV("dynamic", K_BOOL, SP_HAS_DYNAMIC, dynamic, SUB_NONE),
    EV("shouldReject", K_BOOL, SP_HAS_SHOULD_REJECT, should_reject, SUB_NONE),
    EV("info", K_RAW, 0, info, SUB_NONE),
    EV("work", K_RAW, 0, work, SUB_NONE),
    EV("vatSourceBundle", K_SIZE, 0, bundle_bytes, SUB_NONE),
    EV("snapshotID", K_STR, 0, snapshot_id, SUB_NONE),
    AL("hash", K_STR, 0, hash),
    EV("endPosition", K_INT, SP_HAS_SNAP_POS, snap_pos, SUB_NONE),
    AL("snapPos", K_INT, AL_SNAP_POS, snap_pos),
    AL("endPos", K_INT, AL_END_POS, end_pos),
    EV("uncompressedSize", K_INT, SP_HAS_UNCOMPRESSED_SIZE, uncompressed_size, SUB_NONE),
    EV("compressedSize", K_INT, SP_HAS_COMPRESSED_SIZE, compressed_size, SUB_NONE),
    AL("rawByteCount", K_INT, AL_RAW_BYTES, raw_bytes),
    AL("compressedByteCount", K_INT, AL_COMP_BYTES, comp_bytes),
    EV("uncompressedSizeDelta", K_INT, SP_HAS_SIZE_DELTA, size_delta, SUB_NONE),
    EV("dbSaveSeconds", K_DBL, SP_HAS_SAVE_SECONDS, save_seconds, SUB_NONE),
    AL("rawSaveSeconds", K_DBL, AL_RAW_SAVE, raw_save),
    EV("compressSeconds", K_DBL, SP_HAS_COMPRESS_SECONDS, compress_seconds, SUB_NONE),
    EV("restartWorker", K_BOOL, SP_HAS_RESTART_WORKER, restart_worker, SUB_NONE),
    EV("deliveries", K_INT, SP_HAS_DELIVERIES, deliveries, SUB_NONE),
    AL("source", K_STR, 0, source),
    EV("level", K_STR, 0, level, SUB_NONE),
    EV("args", K_RAW, 0, args, SUB_NONE),
    EV("runNum", K_INT, SP_HAS_RUN_NUM, run_num, SUB_NONE),
    EV("phase", K_STR, 0, phase, SUB_NONE),
    EV("inboundNum", K_STR, 0, inbound_num, SUB_NONE),
    EV("usedBeans", K_INT, SP_HAS_USED_BEANS, used_beans, SUB_NONE),
    EV("stats", K_RAW, 0, stats, SUB_NONE),
};
#define NFIELDS ((int)(sizeof(fields) / sizeof(fields[0])))
#define F_NONE 255
_Static_assert(sizeof(fields) / sizeof(fields[0]) <= 64, "duplicate-key mask is 64 bits");

/* Length-bucketed lookup tables (built once per normalizer): candidates of
 * one length are compared with memcmp, no strlen on the hot path. */
struct bucket {
    uint8_t start, end;
};

struct typent {
    const char *name;
    size_t len;
    enum sp_evtype type;
};

/* Per-line parse state, reset at the start of each line. */
struct pstate {
    const char *line;
    size_t n;
    struct sp_event *ev;
    struct alias al;
    uint64_t seen;      /* known keys seen (duplicate detection) */
    int depth;          /* open containers; the top-level object is depth 1 */
    int started, done;  /* top-level object opened / closed */
    int fid;            /* field id of the current top-level key, F_NONE if unknown */
    int sub;            /* SUB_* of the current top-level value */
    int elem;           /* index of the current element inside the top-level value */
    int in_meter;       /* inside dr[2] (an object) */
    int subkey;         /* 1 = message.type / dr[2].compute key is current */
    size_t key_end;     /* offset just past the current top-level key */
    size_t val_start;   /* offset of the current top-level container value */
    int err;            /* 1 when a callback stopped the parse; msg in emsg */
    char emsg[256];
};

struct sp_normalizer {
    yajl_handle h;
    struct sp_arena arena;
    int hold; /* sp_normalizer_hold: the arena is reset by sp_normalizer_release only */
    struct pstate st;
    struct bucket key_bucket[MAX_KEY_LEN + 1];
    uint8_t key_order[64];
    struct bucket type_bucket[MAX_TYPE_LEN + 1];
    struct typent types[SP_EV__COUNT + 2];
};

static size_t consumed(struct sp_normalizer *nz)
{
    return yajl_get_bytes_consumed(nz->h);
}

static int fail(struct sp_normalizer *nz, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct sp_normalizer *nz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nz->st.emsg, sizeof(nz->st.emsg), fmt, ap);
    va_end(ap);
    nz->st.err = 1;
    return 0; /* cancels the yajl parse */
}

static size_t column(struct sp_normalizer *nz)
{
    size_t c = consumed(nz);
    return (c > nz->st.n ? nz->st.n : c) + 1;
}

/* A slice that survives until the next line: yajl hands unescaped strings as
 * pointers into the input line (kept as is); decoded ones live in a yajl
 * buffer that is overwritten by the next token, so they are copied. */
static struct sp_str keep(struct sp_normalizer *nz, const unsigned char *p, size_t n)
{
    const char *s = (const char *)p;
    uintptr_t a = (uintptr_t)s, lo = (uintptr_t)nz->st.line;
    if (a >= lo && a - lo <= nz->st.n && n <= nz->st.n - (a - lo)) return sp_str_make(s, n);
    return sp_arena_dup(&nz->arena, s, n);
}

/*
 * JSON number text -> int64. Returns 0 ok, 1 not integral, 2 out of range.
 * Plain digit strings are parsed exactly (2^53+1 stays exact); forms with a
 * fraction or exponent go through strtod and must be integral and in range.
 */
static int parse_i64(struct sp_normalizer *nz, const char *p, size_t n, int64_t *out)
{
    size_t i = 0, j;
    int neg = 0;
    uint64_t v = 0;

    if (i < n && p[i] == '-') {
        neg = 1;
        i++;
    }
    for (j = i; j < n; j++) {
        unsigned c = (unsigned char)p[j] - '0';
        if (c > 9) break;
        if (v > (UINT64_MAX - c) / 10) return 2;
        v = v * 10 + c;
    }
    if (j == n && j > i) {
        if (v > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) return 2;
        *out = neg ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
    }
    {
        char tmp[64];
        const char *z = tmp;
        double d;
        if (n < sizeof(tmp)) {
            memcpy(tmp, p, n);
            tmp[n] = '\0';
        } else {
            z = sp_arena_dup(&nz->arena, p, n).p;
        }
        d = strtod(z, NULL);
        if (!isfinite(d)) return 2;
        if (d != floor(d)) return 1;
        if (d >= 9223372036854775808.0 || d < -9223372036854775808.0) return 2;
        *out = (int64_t)d;
        return 0;
    }
}

/*
 * 17-19 significant digits (most monotime and seconds values: m > 2^53):
 * with x87 extended precision (64-bit significands) m and 10^k (k <= 27)
 * are exact, and the division rounds correctly to 64 bits. Rounding that to
 * a double can differ from rounding the exact quotient only when the 64-bit
 * result lies exactly halfway between two doubles (any 53-bit rounding
 * boundary strictly between the two would be a nearer 64-bit value): low
 * 11 bits 0x400, and its neighbours for margin, go to strtod. Returns 0
 * when not applicable (other platforms, k > 27, a halfway case).
 */
static int wide_dbl(uint64_t m, size_t k, double *out)
{
#if (defined(__x86_64__) || defined(__i386__)) && LDBL_MANT_DIG == 64
    static const long double p10[28] = {
        1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
        1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
        1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
    long double q;
    uint64_t sig;
    unsigned low;

    if (k > 27) return 0;
    q = (long double)m / p10[k];
    memcpy(&sig, &q, sizeof(sig)); /* x87 format: the 64-bit significand first */
    low = (unsigned)(sig & 0x7ff);
    if (low >= 0x3ff && low <= 0x401) return 0;
    *out = (double)q;
    return 1;
#else
    (void)m, (void)k, (void)out;
    return 0;
#endif
}

/*
 * Fast path for the common "digits[.digits]" form (slog times): when the
 * digits without the point make an integer m <= 2^53 and there are at most
 * 22 fraction digits, m and 10^k are exact doubles and one IEEE division
 * rounds correctly, so m / 10^k == strtod's result; up to 19 significant
 * digits, see wide_dbl. Returns 0 if the text is not of that form or a
 * case neither covers (the caller then uses strtod).
 */
static int fast_dbl(const char *p, size_t n, double *out)
{
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0, sig = 0, frac = 0; /* sig: digits from the first non-zero one */
    int neg = 0, dot = 0, any = 0;
    uint64_t m = 0;

    if (i < n && p[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < n; i++) {
        unsigned c = (unsigned char)p[i] - '0';
        if (c <= 9) {
            any = 1;
            if ((m || c) && ++sig > 19) return 0; /* m < 10^19 < 2^64 */
            m = m * 10 + c;
            frac += (size_t)dot;
        } else if (p[i] == '.' && !dot) {
            dot = 1;
        } else {
            return 0; /* exponent or anything unexpected */
        }
    }
    if (!any) return 0;
    if (m <= (1ull << 53) && frac <= 22) {
        *out = (double)m / pow10[frac];
    } else if (!wide_dbl(m, frac, out)) {
        return 0;
    }
    if (neg) *out = -*out;
    return 1;
}

static double parse_dbl(struct sp_normalizer *nz, const char *p, size_t n)
{
    char tmp[64];
    double d;
    if (fast_dbl(p, n, &d)) return d;
    if (n < sizeof(tmp)) {
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        return strtod(tmp, NULL);
    }
    return strtod(sp_arena_dup(&nz->arena, p, n).p, NULL);
}

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_MAP, J_ARR };
static const char *const jt_name[] = {"null", "a boolean", "a number", "a string", "an object",
                                      "an array"};
static const char *const kind_want[] = {"a string", "a string", "an integer", "a number",
                                        "a boolean", "a JSON value", "a JSON value"};

static int wrong_type(struct sp_normalizer *nz, const struct field *f, enum jt t)
{
    return fail(nz, "field \"%s\": expected %s, got %s at column %zu", f->name, kind_want[f->kind],
                jt_name[t], column(nz));
}

static void *target(struct sp_normalizer *nz, const struct field *f)
{
    return (f->base == B_EV ? (char *)nz->st.ev : (char *)&nz->st.al) + f->off;
}

static void set_has(struct sp_normalizer *nz, const struct field *f)
{
    if (f->base == B_EV)
        nz->st.ev->has |= f->has;
    else
        nz->st.al.has |= f->has;
}

/* Start offset of the value after the current top-level key: skip blanks and ':'. */
static size_t value_start(struct sp_normalizer *nz)
{
    size_t i = nz->st.key_end;
    while (i < nz->st.n) {
        char c = nz->st.line[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ':') break;
        i++;
    }
    return i;
}

static void set_raw(struct sp_normalizer *nz, const struct field *f, size_t start, size_t end)
{
    if (end > nz->st.n) end = nz->st.n;
    if (start > end) start = end;
    if (f->kind == K_SIZE)
        *(size_t *)target(nz, f) = end - start;
    else
        *(struct sp_str *)target(nz, f) = sp_str_make(nz->st.line + start, end - start);
}

/* A scalar value of a top-level key. */
static int top_scalar(struct sp_normalizer *nz, enum jt t, const unsigned char *p, size_t n, int b)
{
    const struct field *f;
    struct pstate *st = &nz->st;

    if (st->fid == F_NONE) return 1;
    f = &fields[st->fid];
    if (t == J_NULL && f->kind != K_TYPE) return 1; /* null = absent */
    switch (f->kind) {
    case K_TYPE:
    case K_STR:
        if (t != J_STR) return wrong_type(nz, f, t);
        *(struct sp_str *)target(nz, f) = keep(nz, p, n);
        return 1;
    case K_INT: {
        int64_t v;
        int r;
        if (t != J_NUM) return wrong_type(nz, f, t);
        r = parse_i64(nz, (const char *)p, n, &v);
        if (r == 1)
            return fail(nz, "field \"%s\": expected an integer, got %.*s at column %zu", f->name,
                        (int)(n > 40 ? 40 : n), p, column(nz));
        if (r == 2)
            return fail(nz, "field \"%s\": integer out of range: %.*s at column %zu", f->name,
                        (int)(n > 40 ? 40 : n), p, column(nz));
        *(int64_t *)target(nz, f) = v;
        set_has(nz, f);
        return 1;
    }
    case K_DBL: {
        double d;
        if (t != J_NUM) return wrong_type(nz, f, t);
        d = parse_dbl(nz, (const char *)p, n);
        if (!isfinite(d)) /* 1e999: no sink could write it back */
            return fail(nz, "field \"%s\": number out of range: %.*s at column %zu", f->name,
                        (int)(n > 40 ? 40 : n), p, column(nz));
        *(double *)target(nz, f) = d;
        set_has(nz, f);
        if (f->base == B_EV) { /* keep the text of time / monotime / seconds */
            struct sp_event *ev = nz->st.ev;
            struct sp_str *text = f->has == SP_HAS_TIME       ? &ev->time_text
                                  : f->has == SP_HAS_MONOTIME ? &ev->monotime_text
                                  : f->has == SP_HAS_SECONDS  ? &ev->seconds_text
                                                              : NULL;
            if (text) *text = keep(nz, p, n);
        }
        return 1;
    }
    case K_BOOL:
        if (t != J_BOOL) return wrong_type(nz, f, t);
        *(int *)target(nz, f) = b;
        set_has(nz, f);
        return 1;
    default: /* K_RAW, K_SIZE */
        set_raw(nz, f, value_start(nz), consumed(nz));
        return 1;
    }
}

/* A scalar inside the top-level value (depth 2 or 3): pick out vd[0], vsc[0], dr[0], message.type, dr[2].compute. */
static void sub_scalar(struct sp_normalizer *nz, enum jt t, const unsigned char *p, size_t n)
{
    struct pstate *st = &nz->st;
    if (st->depth == 2) {
        if (t == J_STR && st->elem == 0) {
            if (st->sub == SUB_VD)
                st->al.vd0 = keep(nz, p, n);
            else if (st->sub == SUB_VSC)
                st->al.vsc0 = keep(nz, p, n);
            else if (st->sub == SUB_DR)
                st->ev->dr_status = keep(nz, p, n);
        }
        if (t == J_STR && st->sub == SUB_MESSAGE && st->subkey) st->al.msg_type = keep(nz, p, n);
    } else if (st->depth == 3 && st->in_meter && st->subkey && t == J_NUM) {
        int64_t v;
        if (parse_i64(nz, (const char *)p, n, &v) == 0) {
            st->al.compute = v;
            st->al.has |= AL_COMPUTE;
        }
    }
}

/* Common path of every scalar callback. */
static int scalar(struct sp_normalizer *nz, enum jt t, const unsigned char *p, size_t n, int b)
{
    struct pstate *st = &nz->st;
    switch (st->depth) {
    case 0:
        if (st->done) return fail(nz, "trailing garbage at column %zu", column(nz));
        return fail(nz, "not a JSON object");
    case 1:
        return top_scalar(nz, t, p, n, b);
    default:
        if (st->sub != SUB_NONE) {
            sub_scalar(nz, t, p, n);
            if (st->depth == 2) st->elem++;
        }
        return 1;
    }
}

static int cb_null(void *ctx)
{
    return scalar(ctx, J_NULL, NULL, 0, 0);
}

static int cb_bool(void *ctx, int b)
{
    return scalar(ctx, J_BOOL, NULL, 0, b);
}

static int cb_number(void *ctx, const char *p, size_t n)
{
    return scalar(ctx, J_NUM, (const unsigned char *)p, n, 0);
}

static int cb_string(void *ctx, const unsigned char *p, size_t n)
{
    return scalar(ctx, J_STR, p, n, 0);
}

static int open_container(struct sp_normalizer *nz, enum jt t)
{
    struct pstate *st = &nz->st;

    if (st->depth == 0) {
        if (st->done) return fail(nz, "trailing garbage at column %zu", column(nz));
        if (t != J_MAP) return fail(nz, "not a JSON object");
        st->started = 1;
        st->depth = 1;
        return 1;
    }
    if (st->depth >= MAX_DEPTH) return fail(nz, "nesting deeper than %d at column %zu", MAX_DEPTH, column(nz));
    if (st->depth == 1) {
        st->sub = SUB_NONE;
        if (st->fid != F_NONE) {
            const struct field *f = &fields[st->fid];
            if (f->kind != K_RAW && f->kind != K_SIZE) return wrong_type(nz, f, t);
            st->val_start = consumed(nz) - 1;
            st->sub = f->sub;
            st->elem = 0;
            st->subkey = 0;
        }
    } else if (st->depth == 2 && st->sub == SUB_DR && st->elem == 2 && t == J_MAP) {
        st->in_meter = 1;
        st->subkey = 0;
    }
    st->depth++;
    return 1;
}

static int close_container(struct sp_normalizer *nz)
{
    struct pstate *st = &nz->st;
    st->depth--;
    if (st->depth == 0) {
        st->done = 1;
    } else if (st->depth == 1) {
        if (st->fid != F_NONE) set_raw(nz, &fields[st->fid], st->val_start, consumed(nz));
        st->sub = SUB_NONE;
    } else if (st->depth == 2 && st->sub != SUB_NONE) {
        st->in_meter = 0;
        st->elem++;
    }
    return 1;
}

static int cb_start_map(void *ctx)
{
    return open_container(ctx, J_MAP);
}

static int cb_start_array(void *ctx)
{
    return open_container(ctx, J_ARR);
}

static int cb_end(void *ctx)
{
    return close_container(ctx);
}

static int cb_key(void *ctx, const unsigned char *k, size_t n)
{
    struct sp_normalizer *nz = ctx;
    struct pstate *st = &nz->st;

    if (st->depth == 1) {
        int id = F_NONE;
        if (n <= MAX_KEY_LEN) {
            const struct bucket *b = &nz->key_bucket[n];
            for (int i = b->start; i < b->end; i++) {
                const struct field *f = &fields[nz->key_order[i]];
                if (f->name[0] == (char)k[0] && memcmp(f->name, k, n) == 0) {
                    id = nz->key_order[i];
                    break;
                }
            }
        }
        if (id != F_NONE) {
            uint64_t bit = 1ull << id;
            if (st->seen & bit) return fail(nz, "duplicate key \"%s\" at column %zu", fields[id].name, column(nz));
            st->seen |= bit;
        }
        st->fid = id;
        st->key_end = consumed(nz);
    } else if (st->depth == 2 && st->sub == SUB_MESSAGE) {
        st->subkey = n == 4 && memcmp(k, "type", 4) == 0;
    } else if (st->depth == 3 && st->in_meter) {
        st->subkey = n == 7 && memcmp(k, "compute", 7) == 0;
    }
    return 1;
}

static const yajl_callbacks callbacks = {
    cb_null, cb_bool, NULL, NULL, cb_number, cb_string, cb_start_map, cb_key, cb_end, cb_start_array, cb_end,
};

static yajl_handle make_handle(struct sp_normalizer *nz)
{
    yajl_handle h = yajl_alloc(&callbacks, NULL, nz);
    if (!h) {
        sp_error("yajl_alloc failed");
        abort();
    }
    /* One handle parses every line: each line is one more top-level value.
     * UTF-8 is validated up front (stricter than yajl: no overlongs/surrogates). */
    yajl_config(h, yajl_allow_multiple_values, 1);
    yajl_config(h, yajl_dont_validate_strings, 1);
    return h;
}

struct sp_normalizer *sp_normalizer_new(void)
{
    struct sp_normalizer *nz = sp_xcalloc(1, sizeof(*nz));
    int k = 0, nt = 0;

    /* Keys bucketed by length. */
    for (size_t len = 1; len <= MAX_KEY_LEN; len++) {
        nz->key_bucket[len].start = (uint8_t)k;
        for (int i = 0; i < NFIELDS; i++)
            if (fields[i].len == len) nz->key_order[k++] = (uint8_t)i;
        nz->key_bucket[len].end = (uint8_t)k;
    }
    /* Type names (aliases included) sorted by length. */
    {
        struct typent all[SP_EV__COUNT + 2];
        int na = 0;
        for (int t = 1; t < SP_EV__COUNT; t++) {
            all[na].name = sp_evtype_name((enum sp_evtype)t);
            all[na].len = strlen(all[na].name);
            all[na].type = (enum sp_evtype)t;
            na++;
        }
        all[na++] = (struct typent){"replay-transcript-start", 23, SP_EV_START_REPLAY};
        all[na++] = (struct typent){"replay-transcript-finish", 24, SP_EV_FINISH_REPLAY};
        for (size_t len = 1; len <= MAX_TYPE_LEN; len++) {
            nz->type_bucket[len].start = (uint8_t)nt;
            for (int i = 0; i < na; i++)
                if (all[i].len == len) nz->types[nt++] = all[i];
            nz->type_bucket[len].end = (uint8_t)nt;
        }
    }
    sp_arena_init(&nz->arena, 64 * 1024);
    nz->h = make_handle(nz);
    return nz;
}

void sp_normalizer_destroy(struct sp_normalizer *nz)
{
    if (!nz) return;
    if (nz->h) yajl_free(nz->h);
    sp_arena_free(&nz->arena);
    free(nz);
}

void sp_normalizer_hold(struct sp_normalizer *nz, int hold)
{
    nz->hold = hold;
}

void sp_normalizer_release(struct sp_normalizer *nz)
{
    sp_arena_reset(&nz->arena);
}

static enum sp_evtype lookup_type(const struct sp_normalizer *nz, struct sp_str s)
{
    if (s.n == 0 || s.n > MAX_TYPE_LEN) return SP_EV_UNKNOWN;
    const struct bucket *b = &nz->type_bucket[s.n];
    for (int i = b->start; i < b->end; i++)
        if (memcmp(nz->types[i].name, s.p, s.n) == 0) return nz->types[i].type;
    return SP_EV_UNKNOWN;
}

/* Type-dependent fields and aliases, once the whole object has been read. */
static void resolve(struct sp_normalizer *nz)
{
    struct sp_event *ev = nz->st.ev;
    struct alias *al = &nz->st.al;

    ev->type = lookup_type(nz, ev->type_name);
    switch (ev->type) {
    case SP_EV_DELIVER:
    case SP_EV_DELIVER_RESULT:
        if (!ev->dispatch.p) ev->dispatch = al->vd0;
        break;
    case SP_EV_SYSCALL:
    case SP_EV_SYSCALL_RESULT:
        ev->dispatch = al->syscall.p ? al->syscall : al->vsc0;
        break;
    default:
        break;
    }
    if (!ev->message_type.p) ev->message_type = al->msg_type;
    if (!ev->snapshot_id.p) ev->snapshot_id = al->hash;
    if (!(ev->has & SP_HAS_SNAP_POS)) {
        if (al->has & AL_SNAP_POS) {
            ev->snap_pos = al->snap_pos;
            ev->has |= SP_HAS_SNAP_POS;
        } else if (al->has & AL_END_POS) {
            ev->snap_pos = al->end_pos;
            ev->has |= SP_HAS_SNAP_POS;
        }
    }
    if (!(ev->has & SP_HAS_UNCOMPRESSED_SIZE) && (al->has & AL_RAW_BYTES)) {
        ev->uncompressed_size = al->raw_bytes;
        ev->has |= SP_HAS_UNCOMPRESSED_SIZE;
    }
    if (!(ev->has & SP_HAS_COMPRESSED_SIZE) && (al->has & AL_COMP_BYTES)) {
        ev->compressed_size = al->comp_bytes;
        ev->has |= SP_HAS_COMPRESSED_SIZE;
    }
    if (!(ev->has & SP_HAS_SAVE_SECONDS) && (al->has & AL_RAW_SAVE)) {
        ev->save_seconds = al->raw_save;
        ev->has |= SP_HAS_SAVE_SECONDS;
    }
    if (al->has & AL_COMPUTE) {
        ev->computrons = al->compute;
        ev->has |= SP_HAS_COMPUTRONS;
    }
    if (al->source.p) {
        if (ev->type >= SP_EV_CS_INIT)
            ev->inbound_source = al->source;
        else
            ev->console_source = al->source;
    }
}

/* Turn a yajl failure into our message. NUL and UTF-8 problems are named
 * precisely; anything after a complete object is trailing garbage. */
static void yajl_failure(struct sp_normalizer *nz, const char *line, size_t n, int in_complete,
                         struct sp_err *err)
{
    const char *nul = memchr(line, '\0', n);
    size_t col = in_complete ? n + 1 : column(nz);

    if (nul) {
        sp_err_set(err, SP_EBADINPUT, "NUL byte at column %zu", (size_t)(nul - line) + 1);
    } else if (nz->st.done) {
        sp_err_set(err, SP_EBADINPUT, "trailing garbage at column %zu", col);
    } else {
        unsigned char *m = yajl_get_error(nz->h, 0, (const unsigned char *)line, n);
        size_t ml = m ? strlen((char *)m) : 0;
        while (ml && (m[ml - 1] == '\n' || m[ml - 1] == ' ')) ml--;
        sp_err_set(err, SP_EBADINPUT, "invalid JSON at column %zu: %.*s", col, (int)ml,
                   m ? (char *)m : "parse error");
        if (m) yajl_free_error(nz->h, m);
    }
}

int sp_normalize_line(struct sp_normalizer *nz, const char *line, size_t n,
                      const struct sp_origin *origin, struct sp_event *ev, struct sp_err *err)
{
    struct pstate *st = &nz->st;
    yajl_status ys;
    size_t bad;

    if (!nz->hold) sp_arena_reset(&nz->arena);
    memset(ev, 0, sizeof(*ev));
    if (origin) ev->origin = *origin;
    ev->raw = sp_str_make(line, n);
    ev->ctx_block_height = -1;
    ev->ctx_crank_num = -1;
    ev->ctx_run_num = -1;
    ev->ctx_epoch = 0;

    memset(st, 0, offsetof(struct pstate, emsg));
    st->line = line;
    st->n = n;
    st->ev = ev;
    st->fid = F_NONE;

    if (!sp_utf8_valid(line, n, &bad)) {
        /* A NUL is valid UTF-8, so this names a real encoding error. */
        return sp_err_set(err, SP_EBADINPUT, "invalid UTF-8 at column %zu", bad + 1);
    }
    ys = yajl_parse(nz->h, (const unsigned char *)line, n);
    if (ys == yajl_status_ok) {
        ys = yajl_complete_parse(nz->h);
        if (ys == yajl_status_error) yajl_failure(nz, line, n, 1, err);
    } else if (ys == yajl_status_error) {
        yajl_failure(nz, line, n, 0, err);
    }
    if (ys == yajl_status_client_canceled) sp_err_set(err, SP_EBADINPUT, "%s", st->emsg);
    if (ys != yajl_status_ok) {
        /* The handle is in an error state for good: start a fresh one. */
        yajl_free(nz->h);
        nz->h = make_handle(nz);
        return SP_EBADINPUT;
    }
    if (!st->started) return sp_err_set(err, SP_EBADINPUT, "not a JSON object (empty line)");
    if (!ev->type_name.p) return sp_err_set(err, SP_EBADINPUT, "missing \"type\"");
    resolve(nz);
    return SP_OK;
}
