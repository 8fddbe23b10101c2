/* sp_tl_replay.h - the batch analysis as a replay of a node's stored records through the streaming stage. */
#ifndef SP_TL_REPLAY_H
#define SP_TL_REPLAY_H

#include <stdint.h>
#include <sqlite3.h>

#include "sp_timeline.h"

/*
 * Feed every stored record of `node` in db (kvStore keys, transcript spans,
 * store snapshots, transcript items, slog events and deliveries) through a
 * fresh timeline stage whose store lookups read db, and hand each span and
 * anomaly record it derives to emit; the stage is flushed at the end, as at
 * the end of a run. Of sched only the schedule fields are used
 * (snapshot_initial/_interval: the options, or the inferred thresholds with
 * their *_how); a kvStore setting of the node wins.
 *
 * The records given to emit are valid only during the call. db is read
 * inside the caller's transaction (emit may write the same connection).
 * Errors: SP_OK, the code emit returned, or SP_ESINK naming the statement.
 */
struct sp_tl_stream_opts;
int sp_tl_replay(sqlite3 *db, const char *node, const struct sp_tl_stream_opts *sched, sp_record_fn emit, void *arg,
                 struct sp_err *err);

#endif
