/* test_tl_slogchk.c - the stage's slog checks (timeline/sp_tl_slogchk.c) on hand-made records: the false-positive rules, and the checkpoint round trip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "sp_test.h"
#include "../sinks/sp_sink.h"
#include "../timeline/sp_tl_part.h"
#include "../timeline/sp_tl_stream.h"

extern const struct sp_tl_part sp_tl_part_slogchk;

/* What the stage emitted: "KIND|vat|position" per anomaly (retractions as "-KIND|vat|position"). */
static char got[4096];

static int collect(void *arg, const struct sp_record *rec, struct sp_err *err)
{
    (void)arg, (void)err;
    if (rec->kind != SP_REC_ANOMALY) return SP_OK;
    const struct sp_anomaly *a = rec->u.anomaly;
    size_t n = strlen(got);
    snprintf(got + n, sizeof got - n, "%s%s%.*s|%.*s|%lld", n ? " " : "", a->retracted ? "-" : "", (int)a->kind.n,
             a->kind.p, (int)a->vat_id.n, a->vat_id.p ? a->vat_id.p : "", (long long)a->position);
    return SP_OK;
}

static struct sp_tl_stream *tl;
static int64_t lineno;
static const char *source = "a.slog";

static void feed(const struct sp_record *rec)
{
    struct sp_err err = {0};
    int rc = sp_tl_stream_feed(tl, rec, collect, NULL, &err);
    CHECK_INT(rc, SP_OK);
}

static void ev(enum sp_evtype type, const char *vat)
{
    struct sp_event e;
    memset(&e, 0, sizeof e);
    e.origin.node = sp_str_c("n");
    e.origin.source = sp_str_c(source);
    e.origin.line = ++lineno;
    e.type = type;
    e.vat_id = sp_str_c(vat);
    e.has = SP_HAS_TIME;
    e.time = (double)lineno;
    struct sp_record rec = {.kind = SP_REC_EVENT, .u.event = &e};
    feed(&rec);
}

static void ev_replay(enum sp_evtype type, const char *vat, int64_t deliveries)
{
    struct sp_event e;
    memset(&e, 0, sizeof e);
    e.origin.node = sp_str_c("n");
    e.origin.source = sp_str_c(source);
    e.origin.line = ++lineno;
    e.type = type;
    e.vat_id = sp_str_c(vat);
    if (deliveries >= 0) e.has |= SP_HAS_DELIVERIES, e.deliveries = deliveries;
    struct sp_record rec = {.kind = SP_REC_EVENT, .u.event = &e};
    feed(&rec);
}

/* One delivery (deliver + deliver-result), status "ok", with its vd / syscall hashes. */
static void dlv(const char *vat, int64_t dn, int replay, const char *dispatch)
{
    struct sp_delivery d;
    memset(&d, 0, sizeof d);
    d.origin.node = sp_str_c("n");
    d.origin.source = sp_str_c(source);
    d.origin.line = ++lineno;
    d.vat_id = sp_str_c(vat);
    d.delivery_num = dn;
    d.replay = replay;
    d.dispatch = sp_str_c(dispatch);
    d.status = sp_str_c("ok");
    d.has_computrons = 1;
    d.computrons = 100;
    d.time = (double)lineno;
    d.seconds = NAN;
    snprintf(d.vd_hash, sizeof d.vd_hash, "vd%lld", (long long)dn);
    snprintf(d.sc_hash, sizeof d.sc_hash, "sc%lld", (long long)dn);
    lineno++;
    struct sp_record rec = {.kind = SP_REC_DELIVERY, .u.delivery = &d};
    feed(&rec);
}

/* A crank of one live delivery. */
static void crank(const char *vat, int64_t dn, const char *dispatch)
{
    ev(SP_EV_CRANK_START, NULL);
    dlv(vat, dn, 0, dispatch);
    ev(SP_EV_CRANK_FINISH, NULL);
}

static void item(const char *vat, int64_t pos, const char *type, const char *d, const char *status)
{
    struct sp_titem it;
    memset(&it, 0, sizeof it);
    it.node = sp_str_c("n");
    it.source = sp_str_c("store");
    it.vat_id = sp_str_c(vat);
    it.position = pos;
    it.incarnation = 0;
    it.d_type = sp_str_c(type);
    snprintf(it.d_hash, sizeof it.d_hash, "%s", d);
    snprintf(it.sc_hash, sizeof it.sc_hash, "sc%lld", (long long)pos);
    it.status = sp_str_c(status);
    it.has_computrons = 1;
    it.computrons = 100;
    struct sp_record rec = {.kind = SP_REC_TITEM, .u.titem = &it};
    feed(&rec);
}

static void start(void)
{
    struct sp_tl_stream_opts o = {.snapshot_initial = -1, .snapshot_interval = -1};
    tl = sp_tl_stream_new(&o);
    got[0] = '\0';
    lineno = 0;
    source = "a.slog";
}

static void stop(void)
{
    struct sp_err err = {0};
    CHECK_INT(sp_tl_stream_flush(tl, collect, NULL, &err), SP_OK);
    sp_tl_stream_free(tl);
}

/* L5: a regression is reported; a block re-executed after a crash is not one (#8264). */
static void test_regression_and_reexecution(void)
{
    start();
    crank("v1", 1, "startVat");
    crank("v1", 2, "message");
    ev(SP_EV_CS_COMMIT_BLOCK_FINISH, NULL);
    crank("v1", 3, "message");
    /* crash before the commit: the kernel restarts and runs the block again */
    ev(SP_EV_KERNEL_INIT_START, NULL);
    crank("v1", 3, "message");
    ev(SP_EV_CS_COMMIT_BLOCK_FINISH, NULL);
    CHECK_STR(got, "");
    crank("v1", 3, "message");
    CHECK_STR(got, "DELIVERYNUM_REGRESSION|v1|3");
    stop();
}

/* Replayed deliveries after a restart are compared, not counted live; the comms-like deliveryNum 0 is no regression. */
static void test_replay_and_comms(void)
{
    start();
    crank("v1", 1, "startVat");
    crank("v1", 2, "message");
    crank("v1", 3, "message");
    crank("v0", 0, "message");
    crank("v0", 0, "message");
    ev(SP_EV_CS_COMMIT_BLOCK_FINISH, NULL);
    ev(SP_EV_KERNEL_INIT_START, NULL);
    ev_replay(SP_EV_START_REPLAY, "v1", 4); /* the span [0,4): initialize-worker + 3 deliveries */
    dlv("v1", 1, 1, "startVat");
    dlv("v1", 2, 1, "message");
    dlv("v1", 3, 1, "message");
    ev_replay(SP_EV_FINISH_REPLAY, "v1", -1);
    crank("v1", 4, "message");
    CHECK_STR(got, "");
    /* a replay that claims one delivery more than it replays */
    ev(SP_EV_KERNEL_INIT_START, NULL);
    ev_replay(SP_EV_START_REPLAY, "v1", 6);
    dlv("v1", 1, 1, "startVat");
    dlv("v1", 2, 1, "message");
    dlv("v1", 3, 1, "message");
    dlv("v1", 4, 1, "message");
    ev_replay(SP_EV_FINISH_REPLAY, "v1", -1);
    CHECK_STR(got, ""); /* judged at the next live delivery */
    crank("v1", 5, "message");
    CHECK_STR(got, "REPLAY_SPAN_MISMATCH|v1|0");
    stop();
}

/* L1 with the transcript item first, and with the item after the delivery (no store: the vat's recent ring). */
static void test_divergence_both_orders(void)
{
    start();
    item("v1", 1, "startVat", "vd1", "ok");
    item("v1", 2, "message", "other", "ok");
    crank("v1", 1, "startVat");
    crank("v1", 2, "message");
    CHECK_STR(got, "SLOG_TRANSCRIPT_DIVERGENCE|v1|2");
    stop();
    start();
    crank("v1", 1, "startVat");
    crank("v1", 2, "message");
    CHECK_STR(got, "");
    item("v1", 1, "startVat", "vd1", "ok");
    item("v1", 2, "message", "other", "ok");
    CHECK_STR(got, "SLOG_TRANSCRIPT_DIVERGENCE|v1|2");
    stop();
}

/* A later source repeating what an earlier one committed (a flight recorder of the same run) counts once. */
static void test_overlapping_sources(void)
{
    start();
    for (int64_t dn = 1; dn <= 20; dn++) crank("v1", dn, dn == 1 ? "startVat" : "message");
    source = "b.fr";
    for (int64_t dn = 15; dn <= 22; dn++) crank("v1", dn, "message");
    CHECK_STR(got, "");
    stop();
}

/* After termination: the first delivery to the vat is reported, once. */
static void test_after_termination(void)
{
    start();
    crank("v3", 1, "startVat");
    ev(SP_EV_VAT_CLEANUP_COMPLETE, "v3");
    crank("v3", 2, "message");
    crank("v3", 3, "message");
    CHECK_STR(got, "ACTIVITY_AFTER_TERMINATION|v3|2");
    stop();
}

/* The part's checkpoint: what save() writes, restore() reads back to the same state; malformed input is refused. */
static void test_checkpoint_round_trip(void)
{
    const struct sp_tl_part *p = &sp_tl_part_slogchk;
    start();
    crank("v1", 1, "startVat");
    item("v1", 5, "message", "x", "error");
    ev(SP_EV_CRANK_START, NULL);
    dlv("v1", 2, 0, "message"); /* mid-crank: the crank's operations are part of the state */
    struct sp_buf a, b;
    sp_buf_init(&a, 0);
    sp_buf_init(&b, 0);
    size_t iter = 0;
    const char *node = NULL;
    CHECK_INT(sp_tl_stream_next_dirty(tl, &iter, &node, &a), 1);
    sp_buf_putc(&a, '\0');
    char ebuf[128];
    yajl_val root = yajl_tree_parse(a.data, ebuf, sizeof ebuf);
    const char *path[] = {"parts", p->name, NULL};
    yajl_val v = root ? yajl_tree_get(root, path, yajl_t_any) : NULL;
    CHECK(v != NULL);
    void *st = calloc(1, p->state_size), *st2 = calloc(1, p->state_size);
    p->init(st);
    CHECK_INT(v ? p->restore(st, v) : -1, 0);
    sp_buf_reset(&a);
    p->save(st, &a);
    p->init(st2);
    sp_buf_putc(&a, '\0');
    yajl_val again = yajl_tree_parse(a.data, ebuf, sizeof ebuf);
    CHECK_INT(again ? p->restore(st2, again) : -1, 0);
    p->save(st2, &b);
    sp_buf_putc(&b, '\0');
    CHECK_STR(b.data, a.data);
    /* malformed: other shapes are refused, not half-read */
    static const char *const bad[] = {"[]", "{}", "[[0,0,\"\"],[],[[\"\"]]]", "[[0,0,\"\"],[[1]],[]]", "[[0,0],[],[]]", "7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        yajl_val j = yajl_tree_parse(bad[i], ebuf, sizeof ebuf);
        void *s3 = calloc(1, p->state_size);
        p->init(s3);
        CHECK_INT(p->restore(s3, j), -1);
        p->release(s3);
        free(s3);
        yajl_tree_free(j);
    }
    yajl_tree_free(again);
    yajl_tree_free(root);
    p->release(st);
    p->release(st2);
    free(st);
    free(st2);
    sp_buf_free(&a);
    sp_buf_free(&b);
    stop();
}

/* T12 on a transcript item: reported with its span, when the span record comes after the items. */
static void test_t12_with_span(void)
{
    start();
    item("v1", 4, "message", "x", "error");
    item("v1", 5, "stopVat", "vd5", "ok");
    CHECK_STR(got, "");
    struct sp_tspan sp;
    memset(&sp, 0, sizeof sp);
    sp.node = sp_str_c("n");
    sp.source = sp_str_c("store");
    sp.vat_id = sp_str_c("v1");
    sp.start_pos = 3;
    sp.end_pos = 7;
    sp.incarnation = 0;
    struct sp_record rec = {.kind = SP_REC_TSPAN, .u.tspan = &sp};
    feed(&rec);
    /* (and the transcript's structure, sp_tl_tspans.c: v1's first span does not start at 0, T1) */
    CHECK_STR(got, "NON_OK_RESULT|v1|4 UNEXPECTED_STOPVAT|v1|5 POSITION_GAP|v1|0");
    /* the slog's own stopVat at 5 leaves the transcript's finding alone */
    crank("v1", 5, "stopVat");
    CHECK_STR(got, "NON_OK_RESULT|v1|4 UNEXPECTED_STOPVAT|v1|5 POSITION_GAP|v1|0");
    stop();
}

int main(void)
{
    test_regression_and_reexecution();
    test_replay_and_comms();
    test_divergence_both_orders();
    test_overlapping_sources();
    test_after_termination();
    test_checkpoint_round_trip();
    test_t12_with_span();
    return TEST_DONE();
}
