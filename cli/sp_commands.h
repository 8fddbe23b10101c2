/* sp_commands.h - subcommand entry points dispatched by cli/main.c (each returns a sysexits code). */
#ifndef SP_COMMANDS_H
#define SP_COMMANDS_H

/* slogpipe timeline --db FILE [--node N] [--vat vN] [--analyze]: per-vat span tables (cli/cmd_timeline.c). */
int sp_cmd_timeline(int argc, char **argv);
/* slogpipe anomalies --db FILE [--kind K] [--node N] [--vat vN] [--json] [--analyze] (cli/cmd_timeline.c). */
int sp_cmd_anomalies(int argc, char **argv);
/* slogpipe diverge --db FILE NODE_A NODE_B [--context N] [--json]: where two nodes first differ (cli/cmd_diverge.c). */
int sp_cmd_diverge(int argc, char **argv);

#endif
