/* sp_cli.h - the subcommand registry of the slogpipe CLI (each command: name + entry point). */
#ifndef SP_CLI_H
#define SP_CLI_H

#include "../pipeline/sp_pipeline.h"

struct sp_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] = command name; returns a sysexits code */
};
/* NULL-terminated table (cli/commands.c). */
extern const struct sp_command sp_commands[];

/* Kafka glue used by `ingest` (kafka/); each returns SP_OK or an error with err filled. */
/* node: the --node the user gave, or NULL (then the topic name is the fallback). */
int sp_cli_kafka_ingest(struct sp_pipeline *p, const char *uri, const char *const *props, const char *node,
                        int exit_at_end, struct sp_err *err);
/* db_target: the --db value (NULL: none); shared_db: instances may share the database (a
 * Kafka input): one transactional.id each. */
int sp_cli_kafka_out(struct sp_pipeline *p, const char *brokers, const char *prefix,
                     const char *const *props, const char *db_target, int shared_db, struct sp_err *err);

#endif
