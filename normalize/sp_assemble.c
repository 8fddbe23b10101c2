/* sp_assemble.c - stream context (block/crank/epoch) and pairing of deliver, syscalls and deliver-result. */
#include "sp_assemble.h"
#include "sp_vd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* The part of the state that a checkpoint carries. */
struct ctx {
    int64_t block;    /* blockHeight of the last begin-block, -1 none */
    int64_t crank;    /* crankNum of the open crank, -1 none */
    int64_t run;      /* runNum of the open cosmic-swingset run, -1 none */
    int64_t epoch;
    int64_t lines;    /* lines fed so far (only "any" matters, for the epoch rule) */
};

/* Copies of the strings of one delivery; slices are rebuilt when it is handed out. */
struct strs {
    struct sp_buf buf;
    size_t off[7], len[7]; /* node, source, vat, dispatch, status, method, target */
};
enum { S_NODE, S_SOURCE, S_VAT, S_DISPATCH, S_STATUS, S_METHOD, S_TARGET, S__N };

struct pending {
    int used;
    uint64_t seq;          /* open order, for eviction and flush */
    struct sp_delivery d;  /* scalars; slices filled on hand-out */
    struct strs s;
    struct sp_hash_chain sc; /* over vsc/vsr pieces; its value is its whole state */
};

struct sp_assembler {
    struct ctx cur, idle;  /* idle = cur as of the last line after which nothing was pending */
    struct pending slot[SP_ASM_MAX_PENDING];
    int npending;
    uint64_t seq;
    struct sp_delivery out; /* last delivery handed out */
    struct strs out_s;
};

static void strs_init(struct strs *s)
{
    sp_buf_init(&s->buf, 0);
    memset(s->off, 0, sizeof(s->off));
    memset(s->len, 0, sizeof(s->len));
}

static void strs_reset(struct strs *s)
{
    sp_buf_reset(&s->buf);
    memset(s->len, 0, sizeof(s->len));
}

static void strs_put(struct strs *s, int i, struct sp_str v)
{
    s->off[i] = s->buf.len;
    s->len[i] = v.p ? v.n : 0;
    if (v.p && v.n) sp_buf_append(&s->buf, v.p, v.n); /* uncapped buffer: cannot fail */
    if (!v.p) s->len[i] = (size_t)-1;                  /* absent, not empty */
}

static struct sp_str strs_get(const struct strs *s, int i)
{
    if (s->len[i] == (size_t)-1) return SP_STR_NULL;
    if (s->len[i] == 0) return sp_str_make("", 0);
    return sp_str_make(s->buf.data + s->off[i], s->len[i]);
}

struct sp_assembler *sp_assembler_new(void)
{
    struct sp_assembler *a = sp_xcalloc(1, sizeof(*a));
    a->cur.block = -1;
    a->cur.crank = -1;
    a->cur.run = -1;
    a->idle = a->cur;
    for (int i = 0; i < SP_ASM_MAX_PENDING; i++) strs_init(&a->slot[i].s);
    strs_init(&a->out_s);
    return a;
}

void sp_assembler_destroy(struct sp_assembler *a)
{
    if (!a) return;
    for (int i = 0; i < SP_ASM_MAX_PENDING; i++) {
        sp_buf_free(&a->slot[i].s.buf);
    }
    sp_buf_free(&a->out_s.buf);
    free(a);
}

static void update_context(struct sp_assembler *a, struct sp_event *ev)
{
    struct ctx *c = &a->cur;

    switch (ev->type) {
    case SP_EV_KERNEL_INIT_START:
        if (c->lines > 0) c->epoch++;
        c->crank = -1; /* a crank cut short by a restart never finishes */
        c->run = -1;
        break;
    case SP_EV_CS_RUN_START:
        c->run = (ev->has & SP_HAS_RUN_NUM) ? ev->run_num : -1;
        /* the bootstrap block has no begin-block: its runs name the height */
        if (c->block < 0 && (ev->has & SP_HAS_BLOCK_HEIGHT)) c->block = ev->block_height;
        break;
    case SP_EV_CS_RUN_FINISH:
    case SP_EV_CS_END_BLOCK_FINISH:
    case SP_EV_CS_BOOTSTRAP_BLOCK_FINISH:
        c->run = -1;
        break;
    case SP_EV_CS_BEGIN_BLOCK:
        if (ev->has & SP_HAS_BLOCK_HEIGHT) c->block = ev->block_height;
        break;
    case SP_EV_CRANK_START:
        c->crank = (ev->has & SP_HAS_CRANK_NUM) ? ev->crank_num : -1;
        break;
    default:
        break;
    }
    c->lines++;
    ev->ctx_block_height = (ev->has & SP_HAS_BLOCK_HEIGHT) ? ev->block_height : c->block;
    ev->ctx_crank_num = (ev->has & SP_HAS_CRANK_NUM) ? ev->crank_num : c->crank;
    ev->ctx_epoch = c->epoch;
    ev->ctx_run_num = ev->type == SP_EV_CS_RUN_START || ev->type == SP_EV_CS_RUN_FINISH
                          ? ((ev->has & SP_HAS_RUN_NUM) ? ev->run_num : -1)
                          : c->run;
    if (ev->type == SP_EV_CRANK_FINISH) c->crank = -1;
}

int64_t sp_assembler_epoch(const struct sp_assembler *a)
{
    return a->cur.lines > 0 ? a->cur.epoch : -1;
}

void sp_assembler_continue_epoch(struct sp_assembler *a, int64_t epoch)
{
    if (a->cur.lines > 0 || epoch < 0) return;
    a->cur.epoch = epoch;
    a->cur.lines = 1; /* lines came before: a leading kernel-init-start is a restart */
}

static struct pending *find(struct sp_assembler *a, struct sp_str vat)
{
    int seen = 0;
    for (int i = 0; i < SP_ASM_MAX_PENDING && seen < a->npending; i++) {
        struct pending *p = &a->slot[i];
        if (!p->used) continue;
        seen++;
        if (p->s.len[S_VAT] == vat.n && memcmp(p->s.buf.data + p->s.off[S_VAT], vat.p, vat.n) == 0)
            return p;
    }
    return NULL;
}

static struct pending *oldest(struct sp_assembler *a)
{
    struct pending *best = NULL;
    for (int i = 0; i < SP_ASM_MAX_PENDING; i++)
        if (a->slot[i].used && (!best || a->slot[i].seq < best->seq)) best = &a->slot[i];
    return best;
}

/* Build a->out from a copy of strings + scalars; slices point into a->out_s. */
static const struct sp_delivery *hand_out(struct sp_assembler *a, const struct sp_delivery *d,
                                          const struct strs *s)
{
    strs_reset(&a->out_s);
    for (int i = 0; i < S__N; i++) strs_put(&a->out_s, i, strs_get(s, i));
    a->out = *d;
    a->out.origin.node = strs_get(&a->out_s, S_NODE);
    a->out.origin.source = strs_get(&a->out_s, S_SOURCE);
    a->out.vat_id = strs_get(&a->out_s, S_VAT);
    a->out.dispatch = strs_get(&a->out_s, S_DISPATCH);
    a->out.status = strs_get(&a->out_s, S_STATUS);
    a->out.method = strs_get(&a->out_s, S_METHOD);
    a->out.target = strs_get(&a->out_s, S_TARGET);
    return &a->out;
}

static void apply_result(struct sp_delivery *d, struct strs *s, const struct sp_event *res)
{
    d->result_line = res->origin.line;
    strs_put(s, S_STATUS, res->dr_status);
    d->has_computrons = (res->has & SP_HAS_COMPUTRONS) != 0;
    d->computrons = d->has_computrons ? res->computrons : 0;
    d->seconds = (res->has & SP_HAS_SECONDS) ? res->seconds : NAN;
    if (s->len[S_DISPATCH] == (size_t)-1 && res->dispatch.p) strs_put(s, S_DISPATCH, res->dispatch);
}

/* Complete a pending delivery (res = its deliver-result, or NULL) and free its slot. */
static const struct sp_delivery *complete(struct sp_assembler *a, struct pending *p,
                                          const struct sp_event *res)
{
    const struct sp_delivery *out;
    if (res) apply_result(&p->d, &p->s, res);
    memcpy(p->d.sc_hash, p->sc.hex, sizeof(p->d.sc_hash));
    out = hand_out(a, &p->d, &p->s);
    p->used = 0;
    a->npending--;
    return out;
}

static void fill_common(struct sp_delivery *d, struct strs *s, const struct sp_event *ev)
{
    memset(d, 0, sizeof(*d));
    strs_reset(s);
    d->origin = ev->origin;
    strs_put(s, S_NODE, ev->origin.node);
    strs_put(s, S_SOURCE, ev->origin.source);
    strs_put(s, S_VAT, ev->vat_id);
    strs_put(s, S_DISPATCH, ev->dispatch);
    strs_put(s, S_STATUS, SP_STR_NULL);
    strs_put(s, S_METHOD, SP_STR_NULL);
    strs_put(s, S_TARGET, SP_STR_NULL);
    d->result_line = -1;
    d->run_num = -1;
    d->resolutions = -1;
    d->delivery_num = (ev->has & SP_HAS_DELIVERY_NUM) ? ev->delivery_num : -1;
    d->crank_num = (ev->has & SP_HAS_CRANK_NUM) ? ev->crank_num : -1;
    d->block_height = ev->ctx_block_height;
    d->epoch = ev->ctx_epoch;
    d->replay = (ev->has & SP_HAS_REPLAY) ? ev->replay : 0;
    if (!d->replay) d->run_num = ev->ctx_run_num;
    d->time = NAN;
    d->seconds = NAN;
}

static const struct sp_delivery *on_deliver(struct sp_assembler *a, const struct sp_event *ev)
{
    const struct sp_delivery *done = NULL;
    struct pending *p = find(a, ev->vat_id);

    if (p) {
        done = complete(a, p, NULL); /* replaced: its result never came */
    } else if (a->npending == SP_ASM_MAX_PENDING) {
        p = oldest(a);
        done = complete(a, p, NULL);
    } else {
        for (int i = 0; i < SP_ASM_MAX_PENDING; i++)
            if (!a->slot[i].used) {
                p = &a->slot[i];
                break;
            }
    }
    fill_common(&p->d, &p->s, ev);
    p->d.time = (ev->has & SP_HAS_TIME) ? ev->time : NAN;
    if (ev->vd.p) {
        struct sp_vd_info vi;
        sp_hash_hex(ev->vd.p, ev->vd.n, p->d.vd_hash);
        sp_vd_scan(ev->vd.p, ev->vd.n, &vi);
        if (vi.has_method) strs_put(&p->s, S_METHOD, sp_str_c(vi.method));
        if (vi.has_target) strs_put(&p->s, S_TARGET, sp_str_c(vi.target));
        p->d.resolutions = vi.resolutions;
    } else {
        p->d.vd_hash[0] = '\0';
    }
    sp_hash_chain_init(&p->sc);
    p->used = 1;
    p->seq = ++a->seq;
    a->npending++;
    return done;
}

/* The pending delivery a syscall / result line belongs to, if any. */
static struct pending *match(struct sp_assembler *a, const struct sp_event *ev)
{
    struct pending *p = find(a, ev->vat_id);
    int64_t dn = (ev->has & SP_HAS_DELIVERY_NUM) ? ev->delivery_num : -1;
    if (p && p->d.delivery_num != dn) return NULL;
    return p;
}

static const struct sp_delivery *on_result(struct sp_assembler *a, const struct sp_event *ev)
{
    struct pending *p = match(a, ev);
    struct sp_delivery d;
    struct strs *s = &a->out_s;

    if (p) return complete(a, p, ev);
    /* Orphan result: its deliver is not in this stream. Built directly in
     * the hand-out storage (hand_out would copy onto itself). */
    fill_common(&d, s, ev);
    d.result_line = ev->origin.line;
    d.syscalls = -1;
    d.vd_hash[0] = '\0';
    d.sc_hash[0] = '\0';
    apply_result(&d, s, ev);
    a->out = d;
    a->out.origin.node = strs_get(s, S_NODE);
    a->out.origin.source = strs_get(s, S_SOURCE);
    a->out.vat_id = strs_get(s, S_VAT);
    a->out.dispatch = strs_get(s, S_DISPATCH);
    a->out.status = strs_get(s, S_STATUS);
    a->out.method = strs_get(s, S_METHOD);
    a->out.target = strs_get(s, S_TARGET);
    return &a->out;
}

int sp_assembler_feed(struct sp_assembler *a, struct sp_event *ev, const struct sp_delivery **done,
                      struct sp_err *err)
{
    struct pending *p;

    (void)err;
    *done = NULL;
    update_context(a, ev);
    if (ev->vat_id.p) {
        switch (ev->type) {
        case SP_EV_DELIVER:
            *done = on_deliver(a, ev);
            break;
        case SP_EV_DELIVER_RESULT:
            *done = on_result(a, ev);
            break;
        case SP_EV_SYSCALL:
            if ((p = match(a, ev)) != NULL) {
                p->d.syscalls++;
                sp_hash_chain_add(&p->sc, ev->vsc.p, ev->vsc.p ? ev->vsc.n : 0);
            }
            break;
        case SP_EV_SYSCALL_RESULT:
            if ((p = match(a, ev)) != NULL) {
                sp_hash_chain_add(&p->sc, ev->vsr.p, ev->vsr.p ? ev->vsr.n : 0);
            }
            break;
        default:
            break;
        }
    }
    if (a->npending == 0) a->idle = a->cur;
    return SP_OK;
}

int sp_assembler_idle(const struct sp_assembler *a)
{
    return a->npending == 0;
}

const struct sp_delivery *sp_assembler_flush(struct sp_assembler *a)
{
    struct pending *p = oldest(a);
    const struct sp_delivery *d;
    if (!p) return NULL;
    d = complete(a, p, NULL);
    if (a->npending == 0) a->idle = a->cur;
    return d;
}

static void json_num(struct sp_buf *b, double v)
{
    if (isnan(v))
        sp_buf_append_c(b, "null");
    else
        sp_buf_printf(b, "%.17g", v);
}

static void json_strs(struct sp_buf *b, const struct strs *s, int i)
{
    struct sp_str v = strs_get(s, i);
    if (!v.p)
        sp_buf_append_c(b, "null");
    else
        sp_buf_json_str(b, v.p, v.n);
}

/*
 * The whole current state: context and every open delivery (the sc hash is
 * an sp_hash_chain, whose value is its state), so a checkpoint can be taken
 * after any line and resuming from it continues the open deliveries.
 */
int sp_assembler_save(const struct sp_assembler *a, struct sp_buf *json)
{
    const struct ctx *c = &a->cur;
    int first = 1;
    sp_buf_printf(json, "{\"v\":2,\"block\":%lld,\"crank\":%lld,\"run\":%lld,\"epoch\":%lld,\"lines\":%lld,\"open\":[",
                  (long long)c->block, (long long)c->crank, (long long)c->run, (long long)c->epoch,
                  (long long)c->lines);
    for (uint64_t want = 1; want <= a->seq && a->npending; want++) {
        /* oldest first, so restore keeps the eviction/flush order */
        for (int i = 0; i < SP_ASM_MAX_PENDING; i++) {
            const struct pending *p = &a->slot[i];
            if (!p->used || p->seq != want) continue;
            if (!first) sp_buf_putc(json, ',');
            first = 0;
            sp_buf_printf(json, "{\"line\":%lld,\"offset\":%lld,\"dn\":%lld,\"crank\":%lld,\"block\":%lld,"
                                "\"epoch\":%lld,\"replay\":%d,\"syscalls\":%lld,\"time\":",
                          (long long)p->d.origin.line, (long long)p->d.origin.offset, (long long)p->d.delivery_num,
                          (long long)p->d.crank_num, (long long)p->d.block_height, (long long)p->d.epoch,
                          p->d.replay, (long long)p->d.syscalls);
            json_num(json, p->d.time);
            sp_buf_printf(json, ",\"vd\":\"%s\",\"sc\":\"%s\",\"node\":", p->d.vd_hash, p->sc.hex);
            json_strs(json, &p->s, S_NODE);
            sp_buf_append_c(json, ",\"source\":");
            json_strs(json, &p->s, S_SOURCE);
            sp_buf_append_c(json, ",\"vat\":");
            json_strs(json, &p->s, S_VAT);
            sp_buf_append_c(json, ",\"dispatch\":");
            json_strs(json, &p->s, S_DISPATCH);
            sp_buf_append_c(json, ",\"method\":");
            json_strs(json, &p->s, S_METHOD);
            sp_buf_append_c(json, ",\"target\":");
            json_strs(json, &p->s, S_TARGET);
            sp_buf_printf(json, ",\"run\":%lld,\"res\":%lld}", (long long)p->d.run_num,
                          (long long)p->d.resolutions);
        }
    }
    sp_buf_append_c(json, "]}");
    return SP_OK;
}

static int get_int(yajl_val root, const char *key, int64_t *out, struct sp_err *err)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_number);
    if (!v || !YAJL_IS_INTEGER(v))
        return sp_err_set(err, SP_EBADINPUT, "assembler state: \"%s\" missing or not an integer", key);
    *out = YAJL_GET_INTEGER(v);
    return SP_OK;
}

static int get_str(yajl_val o, const char *key, struct strs *s, int i, struct sp_err *err)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(o, path, yajl_t_any);
    if (v && YAJL_IS_NULL(v)) {
        strs_put(s, i, SP_STR_NULL);
        return SP_OK;
    }
    if (!v || !YAJL_IS_STRING(v))
        return sp_err_set(err, SP_EBADINPUT, "assembler state: \"%s\" missing or not a string", key);
    strs_put(s, i, sp_str_c(YAJL_GET_STRING(v)));
    return SP_OK;
}

static int get_hex(yajl_val o, const char *key, char out[SP_HASH_HEX_LEN + 1], int allow_empty,
                   struct sp_err *err)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(o, path, yajl_t_string);
    struct sp_hash_chain c;
    const char *t = v ? YAJL_GET_STRING(v) : NULL;
    if (t && allow_empty && !*t) {
        out[0] = '\0';
        return SP_OK;
    }
    if (!t || !sp_hash_chain_resume(&c, t, strlen(t)))
        return sp_err_set(err, SP_EBADINPUT, "assembler state: \"%s\" is not a hash", key);
    memcpy(out, c.hex, SP_HASH_HEX_LEN + 1);
    return SP_OK;
}

/* Open deliveries of a v2 state, oldest first. */
static int restore_open(struct sp_assembler *a, yajl_val root, struct sp_err *err)
{
    const char *path[] = {"open", NULL};
    yajl_val arr = yajl_tree_get(root, path, yajl_t_array);
    if (!arr) return sp_err_set(err, SP_EBADINPUT, "assembler state: \"open\" missing");
    if (YAJL_GET_ARRAY(arr)->len > SP_ASM_MAX_PENDING)
        return sp_err_set(err, SP_EBADINPUT, "assembler state: too many open deliveries");
    for (size_t k = 0; k < YAJL_GET_ARRAY(arr)->len; k++) {
        yajl_val o = YAJL_GET_ARRAY(arr)->values[k];
        struct pending *p = &a->slot[k];
        const char *tp[] = {"time", NULL};
        yajl_val tv;
        int64_t replay = 0;
        if (!YAJL_IS_OBJECT(o)) return sp_err_set(err, SP_EBADINPUT, "assembler state: open delivery not an object");
        strs_reset(&p->s);
        memset(&p->d, 0, sizeof(p->d));
        if (get_int(o, "line", &p->d.origin.line, err) || get_int(o, "offset", &p->d.origin.offset, err) ||
            get_int(o, "dn", &p->d.delivery_num, err) || get_int(o, "crank", &p->d.crank_num, err) ||
            get_int(o, "block", &p->d.block_height, err) || get_int(o, "epoch", &p->d.epoch, err) ||
            get_int(o, "replay", &replay, err) || get_int(o, "syscalls", &p->d.syscalls, err) ||
            get_hex(o, "vd", p->d.vd_hash, 1, err) || get_hex(o, "sc", p->sc.hex, 0, err) ||
            get_str(o, "node", &p->s, S_NODE, err) || get_str(o, "source", &p->s, S_SOURCE, err) ||
            get_str(o, "vat", &p->s, S_VAT, err) || get_str(o, "dispatch", &p->s, S_DISPATCH, err))
            return SP_EBADINPUT;
        strs_put(&p->s, S_STATUS, SP_STR_NULL);
        /* added later (states of older versions lack them): absent */
        if (get_str(o, "method", &p->s, S_METHOD, err) != SP_OK) strs_put(&p->s, S_METHOD, SP_STR_NULL);
        if (get_str(o, "target", &p->s, S_TARGET, err) != SP_OK) strs_put(&p->s, S_TARGET, SP_STR_NULL);
        if (get_int(o, "run", &p->d.run_num, err) != SP_OK) p->d.run_num = -1;
        if (get_int(o, "res", &p->d.resolutions, err) != SP_OK) p->d.resolutions = -1;
        tv = yajl_tree_get(o, tp, yajl_t_any);
        p->d.time = tv && YAJL_IS_NUMBER(tv) ? YAJL_GET_DOUBLE(tv) : NAN;
        p->d.seconds = NAN;
        p->d.result_line = -1;
        p->d.replay = (int)replay;
        p->used = 1;
        p->seq = ++a->seq;
        a->npending++;
    }
    return SP_OK;
}

int sp_assembler_restore(struct sp_assembler *a, const char *json, size_t n, struct sp_err *err)
{
    char ebuf[128];
    char *text = sp_xstrndup(json, n);
    yajl_val root = yajl_tree_parse(text, ebuf, sizeof(ebuf));
    struct ctx c;
    int64_t v = 0;
    int rc = SP_EBADINPUT;

    if (!root || !YAJL_IS_OBJECT(root)) {
        sp_err_set(err, SP_EBADINPUT, "assembler state: not a JSON object");
        goto out;
    }
    if (a->npending) {
        sp_err_set(err, SP_EBADINPUT, "assembler state: restore into a busy assembler");
        goto out;
    }
    if (get_int(root, "v", &v, err) != SP_OK) goto out;
    if (v != 1 && v != 2) {
        sp_err_set(err, SP_EBADINPUT, "assembler state: unknown version %lld", (long long)v);
        goto out;
    }
    if (get_int(root, "block", &c.block, err) != SP_OK || get_int(root, "crank", &c.crank, err) != SP_OK ||
        get_int(root, "epoch", &c.epoch, err) != SP_OK || get_int(root, "lines", &c.lines, err) != SP_OK)
        goto out;
    if (get_int(root, "run", &c.run, err) != SP_OK) c.run = -1; /* states before runs were tracked */
    if (v == 2 && restore_open(a, root, err) != SP_OK) goto out;
    a->cur = a->idle = c;
    rc = SP_OK;
out:
    yajl_tree_free(root);
    free(text);
    return rc;
}
