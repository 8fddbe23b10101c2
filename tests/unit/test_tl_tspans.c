/* test_tl_tspans.c - the stage's tspans part on hand-made transcripts without a store: clean spans, each fault its own anomaly, snapshots beyond the remembered window, and a checkpoint taken in the middle of a span. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/sp_buf.h"
#include "../../sinks/sp_sink.h"
#include "../../timeline/sp_tl_stream.h"
#include "sp_test.h"

#define NODE "n"

/* What the stage emitted: one line per record, "A kind vat pos detail" / "S vat start end first last cur fromT". */
static struct sp_buf out;

static int collect(void *arg, const struct sp_record *rec, struct sp_err *err)
{
    (void)arg, (void)err;
    if (rec->kind == SP_REC_ANOMALY) {
        const struct sp_anomaly *a = rec->u.anomaly;
        sp_buf_printf(&out, "A %.*s %.*s %" PRId64 "%s %.*s\n", (int)a->kind.n, a->kind.p, (int)a->vat_id.n, a->vat_id.p,
                      a->position, a->retracted ? " retracted" : "", (int)a->detail.n, a->detail.p);
    } else if (rec->kind == SP_REC_SPAN) {
        const struct sp_span *s = rec->u.span;
        sp_buf_printf(&out, "S %.*s %" PRId64 " %" PRId64 " %.*s %.*s %d %d\n", (int)s->vat_id.n, s->vat_id.p,
                      s->start_pos, s->end_pos, (int)s->first_type.n, s->first_type.p ? s->first_type.p : "",
                      (int)s->last_type.n, s->last_type.p ? s->last_type.p : "", s->is_current, s->from_transcript);
    }
    return SP_OK;
}

static struct sp_tl_stream *T;
static struct sp_err err;

static void feed(const struct sp_record *rec)
{
    CHECK_INT(sp_tl_stream_feed(T, rec, collect, NULL, &err), SP_OK);
}

static void kv(const char *k, const char *v)
{
    struct sp_kv x = {.node = sp_str_c(NODE), .source = sp_str_c("ss"), .key = sp_str_c(k), .value = sp_str_c(v)};
    struct sp_record r = {.kind = SP_REC_KV, .u.kv = &x};
    feed(&r);
}

static void snap(const char *vat, int64_t pos, const char *hash, int in_use)
{
    struct sp_tsnapshot x = {.node = sp_str_c(NODE), .source = sp_str_c("ss"), .vat_id = sp_str_c(vat),
                             .snap_pos = pos, .hash = sp_str_c(hash), .in_use = in_use, .uncompressed_size = -1,
                             .compressed_size = -1, .has_blob = -1};
    struct sp_record r = {.kind = SP_REC_TSNAPSHOT, .u.tsnapshot = &x};
    feed(&r);
}

static void item(const char *vat, int64_t pos, const char *type, const char *sid)
{
    struct sp_titem x;
    memset(&x, 0, sizeof x);
    x.node = sp_str_c(NODE), x.source = sp_str_c("ss"), x.vat_id = sp_str_c(vat);
    x.position = pos, x.incarnation = 0, x.d_type = sp_str_c(type), x.status = sp_str_c("ok");
    x.snapshot_id = sid ? sp_str_c(sid) : SP_STR_NULL;
    struct sp_record r = {.kind = SP_REC_TITEM, .u.titem = &x};
    feed(&r);
}

static void span(const char *vat, int64_t a, int64_t b, int cur)
{
    struct sp_tspan x = {.node = sp_str_c(NODE), .source = sp_str_c("ss"), .vat_id = sp_str_c(vat), .start_pos = a,
                         .end_pos = b, .hash = sp_str_c("h"), .computed_hash = sp_str_c("h"), .items = b - a,
                         .is_current = cur, .incarnation = 0};
    struct sp_record r = {.kind = SP_REC_TSPAN, .u.tspan = &x};
    feed(&r);
}

static char *saved; /* the node's state, as a checkpoint would hold it */

static char *load(void *arg, const char *node)
{
    (void)arg;
    return strcmp(node, NODE) == 0 && saved ? strdup(saved) : NULL;
}

static void stage_new(void)
{
    struct sp_tl_stream_opts o = {.snapshot_initial = -1, .snapshot_interval = -1, .load = load};
    T = sp_tl_stream_new(&o);
}

static int count(const char *what)
{
    int n = 0;
    for (const char *p = out.data; p && (p = strstr(p, what)); p++) n++;
    return n;
}

/* v1: [0,5) init startVat msg BOYD save(A); [5,12) load(A) msg*4 BOYD save(B); [12,14) load(B) msg, current.
 * `from` .. `to` (item positions, spans after their last item) lets a test stop and resume in between. */
static void transcript(int from, int to, const char *load_b)
{
    static const char *types[] = {"initialize-worker", "startVat", "message", "bringOutYourDead", "save-snapshot",
                                  "load-snapshot", "message", "message", "message", "message", "bringOutYourDead",
                                  "save-snapshot", "load-snapshot", "message"};
    for (int p = from; p < to; p++) {
        const char *sid = p == 4 || p == 5 ? "A" : p == 11 ? "B" : p == 12 ? load_b : NULL;
        item("v1", p, types[p], sid);
        if (p == 4) span("v1", 0, 5, 0);
        if (p == 11) span("v1", 5, 12, 0);
        if (p == 13) span("v1", 12, 14, 1);
    }
}

static void test_clean(void)
{
    sp_buf_reset(&out);
    stage_new();
    kv("kernel.snapshotInitial", "3");
    kv("kernel.snapshotInterval", "5");
    snap("v1", 4, "A", 0);
    snap("v1", 11, "B", 1);
    transcript(0, 14, "B");
    CHECK_INT(count("\nA ") + (strncmp(out.data, "A ", 2) == 0), 0);
    CHECK_INT(count("S v1 0 5 initialize-worker save-snapshot 0 1"), 1);
    CHECK_INT(count("S v1 5 12 load-snapshot save-snapshot 0 1"), 1);
    /* the current span's last type is its last item's, as in the batch analysis's row */
    CHECK_INT(count("S v1 12 14 load-snapshot message 1 1"), 1);
    sp_tl_stream_free(T);
}

/* The load at 12 names a snapshot no save produced: both T9 and S1 (each its own anomaly). */
static void test_load_unknown(void)
{
    sp_buf_reset(&out);
    stage_new();
    kv("kernel.snapshotInitial", "3");
    kv("kernel.snapshotInterval", "5");
    snap("v1", 4, "A", 0);
    snap("v1", 11, "B", 1);
    transcript(0, 14, "Z");
    CHECK_INT(count("A LOAD_SAVE_ID_MISMATCH v1 12 "), 1);
    CHECK_INT(count("A LOAD_SNAPSHOT_UNKNOWN v1 12 "), 1);
    /* S2: the inUse snapshot is B, the current span loaded Z */
    CHECK_INT(count("A SNAPSHOT_MISSING_IN_STORE v1 11 "), 1);
    sp_tl_stream_free(T);
}

/* More snapshot rows than the stage keeps one by one: a row that is there is never called missing
 * (the filter answers "maybe"), one that is not is. */
static void test_many_snapshots(void)
{
    char h[32];
    sp_buf_reset(&out);
    stage_new();
    for (int p = 0; p < 200; p += 2) { /* rows at even positions only, v2 */
        snprintf(h, sizeof h, "H%d", p);
        snap("v2", p, h, p == 198);
    }
    /* v2: [0,3) init BOYD save(H2) -- row at 2 exists (early: outside the ring);
     *     [3,6) load(H2) BOYD save(H5) -- no row at 5 */
    item("v2", 0, "initialize-worker", NULL);
    item("v2", 1, "bringOutYourDead", NULL);
    item("v2", 2, "save-snapshot", "H2");
    span("v2", 0, 3, 0);
    item("v2", 3, "load-snapshot", "H2");
    item("v2", 4, "bringOutYourDead", NULL);
    item("v2", 5, "save-snapshot", "H5");
    span("v2", 3, 6, 0);
    CHECK_INT(count("A SNAPSHOT_MISSING_IN_STORE v2 2 "), 0);
    CHECK_INT(count("A LOAD_SNAPSHOT_UNKNOWN v2 3 "), 0);
    CHECK_INT(count("A SNAPSHOT_MISSING_IN_STORE v2 5 {\"transcript_snapshot_id\":\"H5\",\"store_hash\":null,"
                    "\"problem\":\"no snapshots row at snapPos\""),
              1);
    sp_tl_stream_free(T);
}

/* A checkpoint in the middle of a span (a Kafka batch can end there): resumed from it, the stage emits
 * exactly what an uninterrupted run emits from that point. */
static void test_checkpoint_mid_span(void)
{
    struct sp_buf whole, tail, b;
    sp_buf_init(&whole, 0);
    sp_buf_init(&tail, 0);
    sp_buf_init(&b, 0);
    for (int cut = 1; cut < 14; cut++) {
        /* uninterrupted, recording what is emitted after `cut` */
        sp_buf_reset(&out);
        free(saved), saved = NULL;
        stage_new();
        kv("kernel.snapshotInitial", "3");
        kv("kernel.snapshotInterval", "5");
        snap("v1", 4, "A", 0);
        snap("v1", 11, "B", 1);
        transcript(0, cut, "Z");
        size_t n0 = out.len;
        transcript(cut, 14, "Z");
        sp_buf_reset(&whole);
        sp_buf_append(&whole, out.data + n0, out.len - n0);
        /* stopped at `cut`: its state saved, a new stage resumes from it */
        sp_buf_reset(&out);
        free(saved), saved = NULL;
        sp_tl_stream_free(T);
        stage_new();
        kv("kernel.snapshotInitial", "3");
        kv("kernel.snapshotInterval", "5");
        snap("v1", 4, "A", 0);
        snap("v1", 11, "B", 1);
        transcript(0, cut, "Z");
        size_t iter = 0;
        const char *node = NULL;
        CHECK_INT(sp_tl_stream_next_dirty(T, &iter, &node, &b), 1);
        saved = strdup(b.data);
        sp_tl_stream_free(T);
        stage_new();
        sp_buf_reset(&out);
        transcript(cut, 14, "Z");
        sp_buf_reset(&tail);
        sp_buf_append(&tail, out.data, out.len);
        sp_buf_putc(&tail, '\0');
        sp_buf_putc(&whole, '\0');
        if (strcmp(whole.data, tail.data) != 0) fprintf(stderr, "cut at %d:\n--- whole\n%s--- resumed\n%s", cut, whole.data, tail.data);
        CHECK_STR(tail.data, whole.data);
        sp_tl_stream_free(T);
    }
    CHECK(strstr(whole.data, "LOAD_SNAPSHOT_UNKNOWN") != NULL);
    free(saved), saved = NULL;
    sp_buf_free(&whole);
    sp_buf_free(&tail);
    sp_buf_free(&b);
}

int main(void)
{
    sp_buf_init(&out, 0);
    test_clean();
    test_load_unknown();
    test_many_snapshots();
    test_checkpoint_mid_span();
    sp_buf_free(&out);
    return TEST_DONE();
}
