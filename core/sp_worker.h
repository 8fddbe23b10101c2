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

#endif
