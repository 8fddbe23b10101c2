/* sp_failpoint.h - fault points for tests: SLOGPIPE_FAILPOINT=name:N[:stop] kills (or stops) the process at the Nth hit of `name`. */
#ifndef SP_FAILPOINT_H
#define SP_FAILPOINT_H

/*
 * A fault point is one line at a place where a crash must lose nothing
 * (between a write and its commit, after a commit, inside a migration):
 *
 *     SP_FAILPOINT("commit.before");
 *
 * With SLOGPIPE_FAILPOINT unset (always, outside tests) it costs one relaxed
 * load of a global int; the variable is read once, on the first hit.
 *
 * SLOGPIPE_FAILPOINT is a comma-separated list of NAME:N[:ACTION]. At the
 * Nth hit (counted from 1, across threads) of fault point NAME the process
 * writes "slogpipe: failpoint NAME:N: ACTION" to stderr, then ACTION:
 *   kill (default)  raise(SIGKILL), as `kill -9` at exactly that place;
 *   stop            raise(SIGSTOP): the test acts while the process is
 *                   stopped, then sends SIGCONT; the run goes on.
 * A malformed entry is reported on stderr and ignored.
 *
 * The places (tests/e2e/ingest_resume.sh, pg_store.sh and the Kafka tests hit them):
 *   line.parsed         a slog line parsed, before it is handled (pipeline)
 *   commit.before       start of a commit: sinks have the batch, nothing committed
 *   sqlite.committed    right after the SQLite COMMIT of rows + checkpoints
 *   sqlite.migration    after one migration, before the migrations' COMMIT
 *   pg.migration        the same for the PostgreSQL store
 *   pg.before_commit    PostgreSQL: the whole batch sent, before its COMMIT
 *   pg.committed        right after the PostgreSQL COMMIT of rows + checkpoints
 *   kafka.sink.acked    every Kafka sink message acknowledged, its transaction not committed
 *   kafka.sink.committed  the Kafka sink's transaction committed, database not committed
 *   kafka.src.committed database committed, consumer offsets not yet sent to Kafka
 *   timeline.anomaly    the timeline stage handed an anomaly to the sinks, not committed
 *   timeline.supersede  the timeline stage handed a supersede record (a discarded block execution) to the sinks, not committed
 */

/* -1: SLOGPIPE_FAILPOINT not read yet, 0: unset, 1: armed */
extern int sp_failpoint_state;

void sp_failpoint_hit(const char *name);

#define SP_FAILPOINT(name)                                                 \
    do {                                                                   \
        if (__atomic_load_n(&sp_failpoint_state, __ATOMIC_RELAXED) != 0)   \
            sp_failpoint_hit(name);                                        \
    } while (0)

#endif
