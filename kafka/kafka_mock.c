/* kafka_mock.c - librdkafka's in-process mock cluster as a program, with a stdin control channel for fault injection in tests. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MOCK_MAX_TOPICS 64

static volatile sig_atomic_t mock_stop;

static void mock_on_signal(int sig)
{
    (void)sig;
    mock_stop = 1;
}

static void mock_usage(FILE *f)
{
    fprintf(f,
            "usage: kafka-mock [--brokers N] [--partitions P] [--topic T ...]\n"
            "Starts librdkafka's mock cluster on loopback, prints the bootstrap servers\n"
            "on the first stdout line, then reads control commands on stdin, one per\n"
            "line, each answered by one line starting with \"ok\" or \"error\":\n"
            "  topic T P                 create topic T with P partitions\n"
            "  broker-down ID | broker-up ID\n"
            "  rtt ID MS                 add MS milliseconds of latency to broker ID\n"
            "  leader T P ID             make broker ID the leader of T/P\n"
            "  coordinator group G ID    make broker ID the coordinator of group G\n"
            "  error API CNT ERR...      fail the next CNT requests of API (Produce, Fetch,\n"
            "                            Metadata, OffsetCommit, JoinGroup, ...) with ERR\n"
            "                            (names like NOT_LEADER_FOR_PARTITION, or numbers);\n"
            "                            one ERR is repeated CNT times\n"
            "  clear API                 drop the pending errors of API\n"
            "  ping\n"
            "Runs until SIGINT/SIGTERM or end of stdin (--stdin-eof-exit).\n");
}

/* Parse a non-negative decimal integer; returns 0 on success. */
static int mock_parse_int(const char *s, long *out)
{
    char *end;
    long v;
    if (!s || !*s) return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0) return -1;
    *out = v;
    return 0;
}

static const struct {
    const char *name;
    int16_t key;
} mock_apis[] = {
    {"Produce", 0},         {"Fetch", 1},           {"ListOffsets", 2},  {"Metadata", 3},
    {"OffsetCommit", 8},    {"OffsetFetch", 9},     {"FindCoordinator", 10},
    {"JoinGroup", 11},      {"Heartbeat", 12},      {"LeaveGroup", 13},  {"SyncGroup", 14},
    {"DescribeGroups", 15}, {"ApiVersions", 18},    {"InitProducerId", 22},
    {"AddPartitionsToTxn", 24}, {"EndTxn", 26},
};

static int mock_api_key(const char *name, int16_t *key)
{
    long v;
    for (size_t i = 0; i < sizeof mock_apis / sizeof mock_apis[0]; i++) {
        if (strcasecmp(mock_apis[i].name, name) == 0) {
            *key = mock_apis[i].key;
            return 0;
        }
    }
    if (mock_parse_int(name, &v) == 0 && v < 100) {
        *key = (int16_t)v;
        return 0;
    }
    return -1;
}

/* Error code by name (with or without the RD_KAFKA_RESP_ERR_ prefix) or number. */
static int mock_err_code(const char *name, rd_kafka_resp_err_t *out)
{
    const struct rd_kafka_err_desc *descs;
    size_t n;
    char *end;
    long v;
    if (strncmp(name, "RD_KAFKA_RESP_ERR_", 18) == 0) name += 18;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && strcmp(descs[i].name, name) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    errno = 0;
    v = strtol(name, &end, 10);
    if (errno || *end || end == name) return -1;
    *out = (rd_kafka_resp_err_t)v;
    return 0;
}

/* Run one control command; writes the answer line to stdout. */
static void mock_command(rd_kafka_mock_cluster_t *mc, char *line)
{
    char *argv[40];
    int argc = 0;
    char *save = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    long a = 0, b = 0, c = 0;

    for (char *t = strtok_r(line, " \t\r\n", &save); t && argc < 40; t = strtok_r(NULL, " \t\r\n", &save))
        argv[argc++] = t;
    if (argc == 0) return;

    if (strcmp(argv[0], "ping") == 0 && argc == 1) {
        printf("ok ping\n");
    } else if (strcmp(argv[0], "topic") == 0 && argc == 3 && mock_parse_int(argv[2], &a) == 0) {
        e = rd_kafka_mock_topic_create(mc, argv[1], (int)a, 1);
        goto answer;
    } else if ((strcmp(argv[0], "broker-down") == 0 || strcmp(argv[0], "broker-up") == 0) && argc == 2 &&
               mock_parse_int(argv[1], &a) == 0) {
        e = argv[0][7] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                              : rd_kafka_mock_broker_set_up(mc, (int32_t)a);
        goto answer;
    } else if (strcmp(argv[0], "rtt") == 0 && argc == 3 && mock_parse_int(argv[1], &a) == 0 &&
               mock_parse_int(argv[2], &b) == 0) {
        e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b);
        goto answer;
    } else if (strcmp(argv[0], "leader") == 0 && argc == 4 && mock_parse_int(argv[2], &a) == 0 &&
               mock_parse_int(argv[3], &b) == 0) {
        e = rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)a, (int32_t)b);
        goto answer;
    } else if (strcmp(argv[0], "coordinator") == 0 && argc == 4 && mock_parse_int(argv[3], &a) == 0) {
        e = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], (int32_t)a);
        goto answer;
    } else if (strcmp(argv[0], "error") == 0 && argc >= 4 && mock_parse_int(argv[2], &c) == 0 && c > 0 &&
               c <= 1000) {
        int16_t key;
        rd_kafka_resp_err_t errs[1000];
        if (mock_api_key(argv[1], &key) != 0) {
            printf("error unknown API %s\n", argv[1]);
            goto out;
        }
        for (int i = 3; i < argc; i++) {
            if (mock_err_code(argv[i], &errs[i - 3]) != 0) {
                printf("error unknown error code %s\n", argv[i]);
                goto out;
            }
        }
        if (argc == 4)
            for (long i = 1; i < c; i++) errs[i] = errs[0];
        else if (argc - 3 != c) {
            printf("error %ld errors announced, %d given\n", c, argc - 3);
            goto out;
        }
        rd_kafka_mock_push_request_errors_array(mc, key, (size_t)c, errs);
        printf("ok error %s %ld\n", argv[1], c);
    } else if (strcmp(argv[0], "clear") == 0 && argc == 2) {
        int16_t key;
        if (mock_api_key(argv[1], &key) != 0) {
            printf("error unknown API %s\n", argv[1]);
            goto out;
        }
        rd_kafka_mock_clear_request_errors(mc, key);
        printf("ok clear %s\n", argv[1]);
    } else {
        printf("error bad command %s (try --help)\n", argv[0]);
    }
    goto out;
answer:
    if (e)
        printf("error %s: %s\n", argv[0], rd_kafka_err2str(e));
    else
        printf("ok %s\n", argv[0]);
out:
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"partitions", required_argument, NULL, 'p'},
        {"topic", required_argument, NULL, 't'},
        {"stdin-eof-exit", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *topics[MOCK_MAX_TOPICS];
    int ntopics = 0, eof_exit = 0, stdin_open = 1, rc = 0;
    long brokers = 3, partitions = 16;
    char errstr[512], line[4096];
    size_t used = 0;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    struct sigaction sa;
    int opt;

    while ((opt = getopt_long(argc, argv, "b:p:t:eh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (mock_parse_int(optarg, &brokers) != 0 || brokers < 1 || brokers > 64) goto usage;
            break;
        case 'p':
            if (mock_parse_int(optarg, &partitions) != 0 || partitions < 1 || partitions > 10000) goto usage;
            break;
        case 't':
            if (ntopics == MOCK_MAX_TOPICS) goto usage;
            topics[ntopics++] = optarg;
            break;
        case 'e':
            eof_exit = 1;
            break;
        case 'h':
            mock_usage(stdout);
            return 0;
        default:
            goto usage;
        }
    }
    if (optind != argc) goto usage;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mock_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka-mock: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return EX_SOFTWARE;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka-mock: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return EX_SOFTWARE;
    }
    conf = NULL; /* owned by rk now */
    mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
    if (!mc) {
        fprintf(stderr, "kafka-mock: cannot create the mock cluster\n");
        rc = EX_SOFTWARE;
        goto done;
    }
    for (int i = 0; i < ntopics; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topics[i], (int)partitions, 1);
        if (e) {
            fprintf(stderr, "kafka-mock: topic %s: %s\n", topics[i], rd_kafka_err2str(e));
            rc = EX_SOFTWARE;
            goto done;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    while (!mock_stop && (stdin_open || !eof_exit)) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&pfd, stdin_open ? 1 : 0, 200);
        ssize_t got;
        char *nl;
        if (n <= 0) continue;
        got = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
        if (got <= 0) {
            stdin_open = 0;
            continue;
        }
        used += (size_t)got;
        line[used] = '\0';
        while ((nl = memchr(line, '\n', used)) != NULL) {
            size_t len = (size_t)(nl - line) + 1;
            *nl = '\0';
            mock_command(mc, line);
            memmove(line, line + len, used - len);
            used -= len;
        }
        if (used == sizeof line - 1) { /* over-long command: drop it */
            printf("error command too long\n");
            fflush(stdout);
            used = 0;
        }
    }

done:
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
usage:
    mock_usage(stderr);
    return EX_USAGE;
}
