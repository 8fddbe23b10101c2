/* sp_pipeline.h - drives inputs through normalize -> sinks: batching, checkpoints, dead letters, analysis, summary. */
#ifndef SP_PIPELINE_H
#define SP_PIPELINE_H

#include <sqlite3.h>
#include "../core/sp_core.h"
#include "../sinks/sp_store.h"

struct sp_pipeline_opts {
    const char *db;          /* SQLite path (default "slogpipe.db") or PostgreSQL URL (sp_store_is_pg); NULL = none */
    const char *jsonl;       /* JSONL output path or "-"; NULL = none */
    const char *dead_letter; /* dead-letter JSONL file; NULL = ingest_errors table only */
    const char *node;        /* default node name (default "node0") */
    int strict;              /* bad input -> non-zero exit at the end */
    int64_t max_bad;         /* an input with more bad records than this is rejected; -1 = no limit */
    double max_bad_ratio;    /* ... or with more than this share of its records bad (default 0.5) */
    size_t max_line;         /* 0 = SP_MAX_LINE_DEFAULT */
    int fast;                /* --fast-backfill */
    int batch_rows;          /* commit once this many records are pending (0 = 50000) */
    int commit_ms;           /* ... or this much time has passed (0 = 1000) */
    int analyze;             /* run the timeline stage and the analysis at finish */
    int stream_only;         /* ... the stage only: no end-of-run analysis (--stream-only) */
    int64_t snapshot_initial, snapshot_interval; /* -1 = from the store, else 3/200 */
    int64_t heap_thresholds[8]; /* --heap-thresholds, ascending (nheap_thresholds 0: 500 MB, 1 GiB, 2 GiB) */
    int nheap_thresholds;
    int quiet;
    int follow;              /* follow growing files (tail -F) */
    const char *metrics_file;   /* Prometheus text rewritten at every commit; NULL = none */
    const char *metrics_listen; /* "127.0.0.1:PORT" serving GET /metrics; NULL = none */
};
void sp_pipeline_opts_init(struct sp_pipeline_opts *o);

struct sp_pipeline;
struct sp_stream; /* one (node, source) of slog lines: its context and checkpoint */

/* Open sinks, apply the schema. Returns SP_OK or SP_EUSAGE/SP_ESINK with err. */
int sp_pipeline_open(struct sp_pipeline **out, const struct sp_pipeline_opts *o, struct sp_err *err);

/*
 * Get (or create) the stream for (node, source); node NULL = default node.
 * On creation the stream's checkpoint is loaded and its context restored;
 * *resume_line / *resume_offset (if non-NULL) get the last covered line
 * and the byte offset after it (0, 0 when none). The pipeline owns it.
 */
struct sp_stream *sp_pipeline_stream(struct sp_pipeline *p, const char *node, const char *source,
                                     int64_t *resume_line, int64_t *resume_offset);

/* The lines of s come from Kafka messages (source "topic/partition", line =
 * the message's offset, offset = the line's index in the message): bad lines
 * are reported as "topic/partition@offset: line K of the message: ...". */
void sp_pipeline_stream_kafka(struct sp_stream *s);

/* The longest line accepted (--max-line; SP_MAX_LINE_DEFAULT when unset), for every input. */
size_t sp_pipeline_max_line(const struct sp_pipeline *p);

/*
 * Feed one slog line (no newline) of stream s. Bad lines are reported with
 * source:line, counted and dead-lettered, and SP_OK is returned; a value < 0
 * means a sink failed and the run must stop (err filled). May commit.
 */
int sp_pipeline_line(struct sp_pipeline *p, struct sp_stream *s, const char *line, size_t n,
                     int64_t lineno, int64_t offset, int64_t end_offset, struct sp_err *err);

/* The same for a line already parsed by a parse pool (sp_parse_ahead.h):
 * item->ev, nrc and msg as the pool left them. */
struct sp_pa_item;
int sp_pipeline_line_item(struct sp_pipeline *p, struct sp_stream *s, struct sp_pa_item *item,
                          struct sp_err *err);

/* Pass a record made elsewhere (transcript sources) to every sink. */
int sp_pipeline_record(struct sp_pipeline *p, const struct sp_record *rec, struct sp_err *err);

/* Dead-letter a problem at a location (source-level errors, Kafka envelopes). */
int sp_pipeline_bad(struct sp_pipeline *p, const char *node, const char *source, int64_t line,
                    int64_t offset, const char *reason, const char *bytes, size_t n,
                    struct sp_err *err);

/*
 * Hooks run by every commit: `in_txn` inside the store's transaction that
 * holds the batch (st is NULL without a database) — e.g. store Kafka
 * offsets with the rows through st->ops->offset_put; `after` once the
 * batch is durable in every sink — e.g. commit offsets to Kafka. Either
 * may be NULL.
 */
typedef int (*sp_commit_hook)(void *arg, const struct sp_store *st, struct sp_err *err);
void sp_pipeline_set_commit_hooks(struct sp_pipeline *p, sp_commit_hook in_txn, sp_commit_hook after,
                                  void *arg);

/* Commit if the batch is full or commit_ms has passed. */
int sp_pipeline_maybe_commit(struct sp_pipeline *p, struct sp_err *err);
/* Commit now (flushes every sink, writes checkpoints, runs hooks). Any line
 * is a valid commit point: a stream's checkpoint carries its open deliveries. */
int sp_pipeline_commit(struct sp_pipeline *p, struct sp_err *err);

/* Ingest one input path of any kind (detected from content). Bad input is
 * counted and dead-lettered; returns < 0 only when the run must stop. Each
 * file, swing-store, export or archive read (a directory's entries one by
 * one) is judged on its own: see inputs_failed / inputs_rejected. */
int sp_pipeline_ingest_path(struct sp_pipeline *p, const char *path, struct sp_err *err);

/* End of run: flush streams, commit, run the analysis, print the summary to stderr. */
int sp_pipeline_finish(struct sp_pipeline *p, struct sp_err *err);

/* How far a Kafka partition is behind: its high watermark minus the offset
 * committed, exported as slogpipe_partition_lag_messages{topic,partition};
 * messages < 0 removes the series (the partition was revoked). The lag of
 * files is the pipeline's own (slogpipe_source_lag_bytes{source}). */
void sp_pipeline_set_partition_lag(struct sp_pipeline *p, const char *topic, int32_t partition,
                                   int64_t messages);

/* Count n input bytes read by a source the pipeline does not read itself
 * (Kafka message values), for slogpipe_bytes_read_total. */
void sp_pipeline_count_bytes(struct sp_pipeline *p, int64_t n);

/* Forget the in-memory streams whose source is `source` (call right after a
 * successful sp_pipeline_commit): the next sp_pipeline_stream() reloads them
 * from their checkpoint, and sinks with a `release` op forget it too. Used
 * when a Kafka partition is revoked, so a partition that comes back
 * continues from what its other owner committed. */
void sp_pipeline_release_source(struct sp_pipeline *p, const char *source);

/* Add an already-opened sink (e.g. Kafka): it gets every record and is
 * committed before the --db store; the pipeline closes it at destroy. */
int sp_pipeline_add_sink(struct sp_pipeline *p, const struct sp_sink_ops *ops, void *ctx, struct sp_err *err);

/* The SQLite handle of the SQLite store (NULL without a database or with
 * another store); owned by the pipeline. */
sqlite3 *sp_pipeline_db(struct sp_pipeline *p);

/* The --db store (NULL without one); owned by the pipeline. */
const struct sp_store *sp_pipeline_store(struct sp_pipeline *p);

struct sp_pipeline_stats {
    int64_t lines, records, bad, bytes_in, deliveries, transcript_items, anomalies, commits;
    int64_t bytes_lines; /* uncompressed slog bytes (lines + newline) */
    /* inputs (files, directories, swing-stores, exports; not Kafka) that could
     * not be opened or read (exit 66), that were rejected by the bad-input
     * rule (exit 65: nothing usable, or over --max-bad / --max-bad-ratio),
     * and that held nothing (a warning) */
    int64_t inputs_failed, inputs_rejected, inputs_empty;
    int64_t by_type[64];
    double started_s;
};
const struct sp_pipeline_stats *sp_pipeline_stats(const struct sp_pipeline *p);

void sp_pipeline_destroy(struct sp_pipeline *p);

/* Stop flag for long-running loops (set from SIGINT/SIGTERM handlers). */
extern volatile int sp_pipeline_stop;

#endif
