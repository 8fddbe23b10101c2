/* sp_sink.h - the records every stage hands to the sinks, and the sink ops table (SQLite, JSONL, Kafka). */
#ifndef SP_SINK_H
#define SP_SINK_H

#include "../core/sp_event.h"
#include "../core/sp_hash.h"

/* ---- Records ------------------------------------------------------------ */

enum sp_record_kind {
    SP_REC_EVENT = 1, /* a normalized slog line (struct sp_event) */
    SP_REC_DELIVERY,  /* a deliver/deliver-result pair (struct sp_delivery) */
    SP_REC_BAD,       /* dead letter (struct sp_bad) */
    SP_REC_TITEM,     /* transcript item (struct sp_titem) */
    SP_REC_TSPAN,     /* stored transcript span (struct sp_tspan) */
    SP_REC_TSNAPSHOT, /* stored snapshot row (struct sp_tsnapshot) */
    SP_REC_KV,        /* selected kvStore/export-data key (struct sp_kv) */
    SP_REC_SPAN,      /* analysed span (struct sp_span), from timeline/ */
    SP_REC_ANOMALY,   /* anomaly (struct sp_anomaly), from timeline/ */
    SP_REC_SUPERSEDE, /* a discarded execution's lines (struct sp_supersede), from timeline/ */
    SP_REC_RUN,       /* one kernel run of a block (struct sp_run), from timeline/sp_tl_runs.c */
    SP_REC_BLOCK      /* a block's time budget (struct sp_block), from timeline/sp_tl_runs.c */
};

struct sp_delivery {
    struct sp_origin origin; /* line of the `deliver` */
    int64_t result_line;     /* -1 if no deliver-result was seen */
    struct sp_str vat_id;
    int64_t delivery_num;    /* -1 if absent */
    int64_t crank_num;       /* -1 for replay */
    int64_t block_height;    /* -1 unknown */
    int64_t epoch;
    struct sp_str dispatch;
    int replay;
    struct sp_str status;    /* {NULL,0} if no result */
    int has_computrons;
    int64_t computrons;
    int64_t syscalls;
    double time;             /* time of the deliver line (NaN if absent) */
    double seconds;          /* deliver-result seconds (NaN if absent) */
    char vd_hash[SP_HASH_HEX_LEN + 1]; /* "" if no vd */
    char sc_hash[SP_HASH_HEX_LEN + 1];
    int64_t run_num;         /* runNum of the enclosing cosmic-swingset run, -1 outside one */
    struct sp_str method;    /* message: smallcaps methargs #["name",...] or legacy msg.method; else {NULL,0} */
    struct sp_str target;    /* message: target vref vd[1]; else {NULL,0} */
    int64_t resolutions;     /* notify: number of resolutions in vd[1]; -1 otherwise */
};

struct sp_bad {
    struct sp_origin origin;
    const char *reason;      /* NUL-terminated; already names the column/field */
    struct sp_str bytes;     /* offending bytes (sinks store an excerpt) */
};

struct sp_titem {
    struct sp_str node, source, vat_id;
    int64_t position;
    int64_t incarnation;     /* -1 unknown */
    struct sp_str item;      /* exact stored bytes */
    struct sp_str d_type;
    char d_hash[SP_HASH_HEX_LEN + 1];
    char sc_hash[SP_HASH_HEX_LEN + 1];
    struct sp_str status;
    int has_computrons;
    int64_t computrons;
    struct sp_str snapshot_id;
};

struct sp_tspan {
    struct sp_str node, source, vat_id;
    int64_t start_pos, end_pos;
    struct sp_str hash;          /* stored */
    struct sp_str computed_hash; /* {NULL,0} when items absent */
    int64_t items;
    int is_current;
    int64_t incarnation;         /* -1 unknown */
};

struct sp_tsnapshot {
    struct sp_str node, source, vat_id;
    int64_t snap_pos;
    struct sp_str hash;
    int in_use;
    int64_t uncompressed_size, compressed_size; /* -1 unknown */
    int has_blob;                               /* -1 unknown */
};

struct sp_kv {
    struct sp_str node, source, key, value;
};

struct sp_span {
    struct sp_str node, vat_id;
    int64_t incarnation, start_pos, end_pos; /* end_pos -1 = open (slog-only current span) */
    struct sp_str first_type, last_type;
    int is_current;
    struct sp_str hash;        /* stored hash, if known */
    int hash_ok;               /* 1 ok, 0 mismatch, -1 not verifiable */
    int64_t deliveries;
    int from_transcript, from_slog;
    struct sp_str save_snapshot_id, load_snapshot_id;
    int retracted;             /* 1: the span with this key is withdrawn (sinks delete it) */
};

struct sp_anomaly {
    struct sp_str node, vat_id, kind;
    int64_t incarnation;       /* -1 unknown */
    int64_t position;          /* span start for span-level anomalies; item position otherwise; -1 none */
    struct sp_str severity;    /* "info" | "warning" | "error" */
    struct sp_str detail;      /* JSON object with evidence */
    struct sp_str source;      /* where the evidence was read */
    int64_t line;              /* -1 none */
    int retracted;             /* 1: the anomaly with this key is withdrawn (sinks delete it) */
};

/*
 * A block re-executed after a crash (agoric-sdk #8264): the lines of one
 * source that the kernel executed and then discarded (the kernel restarted,
 * kernel-init-start, before that block's commit-block-finish). Every event
 * and delivery of (node, source, epoch) whose (line, offset) lies in
 * [first, last] belongs to the discarded execution: sinks mark it
 * superseded, a stream consumer drops it from its counts. Keyed by (node,
 * source, epoch): a later record with the same key replaces the earlier one
 * (the stage re-emits it when a delivery of the range completes late).
 */
struct sp_supersede {
    struct sp_str node, source;
    int64_t epoch;                   /* kernel epoch of the discarded execution */
    int64_t block_height;            /* the block it executed (never committed by that epoch) */
    int64_t first_line, first_offset; /* its first line: the begin-block (or the source's first line in the range) */
    int64_t last_line, last_offset;   /* its last line in this source, before the restart */
    int64_t restart_line;            /* line of the kernel-init-start that discarded it (-1: in another source) */
    int64_t deliveries;              /* deliveries (replayed ones included) assembled from the range */
};

/*
 * One kernel run (cosmic-swingset-run-start .. -finish) of a block. Keyed
 * (node, block_height, run_num): a block executed again after a crash
 * (#8264) emits its runs again and the later record replaces the earlier.
 * Absent strings are {NULL,0}; absent integers -1; absent doubles NaN.
 */
struct sp_run {
    struct sp_str node, source;
    int64_t block_height;      /* -1 unknown */
    int64_t run_num;
    int64_t epoch;
    struct sp_str phase;       /* leftover/forced/priority/timer/inbound/cleanup; absent before u11 */
    struct sp_str trigger;     /* bridge-inbound / deliver-inbound / timer-poll / install-bundle /
                                  kernel-upgrade-events / bootstrap; absent when none preceded */
    struct sp_str inbound_num, trigger_source; /* bridge source, deliver-inbound sender */
    struct sp_str trigger_type;               /* bridge-inbound body.type */
    int64_t trigger_count;     /* deliver-inbound count, timer-poll added; -1 */
    int64_t start_line, finish_line;          /* -1 when that line is missing */
    double start_time, finish_time, seconds;  /* seconds: the line's, else finish - start */
    int64_t beans_used, beans_remaining, beans_start; /* -1 unknown */
    int64_t computrons, cranks, deliveries;   /* live (non-replay) work inside the run */
    double delivery_seconds, boyd_seconds;    /* sum of delivery seconds; of bringOutYourDead */
};

/*
 * A block's time budget, emitted at its commit-block-finish (or end of
 * input for the last, uncommitted one). Keyed (node, block_height).
 */
struct sp_block {
    struct sp_str node;
    int64_t block_height;
    int bootstrap;             /* the bootstrap block (bootstrap-block-start .. -finish) */
    double begin_time, end_time, commit_time;    /* wall clock of begin / end-block-finish / commit-finish */
    double block_seconds;      /* begin-block (or bootstrap start) .. commit-block-finish */
    double run_seconds;        /* sum of the runs' seconds */
    double end_block_seconds;  /* end-block-start .. end-block-finish (the line's seconds when present) */
    double commit_seconds;     /* commit-block-start .. -finish (the line's seconds when present) */
    double save_seconds, cosmos_commit_seconds; /* commit-block-finish saveTime, cosmosCommitSeconds; NaN */
    int64_t runs, computrons, cranks, deliveries, beans_used;
    double boyd_seconds;       /* bringOutYourDead seconds in the block */
    int64_t snapshot_saves;    /* heap-snapshot-save lines in the block */
    double snapshot_seconds;   /* their dbSaveSeconds + compressSeconds */
    int64_t replays;           /* replayed deliveries in the block (after a restart or a page-in) */
    double replay_seconds;
    int committed;
};

struct sp_record {
    enum sp_record_kind kind;
    union {
        const struct sp_event *event;
        const struct sp_delivery *delivery;
        const struct sp_bad *bad;
        const struct sp_titem *titem;
        const struct sp_tspan *tspan;
        const struct sp_tsnapshot *tsnapshot;
        const struct sp_kv *kv;
        const struct sp_span *span;
        const struct sp_anomaly *anomaly;
        const struct sp_supersede *supersede;
        const struct sp_run *run;
        const struct sp_block *block;
    } u;
};

/* A resume point for one source, made durable together with the rows that precede it. */
struct sp_checkpoint {
    const char *node;
    const char *source;
    int64_t line;       /* last line / Kafka offset fully covered */
    int64_t offset;     /* byte offset after that line */
    const char *state;  /* JSON text restored by the pipeline on resume (may be NULL) */
};

/* ---- Sinks -------------------------------------------------------------- */

struct sp_sink_opts {
    const char *node_default;
    int fast;            /* --fast-backfill: synchronous=OFF etc. (SQLite) */
    int batch_rows;      /* commit every N rows (0 = default) */
};

/*
 * A sink is a const ops table plus a private context. Call order:
 * open, then repeated [write..., commit], close. `write` may buffer; only
 * `commit` makes rows durable, atomically with the checkpoints given (the
 * SQLite sink's commit may still be running when it returns: see
 * sp_sqlite_sync). A
 * sink that cannot keep a promise returns SP_ESINK with err filled; the
 * pipeline then stops without advancing any checkpoint.
 */
struct sp_sink_ops {
    const char *name;
    int (*open)(void **ctx, const char *target, const struct sp_sink_opts *o, struct sp_err *err);
    int (*write)(void *ctx, const struct sp_record *rec, struct sp_err *err);
    int (*commit)(void *ctx, const struct sp_checkpoint *cps, size_t ncps, struct sp_err *err);
    void (*close)(void *ctx);
    /* Optional (NULL: nothing to do): the records of `source` may now be
     * written by another instance (a Kafka partition was revoked, right after
     * a successful commit); forget what is cached about it. */
    void (*release)(void *ctx, const char *source);
};

extern const struct sp_sink_ops sp_sink_sqlite;
extern const struct sp_sink_ops sp_sink_jsonl;

/* Append the JSON object for rec (one line, no newline) to b, following
 * schemas/json/record.schema.json. Shared by the JSONL and Kafka sinks.
 * Returns SP_OK, or SP_EBADINPUT when b's cap is reached (b is then left
 * as it was). Output is valid UTF-8 whatever the input bytes. */
struct sp_buf;
int sp_record_to_json(const struct sp_record *rec, struct sp_buf *b);

/* The JSON text of a finite double, as the records write it: the shorter of
 * "%.15g" and "%.17g" that reads back as v (NUL-terminated in out). */
void sp_json_fmt_double(double v, char out[40]);

#endif
