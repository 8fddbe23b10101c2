/* sp_timeline.h - the batch analysis of a SQLite store: a replay of its stored records through the streaming timeline stage. */
#ifndef SP_TIMELINE_H
#define SP_TIMELINE_H

#include <stdint.h>
#include <sqlite3.h>

#include "../core/sp_core.h"
#include "../sinks/sp_sink.h"

#ifndef SP_RECORD_FN_DEFINED
#define SP_RECORD_FN_DEFINED
/* Same typedef as ingest/sp_transcript.h (C11 allows the identical repeat). */
typedef int (*sp_record_fn)(void *arg, const struct sp_record *rec, struct sp_err *err);
#endif

/* Mainnet defaults (agoric-formats.md §3.1): documentation only, never judged against. */
#define SP_SNAPSHOT_INITIAL_DEFAULT 3
#define SP_SNAPSHOT_INTERVAL_DEFAULT 200

struct sp_analysis_opts {
    const char *node;          /* NULL = every node present in the store */
    /* Schedule thresholds used when the node's store has no kvStore
     * `kernel.snapshotInitial` / `kernel.snapshotInterval` (the kernel's own
     * setting always wins): > 0 = this value ("option"); else the length
     * most of the node's closed spans agree on ("inferred"); else the
     * schedule is unknown and not judged ("unknown", never a default).
     * analysis_runs records which applied. */
    int64_t snapshot_initial;
    int64_t snapshot_interval;
    /* the heap sizes the stage's replay reports (--heap-thresholds); NULL / 0: 500 MB, 1 GiB, 2 GiB */
    const int64_t *heap_thresholds;
    int nheap_thresholds;
};

/* Fill o with the defaults (all nodes, schedule from store_kv). */
void sp_analysis_opts_init(struct sp_analysis_opts *o);

/*
 * Recompute spans, anomalies, snapshot cross-references and the vat
 * lifecycle summary for the node(s) inside ONE transaction on db: the
 * previous analysis rows of those nodes are deleted; the spans and
 * anomalies are what the streaming stage emits when the node's stored
 * records (store_kv, transcript_spans, store_snapshots, transcript_items,
 * slog_events, deliveries) are replayed through it (sp_tl_replay.h: the
 * same code judges live and in batch), the schedule being the node's
 * stated one or, failing that, the one its closed spans agree on (only the
 * whole history can say); the summaries are SQL over those rows. Then
 * committed. It also (re)marks the discarded execution of a block re-run
 * after a crash: slog_events/deliveries.superseded (010), and
 * snapshots.loads of the snapshots it loaded. Deterministic: the same tables give byte-identical rows.
 * The schema (001 + 002) must already be applied. Memory is bounded per
 * vat: rows are streamed in (node, vat, position) order.
 *
 * Every span and anomaly written is also passed to emit (may be NULL); the
 * records and their slices are valid only during the call. If emit returns
 * non-zero the transaction is rolled back and that code returned.
 * On an SQLite failure returns SP_ESINK with err naming the statement; the
 * transaction is rolled back and the store is left as it was.
 */
int sp_analyze(sqlite3 *db, const struct sp_analysis_opts *o, sp_record_fn emit, void *arg,
               struct sp_err *err);

/* Every anomaly kind sp_analyze can report (agoric-formats.md §3.7), NULL-terminated. */
extern const char *const sp_anomaly_kinds[];

#endif
