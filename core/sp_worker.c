/* sp_worker.c - start and stop-and-join of a background thread with its mutex/condition pair. */
#include "sp_worker.h"

int sp_worker_start(struct sp_worker *w, void *(*fn)(void *), void *arg)
{
    w->stop = 0;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->th, NULL, fn, arg) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        return -1;
    }
    return 0;
}

void sp_worker_stop(struct sp_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

void sp_worker_serve(struct sp_worker *w, int *busy, void (*job)(void *arg), void *arg)
{
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!*busy && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
        if (!*busy) break;
        pthread_mutex_unlock(&w->mu);
        job(arg);
        pthread_mutex_lock(&w->mu);
        __atomic_store_n(busy, 0, __ATOMIC_RELAXED);
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

void sp_worker_wait_idle(struct sp_worker *w, const int *busy)
{
    pthread_mutex_lock(&w->mu);
    while (*busy) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}
