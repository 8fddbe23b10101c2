/* sp_metrics.h - pipeline metrics in the Prometheus text format: to a file and/or a tiny loopback HTTP endpoint. */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include "../core/sp_buf.h"

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

#endif
