/* sp_transcript.c - transcript item parser (yajl callbacks over the exact stored bytes) and shared source helpers. */
#include "sp_transcript_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

/* ---- Item parser -------------------------------------------------------- */

/* What a value is, from where it sits in {d, sc, r}. */
enum slot {
    SL_NONE = 0,
    SL_ROOT,      /* the item object */
    SL_D,         /* item.d */
    SL_D0,        /* d[0] */
    SL_D1,        /* d[1] */
    SL_D1_SNAP,   /* d[1].snapshotID */
    SL_SC,        /* item.sc */
    SL_SCE,       /* sc[k] */
    SL_SCE_S,     /* sc[k].s */
    SL_SCE_R,     /* sc[k].r */
    SL_R,         /* item.r */
    SL_R_STATUS,  /* r.status */
    SL_R_SNAP,    /* r.snapshotID */
    SL_R_MET,     /* r.metering */
    SL_R_COMP     /* r.metering.computrons */
};

#define TP_MAX_FRAMES 8 /* deeper containers are not interesting */

struct tp_frame {
    enum slot slot;
    int is_map;
    int64_t index;       /* arrays: index of the next element */
    char key[16];        /* maps: current key (only short keys matter) */
    size_t start;        /* offset of the container's first byte */
};

struct tparse {
    const char *p;
    size_t n;
    yajl_handle h;
    struct sp_titem *it;
    int depth;                      /* containers open */
    struct tp_frame fr[TP_MAX_FRAMES];
    size_t last;                    /* bytes consumed after the previous event */
    int seen_root;
    const char *fail;               /* set when a callback cancels */
    size_t s_off, s_len, r_off, r_len;
    int have_s, have_r;
    struct sp_hash_chain sc;
    int sc_open;
    struct sp_str d1_snap, r_snap;
};

static size_t tp_consumed(struct tparse *t)
{
    return yajl_get_bytes_consumed(t->h);
}

/* First byte of the value that just started: skip separators after `last`. */
static size_t tp_value_start(struct tparse *t)
{
    size_t i = t->last;
    while (i < t->n && (t->p[i] == ' ' || t->p[i] == '\t' || t->p[i] == '\n' || t->p[i] == '\r' ||
                        t->p[i] == ',' || t->p[i] == ':'))
        i++;
    return i;
}

/* Slot of a value starting now, from its parent frame. */
static enum slot tp_child_slot(struct tparse *t)
{
    const struct tp_frame *f;

    if (t->depth == 0) return SL_ROOT;
    if (t->depth > TP_MAX_FRAMES) return SL_NONE;
    f = &t->fr[t->depth - 1];
    switch (f->slot) {
    case SL_ROOT:
        if (!strcmp(f->key, "d")) return SL_D;
        if (!strcmp(f->key, "sc")) return SL_SC;
        if (!strcmp(f->key, "r")) return SL_R;
        return SL_NONE;
    case SL_D:
        return f->index == 0 ? SL_D0 : f->index == 1 ? SL_D1 : SL_NONE;
    case SL_D1:
        return !strcmp(f->key, "snapshotID") ? SL_D1_SNAP : SL_NONE;
    case SL_SC:
        return SL_SCE;
    case SL_SCE:
        if (!strcmp(f->key, "s")) return SL_SCE_S;
        if (!strcmp(f->key, "r")) return SL_SCE_R;
        return SL_NONE;
    case SL_R:
        if (!strcmp(f->key, "status")) return SL_R_STATUS;
        if (!strcmp(f->key, "snapshotID")) return SL_R_SNAP;
        if (!strcmp(f->key, "metering")) return SL_R_MET;
        return SL_NONE;
    case SL_R_MET:
        return !strcmp(f->key, "computrons") ? SL_R_COMP : SL_NONE;
    default:
        return SL_NONE;
    }
}

/* A value [start, end) of slot s is complete. */
static void tp_value_done(struct tparse *t, enum slot s, size_t start, size_t end)
{
    struct sp_titem *it = t->it;

    switch (s) {
    case SL_D:
        sp_hash_hex(t->p + start, end - start, it->d_hash);
        break;
    case SL_SCE_S:
        t->s_off = start, t->s_len = end - start, t->have_s = 1;
        break;
    case SL_SCE_R:
        t->r_off = start, t->r_len = end - start, t->have_r = 1;
        break;
    case SL_SCE:
        if (t->sc_open) {
            sp_hash_chain_add(&t->sc, t->p + t->s_off, t->have_s ? t->s_len : 0);
            sp_hash_chain_add(&t->sc, t->p + t->r_off, t->have_r ? t->r_len : 0);
        }
        t->have_s = t->have_r = 0;
        break;
    case SL_SC:
        if (t->sc_open) {
            memcpy(it->sc_hash, t->sc.hex, sizeof(it->sc_hash));
            t->sc_open = 0;
        }
        break;
    default:
        break;
    }
    if (t->depth >= 1 && t->depth <= TP_MAX_FRAMES && !t->fr[t->depth - 1].is_map)
        t->fr[t->depth - 1].index++;
    t->last = end;
}

/* Common part of every scalar callback; returns the raw string slice for strings. */
static int tp_scalar(struct tparse *t, int is_string, struct sp_str *raw_str, enum slot *slot_out)
{
    size_t end = tp_consumed(t), start;
    enum slot s;

    if (!t->seen_root) {
        t->fail = "not a JSON object";
        return 0;
    }
    s = tp_child_slot(t);
    start = tp_value_start(t);
    if (start > end) start = end;
    if (is_string && end - start >= 2) *raw_str = sp_str_make(t->p + start + 1, end - start - 2);
    *slot_out = s;
    tp_value_done(t, s, start, end);
    return 1;
}

static int tp_null(void *ctx)
{
    struct sp_str raw = SP_STR_NULL;
    enum slot s;
    return tp_scalar(ctx, 0, &raw, &s);
}

static int tp_bool(void *ctx, int b)
{
    struct sp_str raw = SP_STR_NULL;
    enum slot s;
    (void)b;
    return tp_scalar(ctx, 0, &raw, &s);
}

/* Numbers arrive as their raw text (yajl_number), so a huge literal is never
 * an "integer overflow" parse error; only r.metering.computrons is read. */
static int tp_number(void *ctx, const char *num, size_t len)
{
    struct tparse *t = ctx;
    struct sp_str raw = SP_STR_NULL;
    enum slot s;
    int64_t v;

    if (!tp_scalar(t, 0, &raw, &s)) return 0;
    if (s == SL_R_COMP && sp_tx_parse_i64(num, len, &v)) { /* a non-negative integer */
        t->it->has_computrons = 1;
        t->it->computrons = v;
    }
    return 1;
}

static int tp_string(void *ctx, const unsigned char *v, size_t len)
{
    struct tparse *t = ctx;
    struct sp_str raw = SP_STR_NULL;
    enum slot s;
    (void)v, (void)len;
    if (!tp_scalar(t, 1, &raw, &s)) return 0;
    switch (s) {
    case SL_D0: t->it->d_type = raw; break;
    case SL_D1_SNAP: t->d1_snap = raw; break;
    case SL_R_STATUS: t->it->status = raw; break;
    case SL_R_SNAP: t->r_snap = raw; break;
    default: break;
    }
    return 1;
}

static int tp_open(struct tparse *t, int is_map)
{
    size_t end = tp_consumed(t);
    enum slot s;

    if (!t->seen_root) {
        if (!is_map) {
            t->fail = "not a JSON object";
            return 0;
        }
        t->seen_root = 1;
    }
    s = tp_child_slot(t);
    if (t->depth < TP_MAX_FRAMES) {
        struct tp_frame *f = &t->fr[t->depth];
        f->slot = s;
        f->is_map = is_map;
        f->index = 0;
        f->key[0] = '\0';
        f->start = end ? end - 1 : 0;
        if (s == SL_SC && !is_map && !t->sc_open) {
            sp_hash_chain_init(&t->sc);
            t->sc_open = 1;
        }
    }
    t->depth++;
    t->last = end;
    return 1;
}

static int tp_close(struct tparse *t)
{
    size_t end = tp_consumed(t);
    enum slot s = SL_NONE;
    size_t start = end;

    if (t->depth <= 0) return 0;
    t->depth--;
    if (t->depth < TP_MAX_FRAMES) {
        s = t->fr[t->depth].slot;
        start = t->fr[t->depth].start;
    }
    tp_value_done(t, s, start, end);
    return 1;
}

static int tp_start_map(void *ctx) { return tp_open(ctx, 1); }
static int tp_end_map(void *ctx) { return tp_close(ctx); }
static int tp_start_array(void *ctx) { return tp_open(ctx, 0); }
static int tp_end_array(void *ctx) { return tp_close(ctx); }

static int tp_map_key(void *ctx, const unsigned char *k, size_t len)
{
    struct tparse *t = ctx;
    if (t->depth >= 1 && t->depth <= TP_MAX_FRAMES) {
        struct tp_frame *f = &t->fr[t->depth - 1];
        if (len < sizeof(f->key)) {
            memcpy(f->key, k, len);
            f->key[len] = '\0';
        } else {
            f->key[0] = '\0';
        }
    }
    t->last = tp_consumed(t);
    return 1;
}

static const yajl_callbacks tp_callbacks = {
    tp_null, tp_bool, NULL, NULL, tp_number, tp_string,
    tp_start_map, tp_map_key, tp_end_map, tp_start_array, tp_end_array,
};

static void titem_clear_parsed(struct sp_titem *it)
{
    it->d_type = SP_STR_NULL;
    it->d_hash[0] = '\0';
    it->sc_hash[0] = '\0';
    it->status = SP_STR_NULL;
    it->has_computrons = 0;
    it->computrons = 0;
    it->snapshot_id = SP_STR_NULL;
}

int sp_titem_parse(struct sp_titem *it, const char *item, size_t n, struct sp_err *err)
{
    struct tparse t;
    yajl_status st;
    int rc = SP_OK;

    memset(&t, 0, sizeof(t));
    titem_clear_parsed(it);
    t.p = item;
    t.n = n;
    t.it = it;
    t.h = yajl_alloc(&tp_callbacks, NULL, &t);
    if (!t.h) return sp_err_set(err, SP_ENOMEM, "yajl_alloc failed");
    st = yajl_parse(t.h, (const unsigned char *)item, n);
    int at_end = st == yajl_status_ok; /* a failure now is the end of the item (premature EOF) */
    if (st == yajl_status_ok) st = yajl_complete_parse(t.h);
    if (st != yajl_status_ok) {
        size_t at = at_end ? n : yajl_get_bytes_consumed(t.h);
        if (t.fail) {
            rc = sp_err_set(err, SP_EBADINPUT, "%s", t.fail);
        } else {
            unsigned char *m = yajl_get_error(t.h, 0, (const unsigned char *)item, n);
            size_t ml = m ? strlen((char *)m) : 0;
            while (ml && (m[ml - 1] == '\n' || m[ml - 1] == ' ')) m[--ml] = '\0';
            rc = sp_err_set(err, SP_EBADINPUT, "invalid JSON at byte %zu: %s", at,
                            m ? (char *)m : "parse error");
            if (m) yajl_free_error(t.h, m);
        }
    } else if (!t.seen_root) {
        rc = sp_err_set(err, SP_EBADINPUT, "not a JSON object");
    }
    yajl_free(t.h);
    if (rc != SP_OK) {
        it->d_hash[0] = '\0';
        it->sc_hash[0] = '\0';
        return rc;
    }
    if (sp_str_eq_c(it->d_type, "load-snapshot"))
        it->snapshot_id = t.d1_snap;
    else if (t.r_snap.p)
        it->snapshot_id = t.r_snap;
    return SP_OK;
}

/* ---- kvStore keys ------------------------------------------------------- */

int sp_transcript_kv_wanted(const char *key, size_t n)
{
    static const char *const exact[] = {
        "kernel.snapshotInitial", "kernel.snapshotInterval", "kernel.defaultManagerType",
        "vat.names", "vat.dynamicIDs", "vats.terminated", "crankNumber", "host.height",
        "host.blockTime",
    };
    static const char opt[] = ".options";
    size_t i;

    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strlen(exact[i]) == n && !memcmp(exact[i], key, n)) return 1;
    if (n > 9 && !memcmp(key, "vat.name.", 9)) return 1;
    /* v<digits>.options */
    if (n > 1 + sizeof(opt) - 1 && key[0] == 'v' && !memcmp(key + n - (sizeof(opt) - 1), opt,
                                                             sizeof(opt) - 1)) {
        size_t d = n - (sizeof(opt) - 1);
        if (d < 2) return 0;
        for (i = 1; i < d; i++)
            if (key[i] < '0' || key[i] > '9') return 0;
        return 1;
    }
    return 0;
}

void sp_transcript_opts_init(struct sp_transcript_opts *o)
{
    o->node = NULL;
    o->with_items = 1;
    o->busy_timeout_ms = 5000;
}

/* ---- Emission ----------------------------------------------------------- */

void sp_tx_init(struct sp_tx *t, const struct sp_transcript_opts *o, sp_record_fn fn, void *arg,
                struct sp_err *err)
{
    memset(t, 0, sizeof(*t));
    if (o)
        t->o = *o;
    else
        sp_transcript_opts_init(&t->o);
    if (t->o.busy_timeout_ms <= 0) t->o.busy_timeout_ms = 5000;
    t->fn = fn;
    t->arg = arg;
    t->err = err;
    sp_buf_init(&t->scratch, 64 * 1024);
}

void sp_tx_free(struct sp_tx *t)
{
    sp_buf_free(&t->scratch);
}

int sp_tx_emit(struct sp_tx *t, const struct sp_record *rec)
{
    int rc = t->fn(t->arg, rec, t->err);
    return rc;
}

static int tx_bad_v(struct sp_tx *t, const char *source, int64_t line, int64_t off, struct sp_str bytes,
                    const char *fmt, va_list ap)
{
    struct sp_bad b;
    struct sp_record rec;
    char reason[1024];

    vsnprintf(reason, sizeof(reason), fmt, ap);
    memset(&b, 0, sizeof(b));
    b.origin.node = sp_str_c(t->o.node);
    b.origin.source = sp_str_c(source);
    b.origin.line = line;
    b.origin.offset = off;
    b.reason = reason;
    b.bytes = bytes;
    rec.kind = SP_REC_BAD;
    rec.u.bad = &b;
    return sp_tx_emit(t, &rec);
}

int sp_tx_bad(struct sp_tx *t, const char *source, int64_t line, struct sp_str bytes, const char *fmt,
              ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = tx_bad_v(t, source, line, -1, bytes, fmt, ap);
    va_end(ap);
    return rc;
}

int sp_tx_bad_at(struct sp_tx *t, const char *source, int64_t line, int64_t off, struct sp_str bytes,
                 const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = tx_bad_v(t, source, line, off, bytes, fmt, ap);
    va_end(ap);
    return rc;
}

/* A part (artifact, table) that failed: counted, its first message kept for the
 * input's verdict (unreadable: 66, refused or bad: 65), and dead-lettered. */
__attribute__((format(printf, 6, 0))) static int part_failed_v(struct sp_tx *t, int rc, const char *source,
                                                              int64_t line, int64_t off, const char *fmt, va_list ap)
{
    t->parts_failed++;
    if (rc == SP_EIO || rc == SP_EOF) t->part_unreadable = 1;
    if (!t->part_rc) {
        va_list cp;
        va_copy(cp, ap);
        vsnprintf(t->part_msg, sizeof(t->part_msg), fmt, cp);
        va_end(cp);
        t->part_rc = rc == SP_EIO || rc == SP_EOF ? SP_EIO : SP_EBADINPUT;
    }
    return tx_bad_v(t, source, line, off, SP_STR_NULL, fmt, ap);
}

int sp_tx_part_failed(struct sp_tx *t, int rc, const char *source, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int crc = part_failed_v(t, rc, source, -1, -1, fmt, ap);
    va_end(ap);
    return crc;
}

int sp_tx_part_failed_at(struct sp_tx *t, int rc, const char *source, int64_t line, int64_t off,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int crc = part_failed_v(t, rc, source, line, off, fmt, ap);
    va_end(ap);
    return crc;
}

int sp_tx_finish(struct sp_tx *t)
{
    if (!t->part_rc) return SP_OK;
    if (t->parts_failed > 1)
        return sp_err_set(t->err, t->part_unreadable ? SP_EIO : SP_EBADINPUT, "%s (and %lld more parts: see ingest_errors)",
                          t->part_msg, (long long)(t->parts_failed - 1));
    return sp_err_set(t->err, t->part_unreadable ? SP_EIO : SP_EBADINPUT, "%s", t->part_msg);
}

void sp_tx_span_begin(struct sp_tx_span *s)
{
    sp_span_hash_init(&s->h);
    s->items = 0;
    s->broken = 0;
}

int sp_tx_item(struct sp_tx *t, struct sp_tx_span *s, const char *source, struct sp_str vat,
               int64_t pos, int64_t incarnation, int64_t line, int64_t off, const char *item, size_t n)
{
    struct sp_titem it;
    struct sp_record rec;
    struct sp_err perr;

    memset(&it, 0, sizeof(it));
    if (sp_titem_parse(&it, item, n, &perr) != SP_OK) {
        /* dead-lettered, not stored: the span misses this item (no computed hash, the analysis sees the gap) */
        if (s) s->broken = 1;
        if (off >= 0)
            return sp_tx_bad_at(t, source, line, off, sp_str_make(item, n),
                                "%s:%lld: byte %lld: %.*s position %lld: transcript item: %s", source,
                                (long long)line, (long long)off, (int)vat.n, vat.p ? vat.p : "", (long long)pos,
                                perr.msg);
        return sp_tx_bad(t, source, pos, sp_str_make(item, n), "%s:%.*s:%lld: transcript item: %s", source,
                         (int)vat.n, vat.p ? vat.p : "", (long long)pos, perr.msg);
    }
    it.node = sp_str_c(t->o.node);
    it.source = sp_str_c(source);
    it.vat_id = vat;
    it.position = pos;
    it.incarnation = incarnation;
    it.item = t->o.with_items ? sp_str_make(item, n) : SP_STR_NULL;
    if (s) {
        sp_span_hash_add(&s->h, item, n);
        s->items++;
    }
    rec.kind = SP_REC_TITEM;
    rec.u.titem = &it;
    return sp_tx_emit(t, &rec);
}

int sp_tx_span_emit(struct sp_tx *t, const struct sp_tx_span *s, const char *source, struct sp_str vat,
                    int64_t start, int64_t end, struct sp_str hash, int is_current,
                    int64_t incarnation)
{
    struct sp_tspan sp;
    struct sp_record rec;
    int64_t want = end - start;

    memset(&sp, 0, sizeof(sp));
    sp.node = sp_str_c(t->o.node);
    sp.source = sp_str_c(source);
    sp.vat_id = vat;
    sp.start_pos = start;
    sp.end_pos = end;
    sp.hash = hash;
    sp.items = s ? s->items : 0;
    sp.is_current = is_current;
    sp.incarnation = incarnation;
    sp.computed_hash = SP_STR_NULL;
    /* all present (an empty span is complete with 0), or some present */
    if (s && !s->broken && (s->items == want || s->items > 0))
        sp.computed_hash = sp_str_make(s->h.hex, SP_SHA256_HEX_LEN);
    rec.kind = SP_REC_TSPAN;
    rec.u.tspan = &sp;
    return sp_tx_emit(t, &rec);
}

/* ---- Text helpers ------------------------------------------------------- */

size_t sp_tx_trim_end(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    for (;;) {
        if (n >= 1 && (u[n - 1] == ' ' || (u[n - 1] >= 0x09 && u[n - 1] <= 0x0d))) {
            n -= 1;
            continue;
        }
        if (n >= 2 && u[n - 2] == 0xc2 && u[n - 1] == 0xa0) { /* U+00A0 */
            n -= 2;
            continue;
        }
        if (n >= 3) {
            unsigned a = u[n - 3], b = u[n - 2], c = u[n - 1];
            if ((a == 0xe1 && b == 0x9a && c == 0x80) ||                  /* U+1680 */
                (a == 0xe2 && b == 0x80 && c >= 0x80 && c <= 0x8a) ||    /* U+2000..200A */
                (a == 0xe2 && b == 0x80 && (c == 0xa8 || c == 0xa9)) ||  /* U+2028, U+2029 */
                (a == 0xe2 && b == 0x80 && c == 0xaf) ||                 /* U+202F */
                (a == 0xe2 && b == 0x81 && c == 0x9f) ||                 /* U+205F */
                (a == 0xe3 && b == 0x80 && c == 0x80) ||                 /* U+3000 */
                (a == 0xef && b == 0xbb && c == 0xbf)) {                 /* U+FEFF */
                n -= 3;
                continue;
            }
        }
        return n;
    }
}

int sp_tx_parse_i64(const char *p, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i;
    if (n == 0 || n > 18) return 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

int sp_tx_parse_transcript_name(const char *name, size_t n, char *vat, size_t vcap, int64_t *start,
                                int64_t *end)
{
    static const char pre[] = "transcript.";
    const char *v, *d1, *d2, *e = name + n;
    size_t i;

    if (n <= sizeof(pre) - 1 || memcmp(name, pre, sizeof(pre) - 1)) return 0;
    v = name + sizeof(pre) - 1;
    d1 = memchr(v, '.', (size_t)(e - v));
    if (!d1 || d1 == v || (size_t)(d1 - v) >= vcap) return 0;
    for (i = 0; i < (size_t)(d1 - v); i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    d2 = memchr(d1 + 1, '.', (size_t)(e - d1 - 1));
    if (!d2) return 0;
    if (!sp_tx_parse_i64(d1 + 1, (size_t)(d2 - d1 - 1), start)) return 0;
    if (!sp_tx_parse_i64(d2 + 1, (size_t)(e - d2 - 1), end)) return 0;
    memcpy(vat, v, (size_t)(d1 - v));
    vat[d1 - v] = '\0';
    return 1;
}

/* ---- Line reader -------------------------------------------------------- */

int sp_tx_lines_open_fd(struct sp_tx_lines *l, int fd, const char *name, struct sp_err *err)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof l->name, "%s", name);
    l->gz = gzdopen(fd, "rb");
    if (!l->gz) {
        close(fd);
        return sp_err_set(err, SP_EIO, "%s: cannot open (gzdopen failed)", name);
    }
    gzbuffer(l->gz, 128 * 1024);
    sp_buf_init(&l->buf, SP_TX_MAX_LINE + 256 * 1024);
    return SP_OK;
}

void sp_tx_lines_close(struct sp_tx_lines *l)
{
    if (l->gz) gzclose(l->gz);
    l->gz = NULL;
    sp_buf_free(&l->buf);
}

/* Read more bytes into the buffer; sets eof. */
static int lines_fill(struct sp_tx_lines *l, struct sp_err *err)
{
    enum { CHUNK = 128 * 1024 };
    int got, errnum = Z_OK;
    const char *msg;

    if (l->pos > 0) { /* keep only the unread part */
        l->base += (int64_t)l->pos;
        sp_buf_consume(&l->buf, l->pos);
        l->scan -= l->pos;
        l->pos = 0;
    }
    if (sp_buf_reserve(&l->buf, CHUNK) != SP_OK) return SP_EBADINPUT;
    got = gzread(l->gz, l->buf.data + l->buf.len, CHUNK);
    if (got > 0) {
        l->buf.len += (size_t)got;
        l->buf.data[l->buf.len] = '\0';
        return SP_OK;
    }
    l->eof = 1;
    msg = gzerror(l->gz, &errnum);
    if (got < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
        /* zlib names the stream "<fd:N>": say the file and where the data stopped instead */
        const char *why = msg ? msg : "unknown";
        if (strncmp(why, "<fd:", 4) == 0 && strstr(why, ">: ")) why = strstr(why, ">: ") + 3;
        l->err_off = l->base + (int64_t)l->buf.len;
        if (errnum == Z_ERRNO)
            return sp_err_set(err, SP_EIO, "%s: read error after byte %lld: %s", l->name,
                              (long long)l->err_off, strerror(errno));
        return sp_err_set(err, SP_EBADINPUT, "%s: truncated or corrupt gzip data after byte %lld (line %lld): %s",
                          l->name, (long long)l->err_off, (long long)l->line + 1, why);
    }
    return SP_OK;
}

int sp_tx_lines_next(struct sp_tx_lines *l, const char **p, size_t *n, struct sp_err *err)
{
    for (;;) {
        char *nl = l->scan < l->buf.len ? memchr(l->buf.data + l->scan, '\n', l->buf.len - l->scan)
                                         : NULL;
        if (nl) {
            size_t at = (size_t)(nl - l->buf.data);
            size_t start = l->pos;
            l->pos = l->scan = at + 1;
            if (l->skipping) {
                l->skipping = 0;
                continue;
            }
            l->line++;
            l->off = l->base + (int64_t)start;
            *p = l->buf.data + start;
            *n = at - start;
            return SP_OK;
        }
        l->scan = l->buf.len;
        if (l->eof) {
            if (l->pos < l->buf.len && !l->skipping) { /* last line without '\n' */
                *p = l->buf.data + l->pos;
                *n = l->buf.len - l->pos;
                l->off = l->base + (int64_t)l->pos;
                l->pos = l->scan = l->buf.len;
                l->line++;
                return SP_OK;
            }
            return SP_EOF;
        }
        if (l->buf.len - l->pos >= SP_TX_MAX_LINE) {
            /* too long: drop what we have and skip to the next newline */
            int was = l->skipping;
            if (!was) l->off = l->base + (int64_t)l->pos;
            l->base += (int64_t)l->buf.len;
            l->buf.len = 0;
            l->pos = l->scan = 0;
            l->skipping = 1;
            if (!was) {
                l->line++;
                return sp_err_set(err, SP_EBADINPUT, "%s:%lld: byte %lld: line longer than %u bytes: skipped",
                                  l->name, (long long)l->line, (long long)l->off, SP_TX_MAX_LINE);
            }
        }
        {
            int rc = lines_fill(l, err);
            if (rc != SP_OK) return rc;
        }
    }
}

/* ---- Safe paths --------------------------------------------------------- */

int sp_tx_open_in_dir(const char *dir, const char *dir_real, const char *name, char **path_out,
                      int *fd_out, struct sp_err *err)
{
    struct sp_buf b;
    char *real = NULL;
    const char *c;
    size_t dl = strlen(dir_real);
    struct stat st;
    int fd = -1, rc;

    *path_out = NULL;
    *fd_out = -1;
    if (!name[0]) return sp_err_set(err, SP_EBADINPUT, "empty file name");
    if (name[0] == '/') return sp_err_set(err, SP_EBADINPUT, "absolute file name \"%s\" rejected", name);
    for (c = name; *c;) {
        size_t cl = strcspn(c, "/");
        if (cl == 2 && c[0] == '.' && c[1] == '.')
            return sp_err_set(err, SP_EBADINPUT, "file name \"%s\" has a \"..\" component: rejected",
                              name);
        c += cl;
        if (*c == '/') c++;
    }
    sp_buf_init(&b, 0);
    sp_buf_printf(&b, "%s/%s", dir, name);
    *path_out = sp_xstrdup(b.data);
    sp_buf_free(&b);

    real = realpath(*path_out, NULL);
    if (!real) {
        if (errno == ENOENT || errno == ENOTDIR) {
            if (lstat(*path_out, &st) == 0)
                return sp_err_set(err, SP_EOF, "file %s is a dangling symlink", *path_out);
            return sp_err_set(err, SP_EOF, "file %s does not exist", *path_out);
        }
        return sp_err_set(err, SP_EIO, "%s: %s", *path_out, strerror(errno));
    }
    if (strncmp(real, dir_real, dl) != 0 || real[dl] != '/') {
        rc = sp_err_set(err, SP_EBADINPUT, "file name \"%s\" resolves to %s, outside %s: rejected",
                        name, real, dir_real);
        goto fail;
    }
    fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = sp_err_set(err, SP_EIO, "%s: %s", *path_out, strerror(errno));
        goto fail;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = sp_err_set(err, SP_EBADINPUT, "%s is not a regular file: rejected", *path_out);
        goto fail;
    }
    free(real);
    *fd_out = fd;
    return SP_OK;
fail:
    if (fd >= 0) close(fd);
    free(real);
    return rc;
}
