/* kafka_glue.c - connects `slogpipe ingest` to the Kafka source and sink (kafka/). */
#include "sp_cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../core/sp_buf.h"
#include "../kafka/sp_kafka.h"

int sp_cli_kafka_ingest(struct sp_pipeline *p, const char *uri, const char *const *props, const char *node,
                        int exit_at_end, struct sp_err *err)
{
    /* The source falls back to --node only when the user gave one (else the
     * topic name): pass it as the slogpipe.node pseudo-property. */
    const char **all;
    size_t n = 0;
    struct sp_buf nb;
    int rc;

    if (!node) return sp_kafka_ingest(p, uri, props, exit_at_end, err);
    while (props && props[n]) n++;
    all = sp_xcalloc(n + 2, sizeof(*all));
    for (size_t i = 0; i < n; i++) all[i] = props[i];
    sp_buf_init(&nb, 0);
    sp_buf_printf(&nb, "slogpipe.node=%s", node);
    all[n] = nb.data;
    rc = sp_kafka_ingest(p, uri, all, exit_at_end, err);
    sp_buf_free(&nb);
    free(all);
    return rc;
}

int sp_cli_kafka_out(struct sp_pipeline *p, const char *brokers, const char *prefix,
                     const char *const *props, const char *db_target, int shared_db, struct sp_err *err)
{
    void *ctx = NULL;
    const struct sp_store *st = sp_pipeline_store(p);
    sqlite3 *db = sp_pipeline_db(p);
    const char *path = db ? sqlite3_db_filename(db, "main") : db_target; /* a PostgreSQL URL */
    char host[256] = "", id[512];
    uint64_t h = 1469598103934665603ull;
    int rc;

    /* transactional.id: stable for this database (file or URL) on this host, so that a
     * restart aborts what a crashed run left open; instances sharing the database (a
     * consumer group) need one each: the pid (-X transactional.id=... for a stable one) */
    if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    for (const char *c = host; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    for (const char *c = path ? path : ""; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    if (shared_db)
        snprintf(id, sizeof(id), "slogpipe-%s-%016llx-%ld", prefix ? prefix : "slogpipe", (unsigned long long)h,
                 (long)getpid());
    else
        snprintf(id, sizeof(id), "slogpipe-%s-%016llx", prefix ? prefix : "slogpipe", (unsigned long long)h);
    rc = sp_kafka_sink_open(&ctx, brokers, prefix, props, id, err);
    if (rc != SP_OK) return rc;
    if (st)
        sp_kafka_sink_bind(ctx, st);
    else
        sp_warn("--kafka-out without a database: each batch is published atomically, but a "
                "resumed run may publish its last batch again");
    return sp_pipeline_add_sink(p, &sp_sink_kafka, ctx, err);
}
