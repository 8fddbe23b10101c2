/* sp_kafka_sink.c - Kafka sink: records as JSON to PREFIX.events/.spans/.anomalies, idempotent, every delivery checked at commit. */
#include "sp_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "../core/sp_buf.h"
#include "../core/sp_failpoint.h"
#include "../pipeline/sp_pipeline.h"

#define KSINK_KEY_MAX 512
#define KSINK_FLUSH_SLICE_MS 1000

struct ksink {
    rd_kafka_t *rk;
    char *topic_events, *topic_spans, *topic_anomalies;
    struct sp_buf json;
    int64_t produced, delivered, failed;
    char first_failure[400]; /* first permanent delivery failure ("" none) */
};

int sp_kafka_sink_open(void **ctx, const char *brokers, const char *prefix, const char *const *props,
                       struct sp_err *err)
{
    struct sp_buf t;
    int rc;
    sp_buf_init(&t, 0);
    sp_buf_printf(&t, "kafka://%s/%s", brokers, prefix && *prefix ? prefix : "slogpipe");
    for (size_t i = 0; props && props[i]; i++) {
        /* consumer-only settings and our pseudo-properties are not for the producer */
        if (strncmp(props[i], "slogpipe.", 9) == 0 || strncmp(props[i], "group.", 6) == 0 ||
            strncmp(props[i], "enable.auto.", 12) == 0 || strncmp(props[i], "enable.partition.eof", 20) == 0 ||
            strncmp(props[i], "session.timeout.ms", 18) == 0 || strncmp(props[i], "auto.offset.reset", 17) == 0 ||
            strncmp(props[i], "partition.assignment.strategy", 29) == 0 ||
            strncmp(props[i], "heartbeat.interval.ms", 21) == 0 || strncmp(props[i], "max.poll.interval.ms", 20) == 0 ||
            strncmp(props[i], "queued.", 7) == 0 || strncmp(props[i], "fetch.", 6) == 0)
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

static void sink_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    sp_warn("kafka sink: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void ksink_close(void *ctx)
{
    struct ksink *k = ctx;
    if (!k) return;
    if (k->rk) {
        /* Everything committed was acknowledged already; what is still queued belongs to
         * an uncommitted batch (the source offsets did not advance): drop it. */
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(k->rk, 1000); /* serve the purge's delivery reports */
        rd_kafka_destroy(k->rk);
    }
    free(k->topic_events);
    free(k->topic_spans);
    free(k->topic_anomalies);
    sp_buf_free(&k->json);
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

static int ksink_open(void **ctx, const char *target, const struct sp_sink_opts *o, struct sp_err *err)
{
    struct ksink *k = sp_xcalloc(1, sizeof(*k));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *brokers = target, *prefix = "slogpipe", *query = NULL;
    size_t nbrokers, nprefix = strlen(prefix);
    char *bcopy = NULL, errstr[512];
    int rc;
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"}, /* acks=all, no duplicates or reordering on retries */
        {"linger.ms", "20"},
        {"message.max.bytes", "16000000"},
        {"compression.codec", "lz4"},
        {"client.id", "slogpipe-sink"},
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
    bcopy = sp_xstrndup(brokers, nbrokers);
    if ((rc = ksink_conf_set(conf, "bootstrap.servers", bcopy, err)) != SP_OK) goto fail;
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
        free(val);
        if (rc != SP_OK) goto fail;
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
    sp_buf_init(&k->json, 0);
    sp_info("kafka sink: producing to %s, %s, %s on %s", k->topic_events, k->topic_spans,
            k->topic_anomalies, bcopy);
    free(bcopy);
    *ctx = k;
    return SP_OK;
fail:
    free(bcopy);
    if (conf) rd_kafka_conf_destroy(conf);
    ksink_close(k);
    *ctx = NULL;
    return rc;
}

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
    }
    *node = SP_STR_NULL;
    return k->topic_events;
}

static int ksink_write(void *ctx, const struct sp_record *rec, struct sp_err *err)
{
    struct ksink *k = ctx;
    struct sp_str node, vat;
    const char *topic = route(k, rec, &node, &vat);
    char key[KSINK_KEY_MAX];
    int klen, rc;
    rd_kafka_resp_err_t e;

    sp_buf_reset(&k->json);
    if ((rc = sp_record_to_json(rec, &k->json)) != SP_OK)
        return sp_err_set(err, rc < 0 ? rc : SP_EINTERNAL, "cannot encode a record as JSON");
    if (vat.n)
        klen = snprintf(key, sizeof(key), "%.*s/%.*s", (int)node.n, node.p ? node.p : "", (int)vat.n, vat.p);
    else
        klen = snprintf(key, sizeof(key), "%.*s", (int)node.n, node.p ? node.p : "");
    if (klen < 0 || (size_t)klen >= sizeof(key)) klen = (int)sizeof(key) - 1;
    for (;;) {
        /* RD_KAFKA_MSG_F_COPY: the JSON buffer is reused for the next record */
        e = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(key, (size_t)klen),
                              RD_KAFKA_V_VALUE(k->json.data, k->json.len), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(k->rk, 100); /* backpressure: wait for acknowledgements */
    }
    if (e) return sp_err_set(err, SP_ESINK, "produce to %s: %s", topic, rd_kafka_err2str(e));
    k->produced++;
    rd_kafka_poll(k->rk, 0);
    return SP_OK;
}

/* Wait until every message produced so far has its delivery report; fail if any failed. */
static int ksink_commit(void *ctx, const struct sp_checkpoint *cps, size_t ncps, struct sp_err *err)
{
    struct ksink *k = ctx;
    uint64_t t0 = sp_now_ns(), last_log = t0;
    char fatal[400];
    (void)cps;
    (void)ncps;
    uint64_t stop_seen = 0;
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
    SP_FAILPOINT("kafka.sink.acked");
    return SP_OK;
}

const struct sp_sink_ops sp_sink_kafka = {
    "kafka", ksink_open, ksink_write, ksink_commit, ksink_close,
};
