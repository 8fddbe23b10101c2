/* main.c - slogpipe command line: subcommand dispatch and the `ingest` command. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "../core/sp_core.h"
#include "../ingest/sp_inflate.h"
#include "../pipeline/sp_pipeline.h"
#include "sp_cli.h"
#include "sp_config.h"

static const char usage_main[] =
    "usage: slogpipe COMMAND [OPTIONS] ...\n"
    "\n"
    "Turns Agoric SwingSet slogs and vat transcripts into a queryable SQLite\n"
    "database (and JSON lines / Kafka), rebuilds per-vat span timelines and\n"
    "flags schedule and consistency anomalies.\n"
    "\n"
    "Commands:\n"
    "  ingest      read slogs, flight recorders, block-slog dirs, swing-stores,\n"
    "              exports, Kafka topics into the database\n"
    "  timeline    show each vat's transcript spans\n"
    "  anomalies   list the anomalies found\n"
    "  query       canned reports (vats, schedule, snapshots, blocks, anomalies,\n"
    "              slow-blocks, costs)\n"
    "  explain     why a block was slow: its runs, triggers and top deliveries\n"
    "  report      write a self-contained HTML timeline report\n"
    "  extract     write transcript spans as replayable artifact files\n"
    "  diverge     where two nodes of one chain first differ\n"
    "\n"
    "Run 'slogpipe COMMAND --help' for a command's options.\n"
    "  --help       this text\n"
    "  --version    print the version\n";

static const char usage_ingest[] =
    "usage: slogpipe ingest [OPTIONS] INPUT...\n"
    "\n"
    "INPUT is detected from its content: a slog (JSON lines, plain or gzip,\n"
    "multi-member ok; '-' = stdin), a flight-recorder ring (flight-recorder.bin),\n"
    "a block-slog directory (slogfile_*.gz), a swing-store (swingstore.sqlite or\n"
    "its state directory, opened read-only), a swing-store export directory\n"
    "(export-manifest.json), a transcript archive directory, or a Kafka source\n"
    "kafka://HOST:PORT[,HOST:PORT...]/TOPIC[,TOPIC...]?group=GROUP.\n"
    "Inputs are read in the order given; a killed run resumes from its checkpoints.\n"
    "\n"
    "Options:\n"
    "  --db FILE             SQLite output (default slogpipe.db); --db '' for none\n"
    "  --jsonl FILE|-        also write normalized records as JSON lines\n"
    "  --node NAME           node name recorded with every row (default node0)\n"
    "  --dead-letter FILE    also write bad input records to FILE (JSON lines)\n"
    "  --strict              exit 65 if any input had a bad record\n"
    "  --max-bad N           exit 65 if an input has more than N bad records\n"
    "                          (default: no limit)\n"
    "  --max-bad-ratio R     exit 65 if more than R (0..1) of an input's records\n"
    "                          are bad (default 0.5)\n"
    "  --max-line BYTES      longest accepted line (default 67108864)\n"
    "  --batch-rows N        commit every N records (default 50000)\n"
    "  --commit-ms MS        ... or at least every MS milliseconds (default 1000)\n"
    "  --fast-backfill       synchronous=OFF: faster, not crash-safe until the end\n"
    "  --follow              follow growing files like tail -F (until SIGINT/SIGTERM)\n"
    "  --snapshot-initial N  schedule check threshold when the store has none\n"
    "  --snapshot-interval N   (default: kvStore/export data, else inferred by the\n"
    "                          end-of-run analysis from the node's spans, else unjudged)\n"
    "  --heap-thresholds L   heap sizes a vat incarnation is reported at (HEAP_SIZE_\n"
    "                          THRESHOLD), ascending, e.g. 500MB,1GiB,2GiB (the default)\n"
    "  --stream-only         judge with the streaming timeline stage only: no\n"
    "                          end-of-run analysis over the whole store\n"
    "  --no-analyze          no timeline at all: no stage, no end-of-run analysis\n"
    "  -X KEY=VALUE          librdkafka property for Kafka inputs/outputs\n"
    "  --exit-at-end         Kafka: stop once every assigned partition is consumed\n"
    "  --kafka-out BROKERS   also publish records to Kafka\n"
    "  --topic-prefix P      ... to topics P.events, P.spans, P.anomalies (default slogpipe),\n"
    "                        in transactions (consumers: isolation.level=read_committed)\n"
    "  -c, --config FILE     read settings from FILE (key = value; see README)\n"
    "  --metrics-file FILE   write Prometheus metrics to FILE at every commit\n"
    "  --metrics-listen H:P  serve Prometheus metrics on http://H:P/metrics\n"
    "  -q, --quiet           no summary (inputs with a problem are still named)\n"
    "  -v, --verbose         debug logging\n"
    "  -h, --help            this text\n"
    "\n"
    "Bad lines are dead-lettered (ingest_errors, --dead-letter) and never stop\n"
    "the run; the first 20 of each input are logged, the rest counted by reason\n"
    "in the summary. Every input is still read and committed before the exit\n"
    "status is decided, and the summary names each input with a problem.\n"
    "\n"
    "Exit status:\n"
    "  0   every input read; bad records within the limits (an empty file is\n"
    "      only a warning: \"0 lines\")\n"
    "  64  usage error\n"
    "  65  bad data: an input had bad records and nothing usable (not a slog),\n"
    "      or more than --max-bad N, or more than --max-bad-ratio R of its\n"
    "      records bad; with --strict, any bad record\n"
    "  66  an input (file, directory, swing-store, export) could not be opened\n"
    "      or read, e.g. a missing path or a glob that matched nothing\n"
    "  70 internal error, 73 cannot create output, 74 I/O or sink failure\n"
    "  (several at once: 74/73/70 first, then 66, then 65)\n";

static void on_signal(int sig)
{
    (void)sig;
    sp_pipeline_stop = 1;
}

static int exit_code_for(int rc)
{
    switch (rc) {
    case SP_OK: return 0;
    case SP_EUSAGE: return EX_USAGE;
    case SP_EBADINPUT: return EX_DATAERR;
    case SP_ENOINPUT: return EX_NOINPUT;
    case SP_EIO: return EX_IOERR;
    case SP_ESINK: return EX_IOERR;
    default: return EX_SOFTWARE;
    }
}

static int parse_ratio(const char *s, double *out)
{
    char *end = NULL;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || !end || *end || end == s || !(v >= 0 && v <= 1)) return -1;
    *out = v;
    return 0;
}

static int parse_i64(const char *s, long long min, long long *out)
{
    char *end = NULL;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || !end || *end || end == s || v < min) return -1;
    *out = v;
    return 0;
}

/* "500MB,1GiB,2000000000": up to max sizes in bytes (suffixes kB MB GB: 10^3.., KiB MiB GiB: 2^10..),
 * strictly ascending. 0 ok, -1 malformed. */
static int parse_sizes(const char *s, int64_t *out, int max, int *n)
{
    static const struct {
        const char *suffix;
        int64_t mul;
    } units[] = {{"", 1}, {"kB", 1000}, {"MB", 1000000}, {"GB", 1000000000},
                 {"KiB", 1024}, {"MiB", 1048576}, {"GiB", 1073741824}};
    int k = 0;
    for (const char *p = s;; p++) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || end == p || v <= 0) return -1;
        size_t ul = strcspn(end, ",");
        int u = -1;
        for (int i = 0; i < (int)(sizeof units / sizeof units[0]); i++)
            if (strlen(units[i].suffix) == ul && strncmp(end, units[i].suffix, ul) == 0) u = i;
        if (u < 0 || k == max || v > INT64_MAX / units[u].mul) return -1;
        out[k] = v * units[u].mul;
        if (k && out[k] <= out[k - 1]) return -1;
        k++;
        p = end + ul;
        if (!*p) break;
    }
    *n = k;
    return 0;
}

static int cmd_ingest(int argc, char **argv)
{
    enum {
        O_DB = 256, O_JSONL, O_NODE, O_DEAD, O_STRICT, O_MAXLINE, O_BATCH, O_COMMITMS, O_FAST,
        O_FOLLOW, O_SINIT, O_SINT, O_NOANALYZE,
    O_STREAMONLY, O_EXITEND, O_KOUT, O_PREFIX, O_MFILE, O_MLISTEN,
        O_MAXBAD, O_MAXBADRATIO, O_HEAPTHR
    };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"jsonl", required_argument, NULL, O_JSONL},
        {"node", required_argument, NULL, O_NODE},
        {"dead-letter", required_argument, NULL, O_DEAD},
        {"strict", no_argument, NULL, O_STRICT},
        {"max-line", required_argument, NULL, O_MAXLINE},
        {"batch-rows", required_argument, NULL, O_BATCH},
        {"commit-ms", required_argument, NULL, O_COMMITMS},
        {"fast-backfill", no_argument, NULL, O_FAST},
        {"follow", no_argument, NULL, O_FOLLOW},
        {"snapshot-initial", required_argument, NULL, O_SINIT},
        {"snapshot-interval", required_argument, NULL, O_SINT},
        {"no-analyze", no_argument, NULL, O_NOANALYZE},
        {"stream-only", no_argument, NULL, O_STREAMONLY},
        {"exit-at-end", no_argument, NULL, O_EXITEND},
        {"kafka-out", required_argument, NULL, O_KOUT},
        {"topic-prefix", required_argument, NULL, O_PREFIX},
        {"metrics-file", required_argument, NULL, O_MFILE},
        {"metrics-listen", required_argument, NULL, O_MLISTEN},
        {"max-bad", required_argument, NULL, O_MAXBAD}, /* same order as the enum: bad_value names them */
        {"max-bad-ratio", required_argument, NULL, O_MAXBADRATIO},
        {"heap-thresholds", required_argument, NULL, O_HEAPTHR},
        {"config", required_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sp_pipeline_opts po;
    struct sp_pipeline *p = NULL;
    struct sp_config cfg;
    struct sp_err err;
    char **av = NULL;
    int ac = 0;
    const char *kprops[64];
    int nkprops = 0, exit_at_end = 0, c, rc = SP_OK;
    const char *kafka_out = NULL, *topic_prefix = "slogpipe", *node_given = NULL;
    long long v;

    sp_pipeline_opts_init(&po);
    sp_err_clear(&err);
    memset(&cfg, 0, sizeof(cfg));
    /* -c FILE: the file's settings go first so the command line overrides them. */
    for (int i = 1; i < argc; i++) {
        const char *cf = NULL;
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            cf = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            cf = argv[i] + 9;
        if (!cf) continue;
        if (cfg.args || cfg.inputs) {
            fprintf(stderr, "slogpipe ingest: only one -c FILE\n");
            sp_config_free(&cfg);
            return EX_USAGE;
        }
        if (sp_config_load(&cfg, cf, opts, &err) != SP_OK) {
            fprintf(stderr, "slogpipe ingest: %s\n", err.msg);
            return EX_USAGE;
        }
    }
    av = sp_xcalloc((size_t)(argc + cfg.nargs + cfg.ninputs + 1), sizeof(char *));
    av[ac++] = argv[0];
    for (int i = 0; i < cfg.nargs; i++) av[ac++] = cfg.args[i];
    for (int i = 1; i < argc; i++) av[ac++] = argv[i];
    optind = 1;
    while ((c = getopt_long(ac, av, "qvhX:c:", opts, NULL)) != -1) {
        switch (c) {
        case O_DB: po.db = optarg; break;
        case O_JSONL: po.jsonl = optarg; break;
        case O_NODE: po.node = node_given = optarg; break;
        case O_DEAD: po.dead_letter = optarg; break;
        case O_STRICT: po.strict = 1; break;
        case O_MAXLINE:
            if (parse_i64(optarg, 1024, &v)) goto bad_value;
            po.max_line = (size_t)v;
            break;
        case O_BATCH:
            if (parse_i64(optarg, 1, &v) || v > 10000000) goto bad_value;
            po.batch_rows = (int)v;
            break;
        case O_COMMITMS:
            if (parse_i64(optarg, 1, &v) || v > 3600000) goto bad_value;
            po.commit_ms = (int)v;
            break;
        case O_FAST: po.fast = 1; break;
        case O_FOLLOW: po.follow = 1; break;
        case O_SINIT:
            if (parse_i64(optarg, 1, &v)) goto bad_value;
            po.snapshot_initial = v;
            break;
        case O_SINT:
            if (parse_i64(optarg, 1, &v)) goto bad_value;
            po.snapshot_interval = v;
            break;
        case O_NOANALYZE: po.analyze = 0; break;
        case O_STREAMONLY: po.stream_only = 1; break;
        case O_HEAPTHR:
            if (parse_sizes(optarg, po.heap_thresholds, 8, &po.nheap_thresholds)) goto bad_value;
            break;
        case O_EXITEND: exit_at_end = 1; break;
        case O_KOUT: kafka_out = optarg; break;
        case O_PREFIX: topic_prefix = optarg; break;
        case O_MFILE: po.metrics_file = optarg; break;
        case O_MLISTEN: po.metrics_listen = optarg; break;
        case O_MAXBAD:
            if (parse_i64(optarg, 0, &v)) goto bad_value;
            po.max_bad = v;
            break;
        case O_MAXBADRATIO:
            if (parse_ratio(optarg, &po.max_bad_ratio)) goto bad_value;
            break;
        case 'c': break; /* loaded above */
        case 'X':
            if (nkprops == (int)(sizeof(kprops) / sizeof(kprops[0])) - 1 || !strchr(optarg, '=')) {
                fprintf(stderr, "slogpipe ingest: -X takes KEY=VALUE (at most 63)\n");
                return EX_USAGE;
            }
            kprops[nkprops++] = optarg;
            break;
        case 'q': po.quiet = 1; sp_log_level = SP_LOG_WARN; break;
        case 'v': sp_log_level = SP_LOG_DEBUG; break;
        case 'h': fputs(usage_ingest, stdout); rc = SP_OK; goto out;
        default: fputs(usage_ingest, stderr); rc = SP_EUSAGE; goto out;
        }
        continue;
    bad_value:
        fprintf(stderr, "slogpipe ingest: bad value '%s' for --%s\n", optarg, opts[c - O_DB].name);
        rc = SP_EUSAGE;
        goto out;
    }
    kprops[nkprops] = NULL;
    /* inputs: the command line's, else the config file's */
    if (optind >= ac) {
        for (int i = 0; i < cfg.ninputs; i++) av[ac++] = cfg.inputs[i];
    }
    if (optind >= ac) {
        fprintf(stderr, "slogpipe ingest: no INPUT given\n%s", usage_ingest);
        rc = SP_EUSAGE;
        goto out;
    }
    if (po.follow && ac - optind != 1) {
        fprintf(stderr, "slogpipe ingest: --follow takes exactly one INPUT (run one slogpipe per file)\n");
        rc = SP_EUSAGE;
        goto out;
    }
    if (po.follow && po.fast) {
        fprintf(stderr, "slogpipe ingest: --follow and --fast-backfill do not mix\n");
        rc = SP_EUSAGE;
        goto out;
    }
    if (po.fast && !po.quiet)
        fprintf(stderr, "slogpipe: --fast-backfill: synchronous=OFF, the database is not "
                        "crash-safe until this run ends\n");

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    rc = sp_pipeline_open(&p, &po, &err);
    if (rc != SP_OK) {
        fprintf(stderr, "slogpipe: %s\n", err.msg);
        free(av);
        sp_config_free(&cfg);
        return rc == SP_EUSAGE ? EX_USAGE : EX_CANTCREAT;
    }
    if (kafka_out) {
        int kin = 0;
        for (int i = optind; i < ac; i++) kin |= strncmp(av[i], "kafka://", 8) == 0;
        if ((rc = sp_cli_kafka_out(p, kafka_out, topic_prefix, kprops, po.db, kin, &err)) != SP_OK) goto done;
    }
    for (int i = optind; i < ac && rc == SP_OK && !sp_pipeline_stop; i++) {
        if (strncmp(av[i], "kafka://", 8) == 0)
            rc = sp_cli_kafka_ingest(p, av[i], kprops, node_given, exit_at_end, &err);
        else
            rc = sp_pipeline_ingest_path(p, av[i], &err);
    }
    if (rc == SP_OK) rc = sp_pipeline_finish(p, &err);
done:
    if (rc != SP_OK) fprintf(stderr, "slogpipe: %s\n", err.msg);
    /* Every input was read and committed: now the verdict (the summary
     * above named each input with a problem). */
    if (rc == SP_OK && sp_pipeline_stats(p)->inputs_failed > 0) {
        fprintf(stderr, "slogpipe: %lld input(s) could not be read (exit 66)\n",
                (long long)sp_pipeline_stats(p)->inputs_failed);
        rc = SP_ENOINPUT;
    } else if (rc == SP_OK && sp_pipeline_stats(p)->inputs_rejected > 0) {
        fprintf(stderr, "slogpipe: %lld input(s) rejected as bad data (exit 65)\n",
                (long long)sp_pipeline_stats(p)->inputs_rejected);
        rc = SP_EBADINPUT;
    } else if (rc == SP_OK && po.strict && sp_pipeline_stats(p)->bad > 0) {
        fprintf(stderr, "slogpipe: --strict: %lld bad input record(s)\n",
                (long long)sp_pipeline_stats(p)->bad);
        rc = SP_EBADINPUT;
    }
    sp_pipeline_destroy(p);
    if (fclose(stdout) != 0 && rc == SP_OK) {
        perror("slogpipe: stdout");
        rc = SP_EIO;
    }
out:
    free(av);
    sp_config_free(&cfg);
    return exit_code_for(rc);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    /* No global allocation statistics in SQLite: they take a process-wide
     * mutex on every malloc/free, ~3 % of the writer thread's time
     * (bench/run). Must precede sqlite3_initialize (the first open). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (!cmd) {
        fputs(usage_main, stderr);
        return EX_USAGE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        struct sp_inflate *z = sp_inflate_new();
        printf("slogpipe %s (gzip input: %s, SQLite %s)\n", SP_VERSION, sp_inflate_backend(z), sqlite3_libversion());
        sp_inflate_free(z);
        return 0;
    }
    if (strcmp(cmd, "ingest") == 0) return cmd_ingest(argc - 1, argv + 1);
    for (const struct sp_command *c = sp_commands; c->name; c++)
        if (strcmp(cmd, c->name) == 0) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "slogpipe: unknown command '%s'\n%s", cmd, usage_main);
    return EX_USAGE;
}
