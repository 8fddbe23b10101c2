/* kafka_glue.c - connects `slogpipe ingest` to the Kafka source and sink (kafka/). */
#include "sp_cli.h"

#include <stdlib.h>

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
                     const char *const *props, struct sp_err *err)
{
    void *ctx = NULL;
    int rc = sp_kafka_sink_open(&ctx, brokers, prefix, props, err);
    if (rc != SP_OK) return rc;
    return sp_pipeline_add_sink(p, &sp_sink_kafka, ctx, err);
}
