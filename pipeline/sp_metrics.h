/* sp_metrics.h - pipeline metrics in the Prometheus text format: to a file and/or a tiny loopback HTTP endpoint. */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include "../core/sp_buf.h"

#include <stdint.h>

/*
 * Heap object. The pipeline renders its counters into text with
 * sp_metrics_publish (after every commit and on progress ticks); the text is
 * written atomically to `file` (temp + rename) and/or served by a background
 * thread on `listen` ("127.0.0.1:9464") as GET /metrics. The HTTP server is
 * hand-written on purpose: it answers one fixed document to loopback
 * scrapers, and no Debian HTTP library is among slogpipe's chosen
 * dependencies. Failures to write the file are logged once, never fatal.
 */
struct sp_metrics;

/* NULL file and listen = disabled (returns NULL without error). SP_EUSAGE
 * for a bad address, SP_EIO if the port cannot be bound. */
int sp_metrics_new(struct sp_metrics **out, const char *file, const char *listen, struct sp_err *err);
/* Replace the published document with text (n bytes). Thread-safe. */
void sp_metrics_publish(struct sp_metrics *m, const char *text, size_t n);
/* The bound port (useful with port 0), or -1. */
int sp_metrics_port(const struct sp_metrics *m);
void sp_metrics_destroy(struct sp_metrics *m);

/*
 * A Prometheus histogram with fixed upper bounds (le), for durations: a
 * plain struct the caller owns (no allocation). sp_hist_render appends the
 * _bucket (cumulative, ending with le="+Inf"), _sum and _count lines of one
 * series; `labels` is NULL or a label set without braces (phase="timer"),
 * whose values the caller has made safe. HELP/TYPE lines are the caller's
 * (once per family).
 */
#define SP_HIST_MAX 16
struct sp_hist {
    const double *le; /* ascending, n of them */
    int n;
    uint64_t bucket[SP_HIST_MAX]; /* observations <= le[i] (not cumulative) */
    uint64_t count;
    double sum;
};
void sp_hist_init(struct sp_hist *h, const double *le, int n);
void sp_hist_observe(struct sp_hist *h, double v); /* non-finite or negative values are ignored */
void sp_hist_render(struct sp_buf *b, const char *name, const char *labels, const struct sp_hist *h);

#endif
