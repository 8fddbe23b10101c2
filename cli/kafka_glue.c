/* kafka_glue.c - connects `slogpipe ingest` to the Kafka source and sink (kafka/). */
#include "sp_cli.h"

#if __has_include("../kafka/sp_kafka.h")
#include "../kafka/sp_kafka.h"
#define SP_HAVE_KAFKA 1
#endif

int sp_cli_kafka_ingest(struct sp_pipeline *p, const char *uri, const char *const *props, int exit_at_end,
                        struct sp_err *err)
{
#ifdef SP_HAVE_KAFKA
    return sp_kafka_ingest(p, uri, props, exit_at_end, err);
#else
    (void)p; (void)props; (void)exit_at_end;
    return sp_err_set(err, SP_EUSAGE, "%s: Kafka input is not built in", uri);
#endif
}

int sp_cli_kafka_out(struct sp_pipeline *p, const char *brokers, const char *prefix,
                     const char *const *props, struct sp_err *err)
{
    (void)p; (void)prefix; (void)props;
    return sp_err_set(err, SP_EUSAGE, "--kafka-out %s: Kafka output is not built in", brokers);
}
