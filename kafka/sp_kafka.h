/* sp_kafka.h - Kafka source (node topics -> pipeline, offsets stored with the rows) and Kafka sink (normalized topics). */
#ifndef SP_KAFKA_H
#define SP_KAFKA_H

#include "../core/sp_core.h"
#include "../sinks/sp_sink.h"

struct sp_pipeline;

/* Limits (named bounds). */
#define SP_KAFKA_MAX_INFLATED (256u * 1024 * 1024) /* a gzip message inflates to at most this */
#define SP_KAFKA_MAX_SPAN_STATES 16384             /* (node, vat) running span hashes kept */
#define SP_KAFKA_FLUSH_LOG_S 10                    /* sink: log while waiting this long for acks */
#define SP_KAFKA_STOP_GRACE_S 10                   /* sink: after SIGINT/SIGTERM, wait this long for acks */

/*
 * Consume `uri` = "kafka://HOST:PORT[,HOST:PORT...]/TOPIC[,TOPIC...]?group=G[&node=N]"
 * into pipeline p until SIGINT/SIGTERM (sp_pipeline_stop) or, with
 * exit_at_end, until every assigned partition has reached its end. `props`
 * is a NULL-terminated list of "key=value" librdkafka properties (may be
 * NULL); the pseudo-property "slogpipe.node=N" sets the default node (same
 * as node= in the URI). Values of secret keys (password, secret, sasl.,
 * ssl.key) are never printed.
 *
 * Offsets: the next offset of every partition is stored in SQLite (table
 * kafka_offsets, per group/topic/partition, with skip_lines for a commit
 * inside a multi-line message) in the transaction that holds the rows it covers, then committed to Kafka (async, for lag
 * monitors). On assignment the consumer starts at the SQLite offset (Kafka's
 * committed offset only when there is no database). Before partitions are
 * revoked the pipeline is committed. If another consumer advanced a
 * partition behind our back (zombie after a session timeout), the commit
 * fails (SP_ESINK) instead of writing duplicates.
 *
 * Returns SP_OK after a clean stop (everything fed committed, group left);
 * SP_EUSAGE for a bad URI/property; SP_ESINK/SP_EIO when a sink or Kafka
 * failed fatally (err filled; nothing uncommitted was acknowledged). Bad
 * messages are dead-lettered and counted, never fatal. The caller still
 * calls sp_pipeline_finish.
 */
int sp_kafka_ingest(struct sp_pipeline *p, const char *uri, const char *const *props, int exit_at_end,
                    struct sp_err *err);

/* 1 if the value of librdkafka property `key` must never be printed. */
int sp_kafka_prop_is_secret(const char *key);

/* Fill err (SP_EUSAGE, returned) for a rejected property: "WHO: property KEY: ERRSTR";
 * when KEY is secret "WHO: property KEY: value (hidden): ERRSTR" with every occurrence
 * of the value replaced by "***" (a secret value shorter than 4 bytes: no ERRSTR). */
int sp_kafka_conf_error(const char *who, const char *key, const char *val, const char *errstr,
                        struct sp_err *err);

/*
 * Parsed source URI; heap strings owned by the struct (sp_kafka_uri_free).
 * Returns SP_OK or SP_EUSAGE with err naming the problem.
 */
struct sp_kafka_uri {
    char *brokers; /* "h:p,h:p" */
    char *topics;  /* "t1,t2" */
    char *group;   /* NULL if absent */
    char *node;    /* NULL if absent */
};
int sp_kafka_uri_parse(struct sp_kafka_uri *u, const char *uri, struct sp_err *err);
void sp_kafka_uri_free(struct sp_kafka_uri *u);

/*
 * Kafka sink. open's target is "kafka://BROKERS/PREFIX[?key=value&...]"
 * (properties for librdkafka, e.g. security settings) or just "BROKERS"
 * (prefix "slogpipe"). Records go to PREFIX.events (everything but spans
 * and anomalies), PREFIX.spans and PREFIX.anomalies as sp_record_to_json
 * values; the key is the node, or "node/vatID" for per-vat records
 * (transcript items/spans/snapshots, spans, anomalies); every message has
 * the header slogpipe.txn naming its transaction.
 *
 * The producer is transactional (transactional.id from the target, else
 * "slogpipe-PREFIX"; open runs init_transactions, which aborts what a
 * previous producer with that id left open). The first record after a
 * commit begins a transaction; `commit` waits for every delivery report
 * (SP_ESINK if any failed), then commits the transaction: a read_committed
 * consumer sees a batch entirely or not at all. Any failure aborts the
 * transaction (the pipeline then stops without advancing checkpoints).
 *
 * Exactly-once across crashes needs the database (sp_kafka_sink_bind):
 * records are counted per unit (their source, or the analysis), each
 * transaction carries the units' cumulative counts on PREFIX.commits
 * (partition 0, key = unit) and `commit` writes the same counts into the
 * open SQLite transaction, which the pipeline commits after this sink. A
 * unit seen for the first time (or after `release`) compares the two: what
 * Kafka has beyond the database (a crash between the two commits) is
 * skipped when the pipeline replays it. `commit` also refuses (SP_ESINK)
 * when another instance stored a unit of this batch meanwhile.
 */
extern const struct sp_sink_ops sp_sink_kafka;

/*
 * Open the sink for --kafka-out BROKERS --topic-prefix PREFIX with the -X
 * properties (consumer-only ones are skipped); txn_id (may be NULL) is the
 * default transactional.id (a -X transactional.id wins). Hand *ctx to
 * sp_pipeline_add_sink(p, &sp_sink_kafka, ctx, err). SP_OK, SP_EUSAGE (bad
 * property) or SP_ESINK (init_transactions failed: brokers unreachable,
 * no transaction support).
 */
int sp_kafka_sink_open(void **ctx, const char *brokers, const char *prefix, const char *const *props,
                       const char *txn_id, struct sp_err *err);

/* Keep the exactly-once bookkeeping in this store (the --db store,
 * sp_pipeline_store; it must outlive the sink); call before the first write. */
struct sp_store;
void sp_kafka_sink_bind(void *ctx, const struct sp_store *store);

/* Build the sink target for --kafka-out BROKERS --topic-prefix PREFIX (malloc'd). */
char *sp_kafka_sink_target(const char *brokers, const char *prefix);

#endif
