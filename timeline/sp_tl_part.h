/* sp_tl_part.h - how one analysis plugs into the streaming timeline stage: per-node state, feed, checkpoint, emit. */
#ifndef SP_TL_PART_H
#define SP_TL_PART_H

#include <stdint.h>
#include <sqlite3.h>
#include <yajl/yajl_tree.h>

#include "../core/sp_buf.h"
#include "sp_tl_stream.h"

/*
 * The stage (sp_tl_stream.c) owns the nodes, the checkpoint and the sinks'
 * callback; a *part* is one analysis inside it (runs and block budgets,
 * heap watch, divergence, ...). For every record the pipeline passes to the
 * stage, after the stage's own span machine has seen it, each part's feed()
 * is called with the record's node and that node's part state. A part keeps
 * its state bounded (never one entry per delivery) and emits what it settled
 * through sp_tl_emit / sp_tl_anomaly — to every sink, in the batch of the
 * record that settled it. Emission must depend only on the records (never on
 * when the pipeline commits), so a run killed and resumed emits what one
 * clean run emits.
 *
 * Checkpoint: the node's state JSON holds {"parts":{name: save(state)}};
 * on resume restore() gets that value back (a part whose value is missing
 * or malformed starts from init()). A part calls sp_tl_mark(n) whenever its
 * state changed, so the node is checkpointed with the next commit.
 *
 * Crash re-execution (#8264): at each cosmic-swingset-commit-block-finish
 * (after feed) the stage keeps save(state) as the committed state; at a
 * kernel-init-start that follows, it restore()s that before feed, so what a
 * discarded execution did is forgotten like the stage's own spans.
 *
 * Ownership: the stage allocates state_size bytes per node (zeroed), calls
 * init, and release() before freeing them. Records given to feed are valid
 * only during the call. Errors: feed/flush return SP_OK, or the code
 * sp_tl_emit/sp_tl_anomaly/sp_tl_step returned (err already filled).
 */

struct sp_tl_stream;
struct sp_tl_node;

struct sp_tl_part {
    const char *name;  /* key of its state in the node's checkpoint; [a-z_]+ */
    size_t state_size; /* bytes of per-node state, zeroed before init */
    void (*init)(void *st);                          /* may be NULL */
    int (*feed)(struct sp_tl_stream *t, struct sp_tl_node *n, void *st, const struct sp_record *rec);
    int (*flush)(struct sp_tl_stream *t, struct sp_tl_node *n, void *st); /* end of run; may be NULL */
    void (*save)(const void *st, struct sp_buf *b);  /* append one JSON value */
    int (*restore)(void *st, yajl_val v);            /* 0 ok, -1 malformed; st was init'ed first */
    void (*release)(void *st);                       /* free what st owns; may be NULL */
};

/* The registered parts, in feed order (sp_tl_parts.c), NULL-terminated. */
extern const struct sp_tl_part *const sp_tl_parts[];

/* ---- services of the stage to its parts ---------------------------------- */

const char *sp_tl_node_name(const struct sp_tl_node *n);
/* Call fn with each node the stage holds and that node's state of part p (for a part's metrics). */
void sp_tl_each_node(const struct sp_tl_stream *t, const struct sp_tl_part *p,
                     void (*fn)(void *arg, const char *node, const void *st), void *arg);
/* The node's state changed: checkpoint it with the next commit. */
void sp_tl_mark(struct sp_tl_node *n);
/* The node's stated snapshot schedule: 1 with sinit and sint set, 0 when nobody stated one. */
int sp_tl_schedule(const struct sp_tl_node *n, int64_t *sinit, int64_t *sint);
/* The pipeline's options as the stage got them. */
const struct sp_tl_stream_opts *sp_tl_opts(const struct sp_tl_stream *t);

/* Hand a derived record to every sink (valid only during the call). */
int sp_tl_emit(struct sp_tl_stream *t, const struct sp_record *rec);

/* Anomaly detail: begin, fields, then sp_tl_anomaly (which closes the object). */
void sp_tl_det_begin(struct sp_tl_stream *t);
void sp_tl_det_str(struct sp_tl_stream *t, const char *key, const char *val); /* NULL/"" -> null */
void sp_tl_det_int(struct sp_tl_stream *t, const char *key, int64_t v);
void sp_tl_det_num(struct sp_tl_stream *t, const char *key, double v);      /* non-finite -> null */
void sp_tl_det_raw(struct sp_tl_stream *t, const char *key, const char *json);
/* Emit an anomaly keyed (node, vat, kind, position); inc/pos/line -1 = unknown. Counted for metrics. */
int sp_tl_anomaly(struct sp_tl_stream *t, const struct sp_tl_node *n, const char *vat, const char *kind, int64_t inc,
                  int64_t pos, const char *severity, const char *source, int64_t line);
/* The same for another node, by name (a cross-node check settles both nodes): that node's
 * state is neither loaded nor touched (another process may own it: a Kafka group member). */
int sp_tl_anomaly_node(struct sp_tl_stream *t, const char *node, const char *vat, const char *kind, int64_t inc,
                       int64_t pos, const char *severity, const char *source, int64_t line);

/*
 * An indexed lookup in the store, when there is one: the statement for sql
 * (prepared once per store connection; `sql` must be a string constant, it
 * is cached by address) with ?1 bound to node and ?2 to vat (when not NULL).
 * Returns NULL with *rc = SP_OK when the pipeline has no SQLite store, NULL
 * with *rc < 0 on a prepare error. Step it with sp_tl_step (1 row, 0 done,
 * < 0 error); the stage resets it after the record.
 */
sqlite3_stmt *sp_tl_lookup(struct sp_tl_stream *t, const char *sql, const char *node, const char *vat, int *rc);
int sp_tl_step(struct sp_tl_stream *t, sqlite3_stmt *st);

/* Small helpers for parts' save/restore. */
int64_t sp_tl_jint(yajl_val v);            /* -1 if not an integer */
const char *sp_tl_jstr(yajl_val v);        /* "" if not a string */
yajl_val sp_tl_jget(yajl_val o, const char *key);

#endif
