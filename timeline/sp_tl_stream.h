/* sp_tl_stream.h - the streaming timeline stage: per-(node, vat) state machines fed record by record, emitting spans and anomalies as each is settled. */
#ifndef SP_TL_STREAM_H
#define SP_TL_STREAM_H

#include <stdint.h>
#include <sqlite3.h>

#include "../core/sp_buf.h"
#include "sp_timeline.h"

/*
 * The stage sits between normalize and the sinks. The pipeline passes it
 * every record it has written (slog events, assembled deliveries, transcript
 * items and spans, kvStore keys); the stage updates a bounded state per
 * (node, vat) — a fixed-size struct, whatever the number of deliveries —
 * and hands the records it derives (SP_REC_SPAN, SP_REC_ANOMALY,
 * SP_REC_SUPERSEDE) to `emit`,
 * which writes them to every sink in the same batch as the record that
 * settled them. What it judges, and at which event:
 *
 *   crank-finish   the crank's deliveries and heap-snapshot-saves are applied
 *                  (an aborted crank — non-ok result, failed upgrade, the
 *                  vat's terminate — changes nothing): slog spans open, grow
 *                  and close (save: [start, endPosition+1); upgrade startVat:
 *                  [start, deliveryNum-1)); a save is checked against the
 *                  transcript's save-snapshot item (SLOG_SNAPSHOT_ID_MISMATCH)
 *                  and, for vats without a transcript, against the schedule
 *                  when the schedule is stated (SNAPSHOT_SCHEDULE_DEVIATION);
 *   transcript item: a save-snapshot is checked against the slog's save at
 *                  that position, if the slog came first (SLOG_SNAPSHOT_ID_MISMATCH);
 *   transcript span (the tspans part, sp_tl_tspans.c): the span and the items
 *                  that came before it are judged against the transcript's
 *                  invariants T1-T13, S1, S2 and the schedule, as the batch
 *                  pass does (POSITION_GAP, SPAN_HASH_MISMATCH, SPAN_BAD_START,
 *                  LOAD_SAVE_ID_MISMATCH, INCARNATION_JUMP, ...);
 *   commit-block-finish: each vat that moved in the block has its current span
 *                  below the threshold (SNAPSHOT_OVERDUE, stated schedules
 *                  only); spans that grew in the block are emitted; the state
 *                  of that commit is kept, so a block re-executed after a
 *                  crash (kernel-init-start before the next commit, #8264) is
 *                  counted once;
 *   kernel-init-start before the commit-block-finish of the block begun last:
 *                  that execution was discarded (#8264); an SP_REC_SUPERSEDE
 *                  per source names its lines, from the begin-block to the
 *                  line before the restart (sinks mark them superseded);
 *   end of the run (sp_tl_stream_flush): spans that grew since are emitted.
 * No emission depends on when the pipeline commits, so a run killed and
 * resumed emits exactly what one clean run emits.
 *
 * The counterpart of a cross-check is looked up in the store when there is
 * one (opts.db: transcript_items, snapshots, store_snapshots, spans by
 * primary key), else in a ring of the vat's last TS_RING saves of each side.
 * Records are keyed: a span by (node, vat, start_pos), an anomaly by (node,
 * vat, kind, position); a later record with the same key replaces the
 * earlier one (SQLite upsert; JSONL/Kafka consumers keep the last).
 *
 * Ownership: the stage owns its state; records passed to emit are valid only
 * during the call. Errors: feed/flush return SP_OK, or the code emit
 * returned, or SP_ESINK when a store lookup failed (err filled).
 */

struct sp_tl_stream;

/* Returns the store to look counterparts up in, or NULL (called per lookup;
 * the SQLite sink needs to settle its writer thread first). */
typedef sqlite3 *(*sp_tl_db_fn)(void *arg);
/* Returns the node's saved state (malloc'd JSON, caller frees) or NULL. */
typedef char *(*sp_tl_load_fn)(void *arg, const char *node);

struct sp_tl_stream_opts {
    int64_t snapshot_initial, snapshot_interval; /* > 0: --snapshot-initial/-interval */
    sp_tl_db_fn db;                              /* NULL: no store (JSONL/Kafka only) */
    sp_tl_load_fn load;                          /* NULL: start empty */
    void *arg;                                   /* for db and load */
    /* non-NULL: the threshold above was inferred from the node's own closed
     * spans (the batch replay, which sees the whole history), and this is
     * how, as the anomalies' evidence words it; a kvStore setting still wins */
    const char *sinit_how, *sint_how;
    /* 1: a replay of one node's stored records (sp_tl_replay.c), every other
     * node's rows already in the store: cross-node parts judge the node
     * against all of them and report for that node only */
    int replay;
    /* heap sizes HEAP_SIZE_THRESHOLD reports, ascending (sp_tl_heap.c); NULL / 0: 500 MB, 1 GiB, 2 GiB */
    const int64_t *heap_thresholds;
    int nheap_thresholds;
};

struct sp_tl_stream *sp_tl_stream_new(const struct sp_tl_stream_opts *o);
void sp_tl_stream_free(struct sp_tl_stream *t);

/* Feed one record the pipeline wrote (other kinds are ignored). */
int sp_tl_stream_feed(struct sp_tl_stream *t, const struct sp_record *rec, sp_record_fn emit, void *arg,
                      struct sp_err *err);

/* Emit the spans that grew since they were last emitted (the pipeline calls it at the end of a run). */
int sp_tl_stream_flush(struct sp_tl_stream *t, sp_record_fn emit, void *arg, struct sp_err *err);

/* Nodes whose state changed since the last sp_tl_stream_saved: *node and the
 * state JSON in b (reset first). Returns 1 while there is one more, 0 at the
 * end; the pipeline writes each as a checkpoint of source SP_TL_SOURCE in
 * the commit's transaction. sp_tl_stream_saved marks them all clean once the
 * commit is durable. */
#define SP_TL_SOURCE "@timeline"
int sp_tl_stream_next_dirty(struct sp_tl_stream *t, size_t *iter, const char **node, struct sp_buf *b);
void sp_tl_stream_saved(struct sp_tl_stream *t);

/* Drop a node's state from memory (after a commit saved it): the next record
 * of the node reloads it through opts.load. For a Kafka partition that moves
 * to another group member and may come back after that member advanced it. */
void sp_tl_stream_forget(struct sp_tl_stream *t, const char *node);

/* Anomalies emitted so far by kind (for metrics): call fn for each. */
void sp_tl_stream_counts(const struct sp_tl_stream *t, void (*fn)(void *arg, const char *kind, int64_t n),
                         void *arg);

/* Deliveries written by this process that a SP_REC_SUPERSEDE record (the
 * discarded execution of a re-executed block) covers (for metrics). */
int64_t sp_tl_stream_superseded(const struct sp_tl_stream *t);

/* Per node: the committed live deliveries the stage counted (replays, aborted cranks and a block
 * execution a kernel restart discarded left out: the state of the last commit is restored then). */
void sp_tl_stream_live(const struct sp_tl_stream *t, void (*fn)(void *arg, const char *node, int64_t n), void *arg);

/* Per vat of every node with a stated schedule: current slog span length and its threshold (for metrics). */
void sp_tl_stream_spans(const struct sp_tl_stream *t,
                        void (*fn)(void *arg, const char *node, const char *vat, int64_t len, int64_t threshold),
                        void *arg);

#endif
