/* sp_worker.h - a background thread with one mutex/condition pair and a stop request: start, stop-and-join. */
#ifndef SP_WORKER_H
#define SP_WORKER_H

#include <pthread.h>

/*
 * Embedded in its owner's state (the gzip reader's inflate thread, the
 * SQLite sink's writer). The owner's shared fields are guarded by mu; cv is
 * broadcast on every change either side waits for; stop is set (under mu)
 * by sp_worker_stop, and the thread function returns once it sees it.
 */
struct sp_worker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

/* Init mu/cv and run fn(arg) on a new thread. 0, or -1 when no thread could
 * be created (mu/cv are destroyed again: the owner works inline). */
int sp_worker_start(struct sp_worker *w, void *(*fn)(void *), void *arg);

/* Set stop, wake the thread, join it, destroy mu/cv. */
void sp_worker_stop(struct sp_worker *w);

/*
 * The body of a thread that runs one job at a time (the SQLite writer, the
 * JSONL writer): waits until the owner sets *busy (under mu) or asks it to
 * stop, runs job(arg) with mu released, then clears *busy and wakes the
 * waiters. Returns once stopped with no job pending: a job handed over
 * before the stop still runs. *busy is cleared with an atomic store, so an
 * owner may peek at it without mu (a hint only).
 */
void sp_worker_serve(struct sp_worker *w, int *busy, void (*job)(void *arg), void *arg);

/* Wait, under mu, until *busy is clear (the last job handed over is done). */
void sp_worker_wait_idle(struct sp_worker *w, const int *busy);

#endif
