/* sp_parse_ahead.c - reader + normalizer on a thread (or lines the caller hands over: pool mode), batches of parsed lines in a small ring. */
#include "sp_parse_ahead.h"

#include <stdlib.h>
#include <string.h>

#include "../core/sp_buf.h"
#include "../core/sp_worker.h"
#include "../normalize/sp_normalize.h"

#define NSLOT 8                     /* batches in flight */
#define HALF (NSLOT / 2)
#define BATCH_ITEMS 512
#define BATCH_BYTES ((size_t)128 << 10) /* of line text: a batch stays in the cache it was parsed in */

struct slot {
    struct sp_pa_batch b;
    struct sp_arena text;      /* the lines' copies and the error messages */
    struct sp_normalizer *nz;  /* held: its slices live until the slot is refilled */
};

struct sp_parse_ahead {
    struct sp_reader *r;       /* NULL: pool mode */
    int threaded;
    struct sp_worker w;        /* w.mu guards the counters and done */
    uint64_t submitted;        /* pool: batches handed to the thread */
    int open;                  /* pool: slot[submitted % NSLOT] is being filled */
    size_t open_bytes;
    uint64_t produced;         /* batches filled (pool: parsed) */
    uint64_t consumed;         /* batches handed to the caller */
    uint64_t released;         /* batches given back (the slot may be refilled) */
    int done;                  /* the thread read its last item */
    int holding;               /* the caller holds batch consumed - 1 */
    int prod_waiting, cons_waiting; /* the thread / the caller sleeps on w.cv */
    struct slot slot[NSLOT];
};

enum { FILL_MORE, FILL_AGAIN, FILL_END }; /* reading goes on / follow mode: nothing new / stopped */

static const char *keep_msg(struct slot *sl, const struct sp_err *e)
{
    return sp_arena_dup(&sl->text, e->msg, strnlen(e->msg, sizeof(e->msg))).p;
}

/* A parse-ahead with nslot slots of items items each (the rest unused). */
static struct sp_parse_ahead *pa_new(int nslot, int items)
{
    struct sp_parse_ahead *pa = sp_xcalloc(1, sizeof(*pa));

    for (int i = 0; i < nslot; i++) {
        struct slot *sl = &pa->slot[i];
        sl->b.items = sp_xmalloc((size_t)items * sizeof(*sl->b.items));
        sl->b.size = -1;
        sl->b.lag = -1;
        sp_arena_init(&sl->text, BATCH_BYTES + (BATCH_BYTES >> 2));
        sl->nz = sp_normalizer_new();
        sp_normalizer_hold(sl->nz, 1);
    }
    return pa;
}

/* Parse one line of the slot (it->ln): the event, or why the line is bad. */
static void parse_item(struct slot *sl, struct sp_pa_item *it)
{
    struct sp_origin o = {{NULL, 0}, {NULL, 0}, it->ln.line, it->ln.offset};
    struct sp_err e;
    e.msg[0] = '\0';
    it->nrc = sp_normalize_line(sl->nz, it->ln.p, it->ln.n, &o, &it->ev, &e);
    it->msg = it->nrc == SP_OK ? NULL : keep_msg(sl, &e);
}

/* Empty a slot before it is filled again: its items' slices die here. */
static void slot_reset(struct slot *sl)
{
    sp_arena_reset(&sl->text);
    sp_normalizer_release(sl->nz);
    sl->b.n = 0;
}

/* Read and parse up to max lines into sl. Says whether reading goes on.
 * with_lag: also stat the input for its lag (per batch of a thread; inline,
 * one line per batch, the caller asks the reader itself when it needs to). */
static int fill(struct sp_parse_ahead *pa, struct slot *sl, int max, int with_lag)
{
    size_t bytes = 0;
    int how = FILL_MORE;

    slot_reset(sl);
    while (sl->b.n < max && bytes < BATCH_BYTES) {
        struct sp_pa_item *it = &sl->b.items[sl->b.n++];
        struct sp_err e;

        e.msg[0] = '\0';
        it->msg = NULL;
        it->nrc = SP_OK;
        it->ln.line = it->ln.offset = -1; /* a framing error may say where it is */
        it->ln.source = NULL;
        it->rc = sp_reader_next(pa->r, &it->ln, &e);
        if (it->rc == SP_OK) {
            it->ln.p = sp_arena_dup(&sl->text, it->ln.p, it->ln.n).p;
            bytes += it->ln.n;
            parse_item(sl, it);
            continue;
        }
        if (it->rc == SP_EBADINPUT) {
            it->msg = keep_msg(sl, &e);
            continue;
        }
        if (it->rc == SP_AGAIN) {
            how = FILL_AGAIN;
        } else {
            if (it->rc != SP_EOF) it->msg = keep_msg(sl, &e);
            how = FILL_END;
        }
        break;
    }
    sl->b.bytes_in = sp_reader_bytes_in(pa->r);
    sl->b.size = sp_reader_size(pa->r);
    sl->b.bytes_read = sp_reader_bytes_read(pa->r);
    sl->b.lag = with_lag ? sp_reader_lag(pa->r) : -1;
    return how;
}

static void *pa_main(void *arg)
{
    struct sp_parse_ahead *pa = arg;
    int how = FILL_MORE;

    for (uint64_t seq = 0; how != FILL_END; seq++) {
        struct slot *sl = &pa->slot[seq % NSLOT];
        int stop;

        pthread_mutex_lock(&pa->w.mu);
        if (seq - pa->released >= NSLOT) {
            /* full: sleep until half of it is free, not one slot at a time */
            pa->prod_waiting = 1;
            while (seq - pa->released > HALF && !pa->w.stop) pthread_cond_wait(&pa->w.cv, &pa->w.mu);
            pa->prod_waiting = 0;
        }
        stop = pa->w.stop;
        pthread_mutex_unlock(&pa->w.mu);
        if (stop) return NULL;

        how = fill(pa, sl, BATCH_ITEMS, 1);

        pthread_mutex_lock(&pa->w.mu);
        pa->produced = seq + 1;
        if (how == FILL_END) pa->done = 1;
        if (pa->cons_waiting && (pa->produced - pa->consumed >= HALF || pa->done))
            pthread_cond_broadcast(&pa->w.cv);
        pthread_mutex_unlock(&pa->w.mu);
        /* after FILL_AGAIN the caller sleeps before it asks for more */
    }
    return NULL;
}

/* The caller's batch (consumed - 1) is given back: its slot may be refilled.
 * Under w.mu when threaded. */
static void give_back(struct sp_parse_ahead *pa)
{
    if (!pa->holding) return;
    pa->released = pa->consumed;
    pa->holding = 0;
}

struct sp_parse_ahead *sp_parse_ahead_start(struct sp_reader *r, int threaded)
{
    /* without a thread the one-item batches of slot 0 are enough */
    struct sp_parse_ahead *pa = threaded ? pa_new(NSLOT, BATCH_ITEMS) : pa_new(1, 1);

    pa->r = r;
    pa->threaded = threaded && sp_worker_start(&pa->w, pa_main, pa) == 0;
    return pa;
}

struct sp_pa_batch *sp_parse_ahead_next(struct sp_parse_ahead *pa)
{
    struct slot *sl;

    if (!pa->threaded) {
        if (pa->done) return NULL;
        sl = &pa->slot[0];
        pa->done = fill(pa, sl, 1, 0) == FILL_END;
        return &sl->b;
    }
    pthread_mutex_lock(&pa->w.mu);
    give_back(pa);
    if (pa->prod_waiting && pa->produced - pa->released <= HALF) pthread_cond_broadcast(&pa->w.cv);
    if (pa->produced == pa->consumed && !pa->done) {
        /* empty: sleep until half of it is filled */
        pa->cons_waiting = 1;
        while (pa->produced - pa->consumed < HALF && !pa->done) pthread_cond_wait(&pa->w.cv, &pa->w.mu);
        pa->cons_waiting = 0;
    }
    if (pa->produced == pa->consumed) { /* done, and everything was handed over */
        pthread_mutex_unlock(&pa->w.mu);
        return NULL;
    }
    sl = &pa->slot[pa->consumed % NSLOT];
    pa->consumed++;
    pa->holding = 1;
    pthread_mutex_unlock(&pa->w.mu);
    return &sl->b;
}

/* ---- pool mode ------------------------------------------------------------- */

static void lock(struct sp_parse_ahead *pa)
{
    if (pa->threaded) pthread_mutex_lock(&pa->w.mu);
}

static void unlock(struct sp_parse_ahead *pa)
{
    if (pa->threaded) pthread_mutex_unlock(&pa->w.mu);
}

/* Parse the lines the caller put into sl. */
static void parse_slot(struct slot *sl)
{
    for (int i = 0; i < sl->b.n; i++) parse_item(sl, &sl->b.items[i]);
}

static void *pool_main(void *arg)
{
    struct sp_parse_ahead *pa = arg;

    pthread_mutex_lock(&pa->w.mu);
    for (;;) {
        uint64_t seq;
        while (pa->produced == pa->submitted && !pa->w.stop) pthread_cond_wait(&pa->w.cv, &pa->w.mu);
        if (pa->w.stop) break;
        seq = pa->produced;
        pthread_mutex_unlock(&pa->w.mu);
        parse_slot(&pa->slot[seq % NSLOT]);
        pthread_mutex_lock(&pa->w.mu);
        pa->produced = seq + 1;
        pthread_cond_broadcast(&pa->w.cv);
    }
    pthread_mutex_unlock(&pa->w.mu);
    return NULL;
}

struct sp_parse_ahead *sp_parse_pool_start(void)
{
    struct sp_parse_ahead *pa = pa_new(NSLOT, BATCH_ITEMS);

    pa->threaded = sp_worker_start(&pa->w, pool_main, pa) == 0;
    return pa;
}

struct sp_pa_item *sp_parse_pool_add(struct sp_parse_ahead *pa, const char *line, size_t n,
                                     int64_t lineno, int64_t offset, int64_t end_offset, void *user,
                                     void *user2, int64_t user_a, int64_t user_b)
{
    struct slot *sl;
    struct sp_pa_item *it;

    if (!pa->open) {
        int full;
        lock(pa);
        full = pa->submitted - pa->released >= NSLOT;
        unlock(pa);
        if (full) return NULL;
        slot_reset(&pa->slot[pa->submitted % NSLOT]);
        pa->open = 1;
        pa->open_bytes = 0;
    }
    sl = &pa->slot[pa->submitted % NSLOT];
    it = &sl->b.items[sl->b.n++];
    memset(&it->ln, 0, sizeof(it->ln));
    it->rc = SP_OK;
    it->nrc = SP_OK;
    it->msg = NULL;
    it->ln.p = sp_arena_dup(&sl->text, line, n).p;
    it->ln.n = n;
    it->ln.line = lineno;
    it->ln.offset = offset;
    it->ln.end_offset = end_offset;
    it->user = user;
    it->user2 = user2;
    it->user_a = user_a;
    it->user_b = user_b;
    pa->open_bytes += n;
    if (sl->b.n == BATCH_ITEMS || pa->open_bytes >= BATCH_BYTES) sp_parse_pool_submit(pa);
    return it;
}

void sp_parse_pool_submit(struct sp_parse_ahead *pa)
{
    struct slot *sl = &pa->slot[pa->submitted % NSLOT];

    if (!pa->open) return;
    pa->open = 0;
    if (!pa->threaded) { /* inline: parsed now */
        parse_slot(sl);
        pa->submitted++;
        pa->produced++;
        return;
    }
    pthread_mutex_lock(&pa->w.mu);
    pa->submitted++;
    pthread_cond_broadcast(&pa->w.cv);
    pthread_mutex_unlock(&pa->w.mu);
}

int sp_parse_pool_pending(const struct sp_parse_ahead *pa)
{
    return (int)(pa->submitted - pa->consumed) + pa->open; /* all written by the caller only */
}

struct sp_pa_batch *sp_parse_pool_take(struct sp_parse_ahead *pa)
{
    struct slot *sl;

    lock(pa);
    give_back(pa);
    if (pa->consumed == pa->submitted) {
        unlock(pa);
        return NULL;
    }
    while (pa->produced == pa->consumed) pthread_cond_wait(&pa->w.cv, &pa->w.mu); /* threaded only */
    sl = &pa->slot[pa->consumed % NSLOT];
    pa->consumed++;
    pa->holding = 1;
    unlock(pa);
    return &sl->b;
}

void sp_parse_ahead_stop(struct sp_parse_ahead *pa)
{
    if (!pa) return;
    if (pa->threaded) sp_worker_stop(&pa->w);
    for (int i = 0; i < NSLOT; i++) {
        struct slot *sl = &pa->slot[i];
        if (!sl->nz) continue;
        free(sl->b.items);
        sp_arena_free(&sl->text);
        sp_normalizer_destroy(sl->nz);
    }
    free(pa);
}
