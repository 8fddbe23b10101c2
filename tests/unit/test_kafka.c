/* test_kafka.c - Kafka source and sink over real TCP against librdkafka's mock cluster: equality with file ingest, crash, rebalance, faults. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sqlite3.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "sp_test.h"
#include "../core/sp_buf.h"
#include "../core/sp_hash.h"
#include "../kafka/sp_kafka.h"
#include "../pipeline/sp_pipeline.h"
#include "../sinks/sp_sqlite.h"

#define LINES_PER_ENVELOPE 150

static char tmpdir[256];
static const char *self_exe;

/* ---- helpers ------------------------------------------------------------------ */

static char *read_gz(const char *path, size_t *n)
{
    gzFile f = gzopen(path, "rb");
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    int got;
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    while ((got = gzread(f, buf + len, (unsigned)(cap - len))) > 0) {
        len += (size_t)got;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    gzclose(f);
    *n = len;
    return buf;
}

static void gzip_buf(const char *in, size_t n, struct sp_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    sp_buf_reset(out);
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    sp_buf_reserve(out, deflateBound(&zs, n) + 64);
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (unsigned char *)out->data;
    zs.avail_out = (uInt)(out->alloc - 1);
    deflate(&zs, Z_FINISH);
    out->len = zs.total_out;
    deflateEnd(&zs);
}

static rd_kafka_t *producer_new(const char *bs)
{
    char errstr[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bs, errstr, sizeof(errstr));
    rd_kafka_conf_set(c, "compression.codec", "gzip", errstr, sizeof(errstr)); /* the mock keeps ~5 MiB per partition */
    rd_kafka_conf_set(c, "linger.ms", "20", errstr, sizeof(errstr));
    rd_kafka_conf_set(c, "message.max.bytes", "10000000", errstr, sizeof(errstr));
    rd_kafka_conf_set(c, "enable.idempotence", "true", errstr, sizeof(errstr));
    return rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof(errstr));
}

static void produce(rd_kafka_t *rk, const char *topic, int32_t part, const char *key, const char *node_hdr,
                    const void *v, size_t n)
{
    rd_kafka_resp_err_t e;
    rd_kafka_headers_t *h = NULL;
    for (;;) {
        if (node_hdr) {
            h = rd_kafka_headers_new(1);
            rd_kafka_header_add(h, "node", -1, node_hdr, -1);
        }
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                              RD_KAFKA_V_VALUE((void *)v, n), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        if (h) rd_kafka_headers_destroy(h);
        rd_kafka_poll(rk, 50);
    }
    if (e) {
        if (h) rd_kafka_headers_destroy(h);
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
        exit(2);
    }
    rd_kafka_poll(rk, 0);
}

/* The two sample slogs: basic in gzip envelopes of many lines keyed "basic" (partition 1),
 * node2 one line per message with a node header (partition 2). Returns the message count. */
static long produce_slogs(rd_kafka_t *rk)
{
    size_t n;
    long msgs = 0;
    char *all = read_gz(SP_TEST_DATA "/basic/slog.jsonl.gz", &n);
    struct sp_buf env, gz;
    sp_buf_init(&env, 0);
    sp_buf_init(&gz, 0);
    for (size_t i = 0, lines = 0; i < n;) {
        char *nl = memchr(all + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - all) + 1 : n;
        sp_buf_append(&env, all + i, end - i);
        i = end;
        if (++lines % LINES_PER_ENVELOPE == 0 || i == n) {
            gzip_buf(env.data, env.len, &gz);
            produce(rk, "slog", 1, "basic", NULL, gz.data, gz.len);
            sp_buf_reset(&env);
            msgs++;
        }
    }
    free(all);
    all = read_gz(SP_TEST_DATA "/node2/slog.jsonl.gz", &n);
    for (size_t i = 0; i < n;) {
        char *nl = memchr(all + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - all) : n;
        produce(rk, "slog", 2, "ignored-key", "node2", all + i, end - i);
        msgs++;
        i = end + 1;
    }
    free(all);
    /* two bad envelopes on partition 3 */
    produce(rk, "slog", 3, "basic", NULL, "", 0);
    produce(rk, "slog", 3, "basic", NULL, "\x1f\x8b\x08\x00garbage", 12);
    sp_buf_free(&env);
    sp_buf_free(&gz);
    return msgs + 2;
}

/* A copy of basic/swingstore.sqlite with one transcript item altered (a space added
 * after "ok"): still valid JSON, but its span's stored hash no longer matches. */
static void tampered_store(const char *path)
{
    sqlite3 *src, *dst;
    sqlite3_backup *bk;
    sqlite3_open_v2(SP_TEST_DATA "/basic/swingstore.sqlite", &src, SQLITE_OPEN_READONLY, NULL);
    sqlite3_open(path, &dst);
    bk = sqlite3_backup_init(dst, "main", src, "main");
    sqlite3_backup_step(bk, -1);
    sqlite3_backup_finish(bk);
    CHECK_INT(sqlite3_exec(dst,
                           "UPDATE transcriptItems SET item = replace(item, '\"status\":\"ok\"', "
                           "'\"status\":\"ok\" ') WHERE rowid = (SELECT rowid FROM transcriptItems "
                           "WHERE vatID = 'v1' AND item LIKE '%\"status\":\"ok\"%' ORDER BY position LIMIT 1)",
                           NULL, NULL, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_changes(dst), 1);
    sqlite3_close(dst);
    sqlite3_close(src);
}

/* Transcript items and spans of a swing-store, in (vat, position) order, key "basic". */
static long produce_transcripts(rd_kafka_t *rk, const char *store)
{
    sqlite3 *db;
    sqlite3_stmt *sp, *it;
    struct sp_buf b;
    long msgs = 0;
    sp_buf_init(&b, 0);
    sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_prepare_v2(db, "SELECT vatID, startPos, endPos, hash, isCurrent, incarnation FROM transcriptSpans "
                           "ORDER BY vatID, startPos", -1, &sp, NULL);
    sqlite3_prepare_v2(db, "SELECT position, item, incarnation FROM transcriptItems WHERE vatID = ?1 AND "
                           "position >= ?2 AND position < ?3 ORDER BY position", -1, &it, NULL);
    while (sqlite3_step(sp) == SQLITE_ROW) {
        const char *vat = (const char *)sqlite3_column_text(sp, 0);
        sqlite3_bind_text(it, 1, vat, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(it, 2, sqlite3_column_int64(sp, 1));
        sqlite3_bind_int64(it, 3, sqlite3_column_int64(sp, 2));
        while (sqlite3_step(it) == SQLITE_ROW) {
            const char *item = (const char *)sqlite3_column_text(it, 1);
            sp_buf_reset(&b);
            sp_buf_append_c(&b, "{\"vatID\":");
            sp_buf_json_str(&b, vat, strlen(vat));
            sp_buf_printf(&b, ",\"position\":%lld,\"incarnation\":%lld,\"item\":",
                          (long long)sqlite3_column_int64(it, 0), (long long)sqlite3_column_int64(it, 2));
            sp_buf_json_str(&b, item, strlen(item));
            sp_buf_putc(&b, '}');
            produce(rk, "vt", 0, "basic", NULL, b.data, b.len);
            msgs++;
        }
        sqlite3_reset(it);
        sp_buf_reset(&b);
        sp_buf_append_c(&b, "{\"vatID\":");
        sp_buf_json_str(&b, vat, strlen(vat));
        sp_buf_printf(&b, ",\"startPos\":%lld,\"endPos\":%lld,\"hash\":\"%s\",\"isCurrent\":%s,\"incarnation\":%lld}",
                      (long long)sqlite3_column_int64(sp, 1), (long long)sqlite3_column_int64(sp, 2),
                      (const char *)sqlite3_column_text(sp, 3),
                      sqlite3_column_type(sp, 4) == SQLITE_NULL ? "false" : "true",
                      (long long)sqlite3_column_int64(sp, 5));
        produce(rk, "vt", 0, "basic", NULL, b.data, b.len);
        msgs++;
    }
    sqlite3_finalize(sp);
    sqlite3_finalize(it);
    sqlite3_close(db);
    sp_buf_free(&b);
    return msgs;
}

/* ---- canonical dumps ---------------------------------------------------------------- */

static const char *const canon_noprov[] = {
    "SELECT node,type,time,monotime,seconds,vat_id,crank_num,delivery_num,syscall_num,replay,block_height,"
    "epoch,raw FROM slog_events",
    "SELECT node,vat_id,delivery_num,crank_num,block_height,epoch,dispatch,replay,status,computrons,syscalls,"
    "time,seconds,vd_hash,sc_hash FROM deliveries",
    "SELECT node,vat_id,name,dynamic,manager_type,status FROM vats",
    "SELECT node,vat_id,snap_pos,snapshot_id,slog_snapshot_id,save_time,uncompressed_size,compressed_size,"
    "save_seconds,compress_seconds,loads FROM snapshots",
    "SELECT node,block_height,block_time,begin_time,end_time,commit_time,committed FROM blocks",
    "SELECT node,vat_id,position,incarnation,d_type,item,d_hash,sc_hash,status,computrons,snapshot_id "
    "FROM transcript_items",
    "SELECT node,vat_id,start_pos,end_pos,hash,computed_hash,items,is_current,incarnation FROM transcript_spans",
    NULL,
};
static const char *const canon_full[] = {
    "SELECT * FROM slog_events", "SELECT * FROM deliveries", "SELECT * FROM vats", "SELECT * FROM snapshots",
    "SELECT * FROM blocks", "SELECT * FROM transcript_items", "SELECT * FROM transcript_spans",
    "SELECT node, source, line, offset, reason FROM ingest_errors", NULL,
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hash of the sorted rows of one query; *rows = row count. */
static void canon_query(sqlite3 *db, const char *sql, char out[SP_HASH_HEX_LEN + 1], long *rows)
{
    sqlite3_stmt *st;
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct sp_hash_ctx h;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        exit(2);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        sp_buf_reset(&b);
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const char *t = (const char *)sqlite3_column_text(st, c);
            sp_buf_append_c(&b, t ? t : "\\N");
            sp_buf_putc(&b, '\x1f');
        }
        if (n == cap) v = realloc(v, (cap = cap ? cap * 2 : 1024) * sizeof(*v));
        v[n++] = strdup(b.data);
    }
    sqlite3_finalize(st);
    qsort(v, n, sizeof(*v), cmp_str);
    sp_hash_begin(&h);
    for (size_t i = 0; i < n; i++) {
        sp_hash_update(&h, v[i], strlen(v[i]) + 1);
        free(v[i]);
    }
    sp_hash_end(&h, out);
    free(v);
    sp_buf_free(&b);
    *rows = (long)n;
}

/* Compare two DBs table by table; prints the differing ones. Returns the number of differences. */
static int canon_compare(const char *a, const char *b, const char *const *queries, const char *what)
{
    sqlite3 *da, *db;
    int diffs = 0;
    sqlite3_open_v2(a, &da, SQLITE_OPEN_READONLY, NULL);
    sqlite3_open_v2(b, &db, SQLITE_OPEN_READONLY, NULL);
    for (int i = 0; queries[i]; i++) {
        char ha[SP_HASH_HEX_LEN + 1], hb[SP_HASH_HEX_LEN + 1];
        long ra, rb;
        canon_query(da, queries[i], ha, &ra);
        canon_query(db, queries[i], hb, &rb);
        if (strcmp(ha, hb) != 0) {
            diffs++;
            fprintf(stderr, "%s: differs (%ld vs %ld rows): %.70s\n", what, ra, rb, queries[i]);
        }
    }
    sqlite3_close(da);
    sqlite3_close(db);
    return diffs;
}

static long count(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long v = -1;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = (long)sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* ---- runs ------------------------------------------------------------------------------ */

static int file_ingest(const char *db, const char *node, const char *path)
{
    struct sp_pipeline_opts o;
    struct sp_pipeline *p;
    struct sp_err e;
    int rc;
    sp_pipeline_opts_init(&o);
    o.db = db;
    o.node = node;
    o.analyze = 0;
    o.quiet = 1;
    if ((rc = sp_pipeline_open(&p, &o, &e)) != SP_OK) {
        fprintf(stderr, "open %s: %s\n", db, e.msg);
        return rc;
    }
    rc = sp_pipeline_ingest_path(p, path, &e);
    if (rc == SP_OK) rc = sp_pipeline_finish(p, &e);
    if (rc != SP_OK) fprintf(stderr, "file ingest %s: %s\n", path, e.msg);
    sp_pipeline_destroy(p);
    return rc;
}

struct stopper {
    struct sp_pipeline *p;
    int64_t after; /* stop once the pipeline has fed this many lines (0: never) */
    volatile int done;
};

static void *stopper_main(void *arg)
{
    struct stopper *st = arg;
    while (!st->done) {
        if (st->after > 0 && sp_pipeline_stats(st->p)->lines >= st->after) {
            sp_pipeline_stop = 1;
            break;
        }
        usleep(1000);
    }
    return NULL;
}

static struct sp_pipeline *pipeline_open(const char *db, int batch_rows)
{
    struct sp_pipeline_opts o;
    struct sp_pipeline *p;
    struct sp_err e;
    sp_pipeline_opts_init(&o);
    o.db = db;
    o.analyze = 0;
    o.quiet = 1;
    o.batch_rows = batch_rows;
    o.commit_ms = 100;
    if (sp_pipeline_open(&p, &o, &e) != SP_OK) {
        fprintf(stderr, "open %s: %s\n", db, e.msg);
        return NULL;
    }
    return p;
}

/* One sp_kafka_ingest run on pipeline p; stop_after > 0 stops it (cleanly) after that
 * many lines in total were fed to p. */
static int kafka_run(struct sp_pipeline *p, const char *bs, const char *group, const char *strategy,
                     int64_t stop_after)
{
    struct sp_err e;
    char uri[512], strat[128];
    const char *props[] = {"session.timeout.ms=6000", "heartbeat.interval.ms=500", strat, NULL};
    struct stopper st = {p, stop_after, 0};
    pthread_t th;
    int rc;
    snprintf(uri, sizeof(uri), "kafka://%s/slog,vt?group=%s", bs, group);
    snprintf(strat, sizeof(strat), "partition.assignment.strategy=%s", strategy);
    pthread_create(&th, NULL, stopper_main, &st);
    rc = sp_kafka_ingest(p, uri, props, 1, &e);
    st.done = 1;
    pthread_join(th, NULL);
    sp_pipeline_stop = 0;
    if (rc != SP_OK) fprintf(stderr, "kafka ingest: %s\n", e.msg);
    return rc;
}

static int kafka_ingest(const char *db, const char *bs, const char *group, const char *strategy,
                        int batch_rows, int64_t stop_after)
{
    struct sp_pipeline *p = pipeline_open(db, batch_rows);
    struct sp_err e;
    int rc;
    if (!p) return SP_ESINK;
    rc = kafka_run(p, bs, group, strategy, stop_after);
    if (rc == SP_OK && (rc = sp_pipeline_finish(p, &e)) != SP_OK) fprintf(stderr, "finish: %s\n", e.msg);
    sp_pipeline_destroy(p);
    return rc;
}

/* Run a consumer in a child process (this program re-executed). */
static pid_t spawn_consumer(const char *db, const char *bs, const char *group, const char *strategy,
                            const char *stop_after)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(self_exe, self_exe, "--consume", db, bs, group, strategy, stop_after, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- the sink ----------------------------------------------------------------------------- */

static const char *jstr(yajl_val v)
{
    const char *s = YAJL_GET_STRING(v);
    return s ? s : "";
}

/* Read every message of topic (all partitions) until EOF; returns the count, checks JSON. */
static long consume_all(const char *bs, const char *topic, int nparts, long *bad_json, long *bad_key)
{
    char errstr[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    long n = 0;
    int eofs = 0;
    uint64_t t0 = sp_now_ns();
    rd_kafka_conf_set(c, "bootstrap.servers", bs, errstr, sizeof(errstr));
    rd_kafka_conf_set(c, "enable.partition.eof", "true", errstr, sizeof(errstr));
    rd_kafka_conf_set(c, "group.id", "readback", errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof(errstr));
    rd_kafka_poll_set_consumer(rk);
    for (int i = 0; i < nparts; i++) rd_kafka_topic_partition_list_add(l, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    *bad_json = *bad_key = 0;
    while (eofs < nparts && sp_now_ns() - t0 < 30000000000ull) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (!m->err) {
            char *txt = strndup(m->payload, m->len), eb[128];
            yajl_val v = yajl_tree_parse(txt, eb, sizeof(eb));
            const char *kind[] = {"kind", NULL}, *node[] = {"node", NULL}, *vat[] = {"vatID", NULL};
            yajl_val k = v ? yajl_tree_get(v, kind, yajl_t_string) : NULL;
            yajl_val nd = v ? yajl_tree_get(v, node, yajl_t_string) : NULL;
            yajl_val vt = v ? yajl_tree_get(v, vat, yajl_t_string) : NULL;
            if (!k || !nd) {
                (*bad_json)++;
            } else {
                char want[256];
                if (vt && strcmp(jstr(k), "event") != 0 && strcmp(jstr(k), "delivery") != 0)
                    snprintf(want, sizeof(want), "%s/%s", jstr(nd), jstr(vt));
                else
                    snprintf(want, sizeof(want), "%s", jstr(nd));
                if (m->key_len != strlen(want) || memcmp(m->key, want, m->key_len) != 0) (*bad_key)++;
            }
            yajl_tree_free(v);
            free(txt);
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

static void test_sink(rd_kafka_mock_cluster_t *mc, const char *bs)
{
    void *ctx = NULL;
    struct sp_err e;
    struct sp_anomaly an;
    struct sp_kv kv;
    struct sp_record r;
    long bad_json, bad_key, n;
    const char *props[] = {"group.id=x", "slogpipe.node=n", "message.timeout.ms=10000", NULL};
    int rc;

    rd_kafka_mock_topic_create(mc, "out.events", 2, 1);
    rd_kafka_mock_topic_create(mc, "out.spans", 2, 1);
    rd_kafka_mock_topic_create(mc, "out.anomalies", 2, 1);
    rc = sp_kafka_sink_open(&ctx, bs, "out", props, NULL, &e);
    CHECK_INT(rc, SP_OK);
    if (rc != SP_OK) {
        fprintf(stderr, "sink open: %s\n", e.msg);
        return;
    }
    memset(&an, 0, sizeof(an));
    an.node = SP_STR_LIT("basic");
    an.vat_id = SP_STR_LIT("v9");
    an.kind = SP_STR_LIT("SNAPSHOT_SCHEDULE_DEVIATION");
    an.incarnation = 1;
    an.position = 5;
    an.severity = SP_STR_LIT("warning");
    an.detail = SP_STR_LIT("{\"len\":7}");
    an.source = SP_STR_LIT("slog/1");
    an.line = 12;
    memset(&kv, 0, sizeof(kv));
    kv.node = SP_STR_LIT("basic");
    kv.source = SP_STR_LIT("x");
    kv.key = SP_STR_LIT("kernel.snapshotInterval");
    kv.value = SP_STR_LIT("7");

    /* retriable faults while producing: retried by the idempotent producer, no duplicates */
    rd_kafka_mock_push_request_errors(mc, 0 /* Produce */, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    for (int i = 0; i < 500; i++) {
        an.position = i;
        r.kind = SP_REC_ANOMALY;
        r.u.anomaly = &an;
        CHECK_INT(sp_sink_kafka.write(ctx, &r, &e), SP_OK);
        r.kind = SP_REC_KV;
        r.u.kv = &kv;
        CHECK_INT(sp_sink_kafka.write(ctx, &r, &e), SP_OK);
    }
    rc = sp_sink_kafka.commit(ctx, NULL, 0, &e);
    CHECK_INT(rc, SP_OK);
    if (rc != SP_OK) fprintf(stderr, "sink commit: %s\n", e.msg);
    n = consume_all(bs, "out.anomalies", 2, &bad_json, &bad_key);
    CHECK_INT(n, 500);
    CHECK_INT(bad_json, 0);
    CHECK_INT(bad_key, 0);
    n = consume_all(bs, "out.events", 2, &bad_json, &bad_key);
    CHECK_INT(n, 500);
    CHECK_INT(bad_json, 0);
    CHECK_INT(bad_key, 0);

    /* a permanent failure is reported by commit, never dropped silently */
    rd_kafka_mock_topic_set_error(mc, "out.anomalies", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    {
        rd_kafka_resp_err_t errs[50];
        for (int i = 0; i < 50; i++) errs[i] = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
        rd_kafka_mock_push_request_errors_array(mc, 0 /* Produce */, 50, errs);
    }
    r.kind = SP_REC_ANOMALY;
    r.u.anomaly = &an;
    CHECK_INT(sp_sink_kafka.write(ctx, &r, &e), SP_OK);
    rc = sp_sink_kafka.commit(ctx, NULL, 0, &e);
    CHECK_INT(rc, SP_ESINK);
    CHECK(strstr(e.msg, "not delivered") != NULL);
    fprintf(stderr, "expected sink failure: %s\n", e.msg);
    rd_kafka_mock_clear_request_errors(mc, 0);
    rd_kafka_mock_topic_set_error(mc, "out.anomalies", RD_KAFKA_RESP_ERR_NO_ERROR);
    sp_sink_kafka.close(ctx);
}

/* kv records of source `src` through the Kafka sink bound to a database, then commit both
 * (sqlite_commit: also the database, as the pipeline does after the sink). */
static int eo_batch(void *ks, void *sq, const char *src, int n, int sqlite_commit, struct sp_err *e)
{
    struct sp_kv kv;
    struct sp_record r;
    int rc;
    memset(&kv, 0, sizeof(kv));
    kv.node = SP_STR_LIT("basic");
    kv.source = sp_str_c(src);
    kv.key = SP_STR_LIT("kernel.snapshotInterval");
    kv.value = SP_STR_LIT("7");
    r.kind = SP_REC_KV;
    r.u.kv = &kv;
    for (int i = 0; i < n; i++) {
        if ((rc = sp_sink_sqlite.write(sq, &r, e)) != SP_OK) return rc;
        if ((rc = sp_sink_kafka.write(ks, &r, e)) != SP_OK) return rc;
    }
    if ((rc = sp_sink_kafka.commit(ks, NULL, 0, e)) != SP_OK) return rc;
    if (!sqlite_commit) return SP_OK;
    if ((rc = sp_sink_sqlite.commit(sq, NULL, 0, e)) != SP_OK) return rc;
    return sp_sqlite_sync(sq, e);
}

static struct sp_store eo_store; /* the SQLite store the sink is bound to */

static void eo_open(const char *db, const char *bs, void **ks, void **sq)
{
    struct sp_sink_opts so = {"basic", 0, 0};
    struct sp_err e;
    const char *props[] = {"message.timeout.ms=10000", NULL};
    CHECK_INT(sp_sink_sqlite.open(sq, db, &so, &e), SP_OK);
    CHECK_INT(sp_kafka_sink_open(ks, bs, "eo", props, "test-eo", &e), SP_OK);
    eo_store.ops = &sp_store_sqlite;
    eo_store.ctx = *sq;
    if (*ks && *sq) sp_kafka_sink_bind(*ks, &eo_store);
}

/* Exactly-once bookkeeping of the Kafka sink: the window between the Kafka and the SQLite
 * commit, and a zombie refused by the database. */
static void test_sink_eo(rd_kafka_mock_cluster_t *mc, const char *bs)
{
    char db[600], *v = NULL;
    void *ks = NULL, *sq = NULL;
    struct sp_err e;
    long bad_json, bad_key;
    sqlite3 *other;

    snprintf(db, sizeof(db), "%s/eo.db", tmpdir);
    rd_kafka_mock_topic_create(mc, "eo.events", 2, 1);
    rd_kafka_mock_topic_create(mc, "eo.commits", 1, 1);
    eo_open(db, bs, &ks, &sq);
    if (!ks || !sq) return;
    CHECK_INT(eo_batch(ks, sq, "s1", 10, 1, &e), SP_OK);
    CHECK_INT(consume_all(bs, "eo.events", 2, &bad_json, &bad_key), 10);
    CHECK_INT(sp_sqlite_state_get(sq, "kafka.out:eo:src:s1", &v, &e), SP_OK);
    CHECK(v && strcmp(v, "10") == 0);
    free(v);
    /* the Kafka transaction commits, the database's does not (closed: rolled back) */
    CHECK_INT(eo_batch(ks, sq, "s1", 5, 0, &e), SP_OK);
    sp_sink_kafka.close(ks);
    sp_sink_sqlite.close(sq);
    CHECK_INT(consume_all(bs, "eo.events", 2, &bad_json, &bad_key), 15);
    /* the resumed run replays those 5 and 3 more: only the 3 are published */
    eo_open(db, bs, &ks, &sq);
    if (!ks || !sq) return;
    CHECK_INT(eo_batch(ks, sq, "s1", 8, 1, &e), SP_OK);
    CHECK_INT(consume_all(bs, "eo.events", 2, &bad_json, &bad_key), 18);
    CHECK_INT(sp_sqlite_state_get(sq, "kafka.out:eo:src:s1", &v, &e), SP_OK);
    CHECK(v && strcmp(v, "18") == 0);
    free(v);
    /* another source is independent */
    CHECK_INT(eo_batch(ks, sq, "s2", 4, 1, &e), SP_OK);
    CHECK_INT(consume_all(bs, "eo.events", 2, &bad_json, &bad_key), 22);
    /* a zombie: another instance stored s1 since this one loaded it; nothing is published */
    CHECK_INT(sqlite3_open(db, &other), SQLITE_OK);
    sqlite3_busy_timeout(other, 10000);
    CHECK_INT(sqlite3_exec(other, "UPDATE sink_state SET value = '30' WHERE key = 'kafka.out:eo:src:s1'", NULL,
                           NULL, NULL),
              SQLITE_OK);
    sqlite3_close(other);
    CHECK_INT(eo_batch(ks, sq, "s1", 2, 1, &e), SP_ESINK);
    CHECK(strstr(e.msg, "published by another instance meanwhile") != NULL);
    fprintf(stderr, "expected zombie refusal: %s\n", e.msg);
    sp_sink_kafka.close(ks);
    sp_sink_sqlite.close(sq);
    /* (the mock cluster does not hide aborted transactions: no read-back of that one) */
}

/* ---- main ------------------------------------------------------------------------------------ */

static int child_consume(char **argv)
{
    sp_log_level = SP_LOG_WARN;
    return kafka_ingest(argv[2], argv[3], argv[4], argv[5], 1000, strtoll(argv[6], NULL, 10)) == SP_OK ? 0 : 1;
}

static void test_uri(void)
{
    struct sp_kafka_uri u;
    struct sp_err e;
    CHECK_INT(sp_kafka_uri_parse(&u, "kafka://h1:9092,h2:9092/a,b?group=g&node=n", &e), SP_OK);
    CHECK_STR(u.brokers, "h1:9092,h2:9092");
    CHECK_STR(u.topics, "a,b");
    CHECK_STR(u.group, "g");
    CHECK_STR(u.node, "n");
    sp_kafka_uri_free(&u);
    CHECK_INT(sp_kafka_uri_parse(&u, "kafka://h:1/t", &e), SP_OK);
    CHECK(u.group == NULL);
    sp_kafka_uri_free(&u);
    CHECK_INT(sp_kafka_uri_parse(&u, "kafka://h:1/", &e), SP_EUSAGE);
    CHECK_INT(sp_kafka_uri_parse(&u, "kafka:///t", &e), SP_EUSAGE);
    CHECK_INT(sp_kafka_uri_parse(&u, "kafka://h:1/t?grop=x", &e), SP_EUSAGE);
    CHECK_INT(sp_kafka_uri_parse(&u, "file.gz", &e), SP_EUSAGE);
    CHECK(sp_kafka_prop_is_secret("sasl.password"));
    CHECK(sp_kafka_prop_is_secret("ssl.key.password"));
    CHECK(sp_kafka_prop_is_secret("SASL.USERNAME"));
    CHECK(sp_kafka_prop_is_secret("ssl.keystore.location") == 1); /* "ssl.key" prefix: masked too */
    CHECK(!sp_kafka_prop_is_secret("bootstrap.servers"));
    CHECK_INT(sp_kafka_conf_error("kafka", "ssl.key.password", "hunter2",
                                  "Invalid value \"hunter2\" for \"ssl.key.password\" (hunter2)", &e),
              SP_EUSAGE);
    CHECK_STR(e.msg, "kafka: property ssl.key.password: value (hidden): Invalid value \"***\" for \"ssl.key.password\" (***)");
    sp_kafka_conf_error("kafka", "sasl.password", "abc", "bad abc", &e);
    CHECK(strstr(e.msg, "abc") == NULL);
    sp_kafka_conf_error("kafka", "socket.timeout.ms", "x1", "Invalid value x1", &e);
    CHECK_STR(e.msg, "kafka: property socket.timeout.ms: Invalid value x1");
}

/* A bad secret value never reaches the error message. */
static void test_secret_masked(void)
{
    struct sp_pipeline_opts o;
    struct sp_pipeline *p;
    struct sp_err e;
    char db[512];
    const char *props[] = {"sasl.kerberos.min.time.before.relogin=hunter2", NULL};
    const char *props2[] = {"socket.timeout.ms=hunter2", NULL};
    snprintf(db, sizeof(db), "%s/secret.db", tmpdir);
    sp_pipeline_opts_init(&o);
    o.db = db;
    o.quiet = 1;
    if (sp_pipeline_open(&p, &o, &e) != SP_OK) {
        CHECK(0);
        return;
    }
    CHECK_INT(sp_kafka_ingest(p, "kafka://127.0.0.1:1/t?group=g", props, 1, &e), SP_EUSAGE);
    CHECK(strstr(e.msg, "hunter2") == NULL);
    CHECK(strstr(e.msg, "sasl.kerberos.min.time.before.relogin") != NULL);
    CHECK_INT(sp_kafka_ingest(p, "kafka://127.0.0.1:1/t?group=g", props2, 1, &e), SP_EUSAGE);
    CHECK(strstr(e.msg, "socket.timeout.ms") != NULL);
    const char *props3[] = {"enable.auto.commit=true", NULL};
    CHECK_INT(sp_kafka_ingest(p, "kafka://127.0.0.1:1/t?group=g", props3, 1, &e), SP_EUSAGE);
    sp_pipeline_destroy(p);
}

int main(int argc, char **argv)
{
    char errstr[512], ref[512], dba[512], dbb[512], dbc[512], store[512];
    rd_kafka_conf_t *conf;
    rd_kafka_t *mrk, *prod;
    rd_kafka_mock_cluster_t *mc;
    const char *bs;
    long msgs;
    pid_t c1, c2;

    self_exe = argv[0];
    if (argc == 7 && strcmp(argv[1], "--consume") == 0) return child_consume(argv);
    sp_log_level = SP_LOG_WARN;
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_kafka.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) return 2;
    snprintf(ref, sizeof(ref), "%s/ref.db", tmpdir);
    snprintf(dba, sizeof(dba), "%s/a.db", tmpdir);
    snprintf(dbb, sizeof(dbb), "%s/b.db", tmpdir);
    snprintf(dbc, sizeof(dbc), "%s/c.db", tmpdir);

    test_uri();
    test_secret_masked();

    /* the mock cluster, reached over real TCP on loopback */
    conf = rd_kafka_conf_new();
    mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    mc = rd_kafka_mock_cluster_new(mrk, 3);
    bs = rd_kafka_mock_cluster_bootstraps(mc);
    CHECK_INT(rd_kafka_mock_topic_create(mc, "slog", 4, 1), 0);
    CHECK_INT(rd_kafka_mock_topic_create(mc, "vt", 2, 1), 0);

    prod = producer_new(bs);
    msgs = produce_slogs(prod);
    snprintf(store, sizeof(store), "%s/swingstore.sqlite", tmpdir);
    tampered_store(store);
    msgs += produce_transcripts(prod, store);
    CHECK_INT(rd_kafka_flush(prod, 60000), 0);
    rd_kafka_destroy(prod);
    fprintf(stderr, "produced %ld messages to %s\n", msgs, bs);

    /* reference: the same two slogs and the swing-store ingested from files */
    CHECK_INT(file_ingest(ref, "basic", SP_TEST_DATA "/basic/slog.jsonl.gz"), SP_OK);
    CHECK_INT(file_ingest(ref, "node2", SP_TEST_DATA "/node2/slog.jsonl.gz"), SP_OK);
    CHECK_INT(file_ingest(ref, "basic", store), SP_OK);

    /* A: one consumer, to the end */
    CHECK_INT(kafka_ingest(dba, bs, "ga", "range,roundrobin", 700, 0), SP_OK);
    CHECK_INT(canon_compare(ref, dba, canon_noprov, "file vs kafka"), 0);
    CHECK_INT(count(dba, "SELECT count(*) FROM slog_events"), 2 * 24851);
    CHECK_INT(count(dba, "SELECT count(*) FROM transcript_items"), 1414);
    /* every span hash recomputed from the items that came through Kafka; the altered one differs */
    CHECK_INT(count(dba, "SELECT count(*) FROM transcript_spans WHERE computed_hash = hash"),
              count(dba, "SELECT count(*) FROM transcript_spans") - 1);
    CHECK_INT(count(dba, "SELECT count(*) FROM transcript_spans WHERE computed_hash <> hash AND vat_id = 'v1'"), 1);
    CHECK_INT(count(ref, "SELECT count(*) FROM transcript_spans WHERE computed_hash <> hash AND vat_id = 'v1'"), 1);
    CHECK_INT(count(dba, "SELECT count(*) FROM ingest_errors WHERE source = 'slog/3'"), 2);
    CHECK_INT(count(dba, "SELECT count(*) FROM ingest_errors WHERE reason LIKE 'slog/3@1: gzip%'"), 1);
    CHECK_INT(count(dba, "SELECT count(*) FROM ingest_errors WHERE reason LIKE 'slog/3@0: empty message value'"), 1);
    CHECK_INT(count(dba, "SELECT count(*) FROM slog_events WHERE node = 'basic' AND source = 'slog/1'"), 24851);
    CHECK_INT(count(dba, "SELECT count(*) FROM slog_events WHERE node = 'node2' AND source = 'slog/2'"), 24851);
    CHECK_INT(count(dba, "SELECT next_offset FROM kafka_offsets WHERE group_id = 'ga' AND topic = 'slog' AND partition = 2"),
              24851);
    CHECK_INT(count(dba, "SELECT skip_lines FROM kafka_offsets WHERE group_id = 'ga' AND topic = 'slog' AND partition = 1"),
              0);
    /* a second run of the same group finds nothing new: no duplicates */
    CHECK_INT(kafka_ingest(dba, bs, "ga", "range,roundrobin", 700, 0), SP_OK);
    CHECK_INT(count(dba, "SELECT count(*) FROM slog_events"), 2 * 24851);

    /* B: a consumer killed with SIGKILL mid-stream, then another one finishes (cooperative-sticky) */
    c1 = spawn_consumer(dbb, bs, "gb", "cooperative-sticky", "0");
    {
        uint64_t t0 = sp_now_ns();
        long seen = 0;
        while (sp_now_ns() - t0 < 60000000000ull) {
            seen = access(dbb, F_OK) == 0 ? count(dbb, "SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets") : 0;
            if (seen > 2000) break;
            usleep(5000);
        }
        kill(c1, SIGKILL);
        CHECK_INT(wait_exit(c1), 128 + SIGKILL);
        fprintf(stderr, "killed the first consumer after %ld committed offsets; skip_lines>0 rows: %ld\n", seen,
                count(dbb, "SELECT count(*) FROM kafka_offsets WHERE skip_lines > 0"));
        CHECK(seen > 2000);
        CHECK(count(dbb, "SELECT count(*) FROM slog_events") < 2 * 24851);
    }
    c2 = spawn_consumer(dbb, bs, "gb", "cooperative-sticky", "0");
    CHECK_INT(wait_exit(c2), 0);
    CHECK_INT(canon_compare(dba, dbb, canon_full, "kafka vs kafka after SIGKILL"), 0);

    /* C: two consumers of one group at once (eager range assignment): a rebalance hands
     * partitions over mid-stream, through the shared database */
    c1 = spawn_consumer(dbc, bs, "gc", "range", "0");
    usleep(700000);
    c2 = spawn_consumer(dbc, bs, "gc", "range", "0");
    CHECK_INT(wait_exit(c1), 0);
    CHECK_INT(wait_exit(c2), 0);
    CHECK_INT(canon_compare(dba, dbc, canon_full, "kafka vs two consumers"), 0);

    /* D: a partition bounces back. This process consumes part of it and stops (its
     * consumer leaves the group), another instance moves the partition further, then this
     * same process (same pipeline) gets it again: it must continue from the other
     * instance's state in the database, not from its own stale in-memory streams. */
    {
        char dbd[512];
        struct sp_pipeline *p;
        snprintf(dbd, sizeof(dbd), "%s/d.db", tmpdir);
        p = pipeline_open(dbd, 500);
        CHECK(p != NULL);
        if (p) {
            struct sp_err e;
            CHECK_INT(kafka_run(p, bs, "gd", "cooperative-sticky", 9000), SP_OK);
            CHECK(count(dbd, "SELECT count(*) FROM slog_events") < 2 * 24851 - 9000);
            c1 = spawn_consumer(dbd, bs, "gd", "cooperative-sticky", "9000");
            CHECK_INT(wait_exit(c1), 0);
            CHECK(count(dbd, "SELECT count(*) FROM slog_events") < 2 * 24851);
            CHECK_INT(kafka_run(p, bs, "gd", "cooperative-sticky", 0), SP_OK);
            CHECK_INT(sp_pipeline_finish(p, &e), SP_OK);
            sp_pipeline_destroy(p);
            CHECK_INT(canon_compare(dba, dbd, canon_full, "kafka vs partition bounced back"), 0);
        }
    }

    test_sink(mc, bs);
    test_sink_eo(mc, bs);

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    if (!sp_test_failures) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
    } else {
        fprintf(stderr, "kept %s\n", tmpdir);
    }
    return TEST_DONE();
}
