/* test_sink_jsonl.c - the JSONL sink and record JSON: schema validation of every kind, torn-tail cut, sidecar, stdout. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "sp_test.h"
#include "sink_fixtures.h"
#include "../../core/sp_buf.h"
#include "../../sinks/sp_jsonl.h"
#include "../../normalize/sp_normalize.h"
#include "schema_check.h"


static char dir[256];

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = sp_xmalloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
    buf[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

/* time / monotime / seconds reach JSON as the slog wrote them (the exact
 * text; it reads back as the parsed double), whatever form JSON allows;
 * values that did not come from a line are formatted. */
static void test_number_text(void)
{
    static const char *const lines[] = {
        "{\"type\":\"syscall-result\",\"time\":1795825851.777232,\"monotime\":17.878159210000003,"
        "\"seconds\":4.5108999998774e-05}",
        "{\"type\":\"crank-finish\",\"time\":1.5E+9,\"monotime\":-0,\"seconds\":0}",
        "{\"type\":\"crank-finish\",\"time\":17,\"monotime\":1e-7}",
    };
    static const char *const want[] = {
        "\"time\":1795825851.777232,\"monotime\":17.878159210000003,\"seconds\":4.5108999998774e-05,",
        "\"time\":1.5E+9,\"monotime\":-0,\"seconds\":0,",
        "\"time\":17,\"monotime\":1e-7,",
    };
    struct sp_normalizer *nz = sp_normalizer_new();
    struct sp_origin o = {SP_STR_LIT("n1"), SP_STR_LIT("s.jsonl"), 1, 0};
    struct sp_buf b;
    struct sp_err err = {0};

    sp_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct sp_event e;
        sp_buf_reset(&b);
        CHECK_INT(sp_normalize_line(nz, lines[i], strlen(lines[i]), &o, &e, &err), SP_OK);
        CHECK_INT(sp_record_to_json(&(struct sp_record){SP_REC_EVENT, {.event = &e}}, &b), SP_OK);
        if (!strstr(b.data, want[i])) fprintf(stderr, "number text: %s\n  want %s\n", b.data, want[i]);
        CHECK(strstr(b.data, want[i]) != NULL);
    }
    {   /* no text: formatted from the double */
        struct sp_event e = fx_event("crank-finish", 1);
        e.time = 1795825851.777232;
        e.has |= SP_HAS_TIME;
        sp_buf_reset(&b);
        CHECK_INT(sp_record_to_json(&(struct sp_record){SP_REC_EVENT, {.event = &e}}, &b), SP_OK);
        CHECK(strstr(b.data, "\"time\":1795825851.7772319,") != NULL);
    }
    sp_buf_free(&b);
    sp_normalizer_destroy(nz);
}

/* sp_buf_json_str (8 bytes at a time between the bytes that need a look)
 * against the escapes composed token by token: strings of 0..40 tokens from
 * an alphabet of plain ASCII, every escaped byte, valid 2- and 3-byte UTF-8
 * and an invalid byte, so each kind sits at every offset of an 8-byte word. */
static void test_json_str(void)
{
    static const struct {
        const char *in, *out;
    } tok[] = {
        {"a", "a"},         {"Z", "Z"},         {"~", "~"},           {"\x7f", "\x7f"},
        {"\"", "\\\""},     {"\\", "\\\\"},     {"\n", "\\n"},        {"\r", "\\r"},
        {"\t", "\\t"},      {"\x01", "\\u0001"}, {"\x1f", "\\u001f"}, {"\xc3\xa9", "\xc3\xa9"},
        {"\xe2\x82\xac", "\xe2\x82\xac"}, {"\xff", "\\ufffd"},       {" ", " "},
    };
    const size_t ntok = sizeof(tok) / sizeof(tok[0]);
    struct sp_buf got, want;
    char in[200];
    uint32_t seed = 12345;
    int bad = 0;

    sp_buf_init(&got, 0);
    sp_buf_init(&want, 0);
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, k;
        seed = seed * 1103515245u + 12345u;
        k = (seed >> 16) % 41;
        sp_buf_reset(&want);
        sp_buf_putc(&want, '"');
        for (size_t t = 0; t < k; t++) {
            size_t pick;
            seed = seed * 1103515245u + 12345u;
            /* mostly plain letters, as in real slogs */
            pick = (seed >> 16) % 4 ? (seed >> 20) % 2 : (seed >> 18) % ntok;
            memcpy(in + n, tok[pick].in, strlen(tok[pick].in));
            n += strlen(tok[pick].in);
            sp_buf_append_c(&want, tok[pick].out);
        }
        sp_buf_putc(&want, '"');
        sp_buf_reset(&got);
        CHECK_INT(sp_buf_json_str(&got, in, n), SP_OK);
        if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0) {
            if (bad++ < 3) fprintf(stderr, "json_str: got %s want %s\n", got.data, want.data);
        }
    }
    CHECK_INT(bad, 0);
    sp_buf_free(&got);
    sp_buf_free(&want);
}

/* The reference the fast double formatter must match byte for byte. */
static void ref_double(double v, char out[40])
{
    snprintf(out, 40, "%.15g", v);
    if (strtod(out, NULL) != v) snprintf(out, 40, "%.17g", v);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void) /* xorshift64*: deterministic, so a failure reproduces */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* sp_json_fmt_double == "%.15g, else %.17g" on edge cases and ~1.2 M values
 * shaped like slog times, monotimes, durations (down to the exponential
 * form of a microsecond syscall), decimal fractions and raw bit patterns. */
static void test_double_format(void)
{
    static const double edge[] = {0.0, -0.0, 1e-4, 9.9999999999999995e-05, 1e-5, 1e-8, 9.99999999e-09,
                                  1e-9, 1e15, 999999999999999.9, 1e16, 5e-324, 1.7976931348623157e308,
                                  0.1, 0.5, 1.0, -1.5158000001974869e-05, 1795825897.67627, 63.777155881,
                                  2.5e-05, 1.2345e-07, 9.5e-05, 0.30000000000000004};
    char got[40], want[40];
    long bad = 0;

    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        sp_json_fmt_double(edge[i], got);
        ref_double(edge[i], want);
        CHECK_STR(got, want);
    }
    for (int i = 0; i < 1200000; i++) {
        uint64_t r = rng();
        double v;
        switch (i % 6) {
        case 0: v = 1.6e9 + (double)(r % 400000000000ull) / 1e5; break;           /* time */
        case 1: v = (double)(r % 100000000000000ull) / 1e9; break;                 /* monotime */
        case 2: v = ldexp((double)(r >> 11), -53) * pow(10.0, -(double)(r % 10)); break; /* seconds */
        case 3: v = (double)(int64_t)(r % 2000000001ull - 1000000000) / pow(10.0, (double)(r % 12)); break;
        case 4: memcpy(&v, &r, sizeof v); break;                                   /* any bits */
        default: v = exp((double)(r % 60000) / 1000.0 - 25.0); break;              /* log-uniform */
        }
        if (!isfinite(v)) continue;
        sp_json_fmt_double(v, got);
        ref_double(v, want);
        if (strcmp(got, want) != 0 && bad++ < 5)
            fprintf(stderr, "double %.17g: got %s, want %s\n", v, got, want);
    }
    CHECK_INT(bad, 0);
}

/* Validate every line of a buffer; returns the number of lines. */
static int check_lines(char *text, size_t n)
{
    int lines = 0;
    char *p = text, *end = text + n;

    CHECK(sp_utf8_valid(text, n, NULL));
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        CHECK(nl != NULL); /* every line is complete */
        if (!nl) break;
        *nl = '\0';
        yajl_tree_free(check_line(p));
        lines++;
        p = nl + 1;
    }
    return lines;
}

static int n_written;
static int kinds_count; /* records write_all_kinds writes */

/* Write one record of every kind (plus the tricky cases) through the sink ops. */
static void write_all_kinds(const struct sp_sink_ops *ops, void *s)
{
    struct sp_err err = {0};
    struct sp_event e;
    struct sp_record r;

#define PUT(rec)                                                       \
    do {                                                               \
        r = (rec);                                                     \
        CHECK_INT(ops->write(s, &r, &err), SP_OK);                     \
        n_written++;                                                   \
    } while (0)

    e = fx_deliver(3);
    PUT(fx_rec_event(&e));
    e = fx_event("deliver-result", 4);
    e.vat_id = SP_STR_LIT("v1");
    e.dr = SP_STR_LIT("[\"ok\",null,{\"compute\":13901}]");
    e.dr_status = SP_STR_LIT("ok");
    e.computrons = 13901;
    e.seconds = 0.00299;
    e.has |= SP_HAS_COMPUTRONS | SP_HAS_SECONDS;
    PUT(fx_rec_event(&e));
    e = fx_event("heap-snapshot-save", 5);
    e.vat_id = SP_STR_LIT("v1");
    e.snapshot_id = SP_STR_LIT("f625fb09");
    e.snap_pos = 4;
    e.save_seconds = 0.0059;
    e.restart_worker = 1;
    e.has |= SP_HAS_SNAP_POS | SP_HAS_SAVE_SECONDS | SP_HAS_RESTART_WORKER;
    e.ctx_crank_num = 45;
    PUT(fx_rec_event(&e));
    e = fx_event("create-vat", 6);
    e.vat_id = SP_STR_LIT("v9");
    e.name = SP_STR_LIT("zoe\xff\xfe"); /* invalid UTF-8 in a string field */
    e.dynamic = 1;
    e.has |= SP_HAS_DYNAMIC;
    e.bundle_bytes = 280000;
    PUT(fx_rec_event(&e));
    e = fx_event("console", 7);
    e.console_source = SP_STR_LIT("kernel");
    e.level = SP_STR_LIT("log");
    e.args = SP_STR_LIT("[\"vat v6 upgraded \xc3\x28\"]"); /* invalid UTF-8 inside raw JSON */
    PUT(fx_rec_event(&e));
    e = fx_event("brand-new-event", 8);
    e.raw = SP_STR_LIT("{\"type\":\"brand-new-event\",\"x\":[1,2,{\"y\":null}]}");
    PUT(fx_rec_event(&e));
    e = fx_event("cosmic-swingset-bridge-inbound", 9);
    e.inbound_num = SP_STR_LIT("10-x/vbank-0");
    e.inbound_source = SP_STR_LIT("bank");
    e.block_height = 10;
    e.has |= SP_HAS_BLOCK_HEIGHT;
    e.time = NAN; /* no JSON form: omitted */
    PUT(fx_rec_event(&e));
    {
        static struct sp_delivery d;
        d = fx_delivery();
        PUT(((struct sp_record){SP_REC_DELIVERY, {.delivery = &d}}));
    }
    {
        static char junk[300];
        static struct sp_bad b;
        memset(junk, '"', sizeof(junk));
        junk[5] = '\n';
        junk[6] = '\xc3';
        b = fx_bad(junk, sizeof(junk));
        PUT(((struct sp_record){SP_REC_BAD, {.bad = &b}}));
        static struct sp_bad b2;
        b2 = fx_bad(NULL, 0);
        b2.origin.line = -1; /* a whole source failed */
        PUT(((struct sp_record){SP_REC_BAD, {.bad = &b2}}));
    }
    {
        static struct sp_titem t1, t2;
        static struct sp_tspan ts;
        static struct sp_tsnapshot sn;
        static struct sp_kv kv;
        static struct sp_span sp;
        static struct sp_anomaly an, an2;
        static struct sp_supersede su, su2;
        t1 = fx_titem(2, "{\"d\":[\"message\",\"o+0\"],\"sc\":[],\"r\":{\"status\":\"ok\"}}");
        t2 = fx_titem(3, "{\"d\":[\"message\" CORRUPT");
        ts = fx_tspan();
        sn = fx_tsnapshot();
        kv = fx_kv();
        sp = fx_span();
        an = fx_anomaly();
        an2 = fx_anomaly();
        an2.vat_id = SP_STR_NULL;
        an2.position = -1;
        an2.detail = SP_STR_LIT("not json");
        PUT(((struct sp_record){SP_REC_TITEM, {.titem = &t1}}));
        PUT(((struct sp_record){SP_REC_TITEM, {.titem = &t2}}));
        PUT(((struct sp_record){SP_REC_TSPAN, {.tspan = &ts}}));
        PUT(((struct sp_record){SP_REC_TSNAPSHOT, {.tsnapshot = &sn}}));
        PUT(((struct sp_record){SP_REC_KV, {.kv = &kv}}));
        PUT(((struct sp_record){SP_REC_SPAN, {.span = &sp}}));
        PUT(((struct sp_record){SP_REC_ANOMALY, {.anomaly = &an}}));
        PUT(((struct sp_record){SP_REC_ANOMALY, {.anomaly = &an2}}));
        su = (struct sp_supersede){.node = SP_STR_LIT("n1"), .source = SP_STR_LIT("slog.json"), .epoch = 1,
                                   .block_height = 20, .first_line = 3, .first_offset = 200, .last_line = 8,
                                   .last_offset = 900, .restart_line = 9, .deliveries = 2};
        su2 = su; /* no block markers; the restart in another source */
        su2.block_height = -1, su2.restart_line = -1;
        PUT(((struct sp_record){SP_REC_SUPERSEDE, {.supersede = &su}}));
        PUT(((struct sp_record){SP_REC_SUPERSEDE, {.supersede = &su2}}));
    }
    {
        /* a run and a block budget: unknowns (-1 / NaN / absent strings) are omitted */
        static struct sp_run ru;
        static struct sp_block bl;
        memset(&ru, 0, sizeof ru);
        ru.node = SP_STR_LIT("n1");
        ru.source = SP_STR_LIT("slog.json");
        ru.block_height = 10;
        ru.run_num = 1;
        ru.phase = SP_STR_LIT("inbound");
        ru.trigger = SP_STR_LIT("bridge-inbound");
        ru.inbound_num = SP_STR_LIT("10-ABC-0");
        ru.trigger_source = SP_STR_LIT("wallet");
        ru.trigger_type = SP_STR_LIT("WALLET_SPEND_ACTION");
        ru.trigger_count = -1;
        ru.start_line = -1;
        ru.finish_line = 99;
        ru.start_time = NAN;
        ru.finish_time = 1700000010.5;
        ru.seconds = 8.25;
        ru.beans_start = 0;
        ru.beans_used = 272203800;
        ru.beans_remaining = -1;
        ru.computrons = 2743314;
        ru.cranks = 193;
        ru.deliveries = 113;
        ru.delivery_seconds = 0.5;
        ru.boyd_seconds = NAN;
        memset(&bl, 0, sizeof bl);
        bl.node = SP_STR_LIT("n1");
        bl.block_height = 10;
        bl.begin_time = bl.end_time = bl.commit_time = NAN;
        bl.block_seconds = 9.0;
        bl.run_seconds = 8.25;
        bl.end_block_seconds = 8.5;
        bl.commit_seconds = 0.25;
        bl.save_seconds = bl.cosmos_commit_seconds = NAN;
        bl.runs = 3;
        bl.boyd_seconds = bl.snapshot_seconds = bl.replay_seconds = 0;
        bl.committed = 1;
        PUT(((struct sp_record){SP_REC_RUN, {.run = &ru}}));
        PUT(((struct sp_record){SP_REC_BLOCK, {.block = &bl}}));
    }
#undef PUT
}

static void *open_jsonl(const char *path)
{
    struct sp_sink_opts o = {0};
    struct sp_err err = {0};
    void *s = NULL;
    int rc = sp_sink_jsonl.open(&s, path, &o, &err);
    if (rc != SP_OK) fprintf(stderr, "open %s: %s\n", path, err.msg);
    CHECK_INT(rc, SP_OK);
    return s;
}

static int commit_cp(void *s, const char *source, int64_t line, const char *state)
{
    struct sp_checkpoint cp = {"n1", source, line, line * 10, state};
    struct sp_err err = {0};
    int rc = sp_sink_jsonl.commit(s, &cp, 1, &err);
    if (rc != SP_OK) fprintf(stderr, "commit: %s\n", err.msg);
    return rc;
}

static void test_every_kind(void)
{
    char path[300];
    void *s;
    char *text;
    size_t n;

    snprintf(path, sizeof(path), "%s/kinds.jsonl", dir);
    s = open_jsonl(path);
    n_written = 0;
    write_all_kinds(&sp_sink_jsonl, s);
    CHECK_INT(sp_jsonl_bytes(s), 0); /* nothing committed yet */
    CHECK_INT(commit_cp(s, "slog.json", 9, NULL), SP_OK);
    text = slurp(path, &n);
    CHECK_INT(sp_jsonl_bytes(s), (int64_t)n);
    sp_sink_jsonl.close(s);
    CHECK(text != NULL);
    if (!text) return;

    /* exact encodings of a few lines */
    CHECK(strstr(text, "{\"kind\":\"event\",\"node\":\"n1\",\"source\":\"slog.json\",\"line\":3,\"offset\":200,"
                       "\"type\":\"deliver\",\"time\":1700000003.25,\"monotime\":12.5,\"vatID\":\"v1\",\"crankNum\":5,"
                       "\"deliveryNum\":2,\"replay\":false,\"blockHeight\":10,\"epoch\":1,\"dispatch\":\"message\","
                       "\"kd\":[\"message\",\"ko26\"") != NULL);
    CHECK(strstr(text, "\"crankNum\":45,") != NULL);                 /* from context */
    CHECK(strstr(text, "\"name\":\"zoe\\ufffd\\ufffd\"") != NULL);   /* invalid UTF-8 replaced */
    CHECK(strstr(text, "\"args\":[\"vat v6 upgraded \\ufffd(\"]") != NULL);
    CHECK(strstr(text, "\"raw\":{\"type\":\"brand-new-event\",\"x\":[1,2,{\"y\":null}]}") != NULL);
    CHECK(strstr(text, "\"item\":{\"d\":[\"message\",\"o+0\"]") != NULL);     /* JSON value */
    CHECK(strstr(text, "\"item\":\"{\\\"d\\\":[\\\"message\\\" CORRUPT\"") != NULL); /* string */
    CHECK(strstr(text, "\"detail\":{\"stored\":\"aa11\"") != NULL);
    CHECK(strstr(text, "\"inboundSource\":\"bank\"") != NULL);
    CHECK(strstr(text, "\"time\":1700000009") == NULL); /* NaN omitted */
    CHECK(strstr(text, "{\"kind\":\"supersede\",\"node\":\"n1\",\"source\":\"slog.json\",\"epoch\":1,\"blockHeight\":20,"
                       "\"firstLine\":3,\"firstOffset\":200,\"lastLine\":8,\"lastOffset\":900,\"restartLine\":9,"
                       "\"deliveries\":2}\n") != NULL);
    CHECK(strstr(text, "{\"kind\":\"supersede\",\"node\":\"n1\",\"source\":\"slog.json\",\"epoch\":1,\"firstLine\":3,"
                       "\"firstOffset\":200,\"lastLine\":8,\"lastOffset\":900,\"deliveries\":2}\n") != NULL);
    CHECK(strstr(text, "{\"kind\":\"run\",\"node\":\"n1\",\"source\":\"slog.json\",\"blockHeight\":10,\"runNum\":1,"
                       "\"epoch\":0,\"phase\":\"inbound\",\"trigger\":\"bridge-inbound\",\"inboundNum\":\"10-ABC-0\","
                       "\"triggerSource\":\"wallet\",\"triggerType\":\"WALLET_SPEND_ACTION\",\"finishLine\":99,"
                       "\"finishTime\":1700000010.5,\"seconds\":8.25,\"beansStart\":0,\"beansUsed\":272203800,"
                       "\"computrons\":2743314,\"cranks\":193,\"deliveries\":113,\"deliverySeconds\":0.5}") != NULL);
    CHECK(strstr(text, "{\"kind\":\"block\",\"node\":\"n1\",\"blockHeight\":10,\"bootstrap\":false,\"blockSeconds\":9,") != NULL);
    /* raw fields are JSON values, not strings: parse one and look */
    {
        char *line = strstr(text, "{\"kind\":\"event\",\"node\":\"n1\",\"source\":\"slog.json\",\"line\":4,");
        CHECK(line != NULL);
        if (line) {
            char *nl = strchr(line, '\n');
            yajl_val v;
            if (nl) *nl = '\0';
            v = yajl_tree_parse(line, NULL, 0);
            if (nl) *nl = '\n';
            CHECK(YAJL_IS_ARRAY(get(v, "dr")));
            CHECK(YAJL_IS_INTEGER(get(v, "computrons")) && YAJL_GET_INTEGER(get(v, "computrons")) == 13901);
            yajl_tree_free(v);
        }
    }
    CHECK_INT(check_lines(text, n), n_written);
    kinds_count = n_written;

    free(text);
}

/* Resume after a crash: the torn tail after the last commit is cut. */
static void test_truncate_on_resume(void)
{
    char path[300];
    void *s;
    int64_t committed;
    struct sp_err err = {0};
    struct stat st;

    snprintf(path, sizeof(path), "%s/resume.jsonl", dir);
    s = open_jsonl(path);
    CHECK_INT(sp_jsonl_sidecar_bytes(s), -1);
    for (int i = 1; i <= 3; i++) {
        struct sp_event e = fx_deliver(i);
        struct sp_record r = fx_rec_event(&e);
        CHECK_INT(sp_sink_jsonl.write(s, &r, &err), SP_OK);
    }
    CHECK_INT(commit_cp(s, "slog.json", 3, "{\"block\":10}"), SP_OK);
    committed = sp_jsonl_bytes(s);
    CHECK(committed > 0);
    /* more than the 1 MiB buffer without a commit: some of it reaches the file */
    for (int i = 4; i <= 6000; i++) {
        struct sp_event e = fx_deliver(i);
        struct sp_record r = fx_rec_event(&e);
        CHECK_INT(sp_sink_jsonl.write(s, &r, &err), SP_OK);
    }
    sp_sink_jsonl.close(s); /* crash: no commit */
    {   /* and a torn last line */
        int fd = open(path, O_WRONLY | O_APPEND);
        CHECK(write(fd, "{\"kind\":\"ev", 11) == 11);
        close(fd);
    }
    CHECK(stat(path, &st) == 0 && st.st_size > committed + (1 << 20) - 4096);

    s = open_jsonl(path);
    CHECK_INT(sp_jsonl_sidecar_bytes(s), committed);
    {
        int64_t line = 0, off = 0;
        char *state = NULL;
        CHECK_INT(sp_jsonl_checkpoint_get(s, "n1", "slog.json", &line, &off, &state, &err), SP_OK);
        CHECK_INT(line, 3);
        CHECK_INT(off, 30);
        CHECK_STR(state, "{\"block\":10}");
        free(state);
        CHECK_INT(sp_jsonl_checkpoint_get(s, "n1", "nope", &line, &off, &state, &err), SP_EOF);
    }
    CHECK_INT(sp_jsonl_truncate(s, sp_jsonl_sidecar_bytes(s), &err), SP_OK);
    CHECK(stat(path, &st) == 0 && st.st_size == committed);
    {
        struct sp_event e = fx_deliver(4);
        struct sp_record r = fx_rec_event(&e);
        CHECK_INT(sp_sink_jsonl.write(s, &r, &err), SP_OK);
        CHECK_INT(commit_cp(s, "slog.json", 4, NULL), SP_OK);
    }
    /* a checkpoint longer than the file: refuse */
    CHECK_INT(sp_jsonl_truncate(s, sp_jsonl_bytes(s) + 1, &err), SP_EIO);
    CHECK(strstr(err.msg, "shorter") != NULL);
    sp_sink_jsonl.close(s);
    {
        size_t n;
        char *text = slurp(path, &n);
        CHECK_INT(check_lines(text, n), 4);
        free(text);
    }
}

/* The sidecar is replaced atomically: a process killed at any moment leaves
 * a sidecar that parses and a file at least as long as it says. */
static void test_sidecar_atomic(void)
{
    char path[300], ckpt[320];

    snprintf(path, sizeof(path), "%s/atomic.jsonl", dir);
    snprintf(ckpt, sizeof(ckpt), "%s.ckpt", path);
    for (int round = 0; round < 4; round++) {
        int ready[2];
        char c1;
        pid_t pid;
        int status;
        CHECK(pipe(ready) == 0);
        pid = fork();
        if (pid == 0) {
            close(ready[0]);
            void *s = NULL;
            struct sp_sink_opts o = {0};
            struct sp_err err;
            if (sp_sink_jsonl.open(&s, path, &o, &err) != SP_OK) _exit(3);
            if (sp_jsonl_truncate(s, sp_jsonl_sidecar_bytes(s) < 0 ? 0 : sp_jsonl_sidecar_bytes(s), &err) != SP_OK)
                _exit(4);
            for (int i = 1;; i++) {
                struct sp_event e = fx_deliver(i);
                struct sp_record r = fx_rec_event(&e);
                struct sp_checkpoint cps[2] = {{"n1", "a.json", i, i, NULL}, {"n2", "b.json", 2 * i, 0, "{}"}};
                if (sp_sink_jsonl.write(s, &r, &err) != SP_OK) _exit(5);
                if (sp_sink_jsonl.commit(s, cps, 1 + (i % 2), &err) != SP_OK) _exit(6);
                if (i == 2 && write(ready[1], "r", 1) != 1) _exit(7); /* both checkpoints exist */
            }
        }
        close(ready[1]);
        CHECK(read(ready[0], &c1, 1) == 1); /* the child has committed twice */
        close(ready[0]);
        usleep(10000 + 17000 * round);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        {
            size_t n = 0, cn = 0;
            char *c = slurp(ckpt, &cn);
            char *text = slurp(path, &n);
            yajl_val v = c ? yajl_tree_parse(c, NULL, 0) : NULL;
            yajl_val bytes = get(v, "bytes"), list = get(v, "checkpoints");
            CHECK(YAJL_IS_INTEGER(bytes));
            CHECK(YAJL_IS_ARRAY(list) && list->u.array.len == 2);
            if (YAJL_IS_INTEGER(bytes) && text) {
                int64_t b = YAJL_GET_INTEGER(bytes);
                CHECK(b > 0 && (size_t)b <= n);
                if (b > 0 && (size_t)b <= n) {
                    CHECK(text[b - 1] == '\n');
                    CHECK_INT(check_lines(text, (size_t)b) > 0, 1);
                }
            }
            yajl_tree_free(v);
            free(c);
            free(text);
        }
    }
}

static void test_sidecar_off(void)
{
    char path[300], ckpt[320];
    void *s;

    snprintf(path, sizeof(path), "%s/nosidecar.jsonl", dir);
    snprintf(ckpt, sizeof(ckpt), "%s.ckpt", path);
    s = open_jsonl(path);
    sp_jsonl_set_sidecar(s, 0);
    CHECK_INT(commit_cp(s, "slog.json", 1, NULL), SP_OK);
    sp_sink_jsonl.close(s);
    CHECK(access(ckpt, F_OK) != 0);
}

/* "-": lines on stdout, no truncation, no checkpoints. */
static void test_stdout(void)
{
    int pfd[2];
    pid_t pid;
    char *text = sp_xmalloc(1 << 20);
    size_t n = 0;
    int status;

    CHECK(pipe(pfd) == 0);
    pid = fork();
    if (pid == 0) {
        void *s;
        struct sp_err err;
        int64_t line;
        char *state;
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        s = open_jsonl("-");
        if (!s) _exit(3);
        n_written = 0;
        write_all_kinds(&sp_sink_jsonl, s);
        if (sp_jsonl_truncate(s, 0, &err) != SP_EUSAGE) _exit(4);
        if (commit_cp(s, "slog.json", 1, NULL) != SP_OK) _exit(5);
        if (sp_jsonl_checkpoint_get(s, "n1", "slog.json", &line, NULL, &state, &err) != SP_EOF) _exit(6);
        if (sp_jsonl_bytes(s) <= 0) _exit(7);
        sp_sink_jsonl.close(s);
        _exit(sp_test_failures ? 8 : 0);
    }
    close(pfd[1]);
    for (;;) {
        ssize_t k = read(pfd[0], text + n, (1 << 20) - 1 - n);
        if (k <= 0) break;
        n += (size_t)k;
    }
    close(pfd[0]);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 0);
    text[n] = '\0';
    CHECK_INT(check_lines(text, n), kinds_count);
    free(text);
}

/* A write that fails (disk full) is SP_ESINK, and nothing is committed after it. */
static void test_disk_full(void)
{
    void *s = open_jsonl("/dev/full");
    struct sp_err err = {0};
    struct sp_event e = fx_deliver(1);
    struct sp_record r = fx_rec_event(&e);

    if (!s) return;
    sp_jsonl_set_sidecar(s, 0);
    CHECK_INT(sp_sink_jsonl.write(s, &r, &err), SP_OK); /* buffered */
    CHECK_INT(commit_cp(s, "slog.json", 1, NULL), SP_ESINK);
    CHECK_INT(sp_sink_jsonl.commit(s, NULL, 0, &err), SP_ESINK);
    CHECK(strstr(err.msg, "earlier") != NULL);
    CHECK_INT(sp_sink_jsonl.write(s, &r, &err), SP_ESINK);
    CHECK_INT(sp_jsonl_bytes(s), 0);
    sp_sink_jsonl.close(s);
}

/* sp_record_to_json leaves the buffer untouched when the record does not fit. */
static void test_cap(void)
{
    struct sp_buf b;
    struct sp_event e = fx_deliver(1);
    struct sp_record r = fx_rec_event(&e);

    sp_buf_init(&b, 64);
    sp_buf_append_c(&b, "keep");
    CHECK_INT(sp_record_to_json(&r, &b), SP_EBADINPUT);
    CHECK_INT(b.len, 4);
    CHECK_STR(b.data, "keep");
    sp_buf_free(&b);
}

int main(void)
{
    sp_log_level = SP_LOG_WARN;
    if (!schema_load()) return TEST_DONE();
    fx_tmpdir(dir, sizeof(dir));
    test_double_format();
    test_json_str();
    test_number_text();
    test_every_kind();
    test_truncate_on_resume();
    test_sidecar_atomic();
    test_sidecar_off();
    test_stdout();
    test_cap();
    test_disk_full();
    fx_rmdir(dir);
    yajl_tree_free(schema);
    return TEST_DONE();
}
