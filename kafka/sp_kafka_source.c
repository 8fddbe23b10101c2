/* sp_kafka_source.c - Kafka consumer-group source: node topics -> pipeline, offsets stored in the --db store with the rows they cover. */
#include "sp_kafka.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <sqlite3.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "../core/sp_buf.h"
#include "../core/sp_failpoint.h"
#include "../core/sp_hash.h"
#include "../ingest/sp_transcript.h"
#include "../pipeline/sp_parse_ahead.h"
#include "../pipeline/sp_pipeline.h"

#define KS_NODE_MAX 200      /* longest node name taken from a header or key */
#define KS_STATE_KEY_MAX 512 /* "kafka:" + topic + "/" + partition */

/*
 * Optional pipeline entry point (see /work/notes/kafka-to-lead.md): drop the
 * in-memory streams of a revoked partition so that, if the partition comes
 * back after another consumer advanced it, its state is reloaded from the
 * store. Weak so that the build does not depend on it.
 */
extern void sp_pipeline_release_source(struct sp_pipeline *p, const char *source) __attribute__((weak));

/* One assigned partition. */
struct kpart {
    char *topic;
    int32_t partition;
    char source[KS_STATE_KEY_MAX]; /* "topic/partition" */
    int64_t next;                  /* next message offset to feed */
    int64_t skip;                  /* lines of message `next` already fed */
    int64_t fed_next, fed_skip;    /* the same, counting the lines handed to the parse pool */
    int has_stored;                /* kafka_offsets row as last committed (0: none) */
    int64_t stored_next, stored_skip;
    int has_pending;               /* written by the in-transaction hook, until `after` */
    int64_t pending_next, pending_skip;
    int64_t kafka_committed;       /* offset last committed to Kafka (-1 none) */
    int dirty;                     /* next/skip moved since the last commit */
    int eof;                       /* reached the end (enable.partition.eof) */
    int gap_warned;
};

/* Running span hash of one (node, vat), for spans whose items arrive in order. */
struct span_state {
    char *node, *vat;
    int64_t start, next; /* start = -1: nothing known */
    int ok;              /* items start..next-1 all seen, in order */
    struct sp_span_hash h;
    uint64_t used;
};

#define KS_BATCH 1024 /* messages taken from the consumer queue at once */
/* Default bounds of librdkafka's prefetch (-X overrides each), chosen for a
 * peak RSS within 64 MB with 64 partitions (bench/kafka_rss, docs/kafka.md):
 * the queue of fetched messages (decompressed bytes), and one fetch response
 * (compressed bytes; decompressed whole, so the peak follows it). The price:
 * librdkafka < 2.2 pauses a full queue's fetching for a fixed ~1 s (its issue
 * #2879), so a small queue costs throughput when the consumer outruns it. */
#define KS_QUEUE_KIB "2048"
#define KS_FETCH_MAX_BYTES 1048576

struct ksrc {
    struct sp_pipeline *p;
    rd_kafka_t *rk;
    int closing;              /* leaving the group at a clean stop: partitions keep their lag series */
    const char *default_node; /* NULL: the topic name */
    const char *group;
    struct kpart **parts;
    size_t nparts, cparts;
    int assigned_once;
    int fatal;
    struct sp_err fatal_err;
    struct sp_buf inflated, scratch;
    /* the stream handed out by the last sp_pipeline_stream call */
    struct sp_stream *last_stream;
    char *last_node, *last_source;
    struct span_state *spans;
    size_t nspans;
    uint64_t span_clock;
    int64_t messages, lines, bad_envelopes;
    double start_s, first_assign_s; /* sp_now_s() at start / at the first assignment */
    rd_kafka_queue_t *queue;        /* the consumer queue (rd_kafka_queue_get_consumer) */
    rd_kafka_message_t *batch[KS_BATCH]; /* taken from it; [batch_at, batch_n) not handled yet */
    size_t batch_at, batch_n;
    struct sp_parse_ahead *pool;         /* parses slog lines beside this thread */
    struct sp_pa_item *last_fed;         /* the last line handed to the pool */
};

/* ---- properties and URI ---------------------------------------------------- */

int sp_kafka_prop_is_secret(const char *key)
{
    static const char *const words[] = {"password", "secret", "sasl.", "ssl.key", "token", "credential"};
    char low[256];
    size_t n = 0;
    for (; key[n] && n < sizeof(low) - 1; n++) low[n] = (char)tolower((unsigned char)key[n]);
    low[n] = '\0';
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(low, words[i])) return 1;
    return 0;
}

void sp_kafka_uri_free(struct sp_kafka_uri *u)
{
    free(u->brokers);
    free(u->topics);
    free(u->group);
    free(u->node);
    memset(u, 0, sizeof(*u));
}

int sp_kafka_uri_parse(struct sp_kafka_uri *u, const char *uri, struct sp_err *err)
{
    const char *p, *slash, *q, *end;
    memset(u, 0, sizeof(*u));
    if (strncmp(uri, "kafka://", 8) != 0)
        return sp_err_set(err, SP_EUSAGE, "kafka: input must start with kafka:// (got \"%.40s\")", uri);
    p = uri + 8;
    slash = strchr(p, '/');
    if (!slash || slash == p)
        return sp_err_set(err, SP_EUSAGE, "kafka: expected kafka://HOST:PORT[,...]/TOPIC[,...]?group=G");
    u->brokers = sp_xstrndup(p, (size_t)(slash - p));
    p = slash + 1;
    q = strchr(p, '?');
    end = q ? q : p + strlen(p);
    if (end == p) {
        sp_kafka_uri_free(u);
        return sp_err_set(err, SP_EUSAGE, "kafka: no topic in the URI (kafka://BROKERS/TOPIC?group=G)");
    }
    u->topics = sp_xstrndup(p, (size_t)(end - p));
    while (q && *q) {
        const char *k = q + 1, *amp = strchr(k, '&'), *eq;
        const char *kend = amp ? amp : k + strlen(k);
        q = amp;
        if (kend == k) continue;
        eq = memchr(k, '=', (size_t)(kend - k));
        if (!eq || eq == k || eq + 1 == kend) {
            int len = (int)(kend - k);
            sp_kafka_uri_free(u);
            return sp_err_set(err, SP_EUSAGE, "kafka: bad URI parameter \"%.*s\" (expected key=value)", len, k);
        }
        if ((size_t)(eq - k) == 5 && memcmp(k, "group", 5) == 0) {
            free(u->group);
            u->group = sp_xstrndup(eq + 1, (size_t)(kend - eq - 1));
        } else if ((size_t)(eq - k) == 4 && memcmp(k, "node", 4) == 0) {
            free(u->node);
            u->node = sp_xstrndup(eq + 1, (size_t)(kend - eq - 1));
        } else {
            int len = (int)(eq - k);
            sp_kafka_uri_free(u);
            return sp_err_set(err, SP_EUSAGE,
                              "kafka: unknown URI parameter \"%.*s\" (group, node; pass librdkafka "
                              "properties with -X key=value)",
                              len, k);
        }
    }
    return SP_OK;
}

int sp_kafka_conf_error(const char *who, const char *key, const char *val, const char *errstr,
                        struct sp_err *err)
{
    struct sp_buf b;
    const char *p = errstr, *hit;
    size_t vn = val ? strlen(val) : 0;
    int rc;
    if (!sp_kafka_prop_is_secret(key))
        return sp_err_set(err, SP_EUSAGE, "%s: property %s: %s", who, key, errstr);
    if (vn < 4) /* too short to mask reliably inside a sentence */
        return sp_err_set(err, SP_EUSAGE, "%s: property %s: value (hidden) rejected", who, key);
    sp_buf_init(&b, 0);
    while ((hit = strstr(p, val)) != NULL) {
        sp_buf_append(&b, p, (size_t)(hit - p));
        sp_buf_append_c(&b, "***");
        p = hit + vn;
    }
    sp_buf_append_c(&b, p);
    rc = sp_err_set(err, SP_EUSAGE, "%s: property %s: value (hidden): %s", who, key, b.data);
    sp_buf_free(&b);
    return rc;
}

/* Set one property; the value of a secret key never reaches a message. */
static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, struct sp_err *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, val, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK) return SP_OK;
    return sp_kafka_conf_error("kafka", key, val, errstr, err);
}

/* Apply "k=v" strings; keys in `forced` must keep our value. */
static int conf_apply_props(rd_kafka_conf_t *conf, const char *const *props, char **node_out,
                            struct sp_err *err)
{
    static const char *const forced[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
    };
    for (size_t i = 0; props && props[i]; i++) {
        const char *eq = strchr(props[i], '=');
        char key[256];
        int rc;
        if (!eq || eq == props[i] || (size_t)(eq - props[i]) >= sizeof(key))
            return sp_err_set(err, SP_EUSAGE, "kafka: bad property \"%.60s\" (expected key=value)",
                              sp_kafka_prop_is_secret(props[i]) ? "(hidden)" : props[i]);
        memcpy(key, props[i], (size_t)(eq - props[i]));
        key[eq - props[i]] = '\0';
        if (strcmp(key, "slogpipe.node") == 0) {
            if (node_out) {
                free(*node_out);
                *node_out = sp_xstrdup(eq + 1);
            }
            continue;
        }
        for (size_t f = 0; f < sizeof(forced) / sizeof(forced[0]); f++) {
            if (strcmp(key, forced[f][0]) == 0 && strcmp(eq + 1, forced[f][1]) != 0)
                return sp_err_set(err, SP_EUSAGE,
                                  "kafka: %s must stay %s: offsets are stored in the database with "
                                  "the rows they cover",
                                  key, forced[f][1]);
        }
        if ((rc = conf_set(conf, key, eq + 1, err)) != SP_OK) return rc;
        sp_debug("kafka: %s=%s", key, sp_kafka_prop_is_secret(key) ? "***" : eq + 1);
    }
    return SP_OK;
}

/* Whether the -X properties set `key`. */
static int props_have(const char *const *props, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; props && props[i]; i++)
        if (strncmp(props[i], key, n) == 0 && props[i][n] == '=') return 1;
    return 0;
}

/* The bound on one fetch response, unless -X set fetch.max.bytes: it counts
 * compressed bytes, and a response is decompressed whole before the queue
 * bound is looked at again, so it is what the peak follows (with librdkafka's
 * own choice, the queue bound, 64 MiB of zstd slog became ~400 MB). At least
 * message.max.bytes, which librdkafka requires. Logs the effective bounds
 * (-v). */
static int consumer_bound_fetch(rd_kafka_conf_t *conf, const char *const *props, struct sp_err *err)
{
    static const char *const keys[] = {"queued.max.messages.kbytes", "queued.min.messages", "fetch.max.bytes",
                                       "max.partition.fetch.bytes"};
    char v[4][64];
    if (!props_have(props, "fetch.max.bytes")) {
        long long want = KS_FETCH_MAX_BYTES, msg_max = 0;
        size_t sz = sizeof(v[0]);
        if (rd_kafka_conf_get(conf, "message.max.bytes", v[0], &sz) == RD_KAFKA_CONF_OK) msg_max = atoll(v[0]);
        if (msg_max > want) want = msg_max;
        snprintf(v[0], sizeof(v[0]), "%lld", want);
        int rc = conf_set(conf, "fetch.max.bytes", v[0], err);
        if (rc != SP_OK) return rc;
    }
    for (size_t i = 0; i < 4; i++) {
        size_t sz = sizeof(v[i]);
        if (rd_kafka_conf_get(conf, keys[i], v[i], &sz) != RD_KAFKA_CONF_OK) snprintf(v[i], sizeof(v[i]), "?");
    }
    sp_debug("kafka: consumer bounds: %s=%s %s=%s %s=%s %s=%s", keys[0], v[0], keys[1], v[1], keys[2], v[2],
             keys[3], v[3]);
    return SP_OK;
}

/* librdkafka logs through ours (they never contain property values). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3)
        sp_error("kafka: %s: %s", fac, buf);
    else if (level == 4)
        sp_warn("kafka: %s: %s", fac, buf);
    else
        sp_debug("kafka: %s: %s", fac, buf);
}

/* ---- partitions -------------------------------------------------------------- */

static struct kpart *part_find(struct ksrc *ks, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < ks->nparts; i++)
        if (ks->parts[i]->partition == partition && strcmp(ks->parts[i]->topic, topic) == 0)
            return ks->parts[i];
    return NULL;
}

static void part_free(struct kpart *kp)
{
    if (!kp) return;
    free(kp->topic);
    free(kp);
}

static void part_remove(struct ksrc *ks, struct kpart *kp)
{
    for (size_t i = 0; i < ks->nparts; i++) {
        if (ks->parts[i] == kp) {
            memmove(ks->parts + i, ks->parts + i + 1, (ks->nparts - i - 1) * sizeof(ks->parts[0]));
            ks->nparts--;
            break;
        }
    }
    part_free(kp);
}

/* Read the stored position of kp (SP_OK, *found 0/1) from the store's kafka_offsets. */
static int offset_get(const struct sp_store *st, const char *group, const struct kpart *kp, int *found,
                      int64_t *next, int64_t *skip, struct sp_err *err)
{
    return st->ops->offset_get(st->ctx, group, kp->topic, kp->partition, found, next, skip, err);
}

static struct kpart *part_add(struct ksrc *ks, const char *topic, int32_t partition)
{
    struct kpart *kp = part_find(ks, topic, partition);
    if (kp) return kp;
    kp = sp_xcalloc(1, sizeof(*kp));
    kp->topic = sp_xstrdup(topic);
    kp->partition = partition;
    kp->kafka_committed = -1;
    snprintf(kp->source, sizeof(kp->source), "%s/%" PRId32, topic, partition);
    if (ks->nparts == ks->cparts) {
        ks->cparts = ks->cparts ? ks->cparts * 2 : 16;
        ks->parts = sp_xrealloc(ks->parts, ks->cparts * sizeof(ks->parts[0]));
    }
    ks->parts[ks->nparts++] = kp;
    return kp;
}

static void set_fatal(struct ksrc *ks, const struct sp_err *e)
{
    if (ks->fatal) return;
    ks->fatal = 1;
    ks->fatal_err = *e;
    sp_pipeline_stop = 1;
}

/* Forget the stream cached from the last sp_pipeline_stream call. */
static void stream_cache_clear(struct ksrc *ks)
{
    ks->last_stream = NULL;
    free(ks->last_node);
    free(ks->last_source);
    ks->last_node = ks->last_source = NULL;
}

static int pool_drain(struct ksrc *ks, int keep, struct sp_err *err);

/*
 * Assignment: every partition starts at its offset in the --db store (the source of
 * truth); without a stored offset at the beginning; without a database at
 * Kafka's committed offset.
 */
static void on_assign(struct ksrc *ks, rd_kafka_topic_partition_list_t *parts, int coop)
{
    const struct sp_store *db;
    struct sp_err e;

    /* the lines parsed ahead were consumed before the rebalance: handle them first */
    if (!ks->fatal && pool_drain(ks, 0, &e) != SP_OK) set_fatal(ks, &e);
    db = sp_pipeline_store(ks->p);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        struct kpart *kp = part_add(ks, tp->topic, tp->partition);
        int found = 0;
        int64_t next = 0, skip = 0;
        kp->eof = 0;
        kp->dirty = 0;
        if (!db) {
            tp->offset = RD_KAFKA_OFFSET_STORED;
            kp->next = kp->fed_next = -1;
            continue;
        }
        if (offset_get(db, ks->group, kp, &found, &next, &skip, &e) != SP_OK) {
            set_fatal(ks, &e);
            tp->offset = RD_KAFKA_OFFSET_BEGINNING;
            continue;
        }
        kp->has_stored = found;
        kp->stored_next = next;
        kp->stored_skip = skip;
        kp->next = kp->fed_next = found ? next : 0;
        kp->skip = kp->fed_skip = found ? skip : 0;
        tp->offset = found ? next : RD_KAFKA_OFFSET_BEGINNING;
        sp_info("kafka: assigned %s, starting at offset %lld%s", kp->source, (long long)kp->next,
                found ? " (stored in the database)" : " (beginning)");
    }
    if (!ks->assigned_once) ks->first_assign_s = sp_now_s();
    ks->assigned_once = 1;
    if (coop) {
        rd_kafka_error_t *ke = rd_kafka_incremental_assign(ks->rk, parts);
        if (ke) {
            sp_err_set(&e, SP_EIO, "kafka: incremental assign: %s", rd_kafka_error_string(ke));
            rd_kafka_error_destroy(ke);
            set_fatal(ks, &e);
        }
    } else {
        rd_kafka_resp_err_t ke = rd_kafka_assign(ks->rk, parts);
        if (ke) {
            sp_err_set(&e, SP_EIO, "kafka: assign: %s", rd_kafka_err2str(ke));
            set_fatal(ks, &e);
        }
    }
}

/* Revocation: commit everything fed so far (rows + offsets), then let the partitions go. */
static void on_revoke(struct ksrc *ks, rd_kafka_topic_partition_list_t *parts, int coop)
{
    struct sp_err e;
    if (rd_kafka_assignment_lost(ks->rk))
        sp_warn("kafka: assignment lost (session timed out?); committing what was fed, a "
                "partition taken over meanwhile fails the commit instead of duplicating rows");
    if (!ks->fatal && pool_drain(ks, 0, &e) != SP_OK) set_fatal(ks, &e);
    if (!ks->fatal && sp_pipeline_commit(ks->p, &e) != SP_OK) set_fatal(ks, &e);
    stream_cache_clear(ks);
    for (int i = 0; i < parts->cnt; i++) {
        struct kpart *kp = part_find(ks, parts->elems[i].topic, parts->elems[i].partition);
        if (!kp) continue;
        sp_info("kafka: revoked %s at offset %lld", kp->source, (long long)kp->next);
        if (sp_pipeline_release_source) sp_pipeline_release_source(ks->p, kp->source);
        if (!ks->closing) sp_pipeline_set_partition_lag(ks->p, kp->topic, kp->partition, -1); /* not ours */
        part_remove(ks, kp);
    }
    if (coop) {
        rd_kafka_error_t *ke = rd_kafka_incremental_unassign(ks->rk, parts);
        if (ke) {
            sp_warn("kafka: incremental unassign: %s", rd_kafka_error_string(ke));
            rd_kafka_error_destroy(ke);
        }
    } else {
        rd_kafka_assign(ks->rk, NULL);
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    struct ksrc *ks = opaque;
    /* NULL when no protocol was agreed yet (e.g. the consumer closes before the group formed) */
    const char *proto = rd_kafka_rebalance_protocol(rk);
    int coop = proto && strcmp(proto, "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(ks, parts, coop);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        on_revoke(ks, parts, coop);
    } else {
        sp_warn("kafka: rebalance failed: %s", rd_kafka_err2str(err));
        on_revoke(ks, parts, 0);
    }
}

/* ---- commit hooks ------------------------------------------------------------- */

/* Inside the store's transaction: store next offsets; refuse if someone else moved them. */
static int hook_in_txn(void *arg, const struct sp_store *db, struct sp_err *err)
{
    struct ksrc *ks = arg;
    if (!db) return SP_OK;
    for (size_t i = 0; i < ks->nparts; i++) {
        struct kpart *kp = ks->parts[i];
        int found, rc;
        int64_t cur_next, cur_skip;
        if (!kp->dirty) continue;
        if ((rc = offset_get(db, ks->group, kp, &found, &cur_next, &cur_skip, err)) != SP_OK) return rc;
        if (found != kp->has_stored ||
            (found && (cur_next != kp->stored_next || cur_skip != kp->stored_skip))) {
            return sp_err_set(err, SP_ESINK,
                              "kafka: %s was advanced by another consumer (database at offset %lld, "
                              "this consumer started from %lld): not committing, restart to resume "
                              "from the database",
                              kp->source, found ? (long long)cur_next : -1LL,
                              kp->has_stored ? (long long)kp->stored_next : -1LL);
        }
        /* conditional on the position read above: a store shared by several
         * hosts (PostgreSQL) checks it again inside the commit */
        if ((rc = db->ops->offset_put(db->ctx, ks->group, kp->topic, kp->partition, found, cur_next, cur_skip,
                                      kp->next, kp->skip, err)) != SP_OK)
            return rc;
        kp->has_pending = 1;
        kp->pending_next = kp->next;
        kp->pending_skip = kp->skip;
    }
    return SP_OK;
}

static void offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                             void *opaque)
{
    (void)rk;
    (void)opaque;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        sp_debug("kafka: offset commit (monitoring only): %s", rd_kafka_err2str(err));
    (void)offsets;
}

/* After the batch is durable: remember what is stored, tell Kafka (for lag monitors). */
static int hook_after(void *arg, const struct sp_store *db, struct sp_err *err)
{
    struct ksrc *ks = arg;
    rd_kafka_topic_partition_list_t *list = NULL;
    (void)db;
    (void)err;
    SP_FAILPOINT("kafka.src.committed");
    for (size_t i = 0; i < ks->nparts; i++) {
        struct kpart *kp = ks->parts[i];
        if (kp->next >= 0) { /* every partition: its high watermark moves while it stays idle */
            /* lag in messages: the cached high watermark (from the last fetch)
             * minus the offset now committed (next: this commit covers it) */
            int64_t lo = -1, hi = -1;
            if (rd_kafka_get_watermark_offsets(ks->rk, kp->topic, kp->partition, &lo, &hi) == 0 && hi >= 0)
                sp_pipeline_set_partition_lag(ks->p, kp->topic, kp->partition, hi > kp->next ? hi - kp->next : 0);
        }
        if (!kp->dirty) continue;
        if (kp->has_pending) {
            kp->has_stored = 1;
            kp->stored_next = kp->pending_next;
            kp->stored_skip = kp->pending_skip;
            kp->has_pending = 0;
        }
        kp->dirty = 0;
        if (kp->next >= 0 && kp->next != kp->kafka_committed) {
            if (!list) list = rd_kafka_topic_partition_list_new(8);
            rd_kafka_topic_partition_list_add(list, kp->topic, kp->partition)->offset = kp->next;
            kp->kafka_committed = kp->next;
        }
    }
    if (list) {
        rd_kafka_resp_err_t e = rd_kafka_commit(ks->rk, list, 1);
        if (e) sp_debug("kafka: offset commit (monitoring only): %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(list);
    }
    return SP_OK;
}

/* ---- transcript messages ---------------------------------------------------------- */

static struct span_state *span_find(struct ksrc *ks, const char *node, const char *vat, int create)
{
    struct span_state *s;
    size_t victim = 0;
    for (size_t i = 0; i < ks->nspans; i++) {
        s = &ks->spans[i];
        if (strcmp(s->vat, vat) == 0 && strcmp(s->node, node) == 0) {
            s->used = ++ks->span_clock;
            return s;
        }
        if (s->used < ks->spans[victim].used) victim = i;
    }
    if (!create) return NULL;
    if (ks->nspans == SP_KAFKA_MAX_SPAN_STATES) { /* bounded: forget the least recently used */
        s = &ks->spans[victim];
        free(s->node);
        free(s->vat);
    } else {
        if (!ks->spans) ks->spans = sp_xcalloc(SP_KAFKA_MAX_SPAN_STATES, sizeof(*ks->spans));
        s = &ks->spans[ks->nspans++];
    }
    memset(s, 0, sizeof(*s));
    s->node = sp_xstrdup(node);
    s->vat = sp_xstrdup(vat);
    s->start = -1;
    s->used = ++ks->span_clock;
    return s;
}

static yajl_val jget(yajl_val obj, const char *key)
{
    const char *path[2] = {key, NULL};
    return yajl_tree_get(obj, path, yajl_t_any);
}

/* Cheap test before parsing: could this line be a transcript message? */
static int looks_transcript(const char *line, size_t n)
{
    if (n < 2 || line[0] != '{') return 0;
    /* a slog line names its "type" early ({"time":...,"type":...}); a
     * transcript message has no "type" (handle_transcript checks again):
     * skip the full scans below for nearly every line */
    if (memmem(line, n < 96 ? n : 96, "\"type\"", 6)) return 0;
    if (!memmem(line, n, "\"vatID\"", 7)) return 0;
    if (memmem(line, n, "\"item\"", 6) && memmem(line, n, "\"position\"", 10)) return 1;
    return memmem(line, n, "\"startPos\"", 10) && memmem(line, n, "\"endPos\"", 8) &&
           memmem(line, n, "\"hash\"", 6);
}

static int jint(yajl_val v, int64_t *out)
{
    if (!v || !YAJL_IS_INTEGER(v)) return 0;
    *out = YAJL_GET_INTEGER(v);
    return 1;
}

/*
 * Handle one transcript line. Returns SP_OK (handled, maybe dead-lettered),
 * SP_EOF (not a transcript message after all: treat as slog), < 0 on a
 * sink failure.
 */
static int handle_transcript(struct ksrc *ks, struct kpart *kp, const char *node, const char *line,
                             size_t n, int64_t offset, int64_t idx, struct sp_err *err)
{
    char ebuf[256];
    yajl_val root, vat, v;
    struct sp_record rec;
    int rc = SP_OK;
    const char *why = NULL;

    sp_buf_reset(&ks->scratch);
    if (sp_buf_append(&ks->scratch, line, n) != SP_OK) return SP_EOF;
    root = yajl_tree_parse(ks->scratch.data, ebuf, sizeof(ebuf));
    if (!root || !YAJL_IS_OBJECT(root) || jget(root, "type")) {
        yajl_tree_free(root);
        return SP_EOF;
    }
    vat = jget(root, "vatID");
    if (!YAJL_IS_STRING(vat)) {
        why = "transcript message: \"vatID\" must be a string";
        goto bad;
    }
    if (jget(root, "item")) {
        struct sp_titem it;
        struct sp_err pe;
        yajl_val item = jget(root, "item");
        int64_t pos, inc = -1;
        struct span_state *ss;
        const char *txt;
        if (!jint(jget(root, "position"), &pos) || pos < 0) {
            why = "transcript item: \"position\" must be a non-negative integer";
            goto bad;
        }
        if (!YAJL_IS_STRING(item)) {
            why = "transcript item: \"item\" must be a string (the exact stored item text)";
            goto bad;
        }
        v = jget(root, "incarnation");
        if (v && !YAJL_IS_NULL(v) && !jint(v, &inc)) {
            why = "transcript item: \"incarnation\" must be an integer";
            goto bad;
        }
        txt = YAJL_GET_STRING(item);
        memset(&it, 0, sizeof(it));
        if (sp_titem_parse(&it, txt, strlen(txt), &pe) != SP_OK) {
            char reason[1024];
            snprintf(reason, sizeof(reason), "%.200s@%lld: transcript item %.64s:%lld: %.400s", kp->source,
                     (long long)offset, YAJL_GET_STRING(vat), (long long)pos, pe.msg);
            rc = sp_pipeline_bad(ks->p, node, kp->source, offset, idx, reason, txt, strlen(txt), err);
            if (rc != SP_OK) goto out;
            /* dead-lettered, not stored (#22): the span's hash is not computed, the analysis sees the gap */
            ss = span_find(ks, node, YAJL_GET_STRING(vat), 1);
            if (ss->start < 0) ss->start = pos;
            ss->ok = 0;
            ss->next = pos + 1;
            goto out;
        }
        it.node = sp_str_c(node);
        it.source = sp_str_c(kp->source);
        it.vat_id = sp_str_c(YAJL_GET_STRING(vat));
        it.position = pos;
        it.incarnation = inc;
        it.item = sp_str_c(txt);
        ss = span_find(ks, node, YAJL_GET_STRING(vat), 1);
        if (ss->start < 0) {
            ss->start = ss->next = pos;
            ss->ok = 1;
            sp_span_hash_init(&ss->h);
        }
        if (pos == ss->next) {
            sp_span_hash_add(&ss->h, txt, strlen(txt));
            ss->next++;
        } else {
            ss->ok = 0; /* out of order or a gap: this span's hash is not computed */
            ss->next = pos + 1;
        }
        rec.kind = SP_REC_TITEM;
        rec.u.titem = &it;
        rc = sp_pipeline_record(ks->p, &rec, err);
        goto out;
    } else {
        struct sp_tspan sp;
        struct span_state *ss;
        struct sp_span_hash empty;
        int64_t s, e, inc = -1;
        yajl_val h = jget(root, "hash"), cur = jget(root, "isCurrent");
        if (!jint(jget(root, "startPos"), &s) || !jint(jget(root, "endPos"), &e) || s < 0 || e < s) {
            why = "transcript span: \"startPos\" and \"endPos\" must be integers, 0 <= startPos <= endPos";
            goto bad;
        }
        if (h && !YAJL_IS_NULL(h) && !YAJL_IS_STRING(h)) {
            why = "transcript span: \"hash\" must be a string or null";
            goto bad;
        }
        v = jget(root, "incarnation");
        if (v && !YAJL_IS_NULL(v) && !jint(v, &inc)) {
            why = "transcript span: \"incarnation\" must be an integer";
            goto bad;
        }
        memset(&sp, 0, sizeof(sp));
        sp.node = sp_str_c(node);
        sp.source = sp_str_c(kp->source);
        sp.vat_id = sp_str_c(YAJL_GET_STRING(vat));
        sp.start_pos = s;
        sp.end_pos = e;
        sp.hash = YAJL_IS_STRING(h) ? sp_str_c(YAJL_GET_STRING(h)) : SP_STR_NULL;
        sp.is_current = cur && (YAJL_IS_TRUE(cur) || (YAJL_IS_INTEGER(cur) && YAJL_GET_INTEGER(cur) != 0));
        sp.incarnation = inc;
        ss = span_find(ks, node, YAJL_GET_STRING(vat), 0);
        if (ss && ss->start == s && ss->ok) {
            sp.items = ss->next - s;
            if (ss->next == e) sp.computed_hash = sp_str_make(ss->h.hex, SP_SHA256_HEX_LEN);
        }
        if (s == e) {
            sp_span_hash_init(&empty);
            sp.computed_hash = sp_str_make(empty.hex, SP_SHA256_HEX_LEN);
        }
        rec.kind = SP_REC_TSPAN;
        rec.u.tspan = &sp;
        rc = sp_pipeline_record(ks->p, &rec, err);
        if (ss && !sp.is_current) { /* a closed span: the next one starts at its end */
            ss->start = ss->next = e;
            ss->ok = 1;
            sp_span_hash_init(&ss->h);
        }
        goto out;
    }
bad : {
    char reason[600];
    snprintf(reason, sizeof(reason), "%.200s@%lld: %.380s", kp->source, (long long)offset, why);
    rc = sp_pipeline_bad(ks->p, node, kp->source, offset, idx, reason, line, n, err);
}
out:
    yajl_tree_free(root);
    return rc;
}

/* ---- slog messages ------------------------------------------------------------------ */

/* Inflate a gzip value (multi-member) into ks->inflated. */
static int inflate_value(struct ksrc *ks, const unsigned char *p, size_t n, const char **why)
{
    z_stream zs;
    int zrc = Z_OK;
    memset(&zs, 0, sizeof(zs));
    sp_buf_reset(&ks->inflated);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        *why = "gzip: cannot initialize zlib";
        return SP_EBADINPUT;
    }
    zs.next_in = (unsigned char *)p;
    zs.avail_in = (uInt)n;
    for (;;) {
        if (sp_buf_reserve(&ks->inflated, 65536) != SP_OK) {
            *why = "gzip: inflated value larger than the limit (SP_KAFKA_MAX_INFLATED)";
            goto fail;
        }
        zs.next_out = (unsigned char *)ks->inflated.data + ks->inflated.len;
        zs.avail_out = (uInt)(ks->inflated.alloc - ks->inflated.len - 1);
        {
            uInt before = zs.avail_out;
            zrc = inflate(&zs, Z_NO_FLUSH);
            ks->inflated.len += before - zs.avail_out;
            ks->inflated.data[ks->inflated.len] = '\0';
        }
        if (zrc == Z_STREAM_END) {
            if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
                inflateReset(&zs); /* another gzip member */
                continue;
            }
            if (zs.avail_in > 0) {
                *why = "gzip: trailing bytes after the compressed data";
                goto fail;
            }
            break;
        }
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            *why = zrc == Z_DATA_ERROR ? "gzip: corrupt compressed data" : "gzip: inflate failed";
            goto fail;
        }
        if (zrc == Z_BUF_ERROR && zs.avail_in == 0) {
            *why = "gzip: truncated compressed data";
            goto fail;
        }
    }
    inflateEnd(&zs);
    return SP_OK;
fail:
    inflateEnd(&zs);
    return SP_EBADINPUT;
}

static struct sp_stream *stream_get(struct ksrc *ks, const char *node, const char *source)
{
    if (ks->last_stream && strcmp(ks->last_node, node) == 0 && strcmp(ks->last_source, source) == 0)
        return ks->last_stream;
    stream_cache_clear(ks);
    ks->last_stream = sp_pipeline_stream(ks->p, node, source, NULL, NULL);
    sp_pipeline_stream_kafka(ks->last_stream);
    ks->last_node = sp_xstrdup(node);
    ks->last_source = sp_xstrdup(source);
    return ks->last_stream;
}

/* A node name from a header/key: 1..KS_NODE_MAX bytes of valid UTF-8, no control bytes. */
static int node_ok(const char *p, size_t n)
{
    size_t bad;
    if (n == 0 || n > KS_NODE_MAX || !sp_utf8_valid(p, n, &bad)) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) return 0;
    return 1;
}

static int bad_envelope(struct ksrc *ks, struct kpart *kp, const char *node, const rd_kafka_message_t *m,
                        const char *why, struct sp_err *err)
{
    char reason[512];
    int rc = pool_drain(ks, 0, err); /* in order, after the lines before it */
    if (rc != SP_OK) return rc;
    ks->bad_envelopes++;
    kp->next = kp->fed_next = m->offset + 1;
    kp->skip = kp->fed_skip = 0;
    kp->dirty = 1;
    snprintf(reason, sizeof(reason), "%.200s@%lld: %.280s", kp->source, (long long)m->offset, why);
    return sp_pipeline_bad(ks->p, node, kp->source, m->offset, -1, reason, m->payload,
                           m->payload ? (m->len > 4096 ? 4096 : m->len) : 0, err);
}

/* ---- parsing beside the consumer ----------------------------------------------------
 * Slog lines are parsed (yajl, the normalizer) on the parse pool's thread
 * while this thread handles the batch of lines parsed before it: assembling
 * and writing need the lines in order. A partition's position (next/skip,
 * what a commit stores) moves when a line is handled, never when it is only
 * handed over, so a commit covers exactly the lines written; fed_next /
 * fed_skip track what was handed over (the redelivery check). Whatever must
 * come after the lines handed over (a transcript line, a bad envelope, a
 * rebalance, an idle commit, the end) first drains the pool. */
#define FED_MSG_END ((int64_t)1 << 62) /* in user_b: the message's last fed line */

/* The partition's position "as if line idx of message offset were done":
 * a commit inside its handling covers it. */
static void pos_at_line(struct kpart *kp, int64_t offset, int64_t idx)
{
    kp->next = offset;
    kp->skip = idx + 1;
    kp->dirty = 1;
}

static int handle_parsed(struct ksrc *ks, struct sp_pa_batch *b, struct sp_err *err)
{
    for (int i = 0; i < b->n; i++) {
        struct sp_pa_item *it = &b->items[i];
        struct kpart *kp = it->user;
        int64_t idx = it->user_b & ~FED_MSG_END;
        int rc;
        pos_at_line(kp, it->user_a, idx);
        if ((rc = sp_pipeline_line_item(ks->p, it->user2, it, err)) != SP_OK) return rc;
        if (it->user_b & FED_MSG_END) {
            kp->next = it->user_a + 1;
            kp->skip = 0;
        }
    }
    return SP_OK;
}

/* Handle parsed batches until at most `keep` are in flight (0: submit the
 * open one and handle everything). */
static int pool_drain(struct ksrc *ks, int keep, struct sp_err *err)
{
    struct sp_pa_batch *b;
    if (!ks->pool) return SP_OK;
    if (keep == 0) {
        sp_parse_pool_submit(ks->pool);
        ks->last_fed = NULL; /* handled below */
    }
    while (sp_parse_pool_pending(ks->pool) > keep && (b = sp_parse_pool_take(ks->pool)) != NULL) {
        int rc = handle_parsed(ks, b, err);
        if (rc != SP_OK) return rc;
    }
    return SP_OK;
}

/* Hand one slog line to the pool; handle the batch parsed before, so the
 * pool parses the next batch while this thread writes the previous one. */
static int pool_feed(struct ksrc *ks, struct kpart *kp, struct sp_stream *s, const char *line, size_t n,
                     int64_t offset, int64_t idx, struct sp_err *err)
{
    struct sp_pa_item *it;
    int rc;
    while (!(it = sp_parse_pool_add(ks->pool, line, n, offset, idx, idx + 1, kp, s, offset, idx))) {
        struct sp_pa_batch *b = sp_parse_pool_take(ks->pool); /* every slot in use */
        if (b && (rc = handle_parsed(ks, b, err)) != SP_OK) return rc;
    }
    ks->last_fed = it;
    /* two in flight: the one being parsed (or filled) and the one handled now */
    return sp_parse_pool_pending(ks->pool) > 2 ? pool_drain(ks, 2, err) : SP_OK;
}

static int handle_message(struct ksrc *ks, rd_kafka_message_t *m, struct sp_err *err)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    struct kpart *kp = part_find(ks, topic, m->partition);
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv = NULL;
    size_t hn = 0;
    char node[KS_NODE_MAX + 1];
    const char *val, *end, *why = NULL;
    int64_t skip, idx = 0;
    size_t len;
    int rc;

    if (!kp) return SP_OK; /* not (or no longer) ours */
    if (kp->fed_next < 0) kp->next = kp->fed_next = m->offset; /* no database: start where Kafka said */
    if (m->offset < kp->fed_next) return SP_OK; /* already covered (redelivery) */
    if (m->offset > kp->fed_next && !kp->gap_warned && kp->has_stored) {
        sp_warn("kafka: %s: expected offset %lld, got %lld (retention or compaction removed "
                "messages never ingested)",
                kp->source, (long long)kp->fed_next, (long long)m->offset);
        kp->gap_warned = 1;
    }
    skip = m->offset == kp->fed_next ? kp->fed_skip : 0;
    kp->eof = 0;
    ks->messages++;
    sp_pipeline_count_bytes(ks->p, (int64_t)m->len);

    /* node: header "node", else the key, else the default, else the topic */
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, "node", &hv, &hn) == RD_KAFKA_RESP_ERR_NO_ERROR && hv) {
        if (!node_ok(hv, hn)) return bad_envelope(ks, kp, ks->default_node ? ks->default_node : topic, m,
                                                  "header \"node\" is empty, too long or not printable UTF-8",
                                                  err);
        memcpy(node, hv, hn);
        node[hn] = '\0';
    } else if (m->key && m->key_len > 0) {
        if (!node_ok(m->key, m->key_len))
            return bad_envelope(ks, kp, ks->default_node ? ks->default_node : topic, m,
                                "message key (the node) is too long or not printable UTF-8", err);
        memcpy(node, m->key, m->key_len);
        node[m->key_len] = '\0';
    } else {
        snprintf(node, sizeof(node), "%s", ks->default_node ? ks->default_node : topic);
    }

    if (!m->payload || m->len == 0) return bad_envelope(ks, kp, node, m, "empty message value", err);
    val = m->payload;
    len = m->len;
    if (len >= 2 && (unsigned char)val[0] == 0x1f && (unsigned char)val[1] == 0x8b) {
        if (inflate_value(ks, m->payload, m->len, &why) != SP_OK) return bad_envelope(ks, kp, node, m, why, err);
        val = ks->inflated.data;
        len = ks->inflated.len;
        if (len == 0) return bad_envelope(ks, kp, node, m, "gzip value inflates to nothing", err);
    }

    end = val + len;
    ks->last_fed = NULL;
    for (const char *line = val; line < end; idx++) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
        const char *next = nl ? nl + 1 : end;
        if (n > 0 && line[n - 1] == '\r') n--;
        if (idx < skip || n == 0) {
            line = next;
            continue;
        }
        ks->lines++;
        kp->fed_next = m->offset;
        kp->fed_skip = idx + 1;
        rc = SP_EOF;
        if (n > sp_pipeline_max_line(ks->p)) {
            /* --max-line holds for Kafka too: dead-lettered in order, after the lines parsed ahead */
            char reason[400];
            if ((rc = pool_drain(ks, 0, err)) != SP_OK) return rc;
            pos_at_line(kp, m->offset, idx);
            snprintf(reason, sizeof(reason), "%.200s@%lld: line %lld of the message: line longer than %zu bytes (skipped)",
                     kp->source, (long long)m->offset, (long long)idx + 1, sp_pipeline_max_line(ks->p));
            rc = sp_pipeline_bad(ks->p, node, kp->source, m->offset, idx, reason, line, n > 4096 ? 4096 : n, err);
            if (rc != SP_OK) return rc;
            line = next;
            continue;
        }
        if (looks_transcript(line, n)) {
            /* handled here and now: after the lines parsed ahead */
            if ((rc = pool_drain(ks, 0, err)) != SP_OK) return rc;
            pos_at_line(kp, m->offset, idx);
            rc = handle_transcript(ks, kp, node, line, n, m->offset, idx, err);
        }
        if (rc == SP_EOF) rc = pool_feed(ks, kp, stream_get(ks, node, kp->source), line, n, m->offset, idx, err);
        if (rc != SP_OK) return rc;
        line = next;
    }
    kp->fed_next = m->offset + 1;
    kp->fed_skip = 0;
    if (ks->last_fed) {
        ks->last_fed->user_b |= FED_MSG_END; /* its handling moves the position past the message */
    } else if (sp_parse_pool_pending(ks->pool) == 0) {
        kp->next = m->offset + 1;
        kp->skip = 0;
        kp->dirty = 1;
    } /* else: lines of earlier messages are still parsed; the position stays before this
       * message, which then holds no line to feed again (redelivered, it is skipped) */
    return SP_OK;
}

/* ---- the loop ------------------------------------------------------------------------ */

/*
 * The next message (or event: errors, partition EOF), NULL after 100 ms
 * without one. Messages are taken from the consumer queue in batches:
 * rd_kafka_consumer_poll takes the queue's lock, which the broker thread
 * filling it also takes, for every message; in bench/run batches made
 * consuming ~12 % faster (docs/kafka.md). A batch is whatever is queued,
 * without waiting to fill it; only an empty queue waits (for one message).
 * Rebalance callbacks run inside these calls, so never while the rest of a
 * batch is handled (librdkafka also drops messages of partitions revoked
 * during the call; handle_message ignores any not assigned to us anyway).
 */
static rd_kafka_message_t *next_message(struct ksrc *ks)
{
    ssize_t n;

    if (ks->batch_at < ks->batch_n) return ks->batch[ks->batch_at++];
    ks->batch_at = ks->batch_n = 0;
    n = rd_kafka_consume_batch_queue(ks->queue, 0, ks->batch, KS_BATCH);
    /* nothing queued: first let the loop handle what the pool holds */
    if (n == 0 && ks->pool && sp_parse_pool_pending(ks->pool) > 0) return NULL;
    if (n == 0) n = rd_kafka_consume_batch_queue(ks->queue, 100, ks->batch, 1);
    if (n <= 0) return NULL;
    ks->batch_n = (size_t)n;
    ks->batch_at = 1;
    return ks->batch[0];
}

/* Destroy the messages of the batch not handled (on the way out). */
static void batch_drop(struct ksrc *ks)
{
    while (ks->batch_at < ks->batch_n) rd_kafka_message_destroy(ks->batch[ks->batch_at++]);
}

static int all_at_end(const struct ksrc *ks)
{
    if (!ks->assigned_once || ks->nparts == 0) return 0;
    for (size_t i = 0; i < ks->nparts; i++)
        if (!ks->parts[i]->eof) return 0;
    return 1;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct ksrc *ks = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        struct sp_err e;
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        sp_err_set(&e, SP_EIO, "kafka: fatal: %s", buf);
        set_fatal(ks, &e);
        return;
    }
    /* transient (brokers down, timeouts): librdkafka retries by itself */
    sp_warn("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int consumer_new(struct ksrc *ks, const struct sp_kafka_uri *u, const char *const *props,
                        char **node_prop, struct sp_err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    int rc;
    static const char *const defaults[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "earliest"},
        /* Memory: see KS_QUEUE_KIB and consumer_bound_fetch(). queued.min.messages
         * stays high so that the byte bound is the one reached. */
        {"queued.max.messages.kbytes", KS_QUEUE_KIB},
        {"queued.min.messages", "1000000"},
        {"client.id", "slogpipe"},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if ((rc = conf_set(conf, defaults[i][0], defaults[i][1], err)) != SP_OK) goto fail;
    if ((rc = conf_set(conf, "bootstrap.servers", u->brokers, err)) != SP_OK) goto fail;
    if ((rc = conf_set(conf, "group.id", u->group ? u->group : "slogpipe", err)) != SP_OK) goto fail;
    if ((rc = conf_apply_props(conf, props, node_prop, err)) != SP_OK) goto fail;
    if ((rc = consumer_bound_fetch(conf, props, err)) != SP_OK) goto fail;
    rd_kafka_conf_set_opaque(conf, ks);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, offset_commit_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    ks->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!ks->rk) {
        rc = sp_err_set(err, SP_EUSAGE, "kafka: cannot create the consumer: %s", errstr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(ks->rk);
    ks->queue = rd_kafka_queue_get_consumer(ks->rk);
    if (!ks->queue) {
        rc = sp_err_set(err, SP_EINTERNAL, "kafka: no consumer queue");
        rd_kafka_destroy(ks->rk);
        ks->rk = NULL;
        return rc;
    }
    return SP_OK;
fail:
    rd_kafka_conf_destroy(conf);
    return rc;
}

static int subscribe(struct ksrc *ks, const char *topics, struct sp_err *err)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
    char *copy = sp_xstrdup(topics), *save = NULL;
    rd_kafka_resp_err_t e;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (*t) rd_kafka_topic_partition_list_add(list, t, RD_KAFKA_PARTITION_UA);
    free(copy);
    if (list->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(list);
        return sp_err_set(err, SP_EUSAGE, "kafka: no topic given");
    }
    e = rd_kafka_subscribe(ks->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) return sp_err_set(err, SP_EUSAGE, "kafka: subscribe to %s: %s", topics, rd_kafka_err2str(e));
    return SP_OK;
}

int sp_kafka_ingest(struct sp_pipeline *p, const char *uri, const char *const *props, int exit_at_end,
                    struct sp_err *err)
{
    struct ksrc ks;
    struct sp_kafka_uri u;
    char *node_prop = NULL;
    int rc, closed = 0;

    memset(&ks, 0, sizeof(ks));
    ks.start_s = sp_now_s();
    ks.p = p;
    sp_buf_init(&ks.inflated, SP_KAFKA_MAX_INFLATED);
    sp_buf_init(&ks.scratch, SP_KAFKA_MAX_INFLATED);
    if ((rc = sp_kafka_uri_parse(&u, uri, err)) != SP_OK) goto out_buf;
    if ((rc = consumer_new(&ks, &u, props, &node_prop, err)) != SP_OK) goto out;
    ks.default_node = u.node ? u.node : node_prop;
    ks.group = u.group ? u.group : "slogpipe";
    sp_pipeline_set_commit_hooks(p, hook_in_txn, hook_after, &ks);
    ks.pool = sp_parse_pool_start();
    if ((rc = subscribe(&ks, u.topics, err)) != SP_OK) goto out;
    sp_info("kafka: consuming %s from %s as group %s%s", u.topics, u.brokers, u.group ? u.group : "slogpipe",
            exit_at_end ? " until the end of every partition" : "");

    while (!sp_pipeline_stop && !ks.fatal) {
        rd_kafka_message_t *m = next_message(&ks);
        if (!m) {
            if ((rc = pool_drain(&ks, 0, err)) != SP_OK) goto out;
            if ((rc = sp_pipeline_maybe_commit(p, err)) != SP_OK) goto out;
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            struct kpart *kp = part_find(&ks, rd_kafka_topic_name(m->rkt), m->partition);
            if (kp && m->offset >= kp->fed_next) kp->eof = 1;
            rd_kafka_message_destroy(m);
        } else if (m->err) {
            int missing = m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                          m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
            if (missing && exit_at_end) {
                /* nothing will ever reach its end: say so instead of waiting forever */
                rc = sp_err_set(err, SP_EUSAGE, "kafka: %s%s", rd_kafka_message_errstr(m),
                                m->rkt ? "" : " (subscribed topic)");
                rd_kafka_message_destroy(m);
                goto out;
            }
            if (missing || m->err == RD_KAFKA_RESP_ERR__FATAL)
                sp_warn("kafka: %s", rd_kafka_message_errstr(m));
            else
                sp_debug("kafka: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else {
            rc = handle_message(&ks, m, err);
            rd_kafka_message_destroy(m);
            if (rc != SP_OK) goto out;
        }
        if (exit_at_end && all_at_end(&ks)) {
            sp_info("kafka: every assigned partition is at its end");
            break;
        }
    }
    if (ks.fatal) {
        *err = ks.fatal_err;
        rc = ks.fatal_err.rc < 0 ? ks.fatal_err.rc : SP_EIO;
        goto out;
    }
    /* Clean stop: commit what was fed, then leave the group (revoke commits again: a no-op). */
    if ((rc = pool_drain(&ks, 0, err)) != SP_OK) goto out;
    if ((rc = sp_pipeline_commit(p, err)) != SP_OK) goto out;
    batch_drop(&ks); /* taken but not handled: not committed, read again by the next owner */
    ks.closing = 1;
    rd_kafka_consumer_close(ks.rk);
    closed = 1;
    if (ks.fatal) {
        *err = ks.fatal_err;
        rc = ks.fatal_err.rc < 0 ? ks.fatal_err.rc : SP_EIO;
    }
out:
    if (ks.assigned_once)
        sp_info("kafka: %lld messages, %lld lines, %lld bad envelopes; first assignment %.2f s after "
                "start (the group join), then %.2f s of consuming", (long long)ks.messages,
                (long long)ks.lines, (long long)ks.bad_envelopes, ks.first_assign_s - ks.start_s,
                sp_now_s() - ks.first_assign_s);
    else
        sp_info("kafka: %lld messages, %lld lines, %lld bad envelopes; never assigned a partition",
                (long long)ks.messages, (long long)ks.lines, (long long)ks.bad_envelopes);
    sp_pipeline_set_commit_hooks(p, NULL, NULL, NULL);
    batch_drop(&ks);
    sp_parse_ahead_stop(ks.pool); /* lines parsed and not handled: not committed, read again */
    if (ks.queue) rd_kafka_queue_destroy(ks.queue);
    if (ks.rk) {
        /* On failure leave without committing anything more: the group rebalances and the
         * next owner resumes from the database. */
        if (!closed) {
            ks.fatal = 1;
            rd_kafka_consumer_close(ks.rk);
        }
        rd_kafka_destroy(ks.rk);
    }
    for (size_t i = 0; i < ks.nparts; i++) part_free(ks.parts[i]);
    free(ks.parts);
    for (size_t i = 0; i < ks.nspans; i++) {
        free(ks.spans[i].node);
        free(ks.spans[i].vat);
    }
    free(ks.spans);
    stream_cache_clear(&ks);
    free(node_prop);
    sp_kafka_uri_free(&u);
out_buf:
    sp_buf_free(&ks.inflated);
    sp_buf_free(&ks.scratch);
    return rc;
}
