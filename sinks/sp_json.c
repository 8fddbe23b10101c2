/* sp_json.c - one JSON object per record (schemas/json/record.schema.json), shared by the JSONL and Kafka sinks. */
#include "sp_sink.h"
#include "../core/sp_buf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

/*
 * Writer state: every object starts with "kind", so each further key is
 * written as `,"key":`. rc collects the first failure (the buffer's cap).
 */
struct jw {
    struct sp_buf *b;
    int rc;
};

/* Hot helpers are forced inline so that strlen of each literal key folds
 * to a constant (event_json alone makes ~60 calls). */
#define J_INLINE static inline __attribute__((always_inline))

J_INLINE void jw_key(struct jw *w, const char *k)
{
    size_t n = strlen(k);
    struct sp_buf *b = w->b;

    if (sp_buf_ensure(b, n + 4) != SP_OK) { /* ,"k": in one copy */
        w->rc = SP_EBADINPUT;
        return;
    }
    b->data[b->len] = ',';
    b->data[b->len + 1] = '"';
    memcpy(b->data + b->len + 2, k, n);
    b->data[b->len + 2 + n] = '"';
    b->data[b->len + 3 + n] = ':';
    b->len += n + 4;
    b->data[b->len] = '\0';
}

static void jw_begin(struct jw *w, struct sp_buf *b, const char *kind)
{
    w->b = b;
    w->rc = SP_OK;
    if (sp_buf_append(b, "{\"kind\":\"", 9) || sp_buf_append_c(b, kind) || sp_buf_putc(b, '"'))
        w->rc = SP_EBADINPUT;
}

static int jw_end(struct jw *w)
{
    if (sp_buf_putc(w->b, '}')) w->rc = SP_EBADINPUT;
    return w->rc;
}

/* String field; omitted when the slice is absent. */
J_INLINE void j_str(struct jw *w, const char *k, struct sp_str v)
{
    if (!v.p) return;
    jw_key(w, k);
    if (sp_buf_json_str(w->b, v.p, v.n)) w->rc = SP_EBADINPUT;
}

static void j_cstr(struct jw *w, const char *k, const char *v)
{
    if (v && *v) j_str(w, k, sp_str_c(v));
}

/* Decimal digits of v (same text as "%lld"), written backwards into the
 * end of buf[24]; returns the start. */
static char *fmt_i64(char buf[24], int64_t v)
{
    char *p = buf + 24;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    return p;
}

J_INLINE void j_i64(struct jw *w, const char *k, int64_t v)
{
    char buf[24], *p = fmt_i64(buf, v);
    jw_key(w, k);
    if (sp_buf_append(w->b, p, (size_t)(buf + 24 - p))) w->rc = SP_EBADINPUT;
}

/* Integer, omitted when negative (the records' "unknown"). */
J_INLINE void j_i64_nn(struct jw *w, const char *k, int64_t v)
{
    if (v >= 0) j_i64(w, k, v);
}

J_INLINE void j_i64_if(struct jw *w, const char *k, int has, int64_t v)
{
    if (has) j_i64(w, k, v);
}

/*
 * Exact fast path for "%.<prec>g" (prec 15 or 17) for 1e-8 <= |v| < 1e15, the
 * range of every slog time and duration (fixed notation, and the
 * exponential form %g uses below 1e-4, e.g. a 15 us syscall): v = M * 2^E exactly, so
 * N = round(v * 10^s) (s = prec-1-X, X the decimal exponent after rounding)
 * is computed with 128-bit integers, rounding half to even like glibc in
 * round-to-nearest mode. Writes the text and returns its length; sets
 * *n_out / *s_out to N and s. Returns 0 when v is outside the fast range
 * (zero, too large or too small, 10^s not exact): use snprintf.
 */
static size_t fast_g(double v, int prec, char *out, uint64_t *n_out, int *s_out)
{
    static const uint64_t p10[20] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
                                     10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
                                     100000000000ull, 1000000000000ull, 10000000000000ull,
                                     100000000000000ull, 1000000000000000ull, 10000000000000000ull,
                                     100000000000000000ull, 1000000000000000000ull,
                                     10000000000000000000ull};
    typedef unsigned __int128 u128;
    double a = fabs(v);
    int e2, x, s, tries;
    uint64_t m, n = 0;
    char digits[24];
    size_t len = 0;

    if (!(a >= 1e-8 && a < 1e15)) return 0;
    {   /* a = m * 2^e2 exactly, 2^52 <= m < 2^53 (a is normal here) */
        uint64_t bits;
        memcpy(&bits, &a, sizeof bits);
        m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
        e2 = (int)((bits >> 52) & 0x7ff) - 1075;
    }
    if (e2 > 0 || e2 < -120) return 0;
    /* log10(a) is in [(e2+52) log10 2, (e2+53) log10 2): x is this estimate
     * or one more; the loop below corrects it (no libm log10 per value) */
    x = (int)floor((double)(e2 + 52) * 0.30102999566398120);
    for (tries = 0; tries < 3; tries++) {
        u128 num = m, q, r, half;
        int sh = -e2;
        s = prec - 1 - x;
        if (s < 0 || s > 22) return 0;
        /* num = m * 10^s (< 2^53 * 2^74), then divide by 2^sh with rounding */
        if (s > 19) num *= p10[s - 19], num *= p10[19];
        else num *= p10[s];
        if (sh >= 128) return 0;
        q = sh ? num >> sh : num;
        r = sh ? num - (q << sh) : 0;
        half = sh ? (u128)1 << (sh - 1) : 0;
        if (sh && (r > half || (r == half && (q & 1)))) q++;
        if (q >= p10[prec]) {
            x++;
            continue;
        }
        if (q < p10[prec - 1]) {
            x--;
            continue;
        }
        n = (uint64_t)q;
        break;
    }
    if (tries == 3 || x >= prec) return 0;
    /* n has exactly prec digits; the point goes after x+1 of them */
    for (int i = prec - 1; i >= 0; i--, n /= 10) digits[i] = (char)('0' + n % 10);
    n = 0;
    for (int i = 0; i < prec; i++) n = n * 10 + (uint64_t)(digits[i] - '0');
    if (v < 0) out[len++] = '-';
    if (x < -4) { /* exponential notation, as %g: d[.ddd]e-XX (trailing zeros dropped) */
        int end = prec;
        while (end > 1 && digits[end - 1] == '0') end--;
        out[len++] = digits[0];
        if (end > 1) {
            out[len++] = '.';
            memcpy(out + len, digits + 1, (size_t)(end - 1));
            len += (size_t)(end - 1);
        }
        out[len++] = 'e';
        out[len++] = '-';
        out[len++] = (char)('0' + (-x) / 10);
        out[len++] = (char)('0' + (-x) % 10);
    } else {
        int end = prec; /* drop trailing zeros of the fraction */
        int intd = x + 1; /* digits before the point (<= 0: leading "0.") */
        while (end > (intd > 0 ? intd : 0) && digits[end - 1] == '0') end--;
        if (intd <= 0) {
            out[len++] = '0';
            if (end > 0) {
                out[len++] = '.';
                for (int i = 0; i < -intd; i++) out[len++] = '0';
                memcpy(out + len, digits, (size_t)end);
                len += (size_t)end;
            }
        } else {
            memcpy(out + len, digits, (size_t)intd);
            len += (size_t)intd;
            if (end > intd) {
                out[len++] = '.';
                memcpy(out + len, digits + intd, (size_t)(end - intd));
                len += (size_t)(end - intd);
            }
        }
    }
    out[len] = '\0';
    *n_out = n;
    *s_out = s;
    return len;
}

/* Powers of ten exactly representable as doubles. */
static const double exact_p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Shortest of %.15g / %.17g that reads back exactly (the fast path gives
 * the same bytes: N15 < 2^53 and 10^s exact make N15 / 10^s the correctly
 * rounded value strtod would return); NaN and infinities have no JSON form
 * and are omitted. */
void sp_json_fmt_double(double v, char tmp[40])
{
    uint64_t n;
    int s;
    if (fast_g(v, 15, tmp, &n, &s)) {
        double back = (double)n / exact_p10[s];
        if ((v < 0 ? -back : back) == v) return;
        if (fast_g(v, 17, tmp, &n, &s)) return;
    }
    snprintf(tmp, 40, "%.15g", v);
    if (strtod(tmp, NULL) != v) snprintf(tmp, 40, "%.17g", v);
}

J_INLINE void j_dbl_if(struct jw *w, const char *k, int has, double v)
{
    char tmp[40];

    if (!has || !isfinite(v)) return;
    sp_json_fmt_double(v, tmp);
    jw_key(w, k);
    if (sp_buf_append_c(w->b, tmp)) w->rc = SP_EBADINPUT;
}

/* A number of the line, as written there when its text was kept (the
 * parser checked it is a JSON number, and it reads back as exactly v), else
 * formatted from v. */
J_INLINE void j_num_if(struct jw *w, const char *k, int has, double v, struct sp_str text)
{
    if (!has || !text.p) {
        j_dbl_if(w, k, has, v);
        return;
    }
    jw_key(w, k);
    if (sp_buf_append(w->b, text.p, text.n)) w->rc = SP_EBADINPUT;
}

J_INLINE void j_bool(struct jw *w, const char *k, int v)
{
    jw_key(w, k);
    if (sp_buf_append_c(w->b, v ? "true" : "false")) w->rc = SP_EBADINPUT;
}

J_INLINE void j_bool_if(struct jw *w, const char *k, int has, int v)
{
    if (has) j_bool(w, k, v);
}

/*
 * Append JSON text verbatim, except that invalid UTF-8 bytes (which in
 * valid JSON can only sit inside string literals) become the escape
 * \ufffd, so that no invalid UTF-8 reaches the output.
 */
static int append_json_utf8(struct sp_buf *b, const char *p, size_t n)
{
    size_t bad;

    while (n) {
        if (sp_utf8_valid(p, n, &bad)) return sp_buf_append(b, p, n);
        if (sp_buf_append(b, p, bad) || sp_buf_append(b, "\\ufffd", 6)) return SP_EBADINPUT;
        p += bad + 1;
        n -= bad + 1;
    }
    return SP_OK;
}

/* Raw JSON value from a parsed slog line (kd, vd, dr, ...): embedded as a
 * JSON value. The normalizer hands out exact bytes of values of a line
 * that parsed, so they are complete JSON values. Omitted when absent. */
J_INLINE void j_raw(struct jw *w, const char *k, struct sp_str v)
{
    if (!v.p || !v.n) return;
    jw_key(w, k);
    if (append_json_utf8(w->b, v.p, v.n)) w->rc = SP_EBADINPUT;
}

/* 1 if p[0..n) is exactly one valid JSON value (UTF-8 checked by yajl). */
static int json_valid(const char *p, size_t n)
{
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    int ok;

    if (!h) return 0;
    ok = yajl_parse(h, (const unsigned char *)p, n) == yajl_status_ok &&
         yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    return ok;
}

/* JSON text that did not come from a parsed line (transcript items,
 * anomaly evidence): embedded as a value when it is valid JSON, else as a
 * string, so that one corrupt item cannot break the output line. */
static void j_raw_checked(struct jw *w, const char *k, struct sp_str v)
{
    if (!v.p) return;
    if (v.n && json_valid(v.p, v.n))
        j_raw(w, k, v);
    else
        j_str(w, k, v);
}

/*
 * The node and source repeat on every record of a stream: the escaped
 * `,"node":"…","source":"…"` of the last pair seen is kept (per thread:
 * the JSONL and Kafka sinks may run on different threads) and reused when
 * both strings are equal by content, so a freed and reused string cannot
 * alias. Pairs too long for the fixed buffers are encoded every time.
 */
struct origin_cache {
    size_t node_n, source_n, text_n; /* text_n 0: nothing cached */
    char node[128], source[512], text[1024];
};
static _Thread_local struct origin_cache origin_cache;

static void j_origin(struct jw *w, const struct sp_origin *o)
{
    struct origin_cache *c = &origin_cache;
    size_t start = w->b->len;

    if (c->text_n && o->node.p && o->source.p && o->node.n == c->node_n &&
        o->source.n == c->source_n && memcmp(o->node.p, c->node, c->node_n) == 0 &&
        memcmp(o->source.p, c->source, c->source_n) == 0) {
        if (sp_buf_append(w->b, c->text, c->text_n)) w->rc = SP_EBADINPUT;
    } else {
        j_str(w, "node", o->node);
        j_str(w, "source", o->source);
        c->text_n = 0;
        if (w->rc == SP_OK && o->node.p && o->source.p && o->node.n <= sizeof(c->node) &&
            o->source.n <= sizeof(c->source) && w->b->len - start <= sizeof(c->text)) {
            memcpy(c->node, o->node.p, o->node.n);
            memcpy(c->source, o->source.p, o->source.n);
            memcpy(c->text, w->b->data + start, w->b->len - start);
            c->node_n = o->node.n;
            c->source_n = o->source.n;
            c->text_n = w->b->len - start;
        }
    }
    j_i64_nn(w, "line", o->line);
    j_i64_nn(w, "offset", o->offset);
}

static int event_json(const struct sp_event *e, struct sp_buf *b)
{
    struct jw w;
    uint32_t h = e->has;
    struct sp_str type = e->type_name.p ? e->type_name : sp_str_c(sp_evtype_name(e->type));

    jw_begin(&w, b, "event");
    j_origin(&w, &e->origin);
    j_str(&w, "type", type);
    j_num_if(&w, "time", h & SP_HAS_TIME, e->time, e->time_text);
    j_num_if(&w, "monotime", h & SP_HAS_MONOTIME, e->monotime, e->monotime_text);
    j_num_if(&w, "seconds", h & SP_HAS_SECONDS, e->seconds, e->seconds_text);
    j_str(&w, "vatID", e->vat_id);
    /* crankNum / blockHeight: the line's own, else the enclosing crank /
     * block (as in slog_events) */
    j_i64_nn(&w, "crankNum", (h & SP_HAS_CRANK_NUM) ? e->crank_num : e->ctx_crank_num);
    j_i64_if(&w, "deliveryNum", h & SP_HAS_DELIVERY_NUM, e->delivery_num);
    j_i64_if(&w, "syscallNum", h & SP_HAS_SYSCALL_NUM, e->syscall_num);
    j_bool_if(&w, "replay", h & SP_HAS_REPLAY, e->replay);
    j_i64_nn(&w, "blockHeight", (h & SP_HAS_BLOCK_HEIGHT) ? e->block_height : e->ctx_block_height);
    j_i64_if(&w, "blockTime", h & SP_HAS_BLOCK_TIME, e->block_time);
    j_i64(&w, "epoch", e->ctx_epoch);

    j_str(&w, "dispatch", e->dispatch);
    j_raw(&w, "kd", e->kd);
    j_raw(&w, "vd", e->vd);
    j_raw(&w, "dr", e->dr);
    j_str(&w, "status", e->dr_status);
    j_i64_if(&w, "computrons", h & SP_HAS_COMPUTRONS, e->computrons);
    j_raw(&w, "ksc", e->ksc);
    j_raw(&w, "vsc", e->vsc);
    j_raw(&w, "ksr", e->ksr);
    j_raw(&w, "vsr", e->vsr);

    j_str(&w, "crankType", e->crank_type);
    j_str(&w, "messageType", e->message_type);
    j_raw(&w, "message", e->message);
    j_str(&w, "crankhash", e->crankhash);
    j_str(&w, "activityhash", e->activityhash);
    j_str(&w, "mode", e->clist_mode);
    j_str(&w, "kobj", e->kobj);
    j_str(&w, "vobj", e->vobj);

    j_str(&w, "name", e->name);
    j_str(&w, "description", e->description);
    j_str(&w, "managerType", e->manager_type);
    j_bool_if(&w, "dynamic", h & SP_HAS_DYNAMIC, e->dynamic);
    j_bool_if(&w, "shouldReject", h & SP_HAS_SHOULD_REJECT, e->should_reject);
    j_raw(&w, "info", e->info);
    j_raw(&w, "work", e->work);
    if (e->bundle_bytes) j_i64(&w, "bundleBytes", (int64_t)e->bundle_bytes);

    j_str(&w, "snapshotID", e->snapshot_id);
    j_i64_if(&w, "snapPos", h & SP_HAS_SNAP_POS, e->snap_pos);
    j_i64_if(&w, "uncompressedSize", h & SP_HAS_UNCOMPRESSED_SIZE, e->uncompressed_size);
    j_i64_if(&w, "compressedSize", h & SP_HAS_COMPRESSED_SIZE, e->compressed_size);
    j_i64_if(&w, "uncompressedSizeDelta", h & SP_HAS_SIZE_DELTA, e->size_delta);
    j_dbl_if(&w, "saveSeconds", h & SP_HAS_SAVE_SECONDS, e->save_seconds);
    j_dbl_if(&w, "compressSeconds", h & SP_HAS_COMPRESS_SECONDS, e->compress_seconds);
    j_bool_if(&w, "restartWorker", h & SP_HAS_RESTART_WORKER, e->restart_worker);
    j_i64_if(&w, "deliveries", h & SP_HAS_DELIVERIES, e->deliveries);

    j_str(&w, "consoleSource", e->console_source);
    j_str(&w, "level", e->level);
    j_raw(&w, "args", e->args);

    j_i64_if(&w, "runNum", h & SP_HAS_RUN_NUM, e->run_num);
    j_str(&w, "phase", e->phase);
    j_str(&w, "inboundNum", e->inbound_num);
    j_str(&w, "inboundSource", e->inbound_source);
    j_i64_if(&w, "usedBeans", h & SP_HAS_USED_BEANS, e->used_beans);
    j_raw(&w, "stats", e->stats);

    if (e->type == SP_EV_UNKNOWN) j_raw(&w, "raw", e->raw);
    return jw_end(&w);
}

static int delivery_json(const struct sp_delivery *d, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "delivery");
    j_origin(&w, &d->origin);
    j_i64_nn(&w, "resultLine", d->result_line);
    j_str(&w, "vatID", d->vat_id);
    j_i64_nn(&w, "deliveryNum", d->delivery_num);
    j_i64_nn(&w, "crankNum", d->crank_num);
    j_i64_nn(&w, "blockHeight", d->block_height);
    j_i64(&w, "epoch", d->epoch);
    j_str(&w, "dispatch", d->dispatch);
    j_bool(&w, "replay", d->replay);
    j_str(&w, "status", d->status);
    j_i64_if(&w, "computrons", d->has_computrons, d->computrons);
    j_i64(&w, "syscalls", d->syscalls);
    j_dbl_if(&w, "time", 1, d->time);
    j_dbl_if(&w, "seconds", 1, d->seconds);
    j_cstr(&w, "vdHash", d->vd_hash);
    j_cstr(&w, "scHash", d->sc_hash);
    j_i64_nn(&w, "runNum", d->run_num);
    j_str(&w, "method", d->method);
    j_str(&w, "target", d->target);
    j_i64_nn(&w, "resolutions", d->resolutions);
    return jw_end(&w);
}

static int bad_json(const struct sp_bad *x, struct sp_buf *b)
{
    struct jw w;
    char excerpt[208];

    jw_begin(&w, b, "error");
    j_origin(&w, &x->origin);
    j_cstr(&w, "reason", x->reason ? x->reason : "unknown error");
    if (x->bytes.p) {
        sp_excerpt(x->bytes.p, x->bytes.n, 200, excerpt, sizeof(excerpt));
        jw_key(&w, "excerpt");
        if (sp_buf_json_str(b, excerpt, strlen(excerpt))) w.rc = SP_EBADINPUT;
    }
    return jw_end(&w);
}

static int titem_json(const struct sp_titem *t, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "transcript_item");
    j_str(&w, "node", t->node);
    j_str(&w, "source", t->source);
    j_str(&w, "vatID", t->vat_id);
    j_i64(&w, "position", t->position);
    j_i64_nn(&w, "incarnation", t->incarnation);
    j_str(&w, "dType", t->d_type);
    j_cstr(&w, "dHash", t->d_hash);
    j_cstr(&w, "scHash", t->sc_hash);
    j_str(&w, "status", t->status);
    j_i64_if(&w, "computrons", t->has_computrons, t->computrons);
    j_str(&w, "snapshotID", t->snapshot_id);
    j_raw_checked(&w, "item", t->item);
    return jw_end(&w);
}

static int tspan_json(const struct sp_tspan *t, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "transcript_span");
    j_str(&w, "node", t->node);
    j_str(&w, "source", t->source);
    j_str(&w, "vatID", t->vat_id);
    j_i64(&w, "startPos", t->start_pos);
    j_i64(&w, "endPos", t->end_pos);
    j_str(&w, "hash", t->hash);
    j_str(&w, "computedHash", t->computed_hash);
    j_i64(&w, "items", t->items);
    j_bool(&w, "isCurrent", t->is_current);
    j_i64_nn(&w, "incarnation", t->incarnation);
    return jw_end(&w);
}

static int tsnapshot_json(const struct sp_tsnapshot *t, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "store_snapshot");
    j_str(&w, "node", t->node);
    j_str(&w, "source", t->source);
    j_str(&w, "vatID", t->vat_id);
    j_i64(&w, "snapPos", t->snap_pos);
    j_str(&w, "hash", t->hash);
    j_bool(&w, "inUse", t->in_use);
    j_i64_nn(&w, "uncompressedSize", t->uncompressed_size);
    j_i64_nn(&w, "compressedSize", t->compressed_size);
    j_bool_if(&w, "hasBlob", t->has_blob >= 0, t->has_blob);
    return jw_end(&w);
}

static int kv_json(const struct sp_kv *k, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "kv");
    j_str(&w, "node", k->node);
    j_str(&w, "source", k->source);
    j_str(&w, "key", k->key);
    j_str(&w, "value", k->value);
    return jw_end(&w);
}

static int span_json(const struct sp_span *x, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "span");
    j_str(&w, "node", x->node);
    j_str(&w, "vatID", x->vat_id);
    j_i64_nn(&w, "incarnation", x->incarnation);
    j_i64(&w, "startPos", x->start_pos);
    j_i64_nn(&w, "endPos", x->end_pos); /* absent: open span */
    j_str(&w, "firstType", x->first_type);
    j_str(&w, "lastType", x->last_type);
    j_bool(&w, "isCurrent", x->is_current);
    j_str(&w, "hash", x->hash);
    j_bool_if(&w, "hashOk", x->hash_ok >= 0, x->hash_ok); /* absent: not verifiable */
    j_i64(&w, "deliveries", x->deliveries);
    j_bool(&w, "fromTranscript", x->from_transcript);
    j_bool(&w, "fromSlog", x->from_slog);
    j_str(&w, "saveSnapshotID", x->save_snapshot_id);
    j_str(&w, "loadSnapshotID", x->load_snapshot_id);
    j_bool_if(&w, "retracted", x->retracted, 1); /* absent: in force */
    return jw_end(&w);
}

static int anomaly_json(const struct sp_anomaly *x, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "anomaly");
    j_str(&w, "node", x->node);
    j_str(&w, "vatID", x->vat_id);
    j_str(&w, "anomalyKind", x->kind);
    j_i64_nn(&w, "incarnation", x->incarnation);
    j_i64_nn(&w, "position", x->position);
    j_str(&w, "severity", x->severity);
    j_raw_checked(&w, "detail", x->detail);
    j_str(&w, "source", x->source);
    j_i64_nn(&w, "line", x->line);
    j_bool_if(&w, "retracted", x->retracted, 1); /* absent: in force */
    return jw_end(&w);
}

static int supersede_json(const struct sp_supersede *x, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "supersede");
    j_str(&w, "node", x->node);
    j_str(&w, "source", x->source);
    j_i64(&w, "epoch", x->epoch);
    j_i64_nn(&w, "blockHeight", x->block_height);
    j_i64(&w, "firstLine", x->first_line);
    j_i64_nn(&w, "firstOffset", x->first_offset);
    j_i64(&w, "lastLine", x->last_line);
    j_i64_nn(&w, "lastOffset", x->last_offset);
    j_i64_nn(&w, "restartLine", x->restart_line);
    j_i64(&w, "deliveries", x->deliveries);
    return jw_end(&w);
}

static int run_json(const struct sp_run *x, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "run");
    j_str(&w, "node", x->node);
    j_str(&w, "source", x->source);
    j_i64(&w, "blockHeight", x->block_height);
    j_i64(&w, "runNum", x->run_num);
    j_i64(&w, "epoch", x->epoch);
    j_str(&w, "phase", x->phase);
    j_str(&w, "trigger", x->trigger);
    j_str(&w, "inboundNum", x->inbound_num);
    j_str(&w, "triggerSource", x->trigger_source);
    j_str(&w, "triggerType", x->trigger_type);
    j_i64_nn(&w, "triggerCount", x->trigger_count);
    j_i64_nn(&w, "startLine", x->start_line);
    j_i64_nn(&w, "finishLine", x->finish_line);
    j_dbl_if(&w, "startTime", 1, x->start_time);
    j_dbl_if(&w, "finishTime", 1, x->finish_time);
    j_dbl_if(&w, "seconds", 1, x->seconds);
    j_i64_nn(&w, "beansStart", x->beans_start);
    j_i64_nn(&w, "beansUsed", x->beans_used);
    j_i64_nn(&w, "beansRemaining", x->beans_remaining);
    j_i64(&w, "computrons", x->computrons);
    j_i64(&w, "cranks", x->cranks);
    j_i64(&w, "deliveries", x->deliveries);
    j_dbl_if(&w, "deliverySeconds", 1, x->delivery_seconds);
    j_dbl_if(&w, "boydSeconds", 1, x->boyd_seconds);
    return jw_end(&w);
}

static int block_json(const struct sp_block *x, struct sp_buf *b)
{
    struct jw w;

    jw_begin(&w, b, "block");
    j_str(&w, "node", x->node);
    j_i64(&w, "blockHeight", x->block_height);
    j_bool(&w, "bootstrap", x->bootstrap);
    j_dbl_if(&w, "beginTime", 1, x->begin_time);
    j_dbl_if(&w, "endTime", 1, x->end_time);
    j_dbl_if(&w, "commitTime", 1, x->commit_time);
    j_dbl_if(&w, "blockSeconds", 1, x->block_seconds);
    j_dbl_if(&w, "runSeconds", 1, x->run_seconds);
    j_dbl_if(&w, "endBlockSeconds", 1, x->end_block_seconds);
    j_dbl_if(&w, "commitSeconds", 1, x->commit_seconds);
    j_dbl_if(&w, "saveSeconds", 1, x->save_seconds);
    j_dbl_if(&w, "cosmosCommitSeconds", 1, x->cosmos_commit_seconds);
    j_i64(&w, "runs", x->runs);
    j_i64(&w, "computrons", x->computrons);
    j_i64(&w, "cranks", x->cranks);
    j_i64(&w, "deliveries", x->deliveries);
    j_i64(&w, "beansUsed", x->beans_used);
    j_dbl_if(&w, "boydSeconds", 1, x->boyd_seconds);
    j_i64(&w, "snapshotSaves", x->snapshot_saves);
    j_dbl_if(&w, "snapshotSeconds", 1, x->snapshot_seconds);
    j_i64(&w, "replays", x->replays);
    j_dbl_if(&w, "replaySeconds", 1, x->replay_seconds);
    j_bool(&w, "committed", x->committed);
    return jw_end(&w);
}

int sp_record_to_json(const struct sp_record *rec, struct sp_buf *b)
{
    size_t start = b->len;
    int rc = SP_EINTERNAL;

    switch (rec->kind) {
    case SP_REC_EVENT: rc = event_json(rec->u.event, b); break;
    case SP_REC_DELIVERY: rc = delivery_json(rec->u.delivery, b); break;
    case SP_REC_BAD: rc = bad_json(rec->u.bad, b); break;
    case SP_REC_TITEM: rc = titem_json(rec->u.titem, b); break;
    case SP_REC_TSPAN: rc = tspan_json(rec->u.tspan, b); break;
    case SP_REC_TSNAPSHOT: rc = tsnapshot_json(rec->u.tsnapshot, b); break;
    case SP_REC_KV: rc = kv_json(rec->u.kv, b); break;
    case SP_REC_SPAN: rc = span_json(rec->u.span, b); break;
    case SP_REC_ANOMALY: rc = anomaly_json(rec->u.anomaly, b); break;
    case SP_REC_SUPERSEDE: rc = supersede_json(rec->u.supersede, b); break;
    case SP_REC_RUN: rc = run_json(rec->u.run, b); break;
    case SP_REC_BLOCK: rc = block_json(rec->u.block, b); break;
    }
    if (rc != SP_OK) {
        /* leave b as it was: no half object */
        b->len = start;
        if (b->data) b->data[start] = '\0';
    }
    return rc;
}
