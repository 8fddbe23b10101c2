/* test_normalize.c - sp_normalize_line: golden lines vs an independent oracle, the whole basic sample, bad input. */
#include "sp_test.h"

#include "../../core/sp_buf.h"
#include "../../normalize/sp_normalize.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

static struct sp_normalizer *nz;

static int norm_n(const char *s, size_t n, struct sp_event *ev, struct sp_err *e)
{
    sp_err_clear(e);
    return sp_normalize_line(nz, s, n, NULL, ev, e);
}

static int norm(const char *s, struct sp_event *ev, struct sp_err *e)
{
    return norm_n(s, strlen(s), ev, e);
}

/* ---- canonical rendering (same format as tests/data/golden/normalize_gen.py) ---- */

static void put_str(struct sp_buf *b, const char *k, struct sp_str s)
{
    if (!s.p) return;
    sp_buf_printf(b, "%s=", k);
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '\\')
            sp_buf_append_c(b, "\\\\");
        else if (s.p[i] == '\n')
            sp_buf_append_c(b, "\\n");
        else
            sp_buf_putc(b, s.p[i]);
    }
    sp_buf_putc(b, '\n');
}

static void put_raw(struct sp_buf *b, const char *k, struct sp_str s)
{
    if (!s.p) return;
    sp_buf_printf(b, "%s=", k);
    sp_buf_append(b, s.p, s.n);
    sp_buf_putc(b, '\n');
}

static void put_int(struct sp_buf *b, const struct sp_event *ev, uint32_t bit, const char *k, int64_t v)
{
    if (ev->has & bit) sp_buf_printf(b, "%s=%lld\n", k, (long long)v);
}

static void put_bool(struct sp_buf *b, const struct sp_event *ev, uint32_t bit, const char *k, int v)
{
    if (ev->has & bit) sp_buf_printf(b, "%s=%s\n", k, v ? "true" : "false");
}

static void put_dbl(struct sp_buf *b, const struct sp_event *ev, uint32_t bit, const char *k, double v)
{
    if (ev->has & bit) sp_buf_printf(b, "%s=%.17g\n", k, v);
}

static void render(struct sp_buf *b, const struct sp_event *ev)
{
    sp_buf_printf(b, "type=%s\n", sp_evtype_name(ev->type));
    put_str(b, "type_name", ev->type_name);
    put_str(b, "vatID", ev->vat_id);
    put_int(b, ev, SP_HAS_CRANK_NUM, "crankNum", ev->crank_num);
    put_int(b, ev, SP_HAS_DELIVERY_NUM, "deliveryNum", ev->delivery_num);
    put_int(b, ev, SP_HAS_SYSCALL_NUM, "syscallNum", ev->syscall_num);
    put_bool(b, ev, SP_HAS_REPLAY, "replay", ev->replay);
    put_int(b, ev, SP_HAS_BLOCK_HEIGHT, "blockHeight", ev->block_height);
    put_int(b, ev, SP_HAS_BLOCK_TIME, "blockTime", ev->block_time);
    put_str(b, "dispatch", ev->dispatch);
    put_raw(b, "kd", ev->kd);
    put_raw(b, "vd", ev->vd);
    put_raw(b, "dr", ev->dr);
    put_str(b, "dr_status", ev->dr_status);
    put_int(b, ev, SP_HAS_COMPUTRONS, "computrons", ev->computrons);
    put_raw(b, "ksc", ev->ksc);
    put_raw(b, "vsc", ev->vsc);
    put_raw(b, "ksr", ev->ksr);
    put_raw(b, "vsr", ev->vsr);
    put_str(b, "crankType", ev->crank_type);
    put_str(b, "messageType", ev->message_type);
    put_raw(b, "message", ev->message);
    put_str(b, "crankhash", ev->crankhash);
    put_str(b, "activityhash", ev->activityhash);
    put_str(b, "mode", ev->clist_mode);
    put_str(b, "kobj", ev->kobj);
    put_str(b, "vobj", ev->vobj);
    put_str(b, "name", ev->name);
    put_str(b, "description", ev->description);
    put_str(b, "managerType", ev->manager_type);
    put_bool(b, ev, SP_HAS_DYNAMIC, "dynamic", ev->dynamic);
    put_bool(b, ev, SP_HAS_SHOULD_REJECT, "shouldReject", ev->should_reject);
    put_raw(b, "info", ev->info);
    put_raw(b, "work", ev->work);
    if (ev->bundle_bytes) sp_buf_printf(b, "bundle_bytes=%zu\n", ev->bundle_bytes);
    put_str(b, "snapshotID", ev->snapshot_id);
    put_int(b, ev, SP_HAS_SNAP_POS, "snapPos", ev->snap_pos);
    put_int(b, ev, SP_HAS_UNCOMPRESSED_SIZE, "uncompressedSize", ev->uncompressed_size);
    put_int(b, ev, SP_HAS_COMPRESSED_SIZE, "compressedSize", ev->compressed_size);
    put_int(b, ev, SP_HAS_SIZE_DELTA, "sizeDelta", ev->size_delta);
    put_dbl(b, ev, SP_HAS_SAVE_SECONDS, "saveSeconds", ev->save_seconds);
    put_dbl(b, ev, SP_HAS_COMPRESS_SECONDS, "compressSeconds", ev->compress_seconds);
    put_bool(b, ev, SP_HAS_RESTART_WORKER, "restartWorker", ev->restart_worker);
    put_int(b, ev, SP_HAS_DELIVERIES, "deliveries", ev->deliveries);
    put_str(b, "console_source", ev->console_source);
    put_str(b, "level", ev->level);
    put_raw(b, "args", ev->args);
    put_int(b, ev, SP_HAS_RUN_NUM, "runNum", ev->run_num);
    put_str(b, "phase", ev->phase);
    put_str(b, "inboundNum", ev->inbound_num);
    put_str(b, "inbound_source", ev->inbound_source);
    put_int(b, ev, SP_HAS_USED_BEANS, "usedBeans", ev->used_beans);
    put_raw(b, "stats", ev->stats);
    put_dbl(b, ev, SP_HAS_TIME, "time", ev->time);
    put_dbl(b, ev, SP_HAS_MONOTIME, "monotime", ev->monotime);
    put_dbl(b, ev, SP_HAS_SECONDS, "seconds", ev->seconds);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    struct sp_buf b;
    char tmp[65536];
    size_t k;
    sp_buf_init(&b, 0);
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0) sp_buf_append(&b, tmp, k);
    fclose(f);
    sp_buf_putc(&b, '\0');
    *n = b.len - 1;
    return b.data;
}

/* Every golden line renders exactly as the Python oracle says. */
static void test_golden(void)
{
    size_t nin, nexp;
    char *in = slurp(SP_TEST_DATA "/golden/normalize_in.jsonl", &nin);
    char *exp = slurp(SP_TEST_DATA "/golden/normalize_expected.txt", &nexp);
    struct sp_buf got;
    char *line = in, *e = exp;
    int lineno = 0, types_seen[SP_EV__COUNT] = {0};

    sp_buf_init(&got, 0);
    while (line < in + nin) {
        char *nl = strchr(line, '\n');
        struct sp_event ev;
        struct sp_err err;
        char hdr[32];
        char *block_end;
        size_t len = nl ? (size_t)(nl - line) : strlen(line);

        lineno++;
        sp_buf_reset(&got);
        snprintf(hdr, sizeof(hdr), "# line %d\n", lineno);
        sp_buf_append_c(&got, hdr);
        CHECK_INT(norm_n(line, len, &ev, &err), SP_OK);
        if (err.msg[0]) fprintf(stderr, "golden line %d: %s\n", lineno, err.msg);
        render(&got, &ev);
        sp_buf_putc(&got, '\n');
        types_seen[ev.type]++;
        /* Compare with the next block of the expected file. */
        block_end = strstr(e, "\n\n");
        CHECK(block_end != NULL);
        if (!block_end) break;
        block_end += 2;
        if ((size_t)(block_end - e) != got.len || memcmp(e, got.data, got.len) != 0) {
            CHECK(!"golden mismatch");
            fprintf(stderr, "golden line %d\n--- expected\n%.*s--- got\n%s", lineno, (int)(block_end - e), e,
                    got.data);
        } else {
            CHECK(1);
        }
        e = block_end;
        line = nl ? nl + 1 : in + nin;
    }
    CHECK_INT(lineno, 68);
    CHECK(e == exp + nexp);
    /* Every type of the basic sample (FACTS.md count table) is covered. */
    {
        static const enum sp_evtype basic_types[] = {
            SP_EV_SYSCALL, SP_EV_SYSCALL_RESULT, SP_EV_CLIST, SP_EV_CRANK_FINISH, SP_EV_CRANK_START,
            SP_EV_DELIVER, SP_EV_DELIVER_RESULT, SP_EV_HEAP_SNAPSHOT_LOAD, SP_EV_HEAP_SNAPSHOT_SAVE,
            SP_EV_CONSOLE, SP_EV_FINISH_REPLAY, SP_EV_START_REPLAY, SP_EV_CS_BEGIN_BLOCK,
            SP_EV_CS_COMMIT_BLOCK_FINISH, SP_EV_CS_COMMIT_BLOCK_START, SP_EV_CS_END_BLOCK_FINISH,
            SP_EV_CS_END_BLOCK_START, SP_EV_VAT_CLEANUP, SP_EV_CREATE_VAT, SP_EV_VAT_STARTUP_FINISH,
            SP_EV_VAT_STARTUP_START, SP_EV_VAT_CLEANUP_COMPLETE, SP_EV_BUNDLE_KERNEL_FINISH,
            SP_EV_BUNDLE_KERNEL_START, SP_EV_IMPORT_KERNEL_FINISH, SP_EV_IMPORT_KERNEL_START,
            SP_EV_KERNEL_INIT_FINISH, SP_EV_KERNEL_INIT_START, SP_EV_TERMINATE};
        for (size_t i = 0; i < sizeof(basic_types) / sizeof(basic_types[0]); i++) {
            if (!types_seen[basic_types[i]]) fprintf(stderr, "golden lacks %s\n", sp_evtype_name(basic_types[i]));
            CHECK(types_seen[basic_types[i]] > 0);
        }
        CHECK(types_seen[SP_EV_UNKNOWN] == 1);
    }
    sp_buf_free(&got);
    free(in);
    free(exp);
}

/* All 24851 lines of the basic sample: per-type counts of FACTS.md, no error. */
static void test_whole_file(void)
{
    static const struct {
        enum sp_evtype t;
        long n;
    } facts[] = {
        {SP_EV_SYSCALL, 7720}, {SP_EV_SYSCALL_RESULT, 7720}, {SP_EV_CLIST, 2038},
        {SP_EV_CRANK_FINISH, 1900}, {SP_EV_CRANK_START, 1900}, {SP_EV_DELIVER, 1459},
        {SP_EV_DELIVER_RESULT, 1459}, {SP_EV_HEAP_SNAPSHOT_LOAD, 152}, {SP_EV_HEAP_SNAPSHOT_SAVE, 133},
        {SP_EV_CONSOLE, 54}, {SP_EV_FINISH_REPLAY, 48}, {SP_EV_START_REPLAY, 48},
        {SP_EV_CS_BEGIN_BLOCK, 27}, {SP_EV_CS_COMMIT_BLOCK_FINISH, 27}, {SP_EV_CS_COMMIT_BLOCK_START, 27},
        {SP_EV_CS_END_BLOCK_FINISH, 27}, {SP_EV_CS_END_BLOCK_START, 27}, {SP_EV_VAT_CLEANUP, 24},
        {SP_EV_CREATE_VAT, 21}, {SP_EV_VAT_STARTUP_FINISH, 11}, {SP_EV_VAT_STARTUP_START, 11},
        {SP_EV_VAT_CLEANUP_COMPLETE, 4}, {SP_EV_BUNDLE_KERNEL_FINISH, 2}, {SP_EV_BUNDLE_KERNEL_START, 2},
        {SP_EV_IMPORT_KERNEL_FINISH, 2}, {SP_EV_IMPORT_KERNEL_START, 2}, {SP_EV_KERNEL_INIT_FINISH, 2},
        {SP_EV_KERNEL_INIT_START, 2}, {SP_EV_TERMINATE, 2},
    };
    long counts[SP_EV__COUNT] = {0}, errors = 0, lines = 0, total = 0, with_dispatch = 0, computrons = 0;
    size_t cap = 2u << 20, max_bundle = 0;
    char *buf = sp_xmalloc(cap);
    gzFile f = gzopen(SP_TEST_DATA "/basic/slog.jsonl.gz", "rb");

    CHECK(f != NULL);
    if (!f) return;
    while (gzgets(f, buf, (int)cap)) {
        size_t n = strlen(buf);
        struct sp_event ev;
        struct sp_err err;
        struct sp_origin o = {SP_STR_LIT("node1"), SP_STR_LIT("basic"), 0, 0};
        CHECK(n > 0 && buf[n - 1] == '\n'); /* no line was split by the buffer */
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
        o.line = ++lines;
        if (sp_normalize_line(nz, buf, n, &o, &ev, &err) != SP_OK) {
            if (errors++ < 5) fprintf(stderr, "line %ld: %s\n", lines, err.msg);
            continue;
        }
        counts[ev.type]++;
        if ((ev.type == SP_EV_DELIVER || ev.type == SP_EV_SYSCALL) && ev.dispatch.n) with_dispatch++;
        if (ev.type == SP_EV_DELIVER_RESULT && (ev.has & SP_HAS_COMPUTRONS)) computrons++;
        if (ev.bundle_bytes > max_bundle) max_bundle = ev.bundle_bytes;
        CHECK(ev.origin.line == lines && ev.raw.p == buf && ev.raw.n == n);
    }
    gzclose(f);
    free(buf);
    CHECK_INT(lines, 24851);
    CHECK_INT(errors, 0);
    for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
        if (counts[facts[i].t] != facts[i].n) fprintf(stderr, "type %s\n", sp_evtype_name(facts[i].t));
        CHECK_INT(counts[facts[i].t], facts[i].n);
        total += facts[i].n;
    }
    CHECK_INT(total, 24851);
    CHECK_INT(with_dispatch, 1459 + 7720);
    CHECK_INT(computrons, 950); /* every xsnap deliver-result (facts: dr[2].compute present) */
    /* the longest line (943203 bytes) is a create-vat whose bundle is most of it */
    CHECK(max_bundle > 900000 && max_bundle < 943203);
}

static void test_raw_slices(void)
{
    struct sp_event ev;
    struct sp_err e;
    /* Blanks around tokens: raw values are exactly the bytes of the value. */
    const char *l = "{ \"vd\" :  [ \"x\" ,1 ] , \"kd\":\"str\" , \"dr\" : 5 ,\n\"type\" : \"deliver\", "
                    "\"message\": {\"a\" : [ ] } , \"args\":null, \"info\" :true }  ";
    CHECK_INT(norm(l, &ev, &e), SP_OK);
    CHECK_SLICE(ev.vd, "[ \"x\" ,1 ]");
    CHECK_SLICE(ev.kd, "\"str\"");
    CHECK_SLICE(ev.dr, "5");
    CHECK_SLICE(ev.message, "{\"a\" : [ ] }");
    CHECK_SLICE(ev.info, "true");
    CHECK(ev.args.p == NULL);
    CHECK_SLICE(ev.dispatch, "x");
    CHECK(ev.type == SP_EV_DELIVER);
    /* Slices of unescaped strings point into the line itself. */
    CHECK(ev.vd.p > l && ev.vd.p < l + strlen(l));
    CHECK(ev.type_name.p > l && ev.type_name.p < l + strlen(l));
}

static void test_numbers(void)
{
    struct sp_event ev;
    struct sp_err e;

    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":9007199254740993}", &ev, &e), SP_OK);
    CHECK(ev.crank_num == 9007199254740993LL);
    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":9223372036854775807}", &ev, &e), SP_OK);
    CHECK(ev.crank_num == INT64_MAX);
    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":-9223372036854775808}", &ev, &e), SP_OK);
    CHECK(ev.crank_num == INT64_MIN);
    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":9223372036854775808}", &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "field \"crankNum\": integer out of range") != NULL);
    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":1.5}", &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "field \"crankNum\": expected an integer, got 1.5") != NULL);
    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":1e30}", &ev, &e), SP_EBADINPUT);
    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":2.55e1}", &ev, &e), SP_EBADINPUT);
    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":2.5e2}", &ev, &e), SP_OK);
    CHECK_INT(ev.crank_num, 250);
    CHECK_INT(norm("{\"type\":\"crank-start\",\"crankNum\":\"5\"}", &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "field \"crankNum\": expected an integer, got a string") == e.msg);
    CHECK_INT(norm("{\"type\":\"x\",\"vatID\":{\"a\":1}}", &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "field \"vatID\": expected a string, got an object") == e.msg);
    CHECK_INT(norm("{\"type\":\"x\",\"replay\":1}", &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "field \"replay\": expected a boolean, got a number") == e.msg);
    CHECK_INT(norm("{\"type\":\"x\",\"time\":\"now\"}", &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "field \"time\": expected a number, got a string") == e.msg);
    CHECK_INT(norm("{\"type\":\"x\",\"blockHeight\":[1]}", &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "got an array") != NULL);
    CHECK_INT(norm("{\"type\":\"x\",\"seconds\":1e999}", &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "field \"seconds\": number out of range") == e.msg);
    CHECK_INT(norm("{\"type\":\"x\",\"seconds\":-0.5e-3,\"monotime\":0}", &ev, &e), SP_OK);
    CHECK(ev.seconds == -0.0005 && ev.monotime == 0.0 && (ev.has & SP_HAS_MONOTIME));
    /* null = absent for optional fields */
    CHECK_INT(norm("{\"type\":\"heap-snapshot-save\",\"uncompressedSizeDelta\":null,\"crankNum\":null}", &ev, &e),
              SP_OK);
    CHECK(!(ev.has & (SP_HAS_SIZE_DELTA | SP_HAS_CRANK_NUM)));
    /* numbers longer than the stack scratch buffer */
    CHECK_INT(norm("{\"type\":\"x\",\"time\":1.00000000000000000000000000000000000000000000000000000000000000000000001}",
                   &ev, &e),
              SP_OK);
    CHECK(ev.time == 1.0);
    CHECK_INT(norm("{\"type\":\"x\",\"crankNum\":7.00000000000000000000000000000000000000000000000000000000000000000000}",
                   &ev, &e),
              SP_OK);
    CHECK_INT(ev.crank_num, 7);
}

/* Doubles in the plain "digits.digits" form (the normalizer's exact fast
 * paths) read bit for bit as strtod reads them: random decimals of 1-19
 * significant digits with 0-27 fraction digits (leading zeros included, as
 * in 0.000043513000000530156), the slog shapes, and values near halfway
 * between two doubles. */
static void test_double_parse(void)
{
    static const char *const fixed[] = {
        "1795825851.777232", "17.878159210000003", "0.000043513000000530156", "0.5",
        "9007199254740993",  "9007199254740993.5", "18446744073709551615", "1.7976931348623157",
        "0.30000000000000004", "123456789012345678.9", "0.000000000000000000000000001",
        "9999999999999999999", "2.2250738585072014", "4.9406564584124654",
    };
    struct sp_event ev;
    struct sp_err e;
    char line[128], num[48];
    uint64_t x = 88172645463325252ull;
    int bad = 0;

    for (int t = 0; t < 200000 + (int)(sizeof(fixed) / sizeof(fixed[0])); t++) {
        double want;
        if (t < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
            snprintf(num, sizeof(num), "%s", fixed[t]);
        } else {
            int sig, fr, zeros, n = 0;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            sig = 1 + (int)(x % 19);
            fr = (int)((x >> 8) % 28);
            zeros = fr > sig ? fr - sig : 0; /* leading zeros after the point */
            if (fr >= sig) {
                num[n++] = '0';
                num[n++] = '.';
                for (int z = 0; z < zeros; z++) num[n++] = '0';
            }
            for (int d = 0; d < sig; d++) {
                uint64_t r;
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                r = x % 10;
                if (d == 0 && r == 0) r = 1 + (x >> 12) % 9;
                if (fr < sig && d == sig - fr) num[n++] = '.';
                num[n++] = (char)('0' + r);
            }
            num[n] = '\0';
        }
        want = strtod(num, NULL);
        snprintf(line, sizeof(line), "{\"type\":\"x\",\"time\":%s}", num);
        if (norm(line, &ev, &e) != SP_OK || memcmp(&ev.time, &want, sizeof(want)) != 0) {
            if (bad++ < 5) fprintf(stderr, "double %s: got %.17g want %.17g\n", num, ev.time, want);
        }
    }
    CHECK_INT(bad, 0);
}

/* Each error class: SP_EBADINPUT, a message naming it, and the normalizer keeps working. */
static void test_bad_input(void)
{
    static const struct {
        const char *line;
        size_t n; /* 0 = strlen */
        const char *msg;
    } cases[] = {
        {"{\"type\":\"deliver\",}", 0, "invalid JSON at column"},
        {"{\"type\":\"deliver\"", 0, "invalid JSON at column"},
        {"{\"type\":tru}", 0, "invalid JSON at column"},
        {"{\"type\":\"x\",\"a\":\"\xff\"}", 0, "invalid UTF-8 at column 18"},
        {"{\"type\":\"x\",\"a\":\"\xc0\xaf\"}", 0, "invalid UTF-8 at column 18"},
        {"{\"type\":\"x\",\"a\":\"\xed\xa0\x80\"}", 0, "invalid UTF-8 at column 18"},
        {"{\"type\":\"x\0\"}", 13, "NUL byte at column 11"},
        {"{\"type\":\"x\"}\0", 13, "NUL byte at column 13"},
        {"[1,2]", 0, "not a JSON object"},
        {"\"deliver\"", 0, "not a JSON object"},
        {"42", 0, "not a JSON object"},
        {"null", 0, "not a JSON object"},
        {"", 0, "not a JSON object"},
        {"   ", 0, "not a JSON object"},
        {"{\"a\":1}", 0, "missing \"type\""},
        {"{}", 0, "missing \"type\""},
        {"{\"type\":5}", 0, "field \"type\": expected a string, got a number"},
        {"{\"type\":null}", 0, "field \"type\": expected a string, got null"},
        {"{\"type\":\"deliver\",\"vatID\":\"v1\",\"vatID\":\"v2\"}", 0, "duplicate key \"vatID\""},
        {"{\"type\":\"a\",\"type\":\"b\"}", 0, "duplicate key \"type\""},
        {"{\"type\":\"x\"} {\"type\":\"y\"}", 0, "trailing garbage at column"},
        {"{\"type\":\"x\"}x", 0, "trailing garbage at column"},
        {"{\"type\":\"x\"}}", 0, "trailing garbage at column"},
        {"{\"type\":\"x\"} 5", 0, "trailing garbage at column"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_event ev;
        struct sp_err e;
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].line);
        int rc = norm_n(cases[i].line, n, &ev, &e);
        CHECK_INT(rc, SP_EBADINPUT);
        if (strstr(e.msg, cases[i].msg) != e.msg)
            fprintf(stderr, "case %zu: got \"%s\", expected \"%s...\"\n", i, e.msg, cases[i].msg);
        CHECK(strstr(e.msg, cases[i].msg) == e.msg);
        /* the next good line parses (the handle recovered) */
        CHECK_INT(norm("{\"type\":\"deliver\",\"vatID\":\"v7\"}", &ev, &e), SP_OK);
        CHECK_SLICE(ev.vat_id, "v7");
    }
    /* Unknown keys may repeat; unknown types are kept. */
    {
        struct sp_event ev;
        struct sp_err e;
        const char *l = "{\"x\":1,\"x\":2,\"type\":\"brand-new\",\"vatID\":\"v1\"}";
        CHECK_INT(norm(l, &ev, &e), SP_OK);
        CHECK(ev.type == SP_EV_UNKNOWN);
        CHECK_SLICE(ev.type_name, "brand-new");
        CHECK(ev.raw.p == l && ev.raw.n == strlen(l));
    }
}

static void test_deep_and_big(void)
{
    struct sp_event ev;
    struct sp_err e;
    struct sp_buf b;
    size_t big = 5u << 20;

    /* 2000-deep nesting: rejected, no stack overflow (yajl keeps its stack on the heap). */
    sp_buf_init(&b, 0);
    sp_buf_append_c(&b, "{\"type\":\"x\",\"args\":");
    for (int i = 0; i < 2000; i++) sp_buf_putc(&b, '[');
    for (int i = 0; i < 2000; i++) sp_buf_putc(&b, ']');
    sp_buf_putc(&b, '}');
    CHECK_INT(norm_n(b.data, b.len, &ev, &e), SP_EBADINPUT);
    CHECK(strstr(e.msg, "nesting deeper than 1000") == e.msg);
    /* 999 arrays in the object: 1000 levels, the limit, are fine. */
    sp_buf_reset(&b);
    sp_buf_append_c(&b, "{\"type\":\"x\",\"args\":");
    for (int i = 0; i < 999; i++) sp_buf_putc(&b, '[');
    for (int i = 0; i < 999; i++) sp_buf_putc(&b, ']');
    sp_buf_putc(&b, '}');
    CHECK_INT(norm_n(b.data, b.len, &ev, &e), SP_OK);
    CHECK_INT(ev.args.n, 1998);

    /* A 5 MB string value: kept raw (args) and measured (bundle), not copied. */
    sp_buf_reset(&b);
    sp_buf_append_c(&b, "{\"type\":\"create-vat\",\"vatID\":\"v9\",\"vatSourceBundle\":{\"endoZipBase64\":\"");
    for (size_t i = 0; i < big; i++) sp_buf_putc(&b, (char)('A' + i % 26));
    sp_buf_append_c(&b, "\"},\"args\":[\"");
    for (size_t i = 0; i < big; i++) sp_buf_putc(&b, (char)('a' + i % 26));
    sp_buf_append_c(&b, "\\n\"],\"time\":1.25}");
    CHECK_INT(norm_n(b.data, b.len, &ev, &e), SP_OK);
    CHECK_INT(ev.bundle_bytes, big + strlen("{\"endoZipBase64\":\"\"}"));
    CHECK_INT(ev.args.n, big + 6);
    CHECK(ev.time == 1.25);
    CHECK_SLICE(ev.vat_id, "v9");
    sp_buf_free(&b);
}

static void test_strings(void)
{
    struct sp_event ev;
    struct sp_err e;
    /* Lone surrogate escapes are legal JSON (V8 emits them): accepted, raw fields exact. */
    const char *l = "{\"type\":\"console\",\"args\":[\"\\ud800\",\"\\udc00x\"],\"level\":\"\\ud83d\\ude00\","
                    "\"source\":\"a\\u0000b\"}";
    CHECK_INT(norm(l, &ev, &e), SP_OK);
    CHECK_SLICE(ev.args, "[\"\\ud800\",\"\\udc00x\"]");
    CHECK_SLICE(ev.level, "\xf0\x9f\x98\x80"); /* a real pair decodes to U+1F600 */
    CHECK(ev.console_source.n == 3 && memcmp(ev.console_source.p, "a\0b", 3) == 0);
    /* Escaped strings are decoded into the arena and survive later tokens. */
    CHECK_INT(norm("{\"vatID\":\"v\\u0031\\\"\",\"type\":\"del\\u0069ver\",\"dispatch\":\"m\\/x\",\"kd\":\"\\n\"}",
                   &ev, &e),
              SP_OK);
    CHECK_SLICE(ev.vat_id, "v1\"");
    CHECK_SLICE(ev.type_name, "deliver");
    CHECK(ev.type == SP_EV_DELIVER);
    CHECK_SLICE(ev.dispatch, "m/x");
    /* Non-ASCII UTF-8 is fine. */
    CHECK_INT(norm("{\"type\":\"console\",\"args\":[\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"]}", &ev, &e), SP_OK);
}

int main(void)
{
    nz = sp_normalizer_new();
    test_golden();
    test_raw_slices();
    test_numbers();
    test_double_parse();
    test_bad_input();
    test_deep_and_big();
    test_strings();
    test_whole_file();
    sp_normalizer_destroy(nz);
    sp_normalizer_destroy(NULL);
    return TEST_DONE();
}
