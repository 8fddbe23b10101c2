/* sp_parse_ahead.h - slog lines read and parsed on their own thread ahead of the pipeline (or handed over by the caller: pool mode), in batches. */
#ifndef SP_PARSE_AHEAD_H
#define SP_PARSE_AHEAD_H

#include "../core/sp_event.h"
#include "../ingest/sp_input.h"

/*
 * Reading and parsing a slog line (sp_reader_next + sp_normalize_line) is
 * about half of what the pipeline does per line; the other half (assembling
 * deliveries, encoding for the sinks) needs the lines in order. With a
 * thread, the first half runs ahead on the other core and hands over
 * batches of parsed lines (a ring of a few, so memory stays bounded);
 * without one (follow mode, or no thread could be started) each call reads
 * and parses one line inline. Either way the caller sees the same items in
 * the same order.
 */
struct sp_pa_item {
    int rc;              /* of sp_reader_next: SP_OK (a line), SP_EBADINPUT (a framing problem;
                          * reading goes on), SP_AGAIN (follow mode: nothing new yet), SP_EOF,
                          * or another failure (the last item) */
    int nrc;             /* rc == SP_OK: of sp_normalize_line (SP_OK, or SP_EBADINPUT: bad line) */
    struct sp_line ln;   /* rc == SP_OK: ln.p is the batch's own copy of the line */
    const char *msg;     /* rc or nrc is an error: its message (NUL-terminated); else NULL */
    struct sp_event ev;  /* rc == nrc == SP_OK: the event; ev.origin has line and offset only
                          * (node and source are the caller's) */
    void *user, *user2;  /* pool mode: the caller's, as given to sp_parse_pool_add */
    int64_t user_a, user_b;
};

struct sp_pa_batch {
    struct sp_pa_item *items;
    int n;               /* >= 1 */
    int64_t bytes_in;    /* sp_reader_bytes_in / sp_reader_size after the batch's last item */
    int64_t size;
    int64_t bytes_read;  /* sp_reader_bytes_read after the batch's last item */
    int64_t lag;         /* sp_reader_lag then, with a thread; -1 inline (ask the reader) */
};

/*
 * Heap object. Takes the reader (already positioned, e.g. resumed) until
 * sp_parse_ahead_stop; the caller must not touch it in between. threaded = 0
 * reads inline (one line per batch). Never fails: with no thread it reads
 * inline.
 */
struct sp_parse_ahead *sp_parse_ahead_start(struct sp_reader *r, int threaded);

/*
 * The next batch, waiting for it. The batch returned by the call before is
 * given back (its items and their slices die). The items are the caller's
 * to modify until then. After an item with rc SP_EOF or a failure nothing
 * more is read: a further call returns NULL.
 */
struct sp_pa_batch *sp_parse_ahead_next(struct sp_parse_ahead *pa);

/* Stop the thread (lines read ahead and not yet handed over are dropped),
 * free everything; the reader is the caller's again. Accepts NULL. Also
 * ends a pool. */
void sp_parse_ahead_stop(struct sp_parse_ahead *pa);

/*
 * Pool mode, for sources the caller reads itself (Kafka messages): the
 * caller adds lines (copied) to an open batch, the thread parses submitted
 * batches in order, and the caller takes them back, parsed, in the same
 * order. Items come back with rc SP_OK and nrc, msg, ev filled as above.
 * Never fails: with no thread, submitting parses inline.
 */
struct sp_parse_ahead *sp_parse_pool_start(void);

/* Add a line to the open batch (opening one; a full batch is submitted).
 * NULL when every slot is in use: take a batch first. */
struct sp_pa_item *sp_parse_pool_add(struct sp_parse_ahead *pa, const char *line, size_t n,
                                     int64_t lineno, int64_t offset, int64_t end_offset, void *user,
                                     void *user2, int64_t user_a, int64_t user_b);

/* Hand the open batch (if any) to the thread. */
void sp_parse_pool_submit(struct sp_parse_ahead *pa);

/* Batches submitted and not yet taken, plus 1 for an open batch. */
int sp_parse_pool_pending(const struct sp_parse_ahead *pa);

/* The oldest submitted batch, once parsed (waiting for it); NULL if none is
 * submitted. The batch taken before is given back (its items die). */
struct sp_pa_batch *sp_parse_pool_take(struct sp_parse_ahead *pa);

#endif
