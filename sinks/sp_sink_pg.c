/* sp_sink_pg.c - PostgreSQL store: batches buffered as COPY text and prepared upserts, sent in one transaction with their checkpoints. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/sp_buf.h"
#include "../core/sp_failpoint.h"
#include "sp_pg.h"
#include "sp_schema.h"
#include "sp_sources.h"

#define SP_EXCERPT_MAX 200
#define RETRY_FIRST_MS 200
#define RETRY_MAX_MS 5000
#define RETRY_DEFAULT_S 60

/* ---- statements ----------------------------------------------------------- */

enum {
    ST_VAT_CREATE,
    ST_VAT_TERMINATE,
    ST_VAT_CLEANED,
    ST_SNAP_SAVE,
    ST_SNAP_LOAD,
    ST_BLOCK_BEGIN,
    ST_BLOCK_END,
    ST_BLOCK_COMMIT,
    ST_TSPAN,
    ST_TSNAPSHOT,
    ST_KV,
    ST_SPAN,
    ST_ANOMALY,
    ST_CKPT_PUT,
    ST_STATE_PUT,
    ST_SOURCE,
    ST_OFFSET_INSERT, /* conditional: must add a row (no position stored yet) */
    ST_OFFSET_UPDATE, /* conditional: must change a row (still at the position read) */
    ST_TITEM_MERGE,
    ST_SPAN_DEL,    /* a retracted span */
    ST_ANOMALY_DEL, /* a retracted anomaly */
    ST_SUP_LOAD,    /* SP_REC_SUPERSEDE (put_supersede), in this order */
    ST_SUP_SAVE,
    ST_SUP_EV_MARK,
    ST_SUP_DLV_MARK,
    ST_RUN,         /* a run (006-runs.sql) */
    ST_BLOCK_BUDGET, /* a block's time budget (006-runs.sql) */
    ST__COUNT
};

static const struct {
    const char *name; /* for error messages */
    const char *sql;
} stmt_defs[ST__COUNT] = {
    [ST_VAT_CREATE] = {"upsert vats (create-vat)",
                       "INSERT INTO vats AS t (node,vat_id,name,dynamic,manager_type,created_line) "
                       "VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT(node,vat_id) DO UPDATE SET "
                       "name=COALESCE(excluded.name,t.name),dynamic=COALESCE(excluded.dynamic,t.dynamic),"
                       "manager_type=COALESCE(excluded.manager_type,t.manager_type),"
                       "created_line=COALESCE(t.created_line,excluded.created_line)"},
    [ST_VAT_TERMINATE] = {"upsert vats (terminate)",
                          "INSERT INTO vats AS t (node,vat_id,status,terminated_line) "
                          "VALUES($1,$2,'terminated',$3) ON CONFLICT(node,vat_id) DO UPDATE SET "
                          "status=CASE WHEN t.status='cleaned' THEN t.status ELSE 'terminated' END,"
                          "terminated_line=COALESCE(t.terminated_line,excluded.terminated_line)"},
    [ST_VAT_CLEANED] = {"upsert vats (vat-cleanup-complete)",
                        "INSERT INTO vats AS t (node,vat_id,status,cleanup_line) "
                        "VALUES($1,$2,'cleaned',$3) ON CONFLICT(node,vat_id) DO UPDATE SET "
                        "status='cleaned',cleanup_line=COALESCE(t.cleanup_line,excluded.cleanup_line)"},
    [ST_SNAP_SAVE] = {"upsert snapshots (heap-snapshot-save)",
                      "INSERT INTO snapshots AS t (node,vat_id,snap_pos,snapshot_id,slog_snapshot_id,"
                      "save_line,save_time,uncompressed_size,compressed_size,save_seconds,"
                      "compress_seconds) VALUES($1,$2,$3,$4,$4,$5,$6,$7,$8,$9,$10) "
                      "ON CONFLICT(node,vat_id,snap_pos) DO UPDATE SET "
                      "snapshot_id=COALESCE(excluded.snapshot_id,t.snapshot_id),"
                      "slog_snapshot_id=COALESCE(excluded.slog_snapshot_id,t.slog_snapshot_id),"
                      "save_line=COALESCE(t.save_line,excluded.save_line),"
                      "save_time=COALESCE(t.save_time,excluded.save_time),"
                      "uncompressed_size=COALESCE(excluded.uncompressed_size,t.uncompressed_size),"
                      "compressed_size=COALESCE(excluded.compressed_size,t.compressed_size),"
                      "save_seconds=COALESCE(excluded.save_seconds,t.save_seconds),"
                      "compress_seconds=COALESCE(excluded.compress_seconds,t.compress_seconds)"},
    [ST_SNAP_LOAD] = {"upsert snapshots (heap-snapshot-load)",
                      "INSERT INTO snapshots AS t (node,vat_id,snap_pos,snapshot_id,uncompressed_size,"
                      "compressed_size,loads) VALUES($1,$2,$3,$4,$5,$6,1) "
                      "ON CONFLICT(node,vat_id,snap_pos) DO UPDATE SET loads=t.loads+1,"
                      "snapshot_id=COALESCE(t.snapshot_id,excluded.snapshot_id),"
                      "uncompressed_size=COALESCE(t.uncompressed_size,excluded.uncompressed_size),"
                      "compressed_size=COALESCE(t.compressed_size,excluded.compressed_size)"},
    [ST_BLOCK_BEGIN] = {"upsert blocks (begin-block)",
                        "INSERT INTO blocks AS t (node,block_height,block_time,begin_line,begin_time) "
                        "VALUES($1,$2,$3,$4,$5) ON CONFLICT(node,block_height) DO UPDATE SET "
                        "block_time=COALESCE(excluded.block_time,t.block_time),"
                        "begin_line=excluded.begin_line,begin_time=excluded.begin_time"},
    [ST_BLOCK_END] = {"upsert blocks (end-block-finish)",
                      "INSERT INTO blocks AS t (node,block_height,block_time,end_time) "
                      "VALUES($1,$2,$3,$4) ON CONFLICT(node,block_height) DO UPDATE SET "
                      "block_time=COALESCE(t.block_time,excluded.block_time),"
                      "end_time=excluded.end_time"},
    [ST_BLOCK_COMMIT] = {"upsert blocks (commit-block-finish)",
                         "INSERT INTO blocks AS t (node,block_height,block_time,commit_time,committed) "
                         "VALUES($1,$2,$3,$4,1) ON CONFLICT(node,block_height) DO UPDATE SET "
                         "block_time=COALESCE(t.block_time,excluded.block_time),"
                         "commit_time=excluded.commit_time,committed=1"},
    [ST_TSPAN] = {"upsert transcript_spans",
                  "INSERT INTO transcript_spans AS t (node,vat_id,start_pos,end_pos,hash,"
                  "computed_hash,items,is_current,incarnation,source) "
                  "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT(node,vat_id,start_pos) DO UPDATE SET "
                  "end_pos=excluded.end_pos,hash=COALESCE(excluded.hash,t.hash),"
                  "computed_hash=COALESCE(excluded.computed_hash,t.computed_hash),items=excluded.items,"
                  "is_current=excluded.is_current,incarnation=COALESCE(excluded.incarnation,t.incarnation),"
                  "source=excluded.source"},
    [ST_TSNAPSHOT] = {"upsert store_snapshots",
                      "INSERT INTO store_snapshots AS t (node,vat_id,snap_pos,hash,in_use,"
                      "uncompressed_size,compressed_size,has_blob,source) "
                      "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT(node,vat_id,snap_pos) DO UPDATE SET "
                      "hash=COALESCE(excluded.hash,t.hash),in_use=excluded.in_use,"
                      "uncompressed_size=COALESCE(excluded.uncompressed_size,t.uncompressed_size),"
                      "compressed_size=COALESCE(excluded.compressed_size,t.compressed_size),"
                      "has_blob=COALESCE(excluded.has_blob,t.has_blob),source=excluded.source"},
    [ST_KV] = {"upsert store_kv",
               "INSERT INTO store_kv AS t (node,key,value,source) VALUES($1,$2,$3,$4) "
               "ON CONFLICT(node,key) DO UPDATE SET value=excluded.value,source=excluded.source"},
    /* Span and anomaly records are keyed; a later record replaces the row,
     * as on SQLite and as a JSONL/Kafka consumer keeps the last per key
     * (the stage's span record already carries the store's transcript side). */
    [ST_SPAN] = {"upsert spans",
                 "INSERT INTO spans AS t (node,vat_id,incarnation,start_pos,end_pos,first_type,"
                 "last_type,is_current,hash,hash_ok,deliveries,from_transcript,from_slog,"
                 "save_snapshot_id,load_snapshot_id) "
                 "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) "
                 "ON CONFLICT(node,vat_id,start_pos) DO UPDATE SET "
                 "incarnation=excluded.incarnation,end_pos=excluded.end_pos,first_type=excluded.first_type,"
                 "last_type=excluded.last_type,is_current=excluded.is_current,hash=excluded.hash,"
                 "hash_ok=excluded.hash_ok,deliveries=excluded.deliveries,"
                 "from_transcript=excluded.from_transcript,from_slog=excluded.from_slog,"
                 "save_snapshot_id=excluded.save_snapshot_id,load_snapshot_id=excluded.load_snapshot_id"},
    [ST_ANOMALY] = {"upsert anomalies",
                    "INSERT INTO anomalies AS t (node,vat_id,kind,incarnation,position,severity,"
                    "detail,source,line) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) "
                    "ON CONFLICT(node,(COALESCE(vat_id,'')),kind,(COALESCE(position,-1))) DO UPDATE SET "
                    "incarnation=excluded.incarnation,severity=excluded.severity,detail=excluded.detail,"
                    "source=excluded.source,line=excluded.line"},
    [ST_CKPT_PUT] = {"upsert checkpoints",
                     "INSERT INTO checkpoints AS t (node,source,line,\"offset\",jsonl_bytes,state,updated_at) "
                     "VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT(node,source) DO UPDATE SET "
                     "line=excluded.line,\"offset\"=excluded.\"offset\",jsonl_bytes=excluded.jsonl_bytes,"
                     "state=excluded.state,updated_at=excluded.updated_at"},
    [ST_STATE_PUT] = {"upsert sink_state",
                      "INSERT INTO sink_state AS t (key,value,updated_at) VALUES($1,$2,$3) "
                      "ON CONFLICT(key) DO UPDATE SET value=excluded.value,updated_at=excluded.updated_at"},
    [ST_SOURCE] = {"upsert sources",
                   "INSERT INTO sources AS t (node,source,events,first_line,last_line,min_time,max_time) "
                   "VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT(node,source) DO UPDATE SET "
                   "events=t.events+excluded.events,first_line=LEAST(t.first_line,excluded.first_line),"
                   "last_line=GREATEST(t.last_line,excluded.last_line),"
                   "min_time=LEAST(t.min_time,excluded.min_time),"
                   "max_time=GREATEST(t.max_time,excluded.max_time)"},
    [ST_OFFSET_INSERT] = {"insert kafka_offsets",
                          "INSERT INTO kafka_offsets (group_id,topic,partition,next_offset,skip_lines,updated_at) "
                          "VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING"},
    [ST_OFFSET_UPDATE] = {"update kafka_offsets",
                          "UPDATE kafka_offsets SET next_offset=$4,skip_lines=$5,updated_at=$6 "
                          "WHERE group_id=$1 AND topic=$2 AND partition=$3 AND next_offset=$7 AND skip_lines=$8"},
    [ST_TITEM_MERGE] = {"merge transcript_items",
                        "INSERT INTO transcript_items AS t (node,vat_id,position,incarnation,d_type,item,d_hash,"
                        "sc_hash,status,computrons,snapshot_id,source) "
                        "SELECT DISTINCT ON (node,vat_id,position) node,vat_id,position,incarnation,d_type,item,"
                        "d_hash,sc_hash,status,computrons,snapshot_id,source FROM sp_titems_stage "
                        "ORDER BY node,vat_id,position,seq DESC "
                        "ON CONFLICT(node,vat_id,position) DO UPDATE SET incarnation=excluded.incarnation,"
                        "d_type=excluded.d_type,item=excluded.item,d_hash=excluded.d_hash,"
                        "sc_hash=excluded.sc_hash,status=excluded.status,computrons=excluded.computrons,"
                        "snapshot_id=excluded.snapshot_id,source=excluded.source"},
    [ST_SPAN_DEL] = {"retract span", "DELETE FROM spans WHERE node=$1 AND vat_id=$2 AND start_pos=$3"},
    [ST_ANOMALY_DEL] = {"retract anomaly",
                        "DELETE FROM anomalies WHERE node=$1 AND COALESCE(vat_id,'')=COALESCE($2,'') AND kind=$3 "
                        "AND COALESCE(position,-1)=COALESCE($4::bigint,-1)"},
    /* A discarded execution: $1 node, $2 source, $3 epoch, $4 block_height, lines ($5,$6)..($7,$8).
     * block_height first: the BRIN index of 005-supersede-brin.sql leads to the block's pages (and to
     * the lines without one: a rotated file's lines before its first begin-block). */
#define SUP_RANGE(a)                                                                                   \
    "(" a "block_height=$4::bigint OR " a "block_height IS NULL) AND " a "node=$1 AND " a "source=$2 AND " a "epoch=$3::bigint AND (" a \
    "line," "COALESCE(" a "\"offset\",-1))>=($5::bigint,$6::bigint) AND (" a "line,COALESCE(" a           \
    "\"offset\",-1))<=($7::bigint,$8::bigint) AND " a "superseded=0"
    [ST_SUP_LOAD] = {"supersede: snapshots.loads",
                     "UPDATE snapshots AS t SET loads=GREATEST(t.loads-x.n,0) FROM (SELECT e.vat_id,e.snap_pos,"
                     "count(*) AS n FROM slog_events e WHERE " SUP_RANGE("e.") " AND e.type='heap-snapshot-load' "
                     "AND e.vat_id IS NOT NULL AND e.snap_pos IS NOT NULL GROUP BY 1,2) x "
                     "WHERE t.node=$1 AND t.vat_id=x.vat_id AND t.snap_pos=x.snap_pos"},
    [ST_SUP_SAVE] = {"supersede: snapshots save",
                     "UPDATE snapshots AS t SET save_line=NULL,save_time=NULL,slog_snapshot_id=NULL,"
                     "save_seconds=NULL,compress_seconds=NULL FROM slog_events e WHERE " SUP_RANGE("e.")
                     " AND e.type='heap-snapshot-save' AND t.node=$1 AND t.vat_id=e.vat_id "
                     "AND t.snap_pos=e.snap_pos AND t.save_line=e.line"},
    [ST_SUP_EV_MARK] = {"supersede: mark slog_events", "UPDATE slog_events SET superseded=1 WHERE " SUP_RANGE("")},
    [ST_SUP_DLV_MARK] = {"supersede: mark deliveries",
                         "UPDATE deliveries SET superseded=1 WHERE (block_height=$4::bigint OR block_height IS NULL) AND node=$1 AND source=$2 "
                         "AND epoch=$3::bigint AND line BETWEEN $5::bigint AND $6::bigint AND superseded=0"},
#undef SUP_RANGE
    [ST_RUN] = {"upsert runs",
                "INSERT INTO runs (node,block_height,run_num,epoch,source,phase,trigger,inbound_num,"
                "trigger_source,trigger_type,trigger_count,start_line,finish_line,start_time,finish_time,seconds,"
                "beans_start,beans_used,beans_remaining,computrons,cranks,deliveries,delivery_seconds,boyd_seconds) "
                "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24) "
                "ON CONFLICT(node,block_height,run_num) DO UPDATE SET epoch=excluded.epoch,source=excluded.source,"
                "phase=excluded.phase,trigger=excluded.trigger,inbound_num=excluded.inbound_num,"
                "trigger_source=excluded.trigger_source,trigger_type=excluded.trigger_type,"
                "trigger_count=excluded.trigger_count,start_line=excluded.start_line,"
                "finish_line=excluded.finish_line,start_time=excluded.start_time,finish_time=excluded.finish_time,"
                "seconds=excluded.seconds,beans_start=excluded.beans_start,beans_used=excluded.beans_used,"
                "beans_remaining=excluded.beans_remaining,computrons=excluded.computrons,cranks=excluded.cranks,"
                "deliveries=excluded.deliveries,delivery_seconds=excluded.delivery_seconds,"
                "boyd_seconds=excluded.boyd_seconds"},
    [ST_BLOCK_BUDGET] = {"upsert blocks (budget)",
                         "INSERT INTO blocks AS t (node,block_height,bootstrap,block_seconds,run_seconds,"
                         "end_block_seconds,commit_seconds,save_seconds,cosmos_commit_seconds,runs,computrons,cranks,"
                         "deliveries,beans_used,boyd_seconds,snapshot_saves,snapshot_seconds,replays,replay_seconds,"
                         "begin_time,end_time,commit_time,committed) "
                         "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23) "
                         "ON CONFLICT(node,block_height) DO UPDATE SET bootstrap=excluded.bootstrap,"
                         "block_seconds=excluded.block_seconds,run_seconds=excluded.run_seconds,"
                         "end_block_seconds=excluded.end_block_seconds,commit_seconds=excluded.commit_seconds,"
                         "save_seconds=excluded.save_seconds,cosmos_commit_seconds=excluded.cosmos_commit_seconds,"
                         "runs=excluded.runs,computrons=excluded.computrons,cranks=excluded.cranks,"
                         "deliveries=excluded.deliveries,beans_used=excluded.beans_used,"
                         "boyd_seconds=excluded.boyd_seconds,snapshot_saves=excluded.snapshot_saves,"
                         "snapshot_seconds=excluded.snapshot_seconds,replays=excluded.replays,"
                         "replay_seconds=excluded.replay_seconds,"
                         "begin_time=COALESCE(t.begin_time,excluded.begin_time),"
                         "end_time=COALESCE(t.end_time,excluded.end_time),"
                         "commit_time=COALESCE(t.commit_time,excluded.commit_time),"
                         "committed=GREATEST(t.committed,excluded.committed)"},
};

/* COPY targets, sent in this order */
enum { CP_EVENTS, CP_DELIVERIES, CP_ERRORS, CP_TITEMS, CP__COUNT };
static const struct {
    const char *table;
    const char *sql;
} copy_defs[CP__COUNT] = {
    [CP_EVENTS] = {"slog_events",
                   "COPY slog_events (node,source,line,\"offset\",type,time,monotime,seconds,vat_id,crank_num,"
                   "delivery_num,syscall_num,replay,block_height,epoch,raw,message_type,crank_type,crankhash,"
                   "activityhash,snapshot_id,snap_pos,uncompressed_size,deliveries,args) FROM STDIN"},
    [CP_DELIVERIES] = {"deliveries",
                       "COPY deliveries (node,source,line,result_line,vat_id,delivery_num,crank_num,block_height,"
                       "epoch,dispatch,replay,status,computrons,syscalls,time,seconds,vd_hash,sc_hash,run_num,method,"
                       "target,resolutions) FROM STDIN"},
    [CP_ERRORS] = {"ingest_errors", "COPY ingest_errors (node,source,line,\"offset\",reason,excerpt) FROM STDIN"},
    [CP_TITEMS] = {"transcript_items",
                   "COPY sp_titems_stage (node,vat_id,position,incarnation,d_type,item,d_hash,sc_hash,status,"
                   "computrons,snapshot_id,source,seq) FROM STDIN"},
};

/* Per-(node, source) totals of the batch's slog_events rows (table sources). */
/*
 * One batch: COPY text per table and the upserts in order. An upsert is
 * stored as: u8 statement, u8 flags, u16 nparams, then per parameter an
 * int32 length (-1 = NULL) and the bytes plus a NUL (libpq's text format).
 */
#define OP_MUST_CHANGE 1 /* the statement must affect a row (Kafka offset CAS) */

struct sp_pg {
    char *target;
    char where[256];  /* "postgresql host=... port=... dbname=..." */
    PGconn *c;
    int failed;       /* a write was lost: refuse until reopened */
    int in_txn;       /* a spilled batch holds an open transaction */
    int spilled;      /* part of the batch is already on the server (no retry) */
    struct sp_buf copy[CP__COUNT];
    struct sp_buf ops;
    size_t nops;
    size_t ops_sent;  /* bytes of ops already sent (spill) */
    struct sp_buf post; /* ops run after the COPYs (they update the batch's rows): supersede records */
    size_t post_sent;
    int64_t titem_seq;
    char batch_key[128]; /* sink_state key marking this process's last commit */
    int64_t batch_seq;
    struct sp_sources srcs; /* per-source totals of the open batch */
    int has_jsonl_bytes;
    int64_t jsonl_bytes;
    double retry_s;
    /* the op being encoded */
    size_t op_start;
    uint16_t op_nparams;
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- server description, errors ------------------------------------------ */

void sp_pg_describe(const char *target, char *out, size_t cap)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(target, &msg);
    const char *host = NULL, *port = NULL, *db = NULL, *user = NULL;
    if (!opts) {
        snprintf(out, cap, "postgresql (unparsable connection string: %s)", msg ? msg : "?");
        PQfreemem(msg);
        return;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val) continue;
        if (strcmp(o->keyword, "host") == 0) host = o->val;
        else if (strcmp(o->keyword, "port") == 0) port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0) db = o->val;
        else if (strcmp(o->keyword, "user") == 0) user = o->val;
    }
    if (!host) host = getenv("PGHOST");
    if (!port) port = getenv("PGPORT");
    if (!db) db = getenv("PGDATABASE");
    snprintf(out, cap, "postgresql host=%s port=%s dbname=%s%s%s", host ? host : "(default)",
             port ? port : "5432", db ? db : "(default)", user ? " user=" : "", user ? user : "");
    PQconninfoFree(opts);
}

/* The message of a failed result or connection, one line. */
static void pg_msg(PGconn *c, const PGresult *r, char *out, size_t cap)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    size_t n;
    if (!m || !*m) m = c ? PQerrorMessage(c) : "no connection";
    snprintf(out, cap, "%s%s%s%s", m, st ? " (SQLSTATE " : "", st ? st : "", st ? ")" : "");
    /* libpq messages end with a newline and may span lines (tab-indented): one line */
    n = 0;
    for (char *p = out; *p; p++) {
        char ch = (*p == '\n' || *p == '\t') ? ' ' : *p;
        if (ch == ' ' && (n == 0 || out[n - 1] == ' ')) continue;
        out[n++] = ch;
    }
    while (n && out[n - 1] == ' ') n--;
    out[n] = '\0';
}

/* 1 if the failure can go away by reconnecting and redoing the batch. */
static int retryable(PGconn *c, const PGresult *r)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!c || PQstatus(c) != CONNECTION_OK) return 1;
    if (!st) return r == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR;
    return strncmp(st, "08", 2) == 0 || strncmp(st, "40", 2) == 0 || strncmp(st, "57P", 3) == 0 ||
           strcmp(st, "53300") == 0;
}

/* ---- connection ------------------------------------------------------------ */

static const char stage_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS sp_titems_stage (LIKE transcript_items, seq bigint NOT NULL) "
    "ON COMMIT DELETE ROWS";

static int exec_simple(struct sp_pg *s, const char *sql, const char *what, int *retry, struct sp_err *err)
{
    PGresult *r = PQexec(s->c, sql);
    int st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char m[400];
        pg_msg(s->c, r, m, sizeof(m));
        if (retry) *retry = retryable(s->c, r);
        PQclear(r);
        return sp_err_set(err, SP_ESINK, "%s: %s: %s", s->where, what, m);
    }
    PQclear(r);
    return SP_OK;
}

/* Server notices and warnings ("terminating connection due to ...") go to
 * the debug log: what matters reaches the user as the failing call's error. */
static void notice(void *arg, const char *message)
{
    struct sp_pg *s = arg;
    int n = (int)strlen(message);
    while (n && (message[n - 1] == '\n' || message[n - 1] == ' ')) n--;
    sp_debug("%s: server says: %.*s", s->where, n, message);
}

static void disconnect(struct sp_pg *s)
{
    if (s->c) PQfinish(s->c);
    s->c = NULL;
    s->in_txn = 0;
}

/* Connect and prepare the statements (the schema must exist). */
static int connect_prepare(struct sp_pg *s, int *retry, struct sp_err *err)
{
    disconnect(s);
    s->c = PQconnectdb(s->target);
    if (!s->c || PQstatus(s->c) != CONNECTION_OK) {
        char m[400];
        pg_msg(s->c, NULL, m, sizeof(m));
        /* a refused or dropped connection may come back; a rejected login does not */
        if (retry) *retry = !strstr(m, "authentication") && !strstr(m, "does not exist") && !strstr(m, "permission");
        disconnect(s);
        return sp_err_set(err, SP_ESINK, "%s: connect: %s", s->where, m);
    }
    /* notices ("relation ... already exists, skipping") are not for the user */
    PQsetNoticeProcessor(s->c, notice, s);
    if (exec_simple(s, "SET client_encoding = 'UTF8'; SET client_min_messages = warning", "set session", retry,
                    err) != SP_OK)
        return SP_ESINK;
    return SP_OK;
}

static int prepare_all(struct sp_pg *s, int *retry, struct sp_err *err)
{
    if (exec_simple(s, stage_sql, "create sp_titems_stage", retry, err) != SP_OK) return SP_ESINK;
    for (int i = 0; i < ST__COUNT; i++) {
        char name[16];
        PGresult *r;
        snprintf(name, sizeof(name), "sp%d", i);
        r = PQprepare(s->c, name, stmt_defs[i].sql, 0, NULL);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            char m[400];
            pg_msg(s->c, r, m, sizeof(m));
            if (retry) *retry = retryable(s->c, r);
            PQclear(r);
            return sp_err_set(err, SP_ESINK, "%s: prepare %s: %s", s->where, stmt_defs[i].name, m);
        }
        PQclear(r);
    }
    return SP_OK;
}

int sp_pg_schema_version(void)
{
    return sp_pg_schema_count;
}

/* Apply the embedded migrations above the stored version, in one
 * transaction under an advisory lock (instances starting together wait,
 * then see the new version and apply nothing). */
/* The version in slogpipe_schema (0 when the table is missing) into *v. */
static int schema_version(struct sp_pg *s, int64_t *v, struct sp_err *err)
{
    static const char *const q[2] = {"SELECT to_regclass('slogpipe_schema') IS NOT NULL",
                                     "SELECT COALESCE(max(version), 0) FROM slogpipe_schema"};
    *v = 0;
    for (int i = 0; i < 2; i++) {
        char m[400];
        PGresult *r = PQexec(s->c, q[i]);
        int exists;
        if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
            pg_msg(s->c, r, m, sizeof(m));
            PQclear(r);
            return sp_err_set(err, SP_ESINK, "%s: read slogpipe_schema: %s", s->where, m);
        }
        exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        if (i == 1) *v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (i == 0 && !exists) break;
    }
    return SP_OK;
}

static int migrate(struct sp_pg *s, struct sp_err *err)
{
    PGresult *r;
    int64_t v = 0;
    char m[400];

    /* up to date: no lock, no DDL (a role that may only write rows can run) */
    if (schema_version(s, &v, err) != SP_OK) return SP_ESINK;
    if (v >= sp_pg_schema_count) {
        if (v > sp_pg_schema_count)
            sp_warn("%s: schema version %lld is newer than this slogpipe (%d); writing anyway", s->where,
                    (long long)v, sp_pg_schema_count);
        return SP_OK;
    }
    if (exec_simple(s, "BEGIN", "begin migration", NULL, err) != SP_OK) return SP_ESINK;
    /* the key: "slogpipe" as an integer, shared by every slogpipe */
    if (exec_simple(s, "SELECT pg_advisory_xact_lock(7308620109366503269)", "lock for migration", NULL, err) !=
        SP_OK)
        return SP_ESINK;
    if (exec_simple(s,
                    "CREATE TABLE IF NOT EXISTS slogpipe_schema (version bigint NOT NULL, "
                    "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                    "create slogpipe_schema", NULL, err) != SP_OK)
        return SP_ESINK;
    r = PQexec(s->c, "SELECT COALESCE(max(version), 0) FROM slogpipe_schema");
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_msg(s->c, r, m, sizeof(m));
        PQclear(r);
        return sp_err_set(err, SP_ESINK, "%s: read slogpipe_schema: %s", s->where, m);
    }
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    for (int64_t k = v; k < sp_pg_schema_count; k++) {
        char what[128], ver[32];
        const char *vals[2] = {ver, sp_pg_schema_files[k].name};
        snprintf(what, sizeof(what), "migration %s", sp_pg_schema_files[k].name);
        if (exec_simple(s, sp_pg_schema_files[k].sql, what, NULL, err) != SP_OK) return SP_ESINK;
        snprintf(ver, sizeof(ver), "%lld", (long long)k + 1);
        r = PQexecParams(s->c, "INSERT INTO slogpipe_schema (version, name) VALUES ($1, $2)", 2, NULL, vals,
                         NULL, NULL, 0);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            pg_msg(s->c, r, m, sizeof(m));
            PQclear(r);
            return sp_err_set(err, SP_ESINK, "%s: %s: record version: %s", s->where, what, m);
        }
        PQclear(r);
        sp_debug("%s: applied %s", s->where, sp_pg_schema_files[k].name);
        SP_FAILPOINT("pg.migration");
    }
    return exec_simple(s, "COMMIT", "commit migration", NULL, err);
}

/* ---- encoding --------------------------------------------------------------- */

/* Append bytes as UTF-8 text: invalid sequences and NUL become U+FFFD;
 * with copy set, escaped for COPY's text format. */
static void put_text(struct sp_buf *b, const char *p, size_t n, int copy)
{
    static const char fffd[] = "\xef\xbf\xbd";
    while (n) {
        size_t bad = n, ok;
        if (sp_utf8_valid(p, n, &bad)) bad = n;
        ok = bad;
        if (!copy && !memchr(p, 0, ok)) {
            sp_buf_append(b, p, ok);
        } else {
            size_t run = 0;
            sp_buf_ensure(b, ok * 2);
            for (size_t i = 0; i < ok; i++) {
                char ch = p[i], e = 0;
                if (ch == 0) {
                    sp_buf_append(b, p + run, i - run);
                    sp_buf_append(b, fffd, 3);
                    run = i + 1;
                    continue;
                }
                if (!copy) continue;
                switch (ch) {
                case '\\': e = '\\'; break;
                case '\n': e = 'n'; break;
                case '\r': e = 'r'; break;
                case '\t': e = 't'; break;
                default: continue;
                }
                sp_buf_append(b, p + run, i - run);
                sp_buf_putc(b, '\\');
                sp_buf_putc(b, e);
                run = i + 1;
            }
            sp_buf_append(b, p + run, ok - run);
        }
        p += ok;
        n -= ok;
        if (n) { /* one bad byte */
            sp_buf_append(b, fffd, 3);
            p++;
            n--;
        }
    }
}

/* COPY row fields: cf_* append one field and the tab before the next. */
static void cf_sep(struct sp_buf *b, int *first)
{
    if (!*first) sp_buf_putc(b, '\t');
    *first = 0;
}
static void cf_null(struct sp_buf *b, int *first)
{
    cf_sep(b, first);
    sp_buf_append(b, "\\N", 2);
}
static void cf_i64(struct sp_buf *b, int *first, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%" PRId64, v);
    cf_sep(b, first);
    sp_buf_append(b, t, (size_t)n);
}
static void cf_i64_nn(struct sp_buf *b, int *first, int64_t v)
{
    if (v < 0) cf_null(b, first);
    else cf_i64(b, first, v);
}
static void cf_i64_if(struct sp_buf *b, int *first, int has, int64_t v)
{
    if (!has) cf_null(b, first);
    else cf_i64(b, first, v);
}
static void cf_dbl_if(struct sp_buf *b, int *first, int has, double v)
{
    char t[40];
    int n;
    if (!has || isnan(v)) {
        cf_null(b, first);
        return;
    }
    n = snprintf(t, sizeof(t), "%.17g", v);
    cf_sep(b, first);
    sp_buf_append(b, t, (size_t)n);
}
static void cf_str(struct sp_buf *b, int *first, struct sp_str v)
{
    if (!v.p) {
        cf_null(b, first);
        return;
    }
    cf_sep(b, first);
    put_text(b, v.p, v.n, 1);
}
static void cf_str_nn(struct sp_buf *b, int *first, struct sp_str v)
{
    cf_str(b, first, v.p ? v : SP_STR_LIT(""));
}
static void cf_hex(struct sp_buf *b, int *first, const char *v)
{
    if (!v[0]) cf_null(b, first);
    else cf_str(b, first, sp_str_c(v));
}

/* Upsert parameters (text format). */
static void op_begin(struct sp_pg *s, int stmt, int flags)
{
    unsigned char h[4] = {(unsigned char)stmt, (unsigned char)flags, 0, 0};
    s->op_start = s->ops.len;
    s->op_nparams = 0;
    sp_buf_append(&s->ops, h, 4);
}
static void op_end(struct sp_pg *s)
{
    memcpy(s->ops.data + s->op_start + 2, &s->op_nparams, 2);
    s->nops++;
}
static void op_null(struct sp_pg *s)
{
    int32_t n = -1;
    sp_buf_append(&s->ops, &n, 4);
    s->op_nparams++;
}
static void op_str(struct sp_pg *s, struct sp_str v)
{
    size_t at;
    int32_t n;
    if (!v.p) {
        op_null(s);
        return;
    }
    at = s->ops.len;
    n = 0;
    sp_buf_append(&s->ops, &n, 4);
    put_text(&s->ops, v.p, v.n, 0);
    n = (int32_t)(s->ops.len - at - 4);
    memcpy(s->ops.data + at, &n, 4);
    sp_buf_putc(&s->ops, '\0');
    s->op_nparams++;
}
static void op_str_nn(struct sp_pg *s, struct sp_str v)
{
    op_str(s, v.p ? v : SP_STR_LIT(""));
}
static void op_cstr(struct sp_pg *s, const char *v)
{
    op_str(s, sp_str_c(v));
}
static void op_i64(struct sp_pg *s, int64_t v)
{
    char t[24];
    snprintf(t, sizeof(t), "%" PRId64, v);
    op_cstr(s, t);
}
static void op_i64_nn(struct sp_pg *s, int64_t v)
{
    if (v < 0) op_null(s);
    else op_i64(s, v);
}
static void op_i64_if(struct sp_pg *s, int has, int64_t v)
{
    if (!has) op_null(s);
    else op_i64(s, v);
}
static void op_dbl_if(struct sp_pg *s, int has, double v)
{
    char t[40];
    if (!has || isnan(v)) {
        op_null(s);
        return;
    }
    snprintf(t, sizeof(t), "%.17g", v);
    op_cstr(s, t);
}

/* ---- write --------------------------------------------------------------------- */

static int refuse_if_failed(struct sp_pg *s, struct sp_err *err)
{
    if (!s->failed) return SP_OK;
    return sp_err_set(err, SP_ESINK, "%s: an earlier write failed; the batch was rolled back", s->where);
}

static int64_t ev_crank(const struct sp_event *e)
{
    return (e->has & SP_HAS_CRANK_NUM) ? e->crank_num : e->ctx_crank_num;
}

static int64_t ev_block(const struct sp_event *e)
{
    return (e->has & SP_HAS_BLOCK_HEIGHT) ? e->block_height : e->ctx_block_height;
}

/* The derived rows of one slog line (vats, snapshots, blocks), as the SQLite sink writes them. */
static void put_derived(struct sp_pg *s, const struct sp_event *e)
{
    const struct sp_origin *g = &e->origin;
    switch (e->type) {
    case SP_EV_CREATE_VAT:
        op_begin(s, ST_VAT_CREATE, 0);
        op_str_nn(s, g->node);
        op_str_nn(s, e->vat_id);
        op_str(s, e->name);
        op_i64_if(s, e->has & SP_HAS_DYNAMIC, e->dynamic);
        op_str(s, e->manager_type);
        op_i64(s, g->line);
        op_end(s);
        return;
    case SP_EV_TERMINATE:
    case SP_EV_VAT_CLEANUP_COMPLETE:
        op_begin(s, e->type == SP_EV_TERMINATE ? ST_VAT_TERMINATE : ST_VAT_CLEANED, 0);
        op_str_nn(s, g->node);
        op_str_nn(s, e->vat_id);
        op_i64(s, g->line);
        op_end(s);
        return;
    case SP_EV_HEAP_SNAPSHOT_SAVE:
        if (!(e->has & SP_HAS_SNAP_POS) || !e->vat_id.p) return; /* no key (pismo era) */
        op_begin(s, ST_SNAP_SAVE, 0);
        op_str_nn(s, g->node);
        op_str_nn(s, e->vat_id);
        op_i64(s, e->snap_pos);
        op_str(s, e->snapshot_id);
        op_i64(s, g->line);
        op_dbl_if(s, e->has & SP_HAS_TIME, e->time);
        op_i64_if(s, e->has & SP_HAS_UNCOMPRESSED_SIZE, e->uncompressed_size);
        op_i64_if(s, e->has & SP_HAS_COMPRESSED_SIZE, e->compressed_size);
        op_dbl_if(s, e->has & SP_HAS_SAVE_SECONDS, e->save_seconds);
        op_dbl_if(s, e->has & SP_HAS_COMPRESS_SECONDS, e->compress_seconds);
        op_end(s);
        return;
    case SP_EV_HEAP_SNAPSHOT_LOAD:
        if (!(e->has & SP_HAS_SNAP_POS) || !e->vat_id.p) return;
        op_begin(s, ST_SNAP_LOAD, 0);
        op_str_nn(s, g->node);
        op_str_nn(s, e->vat_id);
        op_i64(s, e->snap_pos);
        op_str(s, e->snapshot_id);
        op_i64_if(s, e->has & SP_HAS_UNCOMPRESSED_SIZE, e->uncompressed_size);
        op_i64_if(s, e->has & SP_HAS_COMPRESSED_SIZE, e->compressed_size);
        op_end(s);
        return;
    case SP_EV_CS_BEGIN_BLOCK:
    case SP_EV_CS_END_BLOCK_FINISH:
    case SP_EV_CS_COMMIT_BLOCK_FINISH: {
        int which = e->type == SP_EV_CS_BEGIN_BLOCK      ? ST_BLOCK_BEGIN
                    : e->type == SP_EV_CS_END_BLOCK_FINISH ? ST_BLOCK_END
                                                           : ST_BLOCK_COMMIT;
        int64_t h = ev_block(e);
        if (h < 0) return; /* no block to attach it to */
        op_begin(s, which, 0);
        op_str_nn(s, g->node);
        op_i64(s, h);
        op_i64_if(s, e->has & SP_HAS_BLOCK_TIME, e->block_time);
        if (which == ST_BLOCK_BEGIN) op_i64(s, g->line);
        op_dbl_if(s, e->has & SP_HAS_TIME, e->time);
        op_end(s);
        return;
    }
    default:
        return;
    }
}

static void put_event(struct sp_pg *s, const struct sp_event *e)
{
    struct sp_buf *b = &s->copy[CP_EVENTS];
    const struct sp_origin *g = &e->origin;
    struct sp_str type = e->type_name.p ? e->type_name : sp_str_c(sp_evtype_name(e->type));
    int f = 1;

    cf_str_nn(b, &f, g->node);
    cf_str_nn(b, &f, g->source);
    cf_i64(b, &f, g->line);
    cf_i64_nn(b, &f, g->offset);
    cf_str_nn(b, &f, type);
    cf_dbl_if(b, &f, e->has & SP_HAS_TIME, e->time);
    cf_dbl_if(b, &f, e->has & SP_HAS_MONOTIME, e->monotime);
    cf_dbl_if(b, &f, e->has & SP_HAS_SECONDS, e->seconds);
    cf_str(b, &f, e->vat_id);
    cf_i64_nn(b, &f, ev_crank(e));
    cf_i64_if(b, &f, e->has & SP_HAS_DELIVERY_NUM, e->delivery_num);
    cf_i64_if(b, &f, e->has & SP_HAS_SYSCALL_NUM, e->syscall_num);
    cf_i64_if(b, &f, e->has & SP_HAS_REPLAY, e->replay != 0);
    cf_i64_nn(b, &f, ev_block(e));
    cf_i64(b, &f, e->ctx_epoch);
    if (e->type == SP_EV_UNKNOWN || e->type >= SP_EV_CS_INIT) cf_str(b, &f, e->raw); /* as the SQLite sink */
    else cf_null(b, &f);
    cf_str(b, &f, e->message_type);
    cf_str(b, &f, e->crank_type);
    cf_str(b, &f, e->crankhash);
    cf_str(b, &f, e->activityhash);
    cf_str(b, &f, e->snapshot_id);
    cf_i64_if(b, &f, e->has & SP_HAS_SNAP_POS, e->snap_pos);
    cf_i64_if(b, &f, e->has & SP_HAS_UNCOMPRESSED_SIZE, e->uncompressed_size);
    cf_i64_if(b, &f, e->has & SP_HAS_DELIVERIES, e->deliveries);
    cf_str(b, &f, e->args);
    sp_buf_putc(b, '\n');
    sp_sources_note(&s->srcs, e);
    put_derived(s, e);
}

static void put_delivery(struct sp_pg *s, const struct sp_delivery *d)
{
    struct sp_buf *b = &s->copy[CP_DELIVERIES];
    int f = 1;
    cf_str_nn(b, &f, d->origin.node);
    cf_str_nn(b, &f, d->origin.source);
    cf_i64(b, &f, d->origin.line);
    cf_i64_nn(b, &f, d->result_line);
    cf_str_nn(b, &f, d->vat_id);
    cf_i64_nn(b, &f, d->delivery_num);
    cf_i64_nn(b, &f, d->crank_num);
    cf_i64_nn(b, &f, d->block_height);
    cf_i64(b, &f, d->epoch);
    cf_str(b, &f, d->dispatch);
    cf_i64(b, &f, d->replay != 0);
    cf_str(b, &f, d->status);
    cf_i64_if(b, &f, d->has_computrons, d->computrons);
    cf_i64(b, &f, d->syscalls);
    cf_dbl_if(b, &f, 1, d->time);
    cf_dbl_if(b, &f, 1, d->seconds);
    cf_hex(b, &f, d->vd_hash);
    cf_hex(b, &f, d->sc_hash);
    cf_i64_nn(b, &f, d->run_num);
    cf_str(b, &f, d->method);
    cf_str(b, &f, d->target);
    cf_i64_nn(b, &f, d->resolutions);
    sp_buf_putc(b, '\n');
}

static void put_bad(struct sp_pg *s, const struct sp_bad *x)
{
    struct sp_buf *b = &s->copy[CP_ERRORS];
    char excerpt[SP_EXCERPT_MAX + 8];
    int f = 1;
    sp_excerpt(x->bytes.p ? x->bytes.p : "", x->bytes.n, SP_EXCERPT_MAX, excerpt, sizeof(excerpt));
    cf_str_nn(b, &f, x->origin.node);
    cf_str_nn(b, &f, x->origin.source);
    cf_i64_nn(b, &f, x->origin.line);
    cf_i64_nn(b, &f, x->origin.offset);
    cf_str(b, &f, sp_str_c(x->reason ? x->reason : "unknown error"));
    if (x->bytes.p) cf_str(b, &f, sp_str_c(excerpt));
    else cf_null(b, &f);
    sp_buf_putc(b, '\n');
}

static void put_titem(struct sp_pg *s, const struct sp_titem *t)
{
    struct sp_buf *b = &s->copy[CP_TITEMS];
    int f = 1;
    cf_str_nn(b, &f, t->node);
    cf_str_nn(b, &f, t->vat_id);
    cf_i64(b, &f, t->position);
    cf_i64_nn(b, &f, t->incarnation);
    cf_str(b, &f, t->d_type);
    cf_str_nn(b, &f, t->item);
    cf_hex(b, &f, t->d_hash);
    cf_hex(b, &f, t->sc_hash);
    cf_str(b, &f, t->status);
    cf_i64_if(b, &f, t->has_computrons, t->computrons);
    cf_str(b, &f, t->snapshot_id);
    cf_str_nn(b, &f, t->source);
    cf_i64(b, &f, s->titem_seq++);
    sp_buf_putc(b, '\n');
}

static void put_tspan(struct sp_pg *s, const struct sp_tspan *t)
{
    op_begin(s, ST_TSPAN, 0);
    op_str_nn(s, t->node);
    op_str_nn(s, t->vat_id);
    op_i64(s, t->start_pos);
    op_i64(s, t->end_pos);
    op_str(s, t->hash);
    op_str(s, t->computed_hash);
    op_i64(s, t->items);
    op_i64(s, t->is_current != 0);
    op_i64_nn(s, t->incarnation);
    op_str_nn(s, t->source);
    op_end(s);
}

static void put_tsnapshot(struct sp_pg *s, const struct sp_tsnapshot *t)
{
    op_begin(s, ST_TSNAPSHOT, 0);
    op_str_nn(s, t->node);
    op_str_nn(s, t->vat_id);
    op_i64(s, t->snap_pos);
    op_str(s, t->hash);
    op_i64(s, t->in_use != 0);
    op_i64_nn(s, t->uncompressed_size);
    op_i64_nn(s, t->compressed_size);
    op_i64_nn(s, t->has_blob);
    op_str_nn(s, t->source);
    op_end(s);
}

static void put_kv(struct sp_pg *s, const struct sp_kv *k)
{
    op_begin(s, ST_KV, 0);
    op_str_nn(s, k->node);
    op_str_nn(s, k->key);
    op_str(s, k->value);
    op_str_nn(s, k->source);
    op_end(s);
}

static void put_span(struct sp_pg *s, const struct sp_span *x)
{
    if (x->retracted) {
        op_begin(s, ST_SPAN_DEL, 0);
        op_str_nn(s, x->node);
        op_str_nn(s, x->vat_id);
        op_i64(s, x->start_pos);
        op_end(s);
        return;
    }
    op_begin(s, ST_SPAN, 0);
    op_str_nn(s, x->node);
    op_str_nn(s, x->vat_id);
    op_i64_nn(s, x->incarnation);
    op_i64(s, x->start_pos);
    op_i64(s, x->end_pos); /* -1 = open span */
    op_str(s, x->first_type);
    op_str(s, x->last_type);
    op_i64(s, x->is_current != 0);
    op_str(s, x->hash);
    op_i64(s, x->hash_ok);
    op_i64(s, x->deliveries);
    op_i64(s, x->from_transcript != 0);
    op_i64(s, x->from_slog != 0);
    op_str(s, x->save_snapshot_id);
    op_str(s, x->load_snapshot_id);
    op_end(s);
}

static void put_anomaly(struct sp_pg *s, const struct sp_anomaly *x)
{
    if (x->retracted) {
        op_begin(s, ST_ANOMALY_DEL, 0);
        op_str_nn(s, x->node);
        op_str(s, x->vat_id);
        op_str_nn(s, x->kind);
        op_i64_nn(s, x->position);
        op_end(s);
        return;
    }
    op_begin(s, ST_ANOMALY, 0);
    op_str_nn(s, x->node);
    op_str(s, x->vat_id);
    op_str_nn(s, x->kind);
    op_i64_nn(s, x->incarnation);
    op_i64_nn(s, x->position);
    op_str_nn(s, x->severity);
    if (x->detail.p) op_str(s, x->detail);
    else op_cstr(s, "{}");
    op_str(s, x->source);
    op_i64_nn(s, x->line);
    op_end(s);
}

/* SP_REC_SUPERSEDE: the discarded execution's rows get superseded = 1 and
 * its snapshot loads / saves stop counting, as the SQLite sink does
 * (put_supersede there). Run after the batch's COPYs, which may hold them. */
static void put_supersede(struct sp_pg *s, const struct sp_supersede *x)
{
    struct sp_buf t = s->ops; /* the op functions write to s->ops: point it at post */
    s->ops = s->post;
    for (int st = ST_SUP_LOAD; st <= ST_SUP_DLV_MARK; st++) {
        op_begin(s, st, 0);
        op_str_nn(s, x->node);
        op_str_nn(s, x->source);
        op_i64(s, x->epoch);
        op_i64(s, x->block_height);
        op_i64(s, x->first_line);
        if (st == ST_SUP_DLV_MARK) {
            op_i64(s, x->last_line);
        } else {
            op_i64(s, x->first_offset);
            op_i64(s, x->last_line);
            op_i64(s, x->last_offset);
        }
        op_end(s);
    }
    s->post = s->ops;
    s->ops = t;
}

static void put_run(struct sp_pg *s, const struct sp_run *x)
{
    op_begin(s, ST_RUN, 0);
    op_str_nn(s, x->node);
    op_i64(s, x->block_height);
    op_i64(s, x->run_num);
    op_i64(s, x->epoch);
    op_str(s, x->source);
    op_str(s, x->phase);
    op_str(s, x->trigger);
    op_str(s, x->inbound_num);
    op_str(s, x->trigger_source);
    op_str(s, x->trigger_type);
    op_i64_nn(s, x->trigger_count);
    op_i64_nn(s, x->start_line);
    op_i64_nn(s, x->finish_line);
    op_dbl_if(s, 1, x->start_time);
    op_dbl_if(s, 1, x->finish_time);
    op_dbl_if(s, 1, x->seconds);
    op_i64_nn(s, x->beans_start);
    op_i64_nn(s, x->beans_used);
    op_i64_nn(s, x->beans_remaining);
    op_i64(s, x->computrons);
    op_i64(s, x->cranks);
    op_i64(s, x->deliveries);
    op_dbl_if(s, 1, x->delivery_seconds);
    op_dbl_if(s, 1, x->boyd_seconds);
    op_end(s);
}

static void put_block(struct sp_pg *s, const struct sp_block *x)
{
    op_begin(s, ST_BLOCK_BUDGET, 0);
    op_str_nn(s, x->node);
    op_i64(s, x->block_height);
    op_i64(s, x->bootstrap != 0);
    op_dbl_if(s, 1, x->block_seconds);
    op_dbl_if(s, 1, x->run_seconds);
    op_dbl_if(s, 1, x->end_block_seconds);
    op_dbl_if(s, 1, x->commit_seconds);
    op_dbl_if(s, 1, x->save_seconds);
    op_dbl_if(s, 1, x->cosmos_commit_seconds);
    op_i64(s, x->runs);
    op_i64(s, x->computrons);
    op_i64(s, x->cranks);
    op_i64(s, x->deliveries);
    op_i64(s, x->beans_used);
    op_dbl_if(s, 1, x->boyd_seconds);
    op_i64(s, x->snapshot_saves);
    op_dbl_if(s, 1, x->snapshot_seconds);
    op_i64(s, x->replays);
    op_dbl_if(s, 1, x->replay_seconds);
    op_dbl_if(s, 1, x->begin_time);
    op_dbl_if(s, 1, x->end_time);
    op_dbl_if(s, 1, x->commit_time);
    op_i64(s, x->committed != 0);
    op_end(s);
}

static size_t batch_bytes(const struct sp_pg *s)
{
    size_t n = s->ops.len - s->ops_sent + s->post.len - s->post_sent;
    for (int i = 0; i < CP__COUNT; i++) n += s->copy[i].len;
    return n;
}

static int send_batch(struct sp_pg *s, int keep, int *retry, struct sp_err *err);

static int pg_write(void *ctx, const struct sp_record *rec, struct sp_err *err)
{
    struct sp_pg *s = ctx;
    if (refuse_if_failed(s, err) != SP_OK) return SP_ESINK;
    switch (rec->kind) {
    case SP_REC_EVENT: put_event(s, rec->u.event); break;
    case SP_REC_DELIVERY: put_delivery(s, rec->u.delivery); break;
    case SP_REC_BAD: put_bad(s, rec->u.bad); break;
    case SP_REC_TITEM: put_titem(s, rec->u.titem); break;
    case SP_REC_TSPAN: put_tspan(s, rec->u.tspan); break;
    case SP_REC_TSNAPSHOT: put_tsnapshot(s, rec->u.tsnapshot); break;
    case SP_REC_KV: put_kv(s, rec->u.kv); break;
    case SP_REC_SPAN: put_span(s, rec->u.span); break;
    case SP_REC_ANOMALY: put_anomaly(s, rec->u.anomaly); break;
    case SP_REC_SUPERSEDE: put_supersede(s, rec->u.supersede); break;
    case SP_REC_RUN: put_run(s, rec->u.run); break;
    case SP_REC_BLOCK: put_block(s, rec->u.block); break;
    default:
        return sp_err_set(err, SP_EINTERNAL, "%s: unknown record kind %d", s->where, (int)rec->kind);
    }
    if (batch_bytes(s) >= SP_PG_SPILL_BYTES) {
        /* a huge batch (a swing-store commits once at its end): send what
         * we have inside the open transaction; from now on a broken
         * connection fails the batch instead of retrying it */
        if (send_batch(s, 0, NULL, err) != SP_OK) {
            s->failed = 1;
            disconnect(s);
            return SP_ESINK;
        }
        s->spilled = 1;
    }
    return SP_OK;
}

/* ---- sending a batch ---------------------------------------------------------- */

static int run_ops(struct sp_pg *s, const struct sp_buf *ops, size_t at, int *retry, struct sp_err *err)
{
    const char *vals[32];
    int lens[32];
    while (at < ops->len) {
        const unsigned char *h = (const unsigned char *)ops->data + at;
        int stmt = h[0], flags = h[1];
        uint16_t np;
        char name[16];
        PGresult *r;
        memcpy(&np, h + 2, 2);
        at += 4;
        for (int i = 0; i < np && i < 32; i++) {
            int32_t n;
            memcpy(&n, ops->data + at, 4);
            at += 4;
            if (n < 0) {
                vals[i] = NULL;
                lens[i] = 0;
            } else {
                vals[i] = ops->data + at;
                lens[i] = n;
                at += (size_t)n + 1;
            }
        }
        snprintf(name, sizeof(name), "sp%d", stmt);
        r = PQexecPrepared(s->c, name, np, vals, lens, NULL, 0);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            char m[400];
            pg_msg(s->c, r, m, sizeof(m));
            if (retry) *retry = retryable(s->c, r);
            PQclear(r);
            return sp_err_set(err, SP_ESINK, "%s: %s: %s", s->where, stmt_defs[stmt].name, m);
        }
        if ((flags & OP_MUST_CHANGE) && strcmp(PQcmdTuples(r), "0") == 0) {
            /* vals: group, topic, partition, next, skip, time[, was_next, was_skip] */
            sp_err_set(err, SP_ESINK,
                       "kafka: %s/%s (group %s) was advanced by another consumer (the database is no "
                       "longer at offset %s): not committing, restart to resume from the database",
                       vals[1], vals[2], vals[0], np > 6 && vals[6] ? vals[6] : "(none)");
            PQclear(r);
            if (retry) *retry = 0;
            return SP_ESINK;
        }
        PQclear(r);
    }
    return SP_OK;
}

static int run_copy(struct sp_pg *s, int which, int *retry, struct sp_err *err)
{
    struct sp_buf *b = &s->copy[which];
    PGresult *r = PQexec(s->c, copy_defs[which].sql);
    char m[400];
    int ok;
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) goto fail;
    PQclear(r);
    ok = PQputCopyData(s->c, b->data, (int)b->len) == 1;
    ok = PQputCopyEnd(s->c, ok ? NULL : "slogpipe: sending failed") == 1 && ok;
    r = PQgetResult(s->c);
    if (!ok || !r || PQresultStatus(r) != PGRES_COMMAND_OK) goto fail;
    PQclear(r);
    while ((r = PQgetResult(s->c))) PQclear(r);
    if (which == CP_TITEMS) {
        char name[16];
        snprintf(name, sizeof(name), "sp%d", ST_TITEM_MERGE);
        r = PQexecPrepared(s->c, name, 0, NULL, NULL, NULL, 0);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            pg_msg(s->c, r, m, sizeof(m));
            if (retry) *retry = retryable(s->c, r);
            PQclear(r);
            return sp_err_set(err, SP_ESINK, "%s: %s: %s", s->where, stmt_defs[ST_TITEM_MERGE].name, m);
        }
        PQclear(r);
        if (exec_simple(s, "DELETE FROM sp_titems_stage", "empty sp_titems_stage", retry, err) != SP_OK)
            return SP_ESINK;
    }
    return SP_OK;
fail:
    pg_msg(s->c, r, m, sizeof(m));
    if (retry) *retry = retryable(s->c, r);
    PQclear(r);
    while (s->c && (r = PQgetResult(s->c))) PQclear(r);
    return sp_err_set(err, SP_ESINK, "%s: COPY %s: %s", s->where, copy_defs[which].table, m);
}

/* Send what is buffered (opening the transaction first); keep 0: forget
 * it (a spill), keep 1: leave it buffered for a retry (a commit). */
static int send_batch(struct sp_pg *s, int keep, int *retry, struct sp_err *err)
{
    if (!s->in_txn) {
        if (!s->c) {
            int rc = connect_prepare(s, retry, err);
            if (rc == SP_OK) rc = prepare_all(s, retry, err);
            if (rc != SP_OK) return rc;
        }
        if (exec_simple(s, "BEGIN", "begin", retry, err) != SP_OK) return SP_ESINK;
        s->in_txn = 1;
    }
    if (run_ops(s, &s->ops, s->ops_sent, retry, err) != SP_OK) return SP_ESINK;
    if (!keep) s->ops_sent = s->ops.len;
    for (int i = 0; i < CP__COUNT; i++) {
        if (!s->copy[i].len) continue;
        if (run_copy(s, i, retry, err) != SP_OK) return SP_ESINK;
        if (!keep) sp_buf_reset(&s->copy[i]);
    }
    if (run_ops(s, &s->post, s->post_sent, retry, err) != SP_OK) return SP_ESINK;
    if (!keep) s->post_sent = s->post.len;
    return SP_OK;
}

static void batch_clear(struct sp_pg *s)
{
    for (int i = 0; i < CP__COUNT; i++) sp_buf_reset(&s->copy[i]);
    sp_buf_reset(&s->ops);
    s->nops = 0;
    s->ops_sent = 0;
    sp_buf_reset(&s->post);
    s->post_sent = 0;
    s->spilled = 0;
    s->has_jsonl_bytes = 0;
    sp_sources_clear(&s->srcs);
}

/* The ops the commit adds at the end of the batch (checkpoints, state, sources). */
static void state_op(struct sp_pg *s, const char *key, const char *value, double now)
{
    op_begin(s, ST_STATE_PUT, 0);
    op_cstr(s, key);
    op_cstr(s, value);
    op_dbl_if(s, 1, now);
    op_end(s);
}

static void commit_ops(struct sp_pg *s, const struct sp_checkpoint *cps, size_t ncps)
{
    double now = wall_now();
    char seq[32];
    /* the commit marks itself, so that a retry after a COMMIT whose answer
     * was lost can tell whether it landed (see committed_already) */
    snprintf(seq, sizeof(seq), "%lld", (long long)++s->batch_seq);
    state_op(s, s->batch_key, seq, now);
    for (size_t i = 0; i < ncps; i++) {
        op_begin(s, ST_CKPT_PUT, 0);
        op_cstr(s, cps[i].node ? cps[i].node : "");
        op_cstr(s, cps[i].source ? cps[i].source : "");
        op_i64(s, cps[i].line);
        op_i64(s, cps[i].offset);
        op_i64_if(s, s->has_jsonl_bytes, s->jsonl_bytes);
        op_cstr(s, cps[i].state);
        op_dbl_if(s, 1, now);
        op_end(s);
    }
    if (s->has_jsonl_bytes) {
        char v[32];
        snprintf(v, sizeof(v), "%lld", (long long)s->jsonl_bytes);
        state_op(s, SP_STATE_JSONL_BYTES, v, now);
    }
    for (size_t i = 0; i < s->srcs.n; i++) {
        const struct sp_src_total *a = &s->srcs.v[i];
        op_begin(s, ST_SOURCE, 0);
        op_cstr(s, a->node);
        op_cstr(s, a->source);
        op_i64(s, a->events);
        op_i64(s, a->first_line);
        op_i64(s, a->last_line);
        op_dbl_if(s, a->has_time, a->min_time);
        op_dbl_if(s, a->has_time, a->max_time);
        op_end(s);
    }
    sp_sources_clear(&s->srcs);
}

static double retry_seconds(void)
{
    const char *v = getenv("SLOGPIPE_PG_RETRY_SECONDS");
    char *end;
    double d;
    if (!v || !*v) return RETRY_DEFAULT_S;
    d = strtod(v, &end);
    return (*end || d < 0) ? RETRY_DEFAULT_S : d;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* After a failed COMMIT: 1 if it landed all the same (the server committed,
 * the answer was lost), 0 if not, -1 if that cannot be told yet. */
static int committed_already(struct sp_pg *s, struct sp_err *err)
{
    const char *vals[1] = {s->batch_key};
    char seq[32];
    PGresult *r;
    int retry = 1, landed;
    if (!s->c && (connect_prepare(s, &retry, err) != SP_OK || prepare_all(s, &retry, err) != SP_OK)) {
        disconnect(s);
        return -1;
    }
    r = PQexecParams(s->c, "SELECT value FROM sink_state WHERE key = $1", 1, NULL, vals, NULL, NULL, 0);
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        disconnect(s);
        return -1;
    }
    snprintf(seq, sizeof(seq), "%lld", (long long)s->batch_seq);
    landed = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), seq) == 0;
    PQclear(r);
    return landed;
}

static int pg_commit(void *ctx, const struct sp_checkpoint *cps, size_t ncps, struct sp_err *err)
{
    struct sp_pg *s = ctx;
    double deadline = sp_now_s() + s->retry_s;
    long wait_ms = RETRY_FIRST_MS;
    int attempt = 0, commit_sent = 0;

    if (refuse_if_failed(s, err) != SP_OK) return SP_ESINK;
    if (!s->nops && !ncps && !s->spilled && batch_bytes(s) == 0 && !s->has_jsonl_bytes) return SP_OK;
    commit_ops(s, cps, ncps);
    for (;;) {
        int retry = 0, rc;
        if (commit_sent) {
            int landed = committed_already(s, err);
            if (landed == 1) {
                sp_info("%s: the commit whose answer was lost had landed", s->where);
                break;
            }
            if (landed == 0) commit_sent = 0;
        }
        /* the ops and rows stay buffered until COMMIT succeeds: a retry
         * sends the same batch again from BEGIN */
        rc = commit_sent ? SP_ESINK : send_batch(s, 1, &retry, err);
        if (commit_sent) retry = 1;
        if (rc == SP_OK) {
            SP_FAILPOINT("pg.before_commit");
            rc = exec_simple(s, "COMMIT", "commit", &retry, err);
            if (rc != SP_OK && retry) commit_sent = 1; /* it may have landed */
        }
        if (rc == SP_OK) break;
        attempt++;
        if (!retry || s->spilled || sp_now_s() + (double)wait_ms / 1000 > deadline) {
            if (retry && !s->spilled && attempt > 1)
                sp_err_prefix(err, "gave up after %d attempts in %.0f s: ", attempt, s->retry_s);
            s->failed = 1;
            disconnect(s);
            batch_clear(s);
            return SP_ESINK;
        }
        sp_warn("%s (attempt %d; retrying the batch in %.1f s)", err->msg, attempt, (double)wait_ms / 1000);
        disconnect(s);
        sleep_ms(wait_ms);
        wait_ms = wait_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait_ms * 2;
    }
    s->in_txn = 0;
    SP_FAILPOINT("pg.committed");
    batch_clear(s);
    return SP_OK;
}

/* ---- open, close ------------------------------------------------------------------ */

static void pg_close(void *ctx)
{
    struct sp_pg *s = ctx;
    if (!s) return;
    if (s->c && !s->failed && !s->in_txn && s->batch_seq) {
        /* this process's commit marker is of no use after a clean close */
        const char *vals[1] = {s->batch_key};
        PQclear(PQexecParams(s->c, "DELETE FROM sink_state WHERE key = $1", 1, NULL, vals, NULL, NULL, 0));
    }
    disconnect(s); /* an open transaction rolls back with the connection */
    for (int i = 0; i < CP__COUNT; i++) sp_buf_free(&s->copy[i]);
    sp_buf_free(&s->ops);
    sp_buf_free(&s->post);
    sp_sources_free(&s->srcs);
    free(s->target);
    free(s);
}

static int pg_open(void **ctx, const char *target, const struct sp_sink_opts *o, struct sp_err *err)
{
    struct sp_pg *s = sp_xcalloc(1, sizeof(*s));
    (void)o; /* batching is the pipeline's; --fast-backfill changes nothing here */
    *ctx = NULL;
    if (!target || !*target) {
        free(s);
        return sp_err_set(err, SP_EUSAGE, "postgresql: no connection string");
    }
    s->target = sp_xstrdup(target);
    sp_pg_describe(target, s->where, sizeof(s->where));
    for (int i = 0; i < CP__COUNT; i++) sp_buf_init(&s->copy[i], 0);
    sp_buf_init(&s->ops, 0);
    sp_buf_init(&s->post, 0);
    s->retry_s = retry_seconds();
    {
        char host[64] = "";
        gethostname(host, sizeof(host) - 1);
        snprintf(s->batch_key, sizeof(s->batch_key), "pg.commit:%s:%ld:%llx", host, (long)getpid(),
                 (unsigned long long)sp_now_ns());
    }
    if (connect_prepare(s, NULL, err) != SP_OK || migrate(s, err) != SP_OK || prepare_all(s, NULL, err) != SP_OK) {
        pg_close(s);
        return SP_ESINK;
    }
    *ctx = s;
    return SP_OK;
}

const struct sp_sink_ops sp_sink_pg = {
    .name = "postgresql",
    .open = pg_open,
    .write = pg_write,
    .commit = pg_commit,
    .close = pg_close,
};

/* ---- reads and the store ops -------------------------------------------------------- */

/* Run a read with params; retried on a new connection like a commit while
 * no batch is on the server. *out: the result (PGRES_TUPLES_OK). */
static int pg_read(struct sp_pg *s, const char *what, const char *sql, int n, const char *const *vals,
                   PGresult **out, struct sp_err *err)
{
    double deadline = sp_now_s() + s->retry_s;
    long wait_ms = RETRY_FIRST_MS;
    *out = NULL;
    for (;;) {
        int retry = 1;
        PGresult *r = NULL;
        char m[400];
        if (!s->c && connect_prepare(s, &retry, err) == SP_OK && prepare_all(s, &retry, err) != SP_OK)
            disconnect(s);
        if (s->c) {
            r = PQexecParams(s->c, sql, n, NULL, vals, NULL, NULL, 0);
            if (r && PQresultStatus(r) == PGRES_TUPLES_OK) {
                *out = r;
                return SP_OK;
            }
            pg_msg(s->c, r, m, sizeof(m));
            retry = retryable(s->c, r);
            PQclear(r);
            sp_err_set(err, SP_ESINK, "%s: %s: %s", s->where, what, m);
        }
        if (!retry || s->in_txn || sp_now_s() + (double)wait_ms / 1000 > deadline) {
            if (s->in_txn) {
                s->failed = 1;
                disconnect(s);
            }
            return SP_ESINK;
        }
        sp_warn("%s (retrying in %.1f s)", err->msg, (double)wait_ms / 1000);
        disconnect(s);
        sleep_ms(wait_ms);
        wait_ms = wait_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait_ms * 2;
    }
}

static int st_checkpoint_get(void *ctx, const char *node, const char *source, int64_t *line, int64_t *offset,
                             char **state, struct sp_err *err)
{
    struct sp_pg *s = ctx;
    const char *vals[2] = {node ? node : "", source ? source : ""};
    PGresult *r;
    if (state) *state = NULL;
    if (pg_read(s, "select checkpoints",
                "SELECT line, \"offset\", state FROM checkpoints WHERE node = $1 AND source = $2", 2, vals, &r,
                err) != SP_OK)
        return SP_ESINK;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return SP_EOF;
    }
    if (line) *line = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    if (offset) *offset = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    if (state && !PQgetisnull(r, 0, 2)) *state = sp_xstrdup(PQgetvalue(r, 0, 2));
    PQclear(r);
    return SP_OK;
}

static int st_state_get(void *ctx, const char *key, char **value, struct sp_err *err)
{
    struct sp_pg *s = ctx;
    const char *vals[1] = {key};
    PGresult *r;
    *value = NULL;
    if (pg_read(s, "select sink_state", "SELECT value FROM sink_state WHERE key = $1", 1, vals, &r, err) != SP_OK)
        return SP_ESINK;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return SP_EOF;
    }
    if (!PQgetisnull(r, 0, 0)) *value = sp_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return SP_OK;
}

static int st_state_put(void *ctx, const char *key, const char *value, struct sp_err *err)
{
    struct sp_pg *s = ctx;
    if (refuse_if_failed(s, err) != SP_OK) return SP_ESINK;
    state_op(s, key, value, wall_now());
    return SP_OK;
}

static int st_sync(void *ctx, struct sp_err *err)
{
    return refuse_if_failed(ctx, err); /* commit returns once COMMIT did */
}

static int st_begin(void *ctx, struct sp_err *err)
{
    return refuse_if_failed(ctx, err); /* the batch is buffered: nothing to open */
}

static void st_set_jsonl_bytes(void *ctx, int64_t bytes)
{
    struct sp_pg *s = ctx;
    s->has_jsonl_bytes = 1;
    s->jsonl_bytes = bytes;
}

static int st_offset_get(void *ctx, const char *group, const char *topic, int32_t partition, int *found,
                         int64_t *next, int64_t *skip, struct sp_err *err)
{
    struct sp_pg *s = ctx;
    char part[16];
    const char *vals[3] = {group, topic, part};
    PGresult *r;
    snprintf(part, sizeof(part), "%" PRId32, partition);
    *found = 0;
    if (pg_read(s, "select kafka_offsets",
                "SELECT next_offset, skip_lines FROM kafka_offsets WHERE group_id = $1 AND topic = $2 "
                "AND partition = $3",
                3, vals, &r, err) != SP_OK)
        return SP_ESINK;
    if (PQntuples(r) > 0) {
        *found = 1;
        *next = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *skip = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    return SP_OK;
}

/* The offset goes in as a compare-and-set inside the commit's transaction:
 * an UPDATE guarded by the position this consumer started from (or an
 * INSERT ... ON CONFLICT DO NOTHING when none was stored). Under READ
 * COMMITTED a concurrent commit of the same partition makes the guard see
 * the new row (after waiting for its lock), so the statement changes
 * nothing and the whole batch is refused. */
static int st_offset_put(void *ctx, const char *group, const char *topic, int32_t partition, int was_found,
                         int64_t was_next, int64_t was_skip, int64_t next, int64_t skip, struct sp_err *err)
{
    struct sp_pg *s = ctx;
    if (refuse_if_failed(s, err) != SP_OK) return SP_ESINK;
    op_begin(s, was_found ? ST_OFFSET_UPDATE : ST_OFFSET_INSERT, OP_MUST_CHANGE);
    op_cstr(s, group);
    op_cstr(s, topic);
    op_i64(s, partition);
    op_i64(s, next);
    op_i64(s, skip);
    op_dbl_if(s, 1, wall_now());
    if (was_found) {
        op_i64(s, was_next);
        op_i64(s, was_skip);
    }
    op_end(s);
    return SP_OK;
}

const struct sp_store_ops sp_store_pg = {
    .sink = &sp_sink_pg,
    .sync = st_sync,
    .begin = st_begin,
    .checkpoint_get = st_checkpoint_get,
    .state_get = st_state_get,
    .state_put = st_state_put,
    .set_jsonl_bytes = st_set_jsonl_bytes,
    .offset_get = st_offset_get,
    .offset_put = st_offset_put,
    .sqlite = NULL, /* not SQLite: no end-of-run analysis */
    .kind = "postgresql",
};
