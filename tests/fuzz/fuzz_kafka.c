/* fuzz_kafka.c - fuzz target: the Kafka source's message envelope (handle_message: node header/key, gzip value, lines, transcript messages) and its URI parser. */
#include "../../kafka/sp_kafka_source.c" /* the envelope code is static: compile it in */

#include "fuzz_util.h"

/*
 * Input: byte 0 selects the mode.
 *   (b0 & 3) == 0: the rest is a kafka:// URI for sp_kafka_uri_parse, and
 *                  a property name for sp_kafka_prop_is_secret.
 *   otherwise:     one consumed message for handle_message: b1 % 40 =
 *                  length k of the node bytes that follow (as the key, or
 *                  as a "node" header when b0 & 4), the rest is the value
 *                  (plain or gzip lines, slog or transcript messages).
 *                  b0 & 8 sends the same message a second time with the
 *                  next offset (span state and stream cache reused).
 * The message is handed to the real handle_message with a real (unconnected)
 * producer handle for the topic name, and a zeroed container large enough
 * for librdkafka's private message struct (rd_kafka_message_headers reads
 * it; the headers are attached with the public rd_kafka_message_set_headers).
 * The pipeline has no database, only a JSONL sink on /dev/null.
 */
#define FK_MSG_CONTAINER 8192

static rd_kafka_t *fk_rk;
static rd_kafka_topic_t *fk_rkt;

static void fk_setup(void)
{
    char es[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", es, sizeof es);
    fk_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    if (!fk_rk) abort();
    fk_rkt = rd_kafka_topic_new(fk_rk, "slog", NULL);
    sp_log_level = -1; /* silence per-line warnings: speed */
}

static void fuzz_uri(const uint8_t *data, size_t size)
{
    char *s = sp_xstrndup((const char *)data, size);
    struct sp_kafka_uri u;
    struct sp_err err;
    int rc = sp_kafka_uri_parse(&u, s, &err);
    if (rc == SP_OK) {
        if (!u.brokers || !u.topics || !*u.brokers || !*u.topics) {
            fprintf(stderr, "accepted URI without brokers/topics: %s\n", s);
            abort();
        }
    } else if (rc != SP_EUSAGE || !err.msg[0]) {
        abort();
    }
    sp_kafka_uri_free(&u);
    (void)sp_kafka_prop_is_secret(s);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_pipeline_opts po;
    struct ksrc ks;
    struct kpart *kp;
    struct sp_err err;
    rd_kafka_message_t *m;
    rd_kafka_headers_t *hdrs = NULL;
    size_t k;
    uint8_t b0;
    int rc;

    if (size < 2) return 0;
    b0 = data[0];
    if ((b0 & 3) == 0) {
        fuzz_uri(data + 1, size - 1);
        return 0;
    }
    if (!fk_rk) fk_setup();
    k = data[1] % 40;
    data += 2;
    size -= 2;
    if (k > size) k = size;

    sp_pipeline_opts_init(&po);
    po.db = NULL;
    po.jsonl = "/dev/null"; /* an output is required; records are serialized and dropped */
    po.analyze = 0;
    po.quiet = 1;
    po.node = "n0";
    memset(&ks, 0, sizeof ks);
    if (sp_pipeline_open(&ks.p, &po, &err) != SP_OK) {
        fprintf(stderr, "pipeline: %s\n", err.msg);
        abort();
    }
    sp_buf_init(&ks.inflated, SP_KAFKA_MAX_INFLATED);
    sp_buf_init(&ks.scratch, 0);
    ks.pool = sp_parse_pool_start(); /* slog lines are parsed on its thread, as in a real run */
    kp = part_add(&ks, "slog", 0);
    kp->next = kp->fed_next = 5;

    /* Exact-size copies: reads past the value or key are ASan errors. */
    char *key = sp_xmalloc(k ? k : 1), *val = sp_xmalloc(size - k ? size - k : 1);
    memcpy(key, data, k);
    memcpy(val, data + k, size - k);
    m = sp_xcalloc(1, FK_MSG_CONTAINER);
    m->rkt = fk_rkt;
    m->partition = 0;
    m->offset = 5;
    m->payload = size - k ? val : NULL;
    m->len = size - k;
    if (b0 & 4) {
        hdrs = rd_kafka_headers_new(1);
        rd_kafka_header_add(hdrs, "node", -1, key, (ssize_t)k);
        rd_kafka_message_set_headers(m, hdrs); /* the message owns them now */
    } else {
        m->key = k ? key : NULL;
        m->key_len = k;
    }
    rc = handle_message(&ks, m, &err);
    if (rc == SP_OK && (b0 & 8)) {
        m->offset = 6;
        rc = handle_message(&ks, m, &err);
    }
    if (rc == SP_OK) rc = pool_drain(&ks, 0, &err); /* what the loop does when the queue is empty */
    if (rc != SP_OK) {
        fprintf(stderr, "handle_message with a /dev/null sink failed: %d %s\n", rc, err.msg);
        abort();
    }
    if (kp->next != m->offset + 1 || kp->skip != 0) {
        fprintf(stderr, "message not fully consumed: next %lld skip %lld\n", (long long)kp->next,
                (long long)kp->skip);
        abort();
    }

    if (hdrs && rd_kafka_message_detach_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_headers_destroy(hdrs);
    stream_cache_clear(&ks);
    for (size_t i = 0; i < ks.nspans; i++) {
        free(ks.spans[i].node);
        free(ks.spans[i].vat);
    }
    free(ks.spans);
    while (ks.nparts) part_remove(&ks, ks.parts[0]);
    free(ks.parts);
    sp_buf_free(&ks.inflated);
    sp_buf_free(&ks.scratch);
    sp_parse_ahead_stop(ks.pool);
    sp_pipeline_destroy(ks.p);
    free(m);
    free(key);
    free(val);
    return 0;
}
