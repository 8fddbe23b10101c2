/* sp_sink_sqlite.c - the SQLite sink: embedded migrations, batched transactions, checkpoints with the rows. */
#include "sp_sqlite.h"
#include "../core/sp_failpoint.h"
#include "../core/sp_worker.h"
#include "sp_schema.h"
#include "sp_sources.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SP_SQLITE_BUSY_MS 10000
#define SP_SQLITE_CACHE_KIB 16000      /* cache_size -16000: ~16 MB page cache */
/* --fast-backfill keeps the same cache: 64 MiB took peak RSS to 114 MB (over
 * the 64 MB budget) and was not faster (bench/run, docs/performance.md). */
#define SP_SQLITE_FAST_CACHE_KIB SP_SQLITE_CACHE_KIB
#define SP_EXCERPT_MAX 200

/* ---- fault injection ----------------------------------------------------
 * Every fallible sqlite3 call goes through SQ(call, rc_if_injected). In a
 * torture build the call whose ordinal equals $SP_TORTURE_FAIL_AT is not
 * made and fails instead. Cleanup calls (ROLLBACK, reset, finalize, close)
 * are not counted: their failure cannot be handled anyway. */
#ifdef SP_TORTURE
static long torture_calls;
static long torture_fail_at = -1;
static int torture_loaded;
static int torture_injected; /* a failure was injected since the reset (for messages) */

void sp_sqlite_torture_reset(void)
{
    const char *e = getenv("SP_TORTURE_FAIL_AT");
    torture_fail_at = e && *e ? strtol(e, NULL, 10) : -1;
    torture_calls = 0;
    torture_injected = 0;
    torture_loaded = 1;
}

long sp_sqlite_torture_calls(void)
{
    return torture_calls;
}

static int torture_fail(void)
{
    if (!torture_loaded) sp_sqlite_torture_reset();
    if (++torture_calls != torture_fail_at) return 0;
    torture_injected = 1; /* sticky until reset: later calls must not hide it */
    return 1;
}
#define SQ(call, fail_rc) (torture_fail() ? (fail_rc) : (call))
#define SQ_ERRMSG(db) \
    (torture_injected ? "injected fault (SP_TORTURE_FAIL_AT)" : (db) ? sqlite3_errmsg(db) : "no connection")
#else
#define SQ(call, fail_rc) (call)
#define SQ_ERRMSG(db) ((db) ? sqlite3_errmsg(db) : "no connection")
#endif

/* ---- statements -------------------------------------------------------- */

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_EVENT,
    ST_DELIVERY,
    ST_BAD,
    ST_VAT_CREATE,
    ST_VAT_TERMINATE,
    ST_VAT_CLEANED,
    ST_SNAP_SAVE,
    ST_SNAP_LOAD,
    ST_BLOCK_BEGIN,
    ST_BLOCK_END,
    ST_BLOCK_COMMIT,
    ST_TITEM,
    ST_TSPAN,
    ST_TSNAPSHOT,
    ST_KV,
    ST_CKPT_PUT,
    ST_CKPT_GET,
    ST_STATE_GET,
    ST_STATE_PUT,
    ST_SOURCE,
    ST_EVENT_V2, /* slog_events with the 002-timeline.sql columns (chosen at open) */
    ST_EVENT_GROUP, /* the same, EV_GROUP rows per statement (writer mode, see ev_flush) */
    ST_SPAN,    /* lazily: table from 002-timeline.sql */
    ST_ANOMALY, /* lazily: table from 002-timeline.sql */
    ST_SPAN_DEL,    /* a retracted span */
    ST_ANOMALY_DEL, /* a retracted anomaly */
    ST_SUP_EV_WALK, /* SP_REC_SUPERSEDE (put_supersede) */
    ST_SUP_DLV_WALK,
    ST_SUP_EV_MARK,
    ST_SUP_DLV_MARK,
    ST_SUP_LOAD,
    ST_SUP_SAVE,
    ST_RUN,         /* a run (012-runs.sql) */
    ST_BLOCK_BUDGET, /* a block's time budget (012-runs.sql) */
    ST__COUNT
};

/* slog_events columns of 002-timeline.sql, and one row of parameters for them */
#define EV_V2_COLUMNS                                                                        \
    "slog_events(node,source,line,offset,type,time,monotime,seconds,vat_id,crank_num,"       \
    "delivery_num,syscall_num,replay,block_height,epoch,raw,message_type,crank_type,"        \
    "crankhash,activityhash,snapshot_id,snap_pos,uncompressed_size,deliveries,args) "
#define EV_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define EV_ROWS4 EV_ROW "," EV_ROW "," EV_ROW "," EV_ROW
#define EV_GROUP 16 /* rows of EV_ROWS16 */
#define EV_ROWS16 EV_ROWS4 "," EV_ROWS4 "," EV_ROWS4 "," EV_ROWS4
#define EV_COLS 25

static const struct {
    const char *name; /* for error messages */
    const char *sql;
} stmt_defs[ST__COUNT] = {
    [ST_BEGIN] = {"begin", "BEGIN IMMEDIATE"},
    [ST_COMMIT] = {"commit", "COMMIT"},
    [ST_ROLLBACK] = {"rollback", "ROLLBACK"},
    [ST_EVENT] = {"insert slog_events",
                  "INSERT INTO slog_events(node,source,line,offset,type,time,monotime,seconds,"
                  "vat_id,crank_num,delivery_num,syscall_num,replay,block_height,epoch,raw) "
                  "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"},
    [ST_DELIVERY] = {"insert deliveries",
                     "INSERT INTO deliveries(node,source,line,result_line,vat_id,delivery_num,"
                     "crank_num,block_height,epoch,dispatch,replay,status,computrons,syscalls,time,"
                     "seconds,vd_hash,sc_hash,run_num,method,target,resolutions) "
                     "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)"},
    [ST_BAD] = {"insert ingest_errors",
                "INSERT INTO ingest_errors(node,source,line,offset,reason,excerpt) "
                "VALUES(?1,?2,?3,?4,?5,?6)"},
    [ST_VAT_CREATE] = {"upsert vats (create-vat)",
                       "INSERT INTO vats(node,vat_id,name,dynamic,manager_type,created_line) "
                       "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(node,vat_id) DO UPDATE SET "
                       "name=COALESCE(excluded.name,name),dynamic=COALESCE(excluded.dynamic,dynamic),"
                       "manager_type=COALESCE(excluded.manager_type,manager_type),"
                       "created_line=COALESCE(created_line,excluded.created_line)"},
    [ST_VAT_TERMINATE] = {"upsert vats (terminate)",
                          "INSERT INTO vats(node,vat_id,status,terminated_line) "
                          "VALUES(?1,?2,'terminated',?3) ON CONFLICT(node,vat_id) DO UPDATE SET "
                          "status=CASE WHEN status='cleaned' THEN status ELSE 'terminated' END,"
                          "terminated_line=COALESCE(terminated_line,excluded.terminated_line)"},
    [ST_VAT_CLEANED] = {"upsert vats (vat-cleanup-complete)",
                        "INSERT INTO vats(node,vat_id,status,cleanup_line) "
                        "VALUES(?1,?2,'cleaned',?3) ON CONFLICT(node,vat_id) DO UPDATE SET "
                        "status='cleaned',cleanup_line=COALESCE(cleanup_line,excluded.cleanup_line)"},
    [ST_SNAP_SAVE] = {"upsert snapshots (heap-snapshot-save)",
                      "INSERT INTO snapshots(node,vat_id,snap_pos,snapshot_id,slog_snapshot_id,"
                      "save_line,save_time,uncompressed_size,compressed_size,save_seconds,"
                      "compress_seconds) VALUES(?1,?2,?3,?4,?4,?5,?6,?7,?8,?9,?10) "
                      "ON CONFLICT(node,vat_id,snap_pos) DO UPDATE SET "
                      "snapshot_id=COALESCE(excluded.snapshot_id,snapshot_id),"
                      "slog_snapshot_id=COALESCE(excluded.slog_snapshot_id,slog_snapshot_id),"
                      "save_line=COALESCE(save_line,excluded.save_line),"
                      "save_time=COALESCE(save_time,excluded.save_time),"
                      "uncompressed_size=COALESCE(excluded.uncompressed_size,uncompressed_size),"
                      "compressed_size=COALESCE(excluded.compressed_size,compressed_size),"
                      "save_seconds=COALESCE(excluded.save_seconds,save_seconds),"
                      "compress_seconds=COALESCE(excluded.compress_seconds,compress_seconds)"},
    [ST_SNAP_LOAD] = {"upsert snapshots (heap-snapshot-load)",
                      "INSERT INTO snapshots(node,vat_id,snap_pos,snapshot_id,uncompressed_size,"
                      "compressed_size,loads) VALUES(?1,?2,?3,?4,?5,?6,1) "
                      "ON CONFLICT(node,vat_id,snap_pos) DO UPDATE SET loads=loads+1,"
                      "snapshot_id=COALESCE(snapshot_id,excluded.snapshot_id),"
                      "uncompressed_size=COALESCE(uncompressed_size,excluded.uncompressed_size),"
                      "compressed_size=COALESCE(compressed_size,excluded.compressed_size)"},
    [ST_BLOCK_BEGIN] = {"upsert blocks (begin-block)",
                        "INSERT INTO blocks(node,block_height,block_time,begin_line,begin_time) "
                        "VALUES(?1,?2,?3,?4,?5) ON CONFLICT(node,block_height) DO UPDATE SET "
                        "block_time=COALESCE(excluded.block_time,block_time),"
                        "begin_line=excluded.begin_line,begin_time=excluded.begin_time"},
    [ST_BLOCK_END] = {"upsert blocks (end-block-finish)",
                      "INSERT INTO blocks(node,block_height,block_time,end_time) "
                      "VALUES(?1,?2,?3,?4) ON CONFLICT(node,block_height) DO UPDATE SET "
                      "block_time=COALESCE(block_time,excluded.block_time),"
                      "end_time=excluded.end_time"},
    [ST_BLOCK_COMMIT] = {"upsert blocks (commit-block-finish)",
                         "INSERT INTO blocks(node,block_height,block_time,commit_time,committed) "
                         "VALUES(?1,?2,?3,?4,1) ON CONFLICT(node,block_height) DO UPDATE SET "
                         "block_time=COALESCE(block_time,excluded.block_time),"
                         "commit_time=excluded.commit_time,committed=1"},
    [ST_TITEM] = {"insert transcript_items",
                  "INSERT OR REPLACE INTO transcript_items(node,vat_id,position,incarnation,d_type,"
                  "item,d_hash,sc_hash,status,computrons,snapshot_id,source) "
                  "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"},
    [ST_TSPAN] = {"insert transcript_spans",
                  /* Several sources of one node merge: what a source does not
                   * know (an archive has no stored hash or incarnation) keeps
                   * what another source said. */
                  "INSERT INTO transcript_spans(node,vat_id,start_pos,end_pos,hash,"
                  "computed_hash,items,is_current,incarnation,source) "
                  "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT(node,vat_id,start_pos) DO UPDATE SET "
                  "end_pos=excluded.end_pos,hash=COALESCE(excluded.hash,hash),"
                  "computed_hash=COALESCE(excluded.computed_hash,computed_hash),items=excluded.items,"
                  "is_current=excluded.is_current,incarnation=COALESCE(excluded.incarnation,incarnation),"
                  "source=excluded.source"},
    [ST_TSNAPSHOT] = {"insert store_snapshots",
                      "INSERT INTO store_snapshots(node,vat_id,snap_pos,hash,in_use,"
                      "uncompressed_size,compressed_size,has_blob,source) "
                      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(node,vat_id,snap_pos) DO UPDATE SET "
                      "hash=COALESCE(excluded.hash,hash),in_use=excluded.in_use,"
                      "uncompressed_size=COALESCE(excluded.uncompressed_size,uncompressed_size),"
                      "compressed_size=COALESCE(excluded.compressed_size,compressed_size),"
                      "has_blob=COALESCE(excluded.has_blob,has_blob),source=excluded.source"},
    [ST_KV] = {"insert store_kv",
               "INSERT OR REPLACE INTO store_kv(node,key,value,source) VALUES(?1,?2,?3,?4)"},
    [ST_CKPT_PUT] = {"upsert checkpoints",
                     "INSERT INTO checkpoints(node,source,line,offset,jsonl_bytes,state,updated_at) "
                     "VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(node,source) DO UPDATE SET "
                     "line=excluded.line,offset=excluded.offset,jsonl_bytes=excluded.jsonl_bytes,"
                     "state=excluded.state,updated_at=excluded.updated_at"},
    [ST_CKPT_GET] = {"select checkpoints",
                     "SELECT line,offset,state FROM checkpoints WHERE node=?1 AND source=?2"},
    [ST_STATE_GET] = {"select sink_state", "SELECT value FROM sink_state WHERE key=?1"},
    [ST_STATE_PUT] = {"upsert sink_state",
                      "INSERT INTO sink_state(key,value,updated_at) VALUES(?1,?2,?3) "
                      "ON CONFLICT(key) DO UPDATE SET value=excluded.value,"
                      "updated_at=excluded.updated_at"},
    [ST_SOURCE] = {"upsert sources",
                   "INSERT INTO sources(node,source,events,first_line,last_line,min_time,max_time) "
                   "VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(node,source) DO UPDATE SET "
                   "events=events+excluded.events,first_line=min(first_line,excluded.first_line),"
                   "last_line=max(last_line,excluded.last_line),"
                   "min_time=CASE WHEN min_time IS NULL OR excluded.min_time<min_time "
                   "THEN excluded.min_time ELSE min_time END,"
                   "max_time=CASE WHEN max_time IS NULL OR excluded.max_time>max_time "
                   "THEN excluded.max_time ELSE max_time END"},
    [ST_EVENT_V2] = {"insert slog_events",
                     "INSERT INTO " EV_V2_COLUMNS
                     "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"
                     "?17,?18,?19,?20,?21,?22,?23,?24,?25)"},
    /* OR FAIL: a row that breaks a constraint stops the statement and keeps
     * the rows before it, so SQLite needs no statement journal (with the
     * default ABORT it saves every page the statement changes: 1 M small
     * writes to a temp file per 300 MB, slower than row by row). The sink
     * rolls the batch back on any failure anyway. */
    [ST_EVENT_GROUP] = {"insert slog_events", "INSERT OR FAIL INTO " EV_V2_COLUMNS "VALUES" EV_ROWS16},
    /* Span and anomaly records are keyed, (node, vat_id, start_pos) and
     * (node, vat, kind, position) (migration 008's unique index): a later
     * record replaces the row, as a JSONL or Kafka consumer keeps the last. */
    [ST_SPAN] = {"insert spans",
                 "INSERT OR REPLACE INTO spans(node,vat_id,incarnation,start_pos,end_pos,first_type,"
                 "last_type,is_current,hash,hash_ok,deliveries,from_transcript,from_slog,"
                 "save_snapshot_id,load_snapshot_id) "
                 "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"},
    [ST_ANOMALY] = {"insert anomalies",
                    "INSERT OR REPLACE INTO anomalies(node,vat_id,kind,incarnation,position,severity,"
                    "detail,source,line) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"},
    [ST_SPAN_DEL] = {"retract span", "DELETE FROM spans WHERE node=?1 AND vat_id=?2 AND start_pos=?3"},
    [ST_ANOMALY_DEL] = {"retract anomaly",
                        "DELETE FROM anomalies WHERE node=?1 AND ifnull(vat_id,'')=ifnull(?2,'') AND kind=?3 "
                        "AND ifnull(position,-1)=ifnull(?4,-1)"},
    /* A discarded execution (put_supersede): the newest rows first, back to its start */
    [ST_SUP_EV_WALK] = {"supersede: slog_events rows",
                        "SELECT rowid,node,source,line,ifnull(offset,-1),epoch,block_height,type,vat_id,snap_pos,"
                        "superseded FROM slog_events WHERE rowid<=?1 ORDER BY rowid DESC"},
    [ST_SUP_DLV_WALK] = {"supersede: deliveries rows",
                         "SELECT rowid,node,source,line,-1,epoch,block_height FROM deliveries WHERE rowid<=?1 "
                         "ORDER BY rowid DESC"},
    [ST_SUP_EV_MARK] = {"supersede: mark slog_events",
                        "UPDATE slog_events SET superseded=1 WHERE rowid BETWEEN ?1 AND ?2 AND node=?3 AND source=?4 "
                        "AND epoch=?5 AND (line>?6 OR (line=?6 AND ifnull(offset,-1)>=?7)) "
                        "AND (line<?8 OR (line=?8 AND ifnull(offset,-1)<=?9)) AND superseded=0"},
    [ST_SUP_DLV_MARK] = {"supersede: mark deliveries",
                         "UPDATE deliveries SET superseded=1 WHERE rowid BETWEEN ?1 AND ?2 AND node=?3 AND source=?4 "
                         "AND epoch=?5 AND ifnull(block_height,?6)=?6 AND line BETWEEN ?7 AND ?8 AND superseded=0"},
    [ST_SUP_LOAD] = {"supersede: snapshots.loads",
                     "UPDATE snapshots SET loads=max(loads-1,0) WHERE node=?1 AND vat_id=?2 AND snap_pos=?3"},
    /* the save is made again by the re-execution (ST_SNAP_SAVE keeps a save_line it finds) */
    [ST_SUP_SAVE] = {"supersede: snapshots save",
                     "UPDATE snapshots SET save_line=NULL,save_time=NULL,slog_snapshot_id=NULL,save_seconds=NULL,"
                     "compress_seconds=NULL WHERE node=?1 AND vat_id=?2 AND snap_pos=?3 AND save_line=?4"},
    /* keyed (node, block_height, run_num): a block executed again replaces its runs */
    [ST_RUN] = {"insert runs",
                "INSERT OR REPLACE INTO runs(node,block_height,run_num,epoch,source,phase,trigger,inbound_num,"
                "trigger_source,trigger_type,trigger_count,start_line,finish_line,start_time,finish_time,seconds,"
                "beans_start,beans_used,beans_remaining,computrons,cranks,deliveries,delivery_seconds,boyd_seconds) "
                "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)"},
    [ST_BLOCK_BUDGET] = {"upsert blocks (budget)",
                         "INSERT INTO blocks(node,block_height,bootstrap,block_seconds,run_seconds,end_block_seconds,"
                         "commit_seconds,save_seconds,cosmos_commit_seconds,runs,computrons,cranks,deliveries,"
                         "beans_used,boyd_seconds,snapshot_saves,snapshot_seconds,replays,replay_seconds,begin_time,"
                         "end_time,commit_time,committed) "
                         "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23) "
                         "ON CONFLICT(node,block_height) DO UPDATE SET bootstrap=excluded.bootstrap,"
                         "block_seconds=excluded.block_seconds,run_seconds=excluded.run_seconds,"
                         "end_block_seconds=excluded.end_block_seconds,commit_seconds=excluded.commit_seconds,"
                         "save_seconds=excluded.save_seconds,cosmos_commit_seconds=excluded.cosmos_commit_seconds,"
                         "runs=excluded.runs,computrons=excluded.computrons,cranks=excluded.cranks,"
                         "deliveries=excluded.deliveries,beans_used=excluded.beans_used,"
                         "boyd_seconds=excluded.boyd_seconds,snapshot_saves=excluded.snapshot_saves,"
                         "snapshot_seconds=excluded.snapshot_seconds,replays=excluded.replays,"
                         "replay_seconds=excluded.replay_seconds,"
                         "begin_time=COALESCE(begin_time,excluded.begin_time),"
                         "end_time=COALESCE(end_time,excluded.end_time),"
                         "commit_time=COALESCE(commit_time,excluded.commit_time),"
                         "committed=max(committed,excluded.committed)"},
};

struct sp_aw;

/* What the open batch added to one source's `sources` row (005-sources.sql). */
struct sp_ckpt;

struct sp_sqlite {
    struct sp_aw *aw; /* writer thread for event/delivery rows (NULL = inline) */
    struct sp_ckpt *ck; /* checkpointer thread (NULL: checkpoints on the writer) */
    sqlite3 *db;
    int ev_stmt;     /* ST_EVENT or ST_EVENT_V2 */
    char *path;
    int last_rc;     /* SQLite result of the last failure (fail()) */
    int in_txn;
    int failed; /* a batch was rolled back: refuse to write or commit more */
    int has_jsonl_bytes;
    int64_t jsonl_bytes;
    int has_sources;        /* the sources table exists (schema >= 5) */
    int wal_frames;         /* WAL size after the last commit (set by wal_hook; writer mode) */
    uint64_t nulls[ST__COUNT]; /* bit i: parameter i is bound to NULL (see bind_nulls) */
    /* writer mode: slog_events rows are inserted EV_GROUP at a time (see ev_flush) */
    struct sp_aw *evq;          /* the open group's rows, recorded against no statement */
    int ev_rows;                /* rows in evq */
    uint64_t ev_group_nulls[EV_GROUP]; /* per row of ST_EVENT_GROUP: as nulls[] */
    struct sp_sources srcs; /* per-source totals of the open batch */
    sqlite3_stmt *st[ST__COUNT];
};

/* ---- helpers ----------------------------------------------------------- */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- WAL checkpoints -------------------------------------------------------
 * A checkpoint copies committed pages from the WAL into the database file:
 * every page is written twice. With SQLite's automatic checkpoint that ran
 * inside COMMIT while both threads waited (~70 % of COMMIT's time). With a
 * writer thread, a WAL hook replaces it and only notes the WAL's size, and
 * the writer, after a commit that left >= SP_WAL_CHECKPOINT_FRAMES frames
 * (SQLite's default threshold), checkpoints (after_commit):
 *
 *  - normally on a checkpointer thread with its own connection, PASSIVE
 *    (copies what no reader still needs, never waits, never blocks the
 *    writer's next transaction): at 300 MB this took ~0.8 s off the
 *    writer, the critical path (docs/performance.md);
 *  - but the WAL file only starts over when a transaction begins with
 *    every frame copied, which a checkpoint running beside the next batch
 *    never achieves. So once the WAL holds SP_WAL_RESTART_FRAMES, the writer
 *    waits for the checkpointer, copies the rest itself (about one batch)
 *    and the next transaction rewinds the WAL: it stays bounded (~128 MB).
 *
 * A failed checkpoint loses nothing (the frames stay in the WAL and the
 * next checkpoint, or close, retries): a warning only. */
#define SP_WAL_CHECKPOINT_FRAMES 1000
#define SP_WAL_RESTART_FRAMES 8000

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sp_sqlite *s = arg;
    (void)db;
    (void)name;
    s->wal_frames = frames;
    return SQLITE_OK;
}

static void checkpoint_on(struct sp_sqlite *s, sqlite3 *db)
{
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        sp_warn("sqlite %s: WAL checkpoint: %s (retried at the next commit)", s->path,
                sqlite3_errstr(rc));
}

struct sp_ckpt {
    struct sp_worker w; /* w.mu guards requested / running */
    sqlite3 *db;        /* used by the checkpointer thread only */
    struct sp_sqlite *s;
    int requested, running;
};

static void *ck_main(void *arg)
{
    struct sp_ckpt *c = arg;

    pthread_mutex_lock(&c->w.mu);
    for (;;) {
        while (!c->requested && !c->w.stop) pthread_cond_wait(&c->w.cv, &c->w.mu);
        if (c->w.stop) break;
        c->requested = 0;
        c->running = 1;
        pthread_mutex_unlock(&c->w.mu);
        checkpoint_on(c->s, c->db);
        pthread_mutex_lock(&c->w.mu);
        c->running = 0;
        pthread_cond_broadcast(&c->w.cv);
    }
    pthread_mutex_unlock(&c->w.mu);
    return NULL;
}

/* Ask for a checkpoint (one pending request covers every commit before it). */
static void ck_request(struct sp_ckpt *c)
{
    pthread_mutex_lock(&c->w.mu);
    c->requested = 1;
    pthread_cond_broadcast(&c->w.cv);
    pthread_mutex_unlock(&c->w.mu);
}

/* Wait until no checkpoint is pending or running. */
static void ck_wait_idle(struct sp_ckpt *c)
{
    pthread_mutex_lock(&c->w.mu);
    while (c->requested || c->running) pthread_cond_wait(&c->w.cv, &c->w.mu);
    pthread_mutex_unlock(&c->w.mu);
}

static void ck_destroy(struct sp_sqlite *s)
{
    if (!s->ck) return;
    sp_worker_stop(&s->ck->w);
    sqlite3_close(s->ck->db);
    free(s->ck);
    s->ck = NULL;
}

/* Start the checkpointer: its own connection to the same file, with the
 * writer's synchronous setting (a checkpoint syncs as that says). Without
 * it (no connection or no thread) the writer checkpoints, as before. */
static void ck_start(struct sp_sqlite *s, int fast)
{
    struct sp_ckpt *c = sp_xcalloc(1, sizeof(*c));
    int rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

    c->s = s;
    if (rc == SQLITE_OK)
        rc = fast ? sqlite3_exec(c->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL)
                  : sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sp_warn("sqlite %s: no checkpointer connection (%s): the writer checkpoints", s->path,
                c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return;
    }
    s->ck = c;
    if (sp_worker_start(&c->w, ck_main, c) != 0) {
        sqlite3_close(c->db);
        free(c);
        s->ck = NULL;
    }
}

/* On the writer, after each COMMIT (wal_frames was set by the hook during
 * it, on this thread): checkpoint as described above. */
static void after_commit(struct sp_sqlite *s)
{
    SP_FAILPOINT("sqlite.committed");
    if (s->wal_frames < SP_WAL_CHECKPOINT_FRAMES) return;
    if (s->ck && s->wal_frames < SP_WAL_RESTART_FRAMES) {
        ck_request(s->ck);
    } else {
        if (s->ck) ck_wait_idle(s->ck);
        checkpoint_on(s, s->db);
    }
    s->wal_frames = 0;
}

/* ---- writer thread --------------------------------------------------------
 * The slog_events/deliveries inserts (the bulk of an ingest) run on a
 * writer thread, so parsing and SQLite use both cores (bench/run: ~30 %
 * less wall time than inline; it was --fast-backfill only before). The
 * calling thread records each statement's binds and step into an op buffer
 * (values copied); full buffers are handed over (double buffering, so at
 * most two buffers of about AW_BUF bytes exist). BEGIN and each commit's
 * checkpoint rows and COMMIT are recorded the same way, behind the batch's
 * inserts; the writer then decides on the WAL checkpoint (after_commit).
 * Everything else (other records, reads, the state calls, sp_sqlite_db)
 * first waits until the writer is idle, so the connection is never used by
 * two threads at once. A failed step is reported by the next call that
 * waits for the writer (write, commit, sp_sqlite_sync, ...), which then
 * rolls back (the batch is lost as with an inline failure). */
#define AW_BUF ((size_t)1 << 20)
#define AW_EAGER ((size_t)64 << 10)
#ifdef SP_TORTURE
#define SP_AW_ALLOWED 0 /* torture builds count every call on one thread */
#else
#define SP_AW_ALLOWED 1
#endif

enum { AW_I64, AW_DBL, AW_NULL, AW_TEXT, AW_STEP };

struct sp_aw {
    struct sp_worker w; /* w.mu guards busy / the buffer swap */
    unsigned char *cur, *work; /* recording / being replayed */
    size_t cur_len, cur_cap, work_len, work_cap;
    int busy;  /* work holds ops not yet replayed (written under w.mu) */
    int err;   /* a step failed: msg names it; nothing after it ran */
    char msg[512];
};

/* The recorder of the calling thread (set while a sink with a writer
 * records; NULL on the writer thread and for inline sinks). */
static _Thread_local struct sp_aw *aw_rec;

static void aw_put(struct sp_aw *a, const void *p, size_t n)
{
    if (a->cur_cap - a->cur_len < n) {
        size_t cap = a->cur_cap * 2 > a->cur_len + n ? a->cur_cap * 2 : a->cur_len + n;
        a->cur = sp_xrealloc(a->cur, cap);
        a->cur_cap = cap;
    }
    memcpy(a->cur + a->cur_len, p, n);
    a->cur_len += n;
}

/* An op: [op][parameter or statement index, 16 bits][statement] then its value. */
#define AW_HDR (3 + sizeof(sqlite3_stmt *))

static void aw_head(struct sp_aw *a, unsigned char op, sqlite3_stmt *st, int i)
{
    unsigned char h[3] = {op, (unsigned char)(i & 0xff), (unsigned char)(i >> 8)};
    aw_put(a, h, 3);
    aw_put(a, &st, sizeof(st));
}

/* The op's 16-bit parameter (or statement) index. */
static int aw_index(const unsigned char *op)
{
    return op[1] | op[2] << 8;
}

/* Bytes of the value after an op's header (a TEXT op: its length, then its bytes). */
static size_t aw_value_len(const unsigned char *op)
{
    uint64_t n;
    if (op[0] == AW_I64 || op[0] == AW_DBL) return 8;
    if (op[0] != AW_TEXT) return 0;
    memcpy(&n, op + AW_HDR, 8);
    return 8 + (size_t)n;
}

/* One handed-over buffer: bind and step each recorded op in order; after
 * a failure nothing more runs (the next sync reports it). */
static void aw_job(void *arg)
{
    struct sp_sqlite *s = arg;
    struct sp_aw *a = s->aw;

    for (size_t at = 0; at < a->work_len && !__atomic_load_n(&a->err, __ATOMIC_ACQUIRE);) {
        const unsigned char *h = a->work + at, *val = h + AW_HDR;
        unsigned char op = h[0];
        int i = aw_index(h);
        sqlite3_stmt *st;
        int rc = SQLITE_OK;
        memcpy(&st, h + 3, sizeof(st));
        at += AW_HDR + aw_value_len(h);
        if (op == AW_I64 || op == AW_DBL) {
            int64_t v;
            double d;
            memcpy(&v, val, 8);
            memcpy(&d, val, 8);
            rc = op == AW_I64 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_double(st, i, d);
        } else if (op == AW_NULL) {
            rc = sqlite3_bind_null(st, i);
        } else if (op == AW_TEXT) {
            uint64_t n;
            memcpy(&n, val, 8);
            rc = sqlite3_bind_text64(st, i, (const char *)val + 8, n, SQLITE_STATIC, SQLITE_UTF8);
        } else { /* AW_STEP, i = statement index */
            rc = sqlite3_step(st);
            if (rc == SQLITE_DONE || rc == SQLITE_ROW) rc = SQLITE_OK;
            if (rc != SQLITE_OK)
                snprintf(a->msg, sizeof(a->msg), "sqlite %s: %s: step: %s (%s)", s->path,
                         stmt_defs[i].name, sqlite3_errmsg(s->db), sqlite3_errstr(rc));
            sqlite3_reset(st);
            if (rc != SQLITE_OK) __atomic_store_n(&a->err, 1, __ATOMIC_RELEASE);
            else if (i == ST_COMMIT) after_commit(s);
            continue;
        }
        if (rc != SQLITE_OK) {
            snprintf(a->msg, sizeof(a->msg), "sqlite %s: bind: %s", s->path, sqlite3_errstr(rc));
            __atomic_store_n(&a->err, 1, __ATOMIC_RELEASE);
        }
    }
    a->work_len = 0;
}

static void *aw_main(void *arg)
{
    struct sp_sqlite *s = arg;
    sp_worker_serve(&s->aw->w, &s->aw->busy, aw_job, s);
    return NULL;
}

/* Hand the recorded ops to the writer (waiting while it is busy). */
static void aw_handoff(struct sp_aw *a)
{
    unsigned char *t;
    size_t c;

    if (!a->cur_len) return;
    pthread_mutex_lock(&a->w.mu);
    while (a->busy) pthread_cond_wait(&a->w.cv, &a->w.mu);
    t = a->work, a->work = a->cur, a->cur = t;
    c = a->work_cap, a->work_cap = a->cur_cap, a->cur_cap = c;
    a->work_len = a->cur_len;
    a->cur_len = 0;
    __atomic_store_n(&a->busy, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&a->w.cv);
    pthread_mutex_unlock(&a->w.mu);
}

/* After a step is recorded: hand over a full buffer, or enough to start an
 * idle writer on (after a commit it would otherwise wait for a whole buffer). */
static void aw_maybe_handoff(struct sp_aw *a)
{
    if (a->cur_len >= AW_BUF || (a->cur_len >= AW_EAGER && !__atomic_load_n(&a->busy, __ATOMIC_RELAXED)))
        aw_handoff(a);
}

static void rollback(struct sp_sqlite *s);
static void ev_flush(struct sp_sqlite *s);
static int ev_group_start(struct sp_sqlite *s, struct sp_err *err);

/* Wait until every recorded op ran. Returns SP_OK, or SP_ESINK (err
 * filled, batch rolled back) if one of them failed. */
/* Hand over what is recorded and wait until the writer has run it all. */
static void aw_drain(struct sp_aw *a)
{
    aw_handoff(a);
    sp_worker_wait_idle(&a->w, &a->busy);
}

/* A step on the writer failed and is not reported yet (a peek: aw_sync
 * reports it). */
static int aw_failed(const struct sp_sqlite *s)
{
    return s->aw && __atomic_load_n(&s->aw->err, __ATOMIC_ACQUIRE);
}

static int aw_sync(struct sp_sqlite *s, struct sp_err *err)
{
    struct sp_aw *a = s->aw;
    if (!a) return SP_OK;
    ev_flush(s);
    aw_drain(a);
    if (a->err) { /* the writer is idle: plain access is safe */
        a->err = 0;
        if (err) sp_err_set(err, SP_ESINK, "%s", a->msg);
        rollback(s);
        return SP_ESINK;
    }
    return SP_OK;
}

static void aw_free(struct sp_sqlite *s)
{
    free(s->aw->cur);
    free(s->aw->work);
    free(s->aw);
    s->aw = NULL;
}

static void aw_start(struct sp_sqlite *s)
{
    struct sp_aw *a = sp_xcalloc(1, sizeof(*a));
    a->cur_cap = a->work_cap = AW_BUF + 4096;
    a->cur = sp_xmalloc(a->cur_cap);
    a->work = sp_xmalloc(a->work_cap);
    s->aw = a;
    if (sp_worker_start(&a->w, aw_main, s) != 0) aw_free(s); /* no thread: inline */
}

/* Stop the writer: ops not yet handed over are dropped (as uncommitted rows). */
static void aw_destroy(struct sp_sqlite *s)
{
    if (!s->aw) return;
    sp_worker_stop(&s->aw->w);
    aw_free(s);
}

/* Roll back the open transaction, if any (not fault-injected). */
static void rollback_quiet(struct sp_sqlite *s)
{
    sp_sources_clear(&s->srcs); /* the batch's rows are gone, and so is what they added */
    if (s->evq) { /* and the rows of its open group */
        s->evq->cur_len = 0;
        s->ev_rows = 0;
    }
    if (s->db && !sqlite3_get_autocommit(s->db)) {
        if (s->st[ST_ROLLBACK]) {
            sqlite3_step(s->st[ST_ROLLBACK]);
            sqlite3_reset(s->st[ST_ROLLBACK]);
        } else {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    s->in_txn = 0;
}

/* Roll back after a failure. The sink then refuses further writes and
 * commits: a later commit would store checkpoints past the lost rows. */
static void rollback(struct sp_sqlite *s)
{
    rollback_quiet(s);
    s->failed = 1;
}

/* A failed sqlite3 call: message naming the statement, roll back, SP_ESINK. */
static int fail(struct sp_sqlite *s, const char *what, int rc, struct sp_err *err)
{
    s->last_rc = rc;
    sp_err_set(err, SP_ESINK, "sqlite %s: %s: %s (%s)", s->path, what,
               SQ_ERRMSG(s->db), sqlite3_errstr(rc));
    rollback(s);
    return SP_ESINK;
}

/* Bindings survive sqlite3_reset, and most slog_events columns are NULL on
 * most lines: while the bulk inserts bind (put_event / put_delivery), this
 * points to their statement's "parameter i is NULL" bits, and a NULL that is
 * already bound is not bound again (~10 of 25 binds per line). After a failed
 * bind or step the sink is failed, so the bits never outlive a mismatch. */
static _Thread_local uint64_t *bind_nulls;

static void bound_value(int i)
{
    if (bind_nulls) *bind_nulls &= ~(1ull << i);
}

static int bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    bound_value(i);
    if (aw_rec) {
        aw_head(aw_rec, AW_I64, st, i);
        aw_put(aw_rec, &v, 8);
        return SQLITE_OK;
    }
    return SQ(sqlite3_bind_int64(st, i, v), SQLITE_IOERR);
}

static int bind_null(sqlite3_stmt *st, int i)
{
    if (bind_nulls) {
        if (*bind_nulls & (1ull << i)) return SQLITE_OK;
        *bind_nulls |= 1ull << i;
    }
    if (aw_rec) {
        aw_head(aw_rec, AW_NULL, st, i);
        return SQLITE_OK;
    }
    return SQ(sqlite3_bind_null(st, i), SQLITE_IOERR);
}

/* Integer, NULL when negative (the records' "unknown" value is -1). */
static int bind_i64_nn(sqlite3_stmt *st, int i, int64_t v)
{
    return v < 0 ? bind_null(st, i) : bind_i64(st, i, v);
}

static int bind_i64_if(sqlite3_stmt *st, int i, int has, int64_t v)
{
    return has ? bind_i64(st, i, v) : bind_null(st, i);
}

static int bind_dbl_if(sqlite3_stmt *st, int i, int has, double v)
{
    if (!has || isnan(v)) return bind_null(st, i);
    bound_value(i);
    if (aw_rec) {
        aw_head(aw_rec, AW_DBL, st, i);
        aw_put(aw_rec, &v, 8);
        return SQLITE_OK;
    }
    return SQ(sqlite3_bind_double(st, i, v), SQLITE_IOERR);
}

/* Text slice bound without a copy: the slice outlives the step. NULL if absent. */
static int bind_str(sqlite3_stmt *st, int i, struct sp_str v)
{
    if (!v.p) return bind_null(st, i);
    bound_value(i);
    if (aw_rec) {
        uint64_t n = v.n;
        aw_head(aw_rec, AW_TEXT, st, i);
        aw_put(aw_rec, &n, 8);
        aw_put(aw_rec, v.p, v.n);
        return SQLITE_OK;
    }
    return SQ(sqlite3_bind_text64(st, i, v.p, v.n, SQLITE_STATIC, SQLITE_UTF8), SQLITE_IOERR);
}

/* Text for a NOT NULL column: an absent slice becomes "". */
static int bind_str_nn(sqlite3_stmt *st, int i, struct sp_str v)
{
    if (!v.p) v = SP_STR_LIT("");
    return bind_str(st, i, v);
}

static int bind_cstr(sqlite3_stmt *st, int i, const char *v)
{
    return bind_str(st, i, sp_str_c(v));
}

/* Hex digest field: "" means absent. */
static int bind_hex(sqlite3_stmt *st, int i, const char *v)
{
    return v[0] ? bind_cstr(st, i, v) : bind_null(st, i);
}

/* Run a bound DML statement to completion and reset it. bind_rc is the OR
 * of the bind results (non-zero = a bind failed). */
static int run(struct sp_sqlite *s, int which, int bind_rc, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[which];
    int rc;
    char what[96];

    if (aw_rec) {
        aw_head(aw_rec, AW_STEP, st, which);
        aw_maybe_handoff(aw_rec);
        return SP_OK;
    }
    if (bind_rc != SQLITE_OK) {
        snprintf(what, sizeof(what), "%s: bind", stmt_defs[which].name);
        sqlite3_reset(st);
        return fail(s, what, bind_rc, err);
    }
    rc = SQ(sqlite3_step(st), SQLITE_IOERR);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        snprintf(what, sizeof(what), "%s: step", stmt_defs[which].name);
        /* keep the message: reset would not change it, but rollback might */
        sp_err_set(err, SP_ESINK, "sqlite %s: %s: %s (%s)", s->path, what, SQ_ERRMSG(s->db),
                   sqlite3_errstr(rc));
        sqlite3_reset(st);
        rollback(s);
        return SP_ESINK;
    }
    sqlite3_reset(st);
    return SP_OK;
}

/* Prepare-and-run every statement of a (multi-statement) SQL text. */
static int exec_script(struct sp_sqlite *s, const char *sql, const char *what, struct sp_err *err)
{
    while (sql && *sql) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        int rc = SQ(sqlite3_prepare_v2(s->db, sql, -1, &st, &tail), SQLITE_IOERR);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            return fail(s, what, rc, err);
        }
        if (!st) break; /* only whitespace / comments left */
        do {
            rc = SQ(sqlite3_step(st), SQLITE_IOERR);
        } while (rc == SQLITE_ROW);
        if (rc != SQLITE_DONE) {
            int r = fail(s, what, rc, err);
            sqlite3_finalize(st);
            return r;
        }
        sqlite3_finalize(st);
        sql = tail;
    }
    return SP_OK;
}

/* Run a one-row query returning one integer (PRAGMA user_version, ...). */
static int query_int(struct sp_sqlite *s, const char *sql, int64_t *out, struct sp_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = SQ(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_IOERR);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return fail(s, sql, rc, err);
    }
    rc = SQ(sqlite3_step(st), SQLITE_IOERR);
    if (rc != SQLITE_ROW) {
        int r = fail(s, sql, rc == SQLITE_DONE ? SQLITE_ERROR : rc, err);
        sqlite3_finalize(st);
        return r;
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return SP_OK;
}

/* SP_ESINK once a batch was rolled back: the sink then refuses everything,
 * so that no checkpoint can pass the lost rows. */
static int refuse_if_failed(struct sp_sqlite *s, struct sp_err *err)
{
    if (!s->failed) return SP_OK;
    return sp_err_set(err, SP_ESINK,
                      "sqlite %s: an earlier error rolled back the batch; close and reopen the sink",
                      s->path);
}

/* Every write and commit starts here: refuse after a failure, report one the
 * writer hit since, open the transaction if none is. */
static int begin(struct sp_sqlite *s, struct sp_err *err)
{
    if (refuse_if_failed(s, err) != SP_OK) return SP_ESINK;
    if (aw_failed(s)) return aw_sync(s, err); /* reports it and rolls back */
    if (s->in_txn) return SP_OK;
    if (s->aw) {
        /* Queued behind the last commit: the writer runs both while this
         * thread parses on. A failure (BUSY past the timeout) is reported
         * by the next call that waits for the writer, like a failed insert. */
        aw_head(s->aw, AW_STEP, s->st[ST_BEGIN], ST_BEGIN);
        s->in_txn = 1;
        return SP_OK;
    }
    if (run(s, ST_BEGIN, SQLITE_OK, err) != SP_OK) return SP_ESINK;
    s->in_txn = 1;
    return SP_OK;
}

/* ---- schema ------------------------------------------------------------ */

int sp_sqlite_schema_version(void)
{
    return sp_schema_count;
}

/* Apply the embedded migrations above PRAGMA user_version, all in one
 * transaction (BEGIN IMMEDIATE: a second process migrating at the same
 * time waits, then sees the new version and applies nothing). */
static int migrate(struct sp_sqlite *s, struct sp_err *err)
{
    int64_t v = 0;

    if (exec_script(s, "BEGIN IMMEDIATE", "begin migration", err) != SP_OK) return SP_ESINK;
    if (query_int(s, "PRAGMA user_version", &v, err) != SP_OK) return SP_ESINK;
    if (v > sp_schema_count)
        sp_warn("sqlite %s: schema version %lld is newer than this slogpipe (%d); writing anyway",
                s->path, (long long)v, sp_schema_count);
    for (int64_t k = v; k < sp_schema_count; k++) {
        char what[128], pragma[64];
        snprintf(what, sizeof(what), "migration %s", sp_schema_files[k].name);
        if (exec_script(s, sp_schema_files[k].sql, what, err) != SP_OK) return SP_ESINK;
        /* PRAGMA takes no parameters; the value is our own integer */
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%lld", (long long)k + 1);
        if (exec_script(s, pragma, what, err) != SP_OK) return SP_ESINK;
        sp_debug("sqlite %s: applied %s", s->path, sp_schema_files[k].name);
        SP_FAILPOINT("sqlite.migration");
    }
    return exec_script(s, "COMMIT", "commit migration", err);
}

static int table_exists(struct sp_sqlite *s, const char *name, int *exists, struct sp_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = SQ(sqlite3_prepare_v2(s->db,
                                   "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
                                   -1, &st, NULL),
                SQLITE_IOERR);
    if (rc == SQLITE_OK) rc = SQ(sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC), SQLITE_IOERR);
    if (rc == SQLITE_OK) rc = SQ(sqlite3_step(st), SQLITE_IOERR);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        int r = fail(s, "look up table", rc, err);
        sqlite3_finalize(st);
        return r;
    }
    *exists = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    return SP_OK;
}

/* 1 in *exists if table has the column (schema-dependent statements). */
static int column_exists(struct sp_sqlite *s, const char *table, const char *column, int *exists,
                         struct sp_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = SQ(sqlite3_prepare_v2(s->db, "SELECT 1 FROM pragma_table_info(?1) WHERE name=?2", -1,
                                   &st, NULL),
                SQLITE_IOERR);
    if (rc == SQLITE_OK) rc = SQ(sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC), SQLITE_IOERR);
    if (rc == SQLITE_OK) rc = SQ(sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC), SQLITE_IOERR);
    if (rc == SQLITE_OK) rc = SQ(sqlite3_step(st), SQLITE_IOERR);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        int r = fail(s, "look up column", rc, err);
        sqlite3_finalize(st);
        return r;
    }
    *exists = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    return SP_OK;
}

static int prepare(struct sp_sqlite *s, int which, struct sp_err *err)
{
    int rc;
    char what[96];

    if (s->st[which]) return SP_OK;
    s->nulls[which] = ~0ull; /* a new statement's parameters are all NULL */
    rc = SQ(sqlite3_prepare_v3(s->db, stmt_defs[which].sql, -1, SQLITE_PREPARE_PERSISTENT,
                               &s->st[which], NULL),
            SQLITE_IOERR);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(s->st[which]);
        s->st[which] = NULL;
        snprintf(what, sizeof(what), "prepare %s", stmt_defs[which].name);
        return fail(s, what, rc, err);
    }
    return SP_OK;
}

/* spans / anomalies come from 002-timeline.sql: prepared on first use,
 * with a clear error if this database does not have the table. */
static int prepare_timeline(struct sp_sqlite *s, int which, const char *table, struct sp_err *err)
{
    int exists = 0;

    if (s->st[which]) return SP_OK;
    if (table_exists(s, table, &exists, err) != SP_OK) return SP_ESINK;
    if (!exists) {
        sp_err_set(err, SP_ESINK, "sqlite %s: table %s does not exist (schema without timeline tables)",
                   s->path, table);
        rollback(s);
        return SP_ESINK;
    }
    return prepare(s, which, err);
}

/* ---- open / close ------------------------------------------------------ */

static void sq_close(void *ctx)
{
    struct sp_sqlite *s = ctx;

    if (!s) return;
    aw_destroy(s);     /* ops not handed over are dropped with the batch */
    ck_destroy(s);     /* before the last connection closes (which removes the WAL) */
    rollback_quiet(s); /* uncommitted rows are dropped, as after a crash */
    for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(s->st[i]);
    if (s->evq) {
        free(s->evq->cur);
        free(s->evq);
    }
    sp_sources_free(&s->srcs);
    if (s->db) {
        int rc = sqlite3_close(s->db);
        if (rc != SQLITE_OK) sp_warn("sqlite %s: close: %s", s->path, sqlite3_errstr(rc));
    }
    free(s->path);
    free(s);
}

/* Page size, WAL, pragmas and the migrations, once. */
static int setup_once(struct sp_sqlite *s, int fast, struct sp_err *err)
{
    char pragma[96];
    /* 16 KiB pages for a new database (ignored for an existing one): ~10 %
     * faster inserts than 4 KiB in bench/run, fewer B-tree levels. Must come
     * before WAL mode and the first table. */
    if (exec_script(s, "PRAGMA page_size=16384", "PRAGMA page_size", err) != SP_OK) return SP_ESINK;
    /* WAL lets readers and other writer processes share the file. */
    if (exec_script(s, "PRAGMA journal_mode=WAL", "PRAGMA journal_mode=WAL", err) != SP_OK) return SP_ESINK;
    snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s; PRAGMA cache_size=-%d",
             fast ? "OFF" : "NORMAL", fast ? SP_SQLITE_FAST_CACHE_KIB : SP_SQLITE_CACHE_KIB);
    if (exec_script(s, pragma, "set pragmas", err) != SP_OK) return SP_ESINK;
    return migrate(s, err);
}

/*
 * Another instance may be creating or migrating the same database right now
 * (instances started together on a new shared file). SQLite then answers
 * SQLITE_BUSY, for the switch to WAL even without calling the busy handler
 * (the lock it needs is taken, not waited for). Every step is idempotent
 * (the migrations run in one transaction, from PRAGMA user_version), so the
 * whole setup is tried again with backoff (10 ms doubling to 500 ms, with
 * jitter) while the answer is "busy" and less than the busy timeout has
 * passed since the first try; then the database is reported locked.
 */
static int setup_db(struct sp_sqlite *s, int fast, struct sp_err *err)
{
    uint64_t t0 = sp_now_ns();
    unsigned wait_ms = 10, tries = 0;
    for (;;) {
        s->last_rc = SQLITE_OK;
        if (setup_once(s, fast, err) == SP_OK) {
            if (tries) sp_debug("sqlite %s: set up after %u retries (another instance held it)", s->path, tries);
            return SP_OK;
        }
        int busy = (s->last_rc & 0xff) == SQLITE_BUSY || (s->last_rc & 0xff) == SQLITE_LOCKED;
        if (!busy || sp_now_ns() - t0 >= (uint64_t)SP_SQLITE_BUSY_MS * 1000000u) return SP_ESINK;
        rollback_quiet(s);
        s->failed = 0;
        tries++;
        usleep((useconds_t)(wait_ms * 1000u + (unsigned)(sp_now_ns() % 1000u) * wait_ms));
        wait_ms = wait_ms * 2 > 500 ? 500 : wait_ms * 2;
    }
}

static int sq_open(void **ctx, const char *target, const struct sp_sink_opts *o, struct sp_err *err)
{
    struct sp_sqlite *s = sp_xcalloc(1, sizeof(*s));
    int fast = o && o->fast;
    int rc, v2 = 0;

    *ctx = NULL;
    if (!target || !*target) {
        free(s);
        return sp_err_set(err, SP_EUSAGE, "sqlite: no database path");
    }
    s->path = sp_xstrdup(target);
    /* NOMUTEX: one connection per sink, used by one thread at a time */
    rc = SQ(sqlite3_open_v2(target, &s->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL),
            SQLITE_CANTOPEN);
    if (rc != SQLITE_OK) {
        fail(s, "open", rc, err);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    rc = SQ(sqlite3_busy_timeout(s->db, SP_SQLITE_BUSY_MS), SQLITE_IOERR);
    if (rc != SQLITE_OK) {
        fail(s, "busy_timeout", rc, err);
        goto fail;
    }
    if (setup_db(s, fast, err) != SP_OK) goto fail;
    if (fast)
        sp_info("sqlite %s: --fast-backfill: synchronous=OFF, cache %d MiB (an OS crash or power "
                "loss during the run may corrupt the database: rerun from scratch then)",
                s->path, SP_SQLITE_FAST_CACHE_KIB / 1024);
    if (column_exists(s, "slog_events", "message_type", &v2, err) != SP_OK) goto fail;
    s->ev_stmt = v2 ? ST_EVENT_V2 : ST_EVENT;
    if (table_exists(s, "sources", &s->has_sources, err) != SP_OK) goto fail;
    if (SP_AW_ALLOWED) aw_start(s);
    if (s->aw) {
        sqlite3_wal_hook(s->db, wal_hook, s); /* checkpoints by the sink, see wal_hook */
        ck_start(s, fast);
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (i == ST_SPAN || i == ST_ANOMALY || i == ST_SPAN_DEL || i == ST_ANOMALY_DEL || i == ST_EVENT_GROUP || i == (v2 ? ST_EVENT : ST_EVENT_V2))
            continue;
        if (i == ST_SOURCE && !s->has_sources) continue;
        if (prepare(s, i, err) != SP_OK) goto fail;
    }
    /* the writer has run nothing yet: the connection is still this thread's */
    if (s->aw && v2 && ev_group_start(s, err) != SP_OK) goto fail;
    *ctx = s;
    return SP_OK;
fail:
    sq_close(s);
    return SP_ESINK;
}

/* ---- write ------------------------------------------------------------- */

static int64_t ev_crank(const struct sp_event *e)
{
    return (e->has & SP_HAS_CRANK_NUM) ? e->crank_num : e->ctx_crank_num;
}

static int64_t ev_block(const struct sp_event *e)
{
    return (e->has & SP_HAS_BLOCK_HEIGHT) ? e->block_height : e->ctx_block_height;
}

static int put_vat_and_snapshot(struct sp_sqlite *s, const struct sp_event *e, struct sp_err *err)
{
    sqlite3_stmt *st;
    int b = 0;
    const struct sp_origin *g = &e->origin;

    switch (e->type) {
    case SP_EV_CREATE_VAT:
        st = s->st[ST_VAT_CREATE];
        b |= bind_str_nn(st, 1, g->node);
        b |= bind_str_nn(st, 2, e->vat_id);
        b |= bind_str(st, 3, e->name);
        b |= bind_i64_if(st, 4, e->has & SP_HAS_DYNAMIC, e->dynamic);
        b |= bind_str(st, 5, e->manager_type);
        b |= bind_i64(st, 6, g->line);
        return run(s, ST_VAT_CREATE, b, err);
    case SP_EV_TERMINATE:
    case SP_EV_VAT_CLEANUP_COMPLETE: {
        int which = e->type == SP_EV_TERMINATE ? ST_VAT_TERMINATE : ST_VAT_CLEANED;
        st = s->st[which];
        b |= bind_str_nn(st, 1, g->node);
        b |= bind_str_nn(st, 2, e->vat_id);
        b |= bind_i64(st, 3, g->line);
        return run(s, which, b, err);
    }
    case SP_EV_HEAP_SNAPSHOT_SAVE:
        if (!(e->has & SP_HAS_SNAP_POS) || !e->vat_id.p) return SP_OK; /* no key (pismo era) */
        st = s->st[ST_SNAP_SAVE];
        b |= bind_str_nn(st, 1, g->node);
        b |= bind_str_nn(st, 2, e->vat_id);
        b |= bind_i64(st, 3, e->snap_pos);
        b |= bind_str(st, 4, e->snapshot_id);
        b |= bind_i64(st, 5, g->line);
        b |= bind_dbl_if(st, 6, e->has & SP_HAS_TIME, e->time);
        b |= bind_i64_if(st, 7, e->has & SP_HAS_UNCOMPRESSED_SIZE, e->uncompressed_size);
        b |= bind_i64_if(st, 8, e->has & SP_HAS_COMPRESSED_SIZE, e->compressed_size);
        b |= bind_dbl_if(st, 9, e->has & SP_HAS_SAVE_SECONDS, e->save_seconds);
        b |= bind_dbl_if(st, 10, e->has & SP_HAS_COMPRESS_SECONDS, e->compress_seconds);
        return run(s, ST_SNAP_SAVE, b, err);
    case SP_EV_HEAP_SNAPSHOT_LOAD:
        if (!(e->has & SP_HAS_SNAP_POS) || !e->vat_id.p) return SP_OK;
        st = s->st[ST_SNAP_LOAD];
        b |= bind_str_nn(st, 1, g->node);
        b |= bind_str_nn(st, 2, e->vat_id);
        b |= bind_i64(st, 3, e->snap_pos);
        b |= bind_str(st, 4, e->snapshot_id);
        b |= bind_i64_if(st, 5, e->has & SP_HAS_UNCOMPRESSED_SIZE, e->uncompressed_size);
        b |= bind_i64_if(st, 6, e->has & SP_HAS_COMPRESSED_SIZE, e->compressed_size);
        return run(s, ST_SNAP_LOAD, b, err);
    case SP_EV_CS_BEGIN_BLOCK:
    case SP_EV_CS_END_BLOCK_FINISH:
    case SP_EV_CS_COMMIT_BLOCK_FINISH: {
        int which = e->type == SP_EV_CS_BEGIN_BLOCK      ? ST_BLOCK_BEGIN
                    : e->type == SP_EV_CS_END_BLOCK_FINISH ? ST_BLOCK_END
                                                           : ST_BLOCK_COMMIT;
        int64_t h = ev_block(e);
        if (h < 0) return SP_OK; /* no block to attach it to */
        st = s->st[which];
        b |= bind_str_nn(st, 1, g->node);
        b |= bind_i64(st, 2, h);
        b |= bind_i64_if(st, 3, e->has & SP_HAS_BLOCK_TIME, e->block_time);
        if (which == ST_BLOCK_BEGIN) {
            b |= bind_i64(st, 4, g->line);
            b |= bind_dbl_if(st, 5, e->has & SP_HAS_TIME, e->time);
        } else {
            b |= bind_dbl_if(st, 4, e->has & SP_HAS_TIME, e->time);
        }
        return run(s, which, b, err);
    }
    default:
        return SP_OK;
    }
}

/* Merge the batch's per-source totals into `sources` (inside the batch). */
static int srcs_flush(struct sp_sqlite *s, struct sp_err *err)
{
    for (size_t i = 0; i < s->srcs.n; i++) {
        const struct sp_src_total *a = &s->srcs.v[i];
        sqlite3_stmt *st = s->st[ST_SOURCE];
        int b = 0;
        b |= bind_str(st, 1, sp_str_c(a->node));
        b |= bind_str(st, 2, sp_str_c(a->source));
        b |= bind_i64(st, 3, a->events);
        b |= bind_i64(st, 4, a->first_line);
        b |= bind_i64(st, 5, a->last_line);
        b |= bind_dbl_if(st, 6, a->has_time, a->min_time);
        b |= bind_dbl_if(st, 7, a->has_time, a->max_time);
        if (run(s, ST_SOURCE, b, err) != SP_OK) return SP_ESINK;
    }
    return SP_OK;
}

/* ---- grouped slog_events rows ---------------------------------------------
 * With the writer thread, slog_events rows (most of an ingest) are inserted
 * EV_GROUP per statement: INSERT ... VALUES (...), (...), ... opens the
 * table's and its indexes' cursors once per group instead of once per row
 * (60 k rows of this table under callgrind: -17 % of SQLite's instructions
 * per row at 4 rows a statement, -24 % at 16; a 300 MB ingest 4.5 -> 3.75 s,
 * the writer being the SQLite path's critical thread). put_event
 * records each row's values in evq against no statement, all 25 of them,
 * and a row-end mark; ev_flush turns a full group into binds of ST_EVENT_GROUP
 * (row k's column i is parameter 25 k + i) and one step, or, when a group
 * must end early (commit, sync, any direct use of the connection), each
 * row into binds and a step of the one-row statement. NULLs already bound
 * are skipped there, per statement and row (see bind_nulls). */
static void ev_flush(struct sp_sqlite *s)
{
    struct sp_aw *q = s->evq;
    int full = s->ev_rows == EV_GROUP;
    sqlite3_stmt *st = full ? s->st[ST_EVENT_GROUP] : s->st[ST_EVENT_V2];
    int row = 0;

    if (!q || !s->ev_rows) return;
    for (size_t at = 0; at < q->cur_len;) {
        const unsigned char *op = q->cur + at;
        int i = aw_index(op);
        size_t vlen = aw_value_len(op);
        uint64_t *nulls = full ? &s->ev_group_nulls[row] : &s->nulls[ST_EVENT_V2];
        at += AW_HDR + vlen;
        if (op[0] == AW_STEP) { /* the end of a row */
            if (!full) aw_head(s->aw, AW_STEP, st, ST_EVENT_V2);
            row++;
            continue;
        }
        if (op[0] == AW_NULL) {
            if (*nulls & (1ull << i)) continue;
            *nulls |= 1ull << i;
        } else {
            *nulls &= ~(1ull << i);
        }
        aw_head(s->aw, op[0], st, full ? row * EV_COLS + i : i);
        aw_put(s->aw, op + AW_HDR, vlen);
    }
    if (full) aw_head(s->aw, AW_STEP, st, ST_EVENT_V2);
    q->cur_len = 0;
    s->ev_rows = 0;
    aw_maybe_handoff(s->aw);
}

/* Writer mode with the 002-timeline.sql columns: rows go in groups. */
static int ev_group_start(struct sp_sqlite *s, struct sp_err *err)
{
    if (prepare(s, ST_EVENT_GROUP, err) != SP_OK) return SP_ESINK;
    s->evq = sp_xcalloc(1, sizeof(*s->evq));
    s->evq->cur_cap = 64 << 10;
    s->evq->cur = sp_xmalloc(s->evq->cur_cap);
    for (int k = 0; k < EV_GROUP; k++) s->ev_group_nulls[k] = ~0ull;
    return SP_OK;
}

static int put_event(struct sp_sqlite *s, const struct sp_event *e, struct sp_err *err)
{
    int grouped = aw_rec && s->evq; /* the row goes to the open group */
    sqlite3_stmt *st = grouped ? NULL : s->st[s->ev_stmt];
    const struct sp_origin *g = &e->origin;
    int b = 0;
    struct sp_str type = e->type_name.p ? e->type_name : sp_str_c(sp_evtype_name(e->type));

    if (grouped) aw_rec = s->evq; /* every value, NULLs included: ev_flush picks */
    else bind_nulls = &s->nulls[s->ev_stmt];
    b |= bind_str_nn(st, 1, g->node);
    b |= bind_str_nn(st, 2, g->source);
    b |= bind_i64(st, 3, g->line);
    b |= bind_i64_nn(st, 4, g->offset);
    b |= bind_str_nn(st, 5, type);
    b |= bind_dbl_if(st, 6, e->has & SP_HAS_TIME, e->time);
    b |= bind_dbl_if(st, 7, e->has & SP_HAS_MONOTIME, e->monotime);
    b |= bind_dbl_if(st, 8, e->has & SP_HAS_SECONDS, e->seconds);
    b |= bind_str(st, 9, e->vat_id);
    b |= bind_i64_nn(st, 10, ev_crank(e));
    b |= bind_i64_if(st, 11, e->has & SP_HAS_DELIVERY_NUM, e->delivery_num);
    b |= bind_i64_if(st, 12, e->has & SP_HAS_SYSCALL_NUM, e->syscall_num);
    b |= bind_i64_if(st, 13, e->has & SP_HAS_REPLAY, e->replay != 0);
    b |= bind_i64_nn(st, 14, ev_block(e));
    b |= bind_i64(st, 15, e->ctx_epoch);
    /* raw: unknown types, and the cosmic-swingset-* lines (a few per block),
     * whose fields beyond the columns the runs part reads (sp_tl_runs.c) */
    b |= e->type == SP_EV_UNKNOWN || e->type >= SP_EV_CS_INIT ? bind_str(st, 16, e->raw) : bind_null(st, 16);
    if (s->ev_stmt == ST_EVENT_V2) {
        b |= bind_str(st, 17, e->message_type);
        b |= bind_str(st, 18, e->crank_type);
        b |= bind_str(st, 19, e->crankhash);
        b |= bind_str(st, 20, e->activityhash);
        b |= bind_str(st, 21, e->snapshot_id);
        b |= bind_i64_if(st, 22, e->has & SP_HAS_SNAP_POS, e->snap_pos);
        b |= bind_i64_if(st, 23, e->has & SP_HAS_UNCOMPRESSED_SIZE, e->uncompressed_size);
        b |= bind_i64_if(st, 24, e->has & SP_HAS_DELIVERIES, e->deliveries);
        b |= bind_str(st, 25, e->args);
    }
    bind_nulls = NULL;
    if (grouped) {
        aw_head(s->evq, AW_STEP, NULL, ST_EVENT_V2); /* the row's end */
        aw_rec = s->aw;
        if (++s->ev_rows == EV_GROUP) ev_flush(s);
    } else if (run(s, s->ev_stmt, b, err) != SP_OK) {
        return SP_ESINK;
    }
    if (s->has_sources) sp_sources_note(&s->srcs, e);
    return put_vat_and_snapshot(s, e, err);
}

static int put_delivery(struct sp_sqlite *s, const struct sp_delivery *d, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_DELIVERY];
    int b = 0;

    bind_nulls = &s->nulls[ST_DELIVERY];
    b |= bind_str_nn(st, 1, d->origin.node);
    b |= bind_str_nn(st, 2, d->origin.source);
    b |= bind_i64(st, 3, d->origin.line);
    b |= bind_i64_nn(st, 4, d->result_line);
    b |= bind_str_nn(st, 5, d->vat_id);
    b |= bind_i64_nn(st, 6, d->delivery_num);
    b |= bind_i64_nn(st, 7, d->crank_num);
    b |= bind_i64_nn(st, 8, d->block_height);
    b |= bind_i64(st, 9, d->epoch);
    b |= bind_str(st, 10, d->dispatch);
    b |= bind_i64(st, 11, d->replay != 0);
    b |= bind_str(st, 12, d->status);
    b |= bind_i64_if(st, 13, d->has_computrons, d->computrons);
    b |= bind_i64(st, 14, d->syscalls);
    b |= bind_dbl_if(st, 15, 1, d->time);
    b |= bind_dbl_if(st, 16, 1, d->seconds);
    b |= bind_hex(st, 17, d->vd_hash);
    b |= bind_hex(st, 18, d->sc_hash);
    b |= bind_i64_nn(st, 19, d->run_num);
    b |= bind_str(st, 20, d->method);
    b |= bind_str(st, 21, d->target);
    b |= bind_i64_nn(st, 22, d->resolutions);
    bind_nulls = NULL;
    return run(s, ST_DELIVERY, b, err);
}

static int put_run(struct sp_sqlite *s, const struct sp_run *x, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_RUN];
    int b = 0;

    b |= bind_str_nn(st, 1, x->node);
    b |= bind_i64(st, 2, x->block_height);
    b |= bind_i64(st, 3, x->run_num);
    b |= bind_i64(st, 4, x->epoch);
    b |= bind_str(st, 5, x->source);
    b |= bind_str(st, 6, x->phase);
    b |= bind_str(st, 7, x->trigger);
    b |= bind_str(st, 8, x->inbound_num);
    b |= bind_str(st, 9, x->trigger_source);
    b |= bind_str(st, 10, x->trigger_type);
    b |= bind_i64_nn(st, 11, x->trigger_count);
    b |= bind_i64_nn(st, 12, x->start_line);
    b |= bind_i64_nn(st, 13, x->finish_line);
    b |= bind_dbl_if(st, 14, 1, x->start_time);
    b |= bind_dbl_if(st, 15, 1, x->finish_time);
    b |= bind_dbl_if(st, 16, 1, x->seconds);
    b |= bind_i64_nn(st, 17, x->beans_start);
    b |= bind_i64_nn(st, 18, x->beans_used);
    b |= bind_i64_nn(st, 19, x->beans_remaining);
    b |= bind_i64(st, 20, x->computrons);
    b |= bind_i64(st, 21, x->cranks);
    b |= bind_i64(st, 22, x->deliveries);
    b |= bind_dbl_if(st, 23, 1, x->delivery_seconds);
    b |= bind_dbl_if(st, 24, 1, x->boyd_seconds);
    return run(s, ST_RUN, b, err);
}

static int put_block(struct sp_sqlite *s, const struct sp_block *x, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_BLOCK_BUDGET];
    int b = 0;

    b |= bind_str_nn(st, 1, x->node);
    b |= bind_i64(st, 2, x->block_height);
    b |= bind_i64(st, 3, x->bootstrap != 0);
    b |= bind_dbl_if(st, 4, 1, x->block_seconds);
    b |= bind_dbl_if(st, 5, 1, x->run_seconds);
    b |= bind_dbl_if(st, 6, 1, x->end_block_seconds);
    b |= bind_dbl_if(st, 7, 1, x->commit_seconds);
    b |= bind_dbl_if(st, 8, 1, x->save_seconds);
    b |= bind_dbl_if(st, 9, 1, x->cosmos_commit_seconds);
    b |= bind_i64(st, 10, x->runs);
    b |= bind_i64(st, 11, x->computrons);
    b |= bind_i64(st, 12, x->cranks);
    b |= bind_i64(st, 13, x->deliveries);
    b |= bind_i64(st, 14, x->beans_used);
    b |= bind_dbl_if(st, 15, 1, x->boyd_seconds);
    b |= bind_i64(st, 16, x->snapshot_saves);
    b |= bind_dbl_if(st, 17, 1, x->snapshot_seconds);
    b |= bind_i64(st, 18, x->replays);
    b |= bind_dbl_if(st, 19, 1, x->replay_seconds);
    b |= bind_dbl_if(st, 20, 1, x->begin_time);
    b |= bind_dbl_if(st, 21, 1, x->end_time);
    b |= bind_dbl_if(st, 22, 1, x->commit_time);
    b |= bind_i64(st, 23, x->committed != 0);
    return run(s, ST_BLOCK_BUDGET, b, err);
}

static int put_bad(struct sp_sqlite *s, const struct sp_bad *x, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_BAD];
    char excerpt[SP_EXCERPT_MAX + 8];
    int b = 0;

    sp_excerpt(x->bytes.p ? x->bytes.p : "", x->bytes.n, SP_EXCERPT_MAX, excerpt, sizeof(excerpt));
    b |= bind_str_nn(st, 1, x->origin.node);
    b |= bind_str_nn(st, 2, x->origin.source);
    b |= bind_i64_nn(st, 3, x->origin.line);
    b |= bind_i64_nn(st, 4, x->origin.offset);
    b |= bind_cstr(st, 5, x->reason ? x->reason : "unknown error");
    b |= x->bytes.p ? bind_cstr(st, 6, excerpt) : bind_null(st, 6);
    return run(s, ST_BAD, b, err);
}

static int put_titem(struct sp_sqlite *s, const struct sp_titem *t, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_TITEM];
    int b = 0;

    b |= bind_str_nn(st, 1, t->node);
    b |= bind_str_nn(st, 2, t->vat_id);
    b |= bind_i64(st, 3, t->position);
    b |= bind_i64_nn(st, 4, t->incarnation);
    b |= bind_str(st, 5, t->d_type);
    b |= bind_str_nn(st, 6, t->item);
    b |= bind_hex(st, 7, t->d_hash);
    b |= bind_hex(st, 8, t->sc_hash);
    b |= bind_str(st, 9, t->status);
    b |= bind_i64_if(st, 10, t->has_computrons, t->computrons);
    b |= bind_str(st, 11, t->snapshot_id);
    b |= bind_str_nn(st, 12, t->source);
    return run(s, ST_TITEM, b, err);
}

static int put_tspan(struct sp_sqlite *s, const struct sp_tspan *t, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_TSPAN];
    int b = 0;

    b |= bind_str_nn(st, 1, t->node);
    b |= bind_str_nn(st, 2, t->vat_id);
    b |= bind_i64(st, 3, t->start_pos);
    b |= bind_i64(st, 4, t->end_pos);
    b |= bind_str(st, 5, t->hash);
    b |= bind_str(st, 6, t->computed_hash);
    b |= bind_i64(st, 7, t->items);
    b |= bind_i64(st, 8, t->is_current != 0);
    b |= bind_i64_nn(st, 9, t->incarnation);
    b |= bind_str_nn(st, 10, t->source);
    return run(s, ST_TSPAN, b, err);
}

static int put_tsnapshot(struct sp_sqlite *s, const struct sp_tsnapshot *t, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_TSNAPSHOT];
    int b = 0;

    b |= bind_str_nn(st, 1, t->node);
    b |= bind_str_nn(st, 2, t->vat_id);
    b |= bind_i64(st, 3, t->snap_pos);
    b |= bind_str(st, 4, t->hash);
    b |= bind_i64(st, 5, t->in_use != 0);
    b |= bind_i64_nn(st, 6, t->uncompressed_size);
    b |= bind_i64_nn(st, 7, t->compressed_size);
    b |= bind_i64_nn(st, 8, t->has_blob);
    b |= bind_str_nn(st, 9, t->source);
    return run(s, ST_TSNAPSHOT, b, err);
}

static int put_kv(struct sp_sqlite *s, const struct sp_kv *k, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_KV];
    int b = 0;

    b |= bind_str_nn(st, 1, k->node);
    b |= bind_str_nn(st, 2, k->key);
    b |= bind_str(st, 3, k->value);
    b |= bind_str_nn(st, 4, k->source);
    return run(s, ST_KV, b, err);
}

static int put_span(struct sp_sqlite *s, const struct sp_span *x, struct sp_err *err)
{
    sqlite3_stmt *st;
    int b = 0;

    if (x->retracted) {
        if (prepare_timeline(s, ST_SPAN_DEL, "spans", err) != SP_OK) return SP_ESINK;
        st = s->st[ST_SPAN_DEL];
        b |= bind_str_nn(st, 1, x->node);
        b |= bind_str_nn(st, 2, x->vat_id);
        b |= bind_i64(st, 3, x->start_pos);
        return run(s, ST_SPAN_DEL, b, err);
    }
    if (prepare_timeline(s, ST_SPAN, "spans", err) != SP_OK) return SP_ESINK;
    st = s->st[ST_SPAN];
    b |= bind_str_nn(st, 1, x->node);
    b |= bind_str_nn(st, 2, x->vat_id);
    b |= bind_i64_nn(st, 3, x->incarnation);
    b |= bind_i64(st, 4, x->start_pos);
    b |= bind_i64(st, 5, x->end_pos); /* -1 = open span */
    b |= bind_str(st, 6, x->first_type);
    b |= bind_str(st, 7, x->last_type);
    b |= bind_i64(st, 8, x->is_current != 0);
    b |= bind_str(st, 9, x->hash);
    b |= bind_i64(st, 10, x->hash_ok); /* -1 = not verifiable */
    b |= bind_i64(st, 11, x->deliveries);
    b |= bind_i64(st, 12, x->from_transcript != 0);
    b |= bind_i64(st, 13, x->from_slog != 0);
    b |= bind_str(st, 14, x->save_snapshot_id);
    b |= bind_str(st, 15, x->load_snapshot_id);
    return run(s, ST_SPAN, b, err);
}

static int put_anomaly(struct sp_sqlite *s, const struct sp_anomaly *x, struct sp_err *err)
{
    sqlite3_stmt *st;
    int b = 0;

    if (x->retracted) {
        if (prepare_timeline(s, ST_ANOMALY_DEL, "anomalies", err) != SP_OK) return SP_ESINK;
        st = s->st[ST_ANOMALY_DEL];
        b |= bind_str_nn(st, 1, x->node);
        b |= bind_str(st, 2, x->vat_id);
        b |= bind_str_nn(st, 3, x->kind);
        b |= bind_i64_nn(st, 4, x->position);
        return run(s, ST_ANOMALY_DEL, b, err);
    }
    if (prepare_timeline(s, ST_ANOMALY, "anomalies", err) != SP_OK) return SP_ESINK;
    st = s->st[ST_ANOMALY];
    b |= bind_str_nn(st, 1, x->node);
    b |= bind_str(st, 2, x->vat_id);
    b |= bind_str_nn(st, 3, x->kind);
    b |= bind_i64_nn(st, 4, x->incarnation);
    b |= bind_i64_nn(st, 5, x->position);
    b |= bind_str_nn(st, 6, x->severity);
    b |= x->detail.p ? bind_str(st, 7, x->detail) : bind_cstr(st, 7, "{}");
    b |= bind_str(st, 8, x->source);
    b |= bind_i64_nn(st, 9, x->line);
    return run(s, ST_ANOMALY, b, err);
}

/* A row a supersede walk reads (the columns of ST_SUP_*_WALK). */
static int sup_text_eq(sqlite3_stmt *st, int i, struct sp_str v)
{
    const char *p = (const char *)sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    return p && n == v.n && (n == 0 || memcmp(p, v.p, n) == 0);
}

/* Rows of the node past the range's start that a walk still reads before it
 * stops: deliveries are written when complete, so one assembled late (its
 * result never came: at most SP_ASM_MAX_PENDING of them) may sit after a
 * later one. */
#define SUP_SLACK 200

/*
 * Walk the table back from its newest row (the record is written right
 * after the restart that discarded the range, so its rows are the last
 * ones, or near) to the range's start: *lo..*hi are the rowids of the rows
 * in the range (0 when none). `visit` (may be NULL) sees each row in it.
 * The walk reads the rows written since the range began, never the whole
 * table.
 */
static int sup_walk(struct sp_sqlite *s, int which, const struct sp_supersede *x, int dlv, int64_t *lo, int64_t *hi,
                    int (*visit)(struct sp_sqlite *, sqlite3_stmt *, const struct sp_supersede *, struct sp_err *),
                    struct sp_err *err)
{
    sqlite3_stmt *st;
    int rc, slack = -1;
    *lo = *hi = 0;
    if (prepare(s, which, err) != SP_OK) return SP_ESINK;
    st = s->st[which];
    if ((rc = SQ(sqlite3_bind_int64(st, 1, INT64_MAX), SQLITE_IOERR)) != SQLITE_OK) return fail(s, "supersede: bind", rc, err);
    while ((rc = SQ(sqlite3_step(st), SQLITE_IOERR)) == SQLITE_ROW) {
        if (!sup_text_eq(st, 1, x->node)) continue;
        int same = sup_text_eq(st, 2, x->source);
        int64_t line = sqlite3_column_int64(st, 3), off = sqlite3_column_int64(st, 4);
        int64_t epoch = sqlite3_column_int64(st, 5);
        int nobh = sqlite3_column_type(st, 6) == SQLITE_NULL;
        int64_t bh = nobh ? -1 : sqlite3_column_int64(st, 6);
        int after_first = line > x->first_line || (line == x->first_line && (dlv || off >= x->first_offset));
        int before_last = line < x->last_line || (line == x->last_line && (dlv || off <= x->last_offset));
        if (same && epoch == x->epoch && after_first && before_last && (!dlv || nobh || bh == x->block_height)) {
            int64_t r = sqlite3_column_int64(st, 0);
            if (!*hi) *hi = r;
            *lo = r;
            slack = -1;
            if (visit && (rc = visit(s, st, x, err)) != SP_OK) {
                sqlite3_reset(st);
                return rc;
            }
            continue;
        }
        /* before the range: an earlier line of its source, or an earlier block of the node (a source's
         * lines before its first begin-block have none: a rotated file's first lines may be in the range) */
        if ((same && epoch <= x->epoch && !after_first) || (epoch <= x->epoch && !nobh && bh < x->block_height)) {
            if (slack < 0) slack = SUP_SLACK;
            if (slack-- == 0) break;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        int r = fail(s, stmt_defs[which].name, rc, err);
        sqlite3_reset(st);
        return r;
    }
    sqlite3_reset(st);
    return SP_OK;
}

/* A heap-snapshot-load / -save row of the range, not marked yet: its snapshots row forgets it. */
static int sup_visit_event(struct sp_sqlite *s, sqlite3_stmt *w, const struct sp_supersede *x, struct sp_err *err)
{
    const char *type = (const char *)sqlite3_column_text(w, 7);
    int load = type && strcmp(type, "heap-snapshot-load") == 0, save = type && strcmp(type, "heap-snapshot-save") == 0;
    int which = load ? ST_SUP_LOAD : ST_SUP_SAVE, b = 0;
    if ((!load && !save) || sqlite3_column_int(w, 10) || sqlite3_column_type(w, 8) == SQLITE_NULL ||
        sqlite3_column_type(w, 9) == SQLITE_NULL)
        return SP_OK;
    if (prepare(s, which, err) != SP_OK) return SP_ESINK;
    sqlite3_stmt *st = s->st[which];
    b |= bind_str_nn(st, 1, x->node);
    b |= SQ(sqlite3_bind_text(st, 2, (const char *)sqlite3_column_text(w, 8), -1, SQLITE_TRANSIENT), SQLITE_IOERR);
    b |= bind_i64(st, 3, sqlite3_column_int64(w, 9));
    if (save) b |= bind_i64(st, 4, sqlite3_column_int64(w, 3));
    return run(s, which, b, err);
}

/*
 * SP_REC_SUPERSEDE: the rows of a discarded execution get superseded = 1
 * (010-superseded.sql), found by a walk back from the newest row and marked
 * by rowid range; snapshots.loads stops counting its heap-snapshot-loads and
 * a save it made is left to the re-execution. Applying the record again (a
 * keyed update, or a resumed run) changes only rows not marked yet.
 */
static int put_supersede(struct sp_sqlite *s, const struct sp_supersede *x, struct sp_err *err)
{
    int64_t lo, hi;
    int b = 0;
    sqlite3_stmt *st;
    if (sup_walk(s, ST_SUP_EV_WALK, x, 0, &lo, &hi, sup_visit_event, err) != SP_OK) return SP_ESINK;
    if (hi) {
        if (prepare(s, ST_SUP_EV_MARK, err) != SP_OK) return SP_ESINK;
        st = s->st[ST_SUP_EV_MARK];
        b |= bind_i64(st, 1, lo);
        b |= bind_i64(st, 2, hi);
        b |= bind_str_nn(st, 3, x->node);
        b |= bind_str_nn(st, 4, x->source);
        b |= bind_i64(st, 5, x->epoch);
        b |= bind_i64(st, 6, x->first_line);
        b |= bind_i64(st, 7, x->first_offset);
        b |= bind_i64(st, 8, x->last_line);
        b |= bind_i64(st, 9, x->last_offset);
        if (run(s, ST_SUP_EV_MARK, b, err) != SP_OK) return SP_ESINK;
    }
    if (sup_walk(s, ST_SUP_DLV_WALK, x, 1, &lo, &hi, NULL, err) != SP_OK) return SP_ESINK;
    if (!hi) return SP_OK;
    if (prepare(s, ST_SUP_DLV_MARK, err) != SP_OK) return SP_ESINK;
    st = s->st[ST_SUP_DLV_MARK];
    b = 0;
    b |= bind_i64(st, 1, lo);
    b |= bind_i64(st, 2, hi);
    b |= bind_str_nn(st, 3, x->node);
    b |= bind_str_nn(st, 4, x->source);
    b |= bind_i64(st, 5, x->epoch);
    b |= bind_i64(st, 6, x->block_height);
    b |= bind_i64(st, 7, x->first_line);
    b |= bind_i64(st, 8, x->last_line);
    return run(s, ST_SUP_DLV_MARK, b, err);
}

static int sq_write(void *ctx, const struct sp_record *rec, struct sp_err *err)
{
    struct sp_sqlite *s = ctx;

    if (begin(s, err) != SP_OK) return SP_ESINK;
    if (s->aw) {
        int rc;
        if (rec->kind == SP_REC_EVENT || rec->kind == SP_REC_DELIVERY) {
            aw_rec = s->aw;
            rc = rec->kind == SP_REC_EVENT ? put_event(s, rec->u.event, err)
                                           : put_delivery(s, rec->u.delivery, err);
            aw_rec = NULL;
            return rc;
        }
        if (aw_sync(s, err) != SP_OK) return SP_ESINK;
    }
    switch (rec->kind) {
    case SP_REC_EVENT: return put_event(s, rec->u.event, err);
    case SP_REC_DELIVERY: return put_delivery(s, rec->u.delivery, err);
    case SP_REC_BAD: return put_bad(s, rec->u.bad, err);
    case SP_REC_TITEM: return put_titem(s, rec->u.titem, err);
    case SP_REC_TSPAN: return put_tspan(s, rec->u.tspan, err);
    case SP_REC_TSNAPSHOT: return put_tsnapshot(s, rec->u.tsnapshot, err);
    case SP_REC_KV: return put_kv(s, rec->u.kv, err);
    case SP_REC_SPAN: return put_span(s, rec->u.span, err);
    case SP_REC_ANOMALY: return put_anomaly(s, rec->u.anomaly, err);
    case SP_REC_SUPERSEDE: return put_supersede(s, rec->u.supersede, err);
    case SP_REC_RUN: return put_run(s, rec->u.run, err);
    case SP_REC_BLOCK: return put_block(s, rec->u.block, err);
    }
    return sp_err_set(err, SP_EINTERNAL, "sqlite %s: unknown record kind %d", s->path, (int)rec->kind);
}

/* ---- commit, checkpoints, state ----------------------------------------- */

static int state_put(struct sp_sqlite *s, const char *key, const char *value, struct sp_err *err)
{
    sqlite3_stmt *st = s->st[ST_STATE_PUT];
    int b = 0;

    b |= bind_cstr(st, 1, key);
    b |= bind_cstr(st, 2, value);
    b |= bind_dbl_if(st, 3, 1, wall_now());
    return run(s, ST_STATE_PUT, b, err);
}

/* The checkpoint rows, the JSONL length and the batch's `sources` totals,
 * then COMMIT (recorded for the writer when aw_rec is set). */
static int commit_rows(struct sp_sqlite *s, const struct sp_checkpoint *cps, size_t ncps,
                       struct sp_err *err)
{
    double now = wall_now();

    for (size_t i = 0; i < ncps; i++) {
        sqlite3_stmt *st = s->st[ST_CKPT_PUT];
        int b = 0;
        b |= bind_cstr(st, 1, cps[i].node ? cps[i].node : "");
        b |= bind_cstr(st, 2, cps[i].source ? cps[i].source : "");
        b |= bind_i64(st, 3, cps[i].line);
        b |= bind_i64(st, 4, cps[i].offset);
        b |= bind_i64_if(st, 5, s->has_jsonl_bytes, s->jsonl_bytes);
        b |= bind_cstr(st, 6, cps[i].state);
        b |= bind_dbl_if(st, 7, 1, now);
        if (run(s, ST_CKPT_PUT, b, err) != SP_OK) return SP_ESINK;
    }
    if (s->has_jsonl_bytes) {
        char v[32];
        snprintf(v, sizeof(v), "%lld", (long long)s->jsonl_bytes);
        if (state_put(s, SP_STATE_JSONL_BYTES, v, err) != SP_OK) return SP_ESINK;
    }
    if (srcs_flush(s, err) != SP_OK) return SP_ESINK;
    return run(s, ST_COMMIT, SQLITE_OK, err);
}

/*
 * With the writer thread the commit is queued behind the batch's inserts
 * and this returns at once: the writer commits while the next batch is
 * parsed (at 300 MB the writer otherwise sat idle ~12 % of the run, during
 * each COMMIT and until the next batch's first ops). Its failure, like an
 * insert's, is reported by the next call that waits for the writer: write,
 * commit, sp_sqlite_sync, sp_sqlite_begin, the state and checkpoint calls.
 * Call sp_sqlite_sync before acting on the batch being durable.
 */
static int sq_commit(void *ctx, const struct sp_checkpoint *cps, size_t ncps, struct sp_err *err)
{
    struct sp_sqlite *s = ctx;
    int rc;

    if (begin(s, err) != SP_OK) return SP_ESINK;
    if (!s->aw) {
        if (commit_rows(s, cps, ncps, err) != SP_OK) return SP_ESINK;
        SP_FAILPOINT("sqlite.committed");
    } else {
        ev_flush(s); /* the open group's rows belong to this batch */
        aw_rec = s->aw;
        rc = commit_rows(s, cps, ncps, err);
        aw_rec = NULL;
        if (rc != SP_OK) return SP_ESINK;
        aw_handoff(s->aw);
        /* a failure the writer already hit (it may have waited for it) */
        if (aw_failed(s)) return aw_sync(s, err);
    }
    sp_sources_clear(&s->srcs);
    s->in_txn = 0;
    s->has_jsonl_bytes = 0;
    return SP_OK;
}

int sp_sqlite_sync(void *ctx, struct sp_err *err)
{
    struct sp_sqlite *s = ctx;
    if (refuse_if_failed(s, err) != SP_OK) return SP_ESINK;
    return aw_sync(s, err);
}

sqlite3 *sp_sqlite_db(void *ctx)
{
    struct sp_sqlite *s = ctx;
    if (!s) return NULL;
    /* the caller uses the connection directly: let the writer finish first
     * (a failure it hit is reported by the next write or commit) */
    if (s->aw) {
        ev_flush(s);
        aw_drain(s->aw);
    }
    return s->db;
}

int sp_sqlite_begin(void *ctx, struct sp_err *err)
{
    /* the caller uses the connection next: the BEGIN must have run */
    if (begin(ctx, err) != SP_OK) return SP_ESINK;
    return aw_sync(ctx, err);
}

void sp_sqlite_set_jsonl_bytes(void *ctx, int64_t bytes)
{
    struct sp_sqlite *s = ctx;
    s->has_jsonl_bytes = 1;
    s->jsonl_bytes = bytes;
}

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? sp_xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, col)) : NULL;
}

int sp_sqlite_checkpoint_get(void *ctx, const char *node, const char *source, int64_t *line,
                             int64_t *offset, char **state, struct sp_err *err)
{
    struct sp_sqlite *s = ctx;
    sqlite3_stmt *st = s->st[ST_CKPT_GET];
    int rc;

    if (aw_sync(s, err) != SP_OK) return SP_ESINK;
    rc = bind_cstr(st, 1, node ? node : "") | bind_cstr(st, 2, source ? source : "");

    if (state) *state = NULL;
    if (rc == SQLITE_OK) rc = SQ(sqlite3_step(st), SQLITE_IOERR);
    if (rc == SQLITE_ROW) {
        if (line) *line = sqlite3_column_int64(st, 0);
        if (offset) *offset = sqlite3_column_int64(st, 1);
        if (state) *state = column_dup(st, 2);
        sqlite3_reset(st);
        return SP_OK;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return SP_EOF;
    }
    sp_err_set(err, SP_ESINK, "sqlite %s: %s: %s (%s)", s->path, stmt_defs[ST_CKPT_GET].name,
               SQ_ERRMSG(s->db), sqlite3_errstr(rc));
    sqlite3_reset(st);
    return SP_ESINK; /* a read: the open transaction stays as it is */
}

int sp_sqlite_state_get(void *ctx, const char *key, char **value, struct sp_err *err)
{
    struct sp_sqlite *s = ctx;
    sqlite3_stmt *st = s->st[ST_STATE_GET];
    int rc;

    if (aw_sync(s, err) != SP_OK) return SP_ESINK;
    rc = bind_cstr(st, 1, key);

    *value = NULL;
    if (rc == SQLITE_OK) rc = SQ(sqlite3_step(st), SQLITE_IOERR);
    if (rc == SQLITE_ROW) {
        *value = column_dup(st, 0);
        sqlite3_reset(st);
        return SP_OK;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return SP_EOF;
    }
    sp_err_set(err, SP_ESINK, "sqlite %s: %s: %s (%s)", s->path, stmt_defs[ST_STATE_GET].name,
               SQ_ERRMSG(s->db), sqlite3_errstr(rc));
    sqlite3_reset(st);
    return SP_ESINK;
}

int sp_sqlite_state_put(void *ctx, const char *key, const char *value, struct sp_err *err)
{
    struct sp_sqlite *s = ctx;

    if (begin(s, err) != SP_OK) return SP_ESINK;
    if (aw_sync(s, err) != SP_OK) return SP_ESINK;
    return state_put(s, key, value, err);
}

const struct sp_sink_ops sp_sink_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .write = sq_write,
    .commit = sq_commit,
    .close = sq_close,
};
