/* sp_kafka_sink.c - Kafka sink: records as JSON to PREFIX.events/.spans/.anomalies in one Kafka transaction per pipeline commit, exactly once across crashes. */
#include "sp_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <yajl/yajl_tree.h>

#include "../core/sp_buf.h"
#include "../core/sp_failpoint.h"
#include "../pipeline/sp_pipeline.h"
#include "../sinks/sp_store.h"

#define KSINK_KEY_MAX 512
#define KSINK_FLUSH_SLICE_MS 1000
#define KSINK_TXN_TIMEOUT_MS 60000   /* init/commit/abort of a transaction: librdkafka's own bound */
#define KSINK_MARKER_WAIT_S 90       /* reading the markers: normally the end is at hand */
#define KSINK_STATE_PREFIX "kafka.out:" /* sink_state keys: kafka.out:PREFIX:UNIT */
#define KSINK_UNIT_ANALYSIS "analysis"

/*
 * Exactly-once bookkeeping (schemas/kafka.md §2). Records are counted per
 * "unit": the input source they come from ("src:" + source; a file, a
 * swing-store, a Kafka topic/partition) or the analysis ("analysis": spans
 * and anomalies in a batch without source records; after one, they count
 * with its source, as a streaming stage would emit them). A
 * unit's records, replayed from its SQLite checkpoint, come again in the
 * same order. Each Kafka transaction carries, on PREFIX.commits partition
 * 0 (key = unit), the unit's cumulative count of published records; the
 * same count is written to SQLite (sink_state) in the transaction that
 * commits the rows, after the Kafka transaction committed. On (re)loading
 * a unit, Kafka's count minus SQLite's count is what the previous owner
 * published but SQLite did not commit (a crash between the two commits):
 * that many of the replayed records are already in Kafka and are skipped.
 */
struct kunit {
    char *key;        /* "src:SOURCE" or "analysis" */
    int64_t base;     /* count stored in SQLite (as of the last commit) */
    int64_t count;    /* records of the unit in Kafka, this batch included */
    int64_t skip;     /* replayed records still to skip (already published) */
    int64_t produced; /* produced in the open transaction */
    int touched;      /* written (produced or skipped) since the last commit */
};

/* Small string -> index table (open addressing), for units and marker counts. */
struct kmap {
    char **keys;
    int64_t *vals;
    size_t cap, n;
};

struct ksink {
    rd_kafka_t *rk;
    char *topic_events, *topic_spans, *topic_anomalies, *topic_commits;
    char *prefix, *txn_id, *brokers;
    char **reader_props; /* the target's key=value properties, for the marker reader */
    size_t nreader_props;
    struct sp_buf json, scratch;
    int64_t produced, delivered, failed, skipped_total;
    char first_failure[400]; /* first permanent delivery failure ("" none) */
    int in_txn;
    int64_t txn_no;
    char txn_tag[160];       /* header slogpipe.txn of every message of the open transaction */
    /* exactly-once bookkeeping: only with a database (sp_kafka_sink_bind) */
    const struct sp_store *sq;
    struct kunit **units;
    size_t nunits, capunits;
    struct kmap unit_idx;    /* key -> index in units */
    struct kunit *last_unit;
    struct kunit *batch_unit; /* unit of the last source record of this batch (NULL: none) */
    int other_seen;          /* a non-analysis record was written: the analysis is new */
    /* marker reader */
    rd_kafka_t *mrk;
    struct kmap marks;       /* unit -> latest published count on PREFIX.commits */
    int64_t mpos;            /* next offset of PREFIX.commits/0 to read */
};

/* ---- the table ------------------------------------------------------------------ */

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int64_t *kmap_get(struct kmap *m, const char *key, int create)
{
    size_t i;
    if (m->cap == 0) {
        if (!create) return NULL;
        m->cap = 64;
        m->keys = sp_xcalloc(m->cap, sizeof(*m->keys));
        m->vals = sp_xcalloc(m->cap, sizeof(*m->vals));
    }
    for (i = fnv1a(key, strlen(key)) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], key) == 0) return &m->vals[i];
    if (!create) return NULL;
    if ((m->n + 1) * 2 > m->cap) { /* grow, then insert */
        struct kmap g = {sp_xcalloc(m->cap * 2, sizeof(char *)), sp_xcalloc(m->cap * 2, sizeof(int64_t)),
                         m->cap * 2, 0};
        for (size_t j = 0; j < m->cap; j++)
            if (m->keys[j]) {
                size_t k = fnv1a(m->keys[j], strlen(m->keys[j])) & (g.cap - 1);
                while (g.keys[k]) k = (k + 1) & (g.cap - 1);
                g.keys[k] = m->keys[j];
                g.vals[k] = m->vals[j];
                g.n++;
            }
        free(m->keys);
        free(m->vals);
        *m = g;
        return kmap_get(m, key, 1);
    }
    m->keys[i] = sp_xstrdup(key);
    m->vals[i] = 0;
    m->n++;
    return &m->vals[i];
}

static void kmap_free(struct kmap *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* ---- opening -------------------------------------------------------------------- */

int sp_kafka_sink_open(void **ctx, const char *brokers, const char *prefix, const char *const *props,
                       const char *txn_id, struct sp_err *err)
{
    struct sp_buf t;
    int rc;
    sp_buf_init(&t, 0);
    sp_buf_printf(&t, "kafka://%s/%s", brokers, prefix && *prefix ? prefix : "slogpipe");
    if (txn_id) sp_buf_printf(&t, "?transactional.id=%s", txn_id);
    for (size_t i = 0; props && props[i]; i++) {
        /* consumer-only settings and our pseudo-properties are not for the producer */
        if (strncmp(props[i], "slogpipe.", 9) == 0 || strncmp(props[i], "group.", 6) == 0 ||
            strncmp(props[i], "enable.auto.", 12) == 0 || strncmp(props[i], "enable.partition.eof", 20) == 0 ||
            strncmp(props[i], "session.timeout.ms", 18) == 0 || strncmp(props[i], "auto.offset.reset", 17) == 0 ||
            strncmp(props[i], "partition.assignment.strategy", 29) == 0 ||
            strncmp(props[i], "heartbeat.interval.ms", 21) == 0 || strncmp(props[i], "max.poll.interval.ms", 20) == 0 ||
            strncmp(props[i], "queued.", 7) == 0 || strncmp(props[i], "fetch.", 6) == 0 ||
            strncmp(props[i], "isolation.level", 15) == 0)
            continue;
        sp_buf_putc(&t, strchr(t.data, '?') ? '&' : '?');
        sp_buf_append_c(&t, props[i]);
    }
    rc = sp_sink_kafka.open(ctx, t.data, NULL, err);
    sp_buf_free(&t);
    return rc;
}

char *sp_kafka_sink_target(const char *brokers, const char *prefix)
{
    size_t n = strlen(brokers) + strlen(prefix ? prefix : "slogpipe") + 16;
    char *t = sp_xmalloc(n);
    snprintf(t, n, "kafka://%s/%s", brokers, prefix ? prefix : "slogpipe");
    return t;
}

/* Delivery report: runs from rd_kafka_poll/flush on this thread. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct ksink *k = opaque;
    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        k->delivered++;
        return;
    }
    k->failed++;
    if (!k->first_failure[0])
        snprintf(k->first_failure, sizeof(k->first_failure), "%s [%d]: %s", rd_kafka_topic_name(m->rkt),
                 (int)m->partition, rd_kafka_err2str(m->err));
}

static void sink_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3)
        sp_error("kafka sink: %s: %s", fac, buf);
    else if (level == 4)
        sp_warn("kafka sink: %s: %s", fac, buf);
    else
        sp_debug("kafka sink: %s: %s", fac, buf);
}

/* The marker reader gets the producer's properties too: its warnings about them are noise. */
static void reader_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3 && strcmp(fac, "CONFWARN") != 0)
        sp_error("kafka sink (marker reader): %s: %s", fac, buf);
    else
        sp_debug("kafka sink (marker reader): %s: %s", fac, buf);
}

static void sink_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    sp_warn("kafka sink: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void units_clear(struct ksink *k)
{
    for (size_t i = 0; i < k->nunits; i++) {
        free(k->units[i]->key);
        free(k->units[i]);
    }
    free(k->units);
    k->units = NULL;
    k->nunits = k->capunits = 0;
    kmap_free(&k->unit_idx);
    k->last_unit = NULL;
}

static void ksink_close(void *ctx)
{
    struct ksink *k = ctx;
    if (!k) return;
    if (k->rk) {
        /* Everything committed was acknowledged already; what is still queued belongs to
         * an uncommitted batch (the source offsets did not advance): drop it, abort its
         * transaction (else read_committed consumers wait for it until it times out). */
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(k->rk, 1000); /* serve the purge's delivery reports */
        if (k->in_txn) {
            rd_kafka_error_t *e = rd_kafka_abort_transaction(k->rk, 10000);
            if (e) {
                sp_warn("kafka sink: aborting the open transaction: %s", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
        }
        rd_kafka_destroy(k->rk);
    }
    if (k->mrk) {
        rd_kafka_consumer_close(k->mrk);
        rd_kafka_destroy(k->mrk);
    }
    units_clear(k);
    kmap_free(&k->marks);
    for (size_t i = 0; i < k->nreader_props; i++) free(k->reader_props[i]);
    free(k->reader_props);
    free(k->topic_events);
    free(k->topic_spans);
    free(k->topic_anomalies);
    free(k->topic_commits);
    free(k->prefix);
    free(k->txn_id);
    free(k->brokers);
    sp_buf_free(&k->json);
    sp_buf_free(&k->scratch);
    free(k);
}

static char *topic_name(const char *prefix, size_t n, const char *suffix)
{
    size_t len = n + strlen(suffix) + 2;
    char *t = sp_xmalloc(len);
    snprintf(t, len, "%.*s.%s", (int)n, prefix, suffix);
    return t;
}

static int ksink_conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, struct sp_err *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, val, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK) return SP_OK;
    return sp_kafka_conf_error("kafka sink", key, val, errstr, err);
}

/* Fill err from a librdkafka error object (destroyed). */
static int txn_error(rd_kafka_error_t *e, const char *what, struct sp_err *err)
{
    sp_err_set(err, SP_ESINK, "%s: %s%s", what, rd_kafka_error_string(e),
               rd_kafka_error_is_fatal(e) ? " (fatal)" : "");
    rd_kafka_error_destroy(e);
    return SP_ESINK;
}

static int ksink_open(void **ctx, const char *target, const struct sp_sink_opts *o, struct sp_err *err)
{
    struct ksink *k = sp_xcalloc(1, sizeof(*k));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *brokers = target, *prefix = "slogpipe", *query = NULL;
    size_t nbrokers, nprefix = strlen(prefix);
    char errstr[512];
    int rc, have_txn_id = 0;
    rd_kafka_error_t *ke;
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"}, /* acks=all, no duplicates or reordering on retries */
        {"linger.ms", "20"},
        {"message.max.bytes", "16000000"},
        {"compression.codec", "lz4"},
        {"client.id", "slogpipe-sink"},
        /* a batch is one transaction, and a whole swing-store or export is one batch: allow
         * what brokers allow by default (transaction.max.timeout.ms), not librdkafka's 60 s */
        {"transaction.timeout.ms", "900000"},
    };
    (void)o;

    if (strncmp(target, "kafka://", 8) == 0) {
        const char *slash;
        brokers = target + 8;
        slash = strchr(brokers, '/');
        query = strchr(brokers, '?');
        if (slash && (!query || slash < query)) {
            nbrokers = (size_t)(slash - brokers);
            prefix = slash + 1;
            nprefix = query ? (size_t)(query - prefix) : strlen(prefix);
        } else {
            nbrokers = query ? (size_t)(query - brokers) : strlen(brokers);
        }
    } else {
        nbrokers = strlen(brokers);
    }
    if (nbrokers == 0 || nprefix == 0) {
        rc = sp_err_set(err, SP_EUSAGE, "kafka sink: expected BROKERS or kafka://BROKERS/PREFIX");
        goto fail;
    }
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if ((rc = ksink_conf_set(conf, defaults[i][0], defaults[i][1], err)) != SP_OK) goto fail;
    k->brokers = sp_xstrndup(brokers, nbrokers);
    k->prefix = sp_xstrndup(prefix, nprefix);
    if ((rc = ksink_conf_set(conf, "bootstrap.servers", k->brokers, err)) != SP_OK) goto fail;
    /* ?key=value&... : librdkafka properties (security settings and the like) */
    while (query && *query) {
        const char *kv = query + 1, *amp = strchr(kv, '&'), *eq;
        size_t len = amp ? (size_t)(amp - kv) : strlen(kv);
        char key[256], *val;
        query = amp;
        if (len == 0) continue;
        eq = memchr(kv, '=', len);
        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
            rc = sp_err_set(err, SP_EUSAGE, "kafka sink: bad parameter in the target (expected key=value)");
            goto fail;
        }
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = '\0';
        val = sp_xstrndup(eq + 1, len - (size_t)(eq - kv) - 1);
        rc = ksink_conf_set(conf, key, val, err);
        if (rc == SP_OK && strcmp(key, "transactional.id") == 0) {
            free(k->txn_id); /* the last one wins, as in librdkafka */
            k->txn_id = sp_xstrdup(val);
            have_txn_id = 1;
        } else if (rc == SP_OK) {
            k->reader_props = sp_xrealloc(k->reader_props, (k->nreader_props + 1) * sizeof(char *));
            k->reader_props[k->nreader_props++] = sp_xstrndup(kv, len);
        }
        free(val);
        if (rc != SP_OK) goto fail;
    }
    if (!have_txn_id) { /* one producer per prefix on these brokers */
        char id[300];
        snprintf(id, sizeof(id), "slogpipe-%s", k->prefix);
        k->txn_id = sp_xstrdup(id);
        if ((rc = ksink_conf_set(conf, "transactional.id", id, err)) != SP_OK) goto fail;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_log_cb(conf, sink_log_cb);
    rd_kafka_conf_set_error_cb(conf, sink_error_cb);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!k->rk) {
        rc = sp_err_set(err, SP_EUSAGE, "kafka sink: cannot create the producer: %s", errstr);
        goto fail;
    }
    conf = NULL; /* owned by k->rk */
    k->topic_events = topic_name(prefix, nprefix, "events");
    k->topic_spans = topic_name(prefix, nprefix, "spans");
    k->topic_anomalies = topic_name(prefix, nprefix, "anomalies");
    k->topic_commits = topic_name(prefix, nprefix, "commits");
    sp_buf_init(&k->json, 0);
    sp_buf_init(&k->scratch, 0);
    /* Registers the transactional.id: aborts what a previous producer with this id left
     * open (a crash) and fences it off (a zombie can no longer commit). */
    if ((ke = rd_kafka_init_transactions(k->rk, KSINK_TXN_TIMEOUT_MS)) != NULL) {
        rc = txn_error(ke, "kafka sink: init_transactions", err);
        goto fail;
    }
    sp_info("kafka sink: producing to %s, %s, %s (markers: %s) on %s, transactional.id %s", k->topic_events,
            k->topic_spans, k->topic_anomalies, k->topic_commits, k->brokers, k->txn_id);
    *ctx = k;
    return SP_OK;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    ksink_close(k);
    *ctx = NULL;
    return rc;
}

void sp_kafka_sink_bind(void *ctx, const struct sp_store *store)
{
    struct ksink *k = ctx;
    k->sq = store;
}

/* ---- the markers (PREFIX.commits, partition 0) ---------------------------------- */

static int reader_open(struct ksink *k, struct sp_err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *l;
    char errstr[512];
    int rc;
    static const char *const fixed[][2] = {
        {"client.id", "slogpipe-sink-markers"},
        {"group.id", "slogpipe-sink-markers"}, /* never joined: the partition is assigned */
        {"isolation.level", "read_committed"}, /* what an aborted transaction left is not there */
        {"enable.partition.eof", "true"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
    };
    if ((rc = ksink_conf_set(conf, "bootstrap.servers", k->brokers, err)) != SP_OK) goto fail;
    for (size_t i = 0; i < k->nreader_props; i++) {
        char *eq = strchr(k->reader_props[i], '='), key[256];
        size_t kn = eq ? (size_t)(eq - k->reader_props[i]) : 0;
        if (!eq || kn >= sizeof(key)) continue;
        memcpy(key, k->reader_props[i], kn);
        key[kn] = '\0';
        /* producer properties are accepted by the consumer's conf and ignored */
        if ((rc = ksink_conf_set(conf, key, eq + 1, err)) != SP_OK) goto fail;
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if ((rc = ksink_conf_set(conf, fixed[i][0], fixed[i][1], err)) != SP_OK) goto fail;
    rd_kafka_conf_set_log_cb(conf, reader_log_cb);
    k->mrk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!k->mrk) {
        rc = sp_err_set(err, SP_ESINK, "cannot create the marker reader: %s", errstr);
        goto fail;
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(k->mrk);
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, k->topic_commits, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(k->mrk, l);
    rd_kafka_topic_partition_list_destroy(l);
    k->mpos = 0;
    return SP_OK;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    return rc;
}

/* One marker: key = unit, value {"unit":…,"records":N,"txn":…}; the latest per unit wins. */
static void marker_take(struct ksink *k, const rd_kafka_message_t *m)
{
    char ebuf[128];
    yajl_val root, v;
    const char *path[] = {"records", NULL};
    if (!m->key || !m->payload) return;
    sp_buf_reset(&k->scratch);
    sp_buf_append(&k->scratch, m->payload, m->len);
    root = yajl_tree_parse(k->scratch.data, ebuf, sizeof(ebuf));
    v = root ? yajl_tree_get(root, path, yajl_t_number) : NULL;
    if (v && YAJL_IS_INTEGER(v)) {
        sp_buf_reset(&k->scratch);
        sp_buf_append(&k->scratch, m->key, m->key_len);
        *kmap_get(&k->marks, k->scratch.data, 1) = YAJL_GET_INTEGER(v);
    } else {
        sp_warn("kafka sink: %s [0] @%lld: not a slogpipe commit marker (ignored)", k->topic_commits,
                (long long)m->offset);
    }
    yajl_tree_free(root);
}

/* Fetch from the markers' partition (resume) or not (pause: between reads nothing
 * needs to be prefetched). */
static void reader_fetch(struct ksink *k, int on)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, k->topic_commits, 0);
    if (on)
        rd_kafka_resume_partitions(k->mrk, l);
    else
        rd_kafka_pause_partitions(k->mrk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static int markers_read(struct ksink *k, struct sp_err *err);

/* Read the markers published since the last read, up to the end of the partition. */
static int markers_refresh(struct ksink *k, struct sp_err *err)
{
    int rc;
    if (!k->mrk && (rc = reader_open(k, err)) != SP_OK) return rc;
    reader_fetch(k, 1);
    rc = markers_read(k, err);
    reader_fetch(k, 0);
    return rc;
}

static int markers_read(struct ksink *k, struct sp_err *err)
{
    int64_t lo = -1, hi = -1;
    uint64_t deadline = sp_now_ns() + (uint64_t)KSINK_MARKER_WAIT_S * 1000000000ull;
    rd_kafka_resp_err_t e;
    int rc;

    e = rd_kafka_query_watermark_offsets(k->mrk, k->topic_commits, 0, &lo, &hi, 30000);
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
        e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        return SP_OK; /* no marker was ever published */
    if (e)
        return sp_err_set(err, SP_ESINK, "reading %s: %s", k->topic_commits, rd_kafka_err2str(e));
    while (k->mpos < hi) {
        rd_kafka_message_t *m;
        if (sp_now_ns() > deadline)
            return sp_err_set(err, SP_ESINK,
                              "%s: could not read up to offset %lld in %d s (at %lld; a "
                              "transaction left open?)",
                              k->topic_commits, (long long)hi, KSINK_MARKER_WAIT_S, (long long)k->mpos);
        m = rd_kafka_consumer_poll(k->mrk, 200);
        if (!m) {
            /* control records (transaction markers) are never returned: the position says */
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, k->topic_commits, 0);
            if (rd_kafka_position(k->mrk, l) == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].offset > k->mpos)
                k->mpos = l->elems[0].offset;
            rd_kafka_topic_partition_list_destroy(l);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* read_committed: the end is the last stable offset. A transaction left open
             * by a producer that is gone (killed; its transactional.id not reused) holds it
             * back until the broker aborts it; a unit's markers all come before that (its
             * owners write them in turn), unless a unit moved twice meanwhile. */
            if (m->offset > k->mpos) k->mpos = m->offset;
            rd_kafka_message_destroy(m);
            break;
        }
        if (m->err) {
            rc = sp_err_set(err, SP_ESINK, "reading %s: %s", k->topic_commits,
                            rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return rc;
        }
        marker_take(k, m);
        k->mpos = m->offset + 1;
        rd_kafka_message_destroy(m);
    }
    return SP_OK;
}

static void state_key(struct ksink *k, const char *unit, char *out, size_t cap)
{
    snprintf(out, cap, KSINK_STATE_PREFIX "%s:%s", k->prefix, unit);
}

/* The unit of a record, loaded from SQLite and the markers the first time it is seen. */
static int unit_get(struct ksink *k, const struct sp_record *r, struct kunit **out, struct sp_err *err)
{
    struct sp_str src = SP_STR_NULL;
    struct kunit *u;
    int64_t *ix, sql = 0, kafka = 0, *mk;
    char key[KSINK_KEY_MAX], skey[KSINK_KEY_MAX + 64], *v = NULL;
    int analysis = 0, rc;

    switch (r->kind) {
    case SP_REC_EVENT: src = r->u.event->origin.source; break;
    case SP_REC_DELIVERY: src = r->u.delivery->origin.source; break;
    case SP_REC_BAD: src = r->u.bad->origin.source; break;
    case SP_REC_KV: src = r->u.kv->source; break;
    case SP_REC_TITEM: src = r->u.titem->source; break;
    case SP_REC_TSPAN: src = r->u.tspan->source; break;
    case SP_REC_TSNAPSHOT: src = r->u.tsnapshot->source; break;
    case SP_REC_SPAN:
    case SP_REC_ANOMALY:
    case SP_REC_SUPERSEDE:
    case SP_REC_RUN:
    case SP_REC_BLOCK:
        /* emitted while a source's lines are handled (after a record of it in this batch):
         * they replay with that source; else they are the end-of-run analysis */
        if (k->batch_unit) {
            *out = k->batch_unit;
            return SP_OK;
        }
        analysis = 1;
        break;
    }
    if (analysis)
        snprintf(key, sizeof(key), "%s", KSINK_UNIT_ANALYSIS);
    else
        snprintf(key, sizeof(key), "src:%.*s", (int)src.n, src.p ? src.p : "");
    if (k->last_unit && strcmp(k->last_unit->key, key) == 0) {
        *out = k->last_unit;
        return SP_OK;
    }
    if ((ix = kmap_get(&k->unit_idx, key, 0)) != NULL && *ix >= 0) {
        *out = k->last_unit = k->units[*ix];
        return SP_OK;
    }
    /* first sight (or again after a release): what SQLite committed, what Kafka holds */
    state_key(k, key, skey, sizeof(skey));
    rc = k->sq->ops->state_get(k->sq->ctx, skey, &v, err);
    if (rc == SP_OK && v) sql = strtoll(v, NULL, 10);
    free(v);
    if (rc != SP_OK && rc != SP_EOF) return rc;
    if ((rc = markers_refresh(k, err)) != SP_OK) return rc;
    if ((mk = kmap_get(&k->marks, key, 0)) != NULL) kafka = *mk;
    u = sp_xcalloc(1, sizeof(*u));
    u->key = sp_xstrdup(key);
    u->base = u->count = sql;
    if (kafka > sql && analysis && k->other_seen) {
        /* the analysis of the data read by this run replaces the one published last */
        u->count = kafka;
    } else if (kafka > sql) {
        u->skip = kafka - sql;
        sp_info("kafka sink: %s: the last %lld records were published but not committed to the "
                "database (crash between the two commits): not publishing them again",
                key, (long long)u->skip);
    } else if (kafka < sql) {
        sp_warn("kafka sink: %s: %s says %lld records were published, the database %lld (topics "
                "recreated, or markers expired?): publishing what follows",
                key, k->topic_commits, (long long)kafka, (long long)sql);
    }
    if (k->nunits == k->capunits) {
        k->capunits = k->capunits ? k->capunits * 2 : 16;
        k->units = sp_xrealloc(k->units, k->capunits * sizeof(*k->units));
    }
    *kmap_get(&k->unit_idx, key, 1) = (int64_t)k->nunits;
    k->units[k->nunits++] = u;
    *out = k->last_unit = u;
    return SP_OK;
}

static void ksink_release(void *ctx, const char *source)
{
    struct ksink *k = ctx;
    char key[KSINK_KEY_MAX];
    int64_t *ix;
    if (!k->sq) return;
    snprintf(key, sizeof(key), "src:%s", source);
    if (!(ix = kmap_get(&k->unit_idx, key, 0)) || *ix < 0) return;
    /* released right after a commit: nothing of it is pending. Mark the slot unused
     * (the next sight reloads); the struct stays in `units` until close. */
    k->units[*ix]->touched = 0;
    k->units[*ix]->skip = 0;
    *ix = -1;
    k->last_unit = k->batch_unit = NULL;
}

/* ---- writing --------------------------------------------------------------------- */

/* Topic and key of a record: per-node records keyed by node, per-vat ones by node/vatID. */
static const char *route(struct ksink *k, const struct sp_record *r, struct sp_str *node, struct sp_str *vat)
{
    *vat = SP_STR_NULL;
    switch (r->kind) {
    case SP_REC_EVENT: *node = r->u.event->origin.node; return k->topic_events;
    case SP_REC_DELIVERY: *node = r->u.delivery->origin.node; return k->topic_events;
    case SP_REC_BAD: *node = r->u.bad->origin.node; return k->topic_events;
    case SP_REC_KV: *node = r->u.kv->node; return k->topic_events;
    case SP_REC_TITEM:
        *node = r->u.titem->node;
        *vat = r->u.titem->vat_id;
        return k->topic_events;
    case SP_REC_TSPAN:
        *node = r->u.tspan->node;
        *vat = r->u.tspan->vat_id;
        return k->topic_events;
    case SP_REC_TSNAPSHOT:
        *node = r->u.tsnapshot->node;
        *vat = r->u.tsnapshot->vat_id;
        return k->topic_events;
    case SP_REC_SPAN:
        *node = r->u.span->node;
        *vat = r->u.span->vat_id;
        return k->topic_spans;
    case SP_REC_ANOMALY:
        *node = r->u.anomaly->node;
        *vat = r->u.anomaly->vat_id;
        return k->topic_anomalies;
    case SP_REC_SUPERSEDE: /* with the node's events it marks, in their partition */
        *node = r->u.supersede->node;
        return k->topic_events;
    case SP_REC_RUN: /* the stage's per-node records (keyed by block / run): with the node's events */
        *node = r->u.run->node;
        return k->topic_events;
    case SP_REC_BLOCK:
        *node = r->u.block->node;
        return k->topic_events;
    }
    *node = SP_STR_NULL;
    return k->topic_events;
}

static int txn_begin(struct ksink *k, struct sp_err *err)
{
    rd_kafka_error_t *e;
    if (k->in_txn) return SP_OK;
    if ((e = rd_kafka_begin_transaction(k->rk)) != NULL)
        return txn_error(e, "begin_transaction", err);
    k->in_txn = 1;
    k->txn_no++;
    snprintf(k->txn_tag, sizeof(k->txn_tag), "%s/%lld.%ld/%lld", k->txn_id, (long long)time(NULL),
             (long)getpid(), (long long)k->txn_no);
    return SP_OK;
}

/* Produce one message in the open transaction (header slogpipe.txn names it). */
static int produce(struct ksink *k, const char *topic, int32_t partition, const char *key, size_t klen,
                   const char *val, size_t vlen, struct sp_err *err)
{
    rd_kafka_resp_err_t e;
    for (;;) {
        /* RD_KAFKA_MSG_F_COPY: the buffers are reused for the next record */
        e = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
                              RD_KAFKA_V_VALUE((void *)val, vlen),
                              RD_KAFKA_V_HEADER("slogpipe.txn", k->txn_tag, (ssize_t)strlen(k->txn_tag)),
                              RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(k->rk, 100); /* backpressure: wait for acknowledgements */
    }
    if (e) return sp_err_set(err, SP_ESINK, "produce to %s: %s", topic, rd_kafka_err2str(e));
    k->produced++;
    rd_kafka_poll(k->rk, 0);
    return SP_OK;
}

static int ksink_write(void *ctx, const struct sp_record *rec, struct sp_err *err)
{
    struct ksink *k = ctx;
    struct sp_str node, vat;
    const char *topic = route(k, rec, &node, &vat);
    struct kunit *u = NULL;
    char key[KSINK_KEY_MAX];
    int klen, rc;

    if (k->sq) {
        if ((rc = unit_get(k, rec, &u, err)) != SP_OK) return rc;
        u->touched = 1;
        if (rec->kind != SP_REC_SPAN && rec->kind != SP_REC_ANOMALY && rec->kind != SP_REC_SUPERSEDE &&
            rec->kind != SP_REC_RUN && rec->kind != SP_REC_BLOCK) {
            k->other_seen = 1;
            k->batch_unit = u;
        }
        if (u->skip > 0) { /* published before a crash: in Kafka already */
            u->skip--;
            u->count++;
            k->skipped_total++;
            return SP_OK;
        }
    }
    sp_buf_reset(&k->json);
    if ((rc = sp_record_to_json(rec, &k->json)) != SP_OK)
        return sp_err_set(err, rc < 0 ? rc : SP_EINTERNAL, "cannot encode a record as JSON");
    if (vat.n)
        klen = snprintf(key, sizeof(key), "%.*s/%.*s", (int)node.n, node.p ? node.p : "", (int)vat.n, vat.p);
    else
        klen = snprintf(key, sizeof(key), "%.*s", (int)node.n, node.p ? node.p : "");
    if (klen < 0 || (size_t)klen >= sizeof(key)) klen = (int)sizeof(key) - 1;
    if ((rc = txn_begin(k, err)) != SP_OK) return rc;
    rc = produce(k, topic, RD_KAFKA_PARTITION_UA, key, (size_t)klen, k->json.data, k->json.len, err);
    if (rc != SP_OK) return rc;
    if (u) {
        u->count++;
        u->produced++;
    }
    return SP_OK;
}

/* ---- committing ------------------------------------------------------------------ */

static void txn_abort(struct ksink *k)
{
    rd_kafka_error_t *e;
    if (!k->in_txn) return;
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if ((e = rd_kafka_abort_transaction(k->rk, KSINK_TXN_TIMEOUT_MS)) != NULL) {
        sp_warn("kafka sink: abort_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    k->in_txn = 0;
}

/* Wait until every message produced so far has its delivery report. */
static int flush_all(struct ksink *k, struct sp_err *err)
{
    uint64_t t0 = sp_now_ns(), last_log = t0, stop_seen = 0;
    char fatal[400];
    while (rd_kafka_outq_len(k->rk) > 0) {
        rd_kafka_flush(k->rk, KSINK_FLUSH_SLICE_MS);
        if (rd_kafka_fatal_error(k->rk, fatal, sizeof(fatal)))
            return sp_err_set(err, SP_ESINK, "fatal producer error: %s", fatal);
        /* Asked to stop (SIGINT/SIGTERM): wait a grace period, not message.timeout.ms;
         * failing the commit loses nothing (no checkpoint advances). */
        if (sp_pipeline_stop && !stop_seen) stop_seen = sp_now_ns();
        if (stop_seen && sp_now_ns() - stop_seen > (uint64_t)SP_KAFKA_STOP_GRACE_S * 1000000000ull)
            return sp_err_set(err, SP_ESINK,
                              "stopped while %d messages were still unacknowledged; "
                              "source offsets not advanced",
                              rd_kafka_outq_len(k->rk));
        if (sp_now_ns() - last_log > (uint64_t)SP_KAFKA_FLUSH_LOG_S * 1000000000ull) {
            last_log = sp_now_ns();
            sp_warn("kafka sink: still waiting for %d acknowledgements after %.0f s",
                    rd_kafka_outq_len(k->rk), (double)(last_log - t0) / 1e9);
        }
    }
    if (k->failed)
        return sp_err_set(err, SP_ESINK,
                          "%lld of %lld messages were not delivered (first: %s); "
                          "source offsets not advanced",
                          (long long)k->failed, (long long)k->produced, k->first_failure);
    return SP_OK;
}

/* Under the database's write lock: no other instance moved a unit of this batch since we
 * loaded it (a zombie that lost its partitions must not publish them again). */
static int units_check(struct ksink *k, struct sp_err *err)
{
    int rc = k->sq->ops->begin(k->sq->ctx, err);
    for (size_t i = 0; i < k->nunits && rc == SP_OK; i++) {
        struct kunit *u = k->units[i];
        char skey[KSINK_KEY_MAX + 64], *v = NULL;
        int64_t sql = 0;
        if (!u->touched) continue;
        state_key(k, u->key, skey, sizeof(skey));
        rc = k->sq->ops->state_get(k->sq->ctx, skey, &v, err);
        if (rc == SP_OK && v) sql = strtoll(v, NULL, 10);
        free(v);
        if (rc == SP_EOF) rc = SP_OK;
        if (rc == SP_OK && sql != u->base)
            rc = sp_err_set(err, SP_ESINK,
                            "%s was published by another instance meanwhile (database at %lld records, "
                            "this instance started from %lld): not publishing, restart to resume",
                            u->key, (long long)sql, (long long)u->base);
    }
    return rc;
}

static int ksink_commit(void *ctx, const struct sp_checkpoint *cps, size_t ncps, struct sp_err *err)
{
    struct ksink *k = ctx;
    rd_kafka_error_t *e;
    int rc, touched = 0;
    (void)cps;
    (void)ncps;

    for (size_t i = 0; i < k->nunits; i++) touched |= k->units[i]->touched;
    if (!k->in_txn && !touched) return SP_OK;
    if ((rc = flush_all(k, err)) != SP_OK) goto fail;
    SP_FAILPOINT("kafka.sink.acked");
    if (k->sq && (rc = units_check(k, err)) != SP_OK) goto fail;
    if (k->in_txn) {
        /* the units' counts travel in the transaction they describe */
        for (size_t i = 0; i < k->nunits; i++) {
            struct kunit *u = k->units[i];
            if (!u->produced) continue;
            sp_buf_reset(&k->json);
            sp_buf_append_c(&k->json, "{\"unit\":");
            sp_buf_json_str(&k->json, u->key, strlen(u->key));
            sp_buf_printf(&k->json, ",\"records\":%lld,\"txn\":", (long long)u->count);
            sp_buf_json_str(&k->json, k->txn_tag, strlen(k->txn_tag));
            sp_buf_putc(&k->json, '}');
            rc = produce(k, k->topic_commits, 0, u->key, strlen(u->key), k->json.data, k->json.len, err);
            if (rc != SP_OK) goto fail;
        }
        if ((rc = flush_all(k, err)) != SP_OK) goto fail;
        for (;;) {
            e = rd_kafka_commit_transaction(k->rk, KSINK_TXN_TIMEOUT_MS);
            if (!e) break;
            if (rd_kafka_error_is_retriable(e) && !sp_pipeline_stop) {
                sp_warn("kafka sink: commit_transaction: %s (retrying)", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                continue;
            }
            rc = txn_error(e, "commit_transaction", err);
            goto fail;
        }
        k->in_txn = 0;
        sp_debug("kafka sink: committed transaction %s", k->txn_tag);
    }
    /* Published. A crash from here to the database's commit is resolved by the next owner
     * of each unit from the markers. */
    SP_FAILPOINT("kafka.sink.committed");
    for (size_t i = 0; i < k->nunits; i++) {
        struct kunit *u = k->units[i];
        char skey[KSINK_KEY_MAX + 64], v[32];
        if (!u->touched) continue;
        if (k->sq) {
            state_key(k, u->key, skey, sizeof(skey));
            snprintf(v, sizeof(v), "%lld", (long long)u->count);
            if ((rc = k->sq->ops->state_put(k->sq->ctx, skey, v, err)) != SP_OK) return rc;
        }
        u->base = u->count;
        u->produced = 0;
        u->touched = 0;
    }
    k->batch_unit = NULL;
    return SP_OK;
fail:
    txn_abort(k);
    return rc;
}

const struct sp_sink_ops sp_sink_kafka = {
    "kafka", ksink_open, ksink_write, ksink_commit, ksink_close, ksink_release,
};
