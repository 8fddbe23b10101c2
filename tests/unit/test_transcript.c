/* test_transcript.c - transcript item parser, span hash vectors (§1.6), and the slog/transcript hash agreement on real data. */
#include "sp_test.h"
#include "../../ingest/sp_transcript.h"
#include "../../ingest/sp_transcript_int.h"

#include <sqlite3.h>
#include <zlib.h>

#define DATA SP_TEST_DATA "/basic"

static const char item0[] =
    "{\"d\":[\"initialize-worker\",{\"source\":{\"bundleID\":\"b1-00\"},\"workerOptions\":{\"type\":"
    "\"xsnap\",\"bundleIDs\":[\"b0-11\",\"b0-22\"]}}],\"sc\":[],\"r\":{\"status\":\"ok\"}}";
static const char item1[] = "{\"d\":[\"startVat\",{\"body\":\"#{}\",\"slots\":[]}],\"sc\":[],\"r\":{"
                            "\"status\":\"ok\",\"metering\":{\"computrons\":1000}}}";
static const char item2[] = "{\"d\":[\"bringOutYourDead\"],\"sc\":[],\"r\":{\"status\":\"ok\","
                            "\"metering\":{\"computrons\":2364}}}";

static void test_span_vectors(void)
{
    struct sp_span_hash h;
    sp_span_hash_init(&h);
    CHECK_STR(h.hex, "43e6be43a3a34d60c0ebeb8498b5849b094fc20fc68483a7aeb3624fa10f79f6");
    sp_span_hash_add(&h, item0, strlen(item0));
    CHECK_STR(h.hex, "893f862366ebf9f33250ca55cb64d8e5106452f1bc52d3e247a9b22ee3845b9e");
    sp_span_hash_add(&h, item1, strlen(item1));
    CHECK_STR(h.hex, "d5bbdcdcc1e644bf9898ecd6387ddb562a71fca3e80a068f22256eddd912ca9e");
    sp_span_hash_add(&h, item2, strlen(item2));
    CHECK_STR(h.hex, "56a22fb9fecffb4eefc82c5e5f4669e40ff5533f4525f62174c8d6823a66b825");
}

static void test_parse_vectors(void)
{
    struct sp_titem it;
    struct sp_err err;
    char want[SP_HASH_HEX_LEN + 1];
    static const char d0[] = "[\"initialize-worker\",{\"source\":{\"bundleID\":\"b1-00\"},"
                             "\"workerOptions\":{\"type\":\"xsnap\",\"bundleIDs\":[\"b0-11\",\"b0-22\"]}}]";

    memset(&it, 0, sizeof(it));
    CHECK_INT(sp_titem_parse(&it, item0, strlen(item0), &err), SP_OK);
    CHECK_SLICE(it.d_type, "initialize-worker");
    sp_hash_hex(d0, strlen(d0), want);
    CHECK_STR(it.d_hash, want);
    sp_hash_hex("", 0, want); /* sc: [] -> hash of nothing */
    CHECK_STR(it.sc_hash, want);
    CHECK_SLICE(it.status, "ok");
    CHECK_INT(it.has_computrons, 0);
    CHECK(it.snapshot_id.p == NULL);

    CHECK_INT(sp_titem_parse(&it, item2, strlen(item2), &err), SP_OK);
    CHECK_SLICE(it.d_type, "bringOutYourDead");
    CHECK_INT(it.has_computrons, 1);
    CHECK_INT(it.computrons, 2364);
    sp_hash_hex("[\"bringOutYourDead\"]", 20, want);
    CHECK_STR(it.d_hash, want);
}

static void test_parse_snapshots(void)
{
    static const char save[] = "{\"d\":[\"save-snapshot\"],\"sc\":[],\"r\":{\"status\":\"ok\",\"snapshotID\":"
                               "\"f625fb09e23341cc395630692f4f8842f78758d37e8d936195fbea73eb73039c\"}}";
    static const char load[] = "{\"d\":[\"load-snapshot\",{\"snapshotID\":"
                               "\"f625fb09e23341cc395630692f4f8842f78758d37e8d936195fbea73eb73039c\"}],"
                               "\"sc\":[],\"r\":{\"status\":\"ok\"}}";
    struct sp_titem it;
    struct sp_err err;

    CHECK_INT(sp_titem_parse(&it, save, strlen(save), &err), SP_OK);
    CHECK_SLICE(it.d_type, "save-snapshot");
    CHECK_SLICE(it.snapshot_id, "f625fb09e23341cc395630692f4f8842f78758d37e8d936195fbea73eb73039c");
    CHECK_INT(sp_titem_parse(&it, load, strlen(load), &err), SP_OK);
    CHECK_SLICE(it.d_type, "load-snapshot");
    CHECK_SLICE(it.snapshot_id, "f625fb09e23341cc395630692f4f8842f78758d37e8d936195fbea73eb73039c");
}

/* Raw slices must not depend on whitespace or value kind. */
static void test_parse_raw_slices(void)
{
    static const char spaced[] =
        "{ \"d\" : [ \"bringOutYourDead\" ] , \"sc\" : [ { \"s\" : [\"a\" , 1] , \"r\" : [ \"ok\" , null ] } ] ,"
        " \"r\" : { \"status\" : \"ok\" , \"metering\" : { \"computrons\" : 12 } } }";
    static const char scalars[] = "{\"d\":5,\"sc\":[{\"s\":7,\"r\":\"x\"},{\"r\":true,\"s\":-1.5e3}],\"r\":{}}";
    struct sp_titem it;
    struct sp_err err;
    char want[SP_HASH_HEX_LEN + 1];

    CHECK_INT(sp_titem_parse(&it, spaced, strlen(spaced), &err), SP_OK);
    sp_hash_hex("[ \"bringOutYourDead\" ]", 22, want);
    CHECK_STR(it.d_hash, want);
    {
        struct sp_hash_chain c;
        sp_hash_chain_init(&c);
        sp_hash_chain_add(&c, "[\"a\" , 1]", 9);
        sp_hash_chain_add(&c, "[ \"ok\" , null ]", 15);
        CHECK_STR(it.sc_hash, c.hex);
    }
    CHECK_INT(it.computrons, 12);
    CHECK_SLICE(it.d_type, "bringOutYourDead");

    CHECK_INT(sp_titem_parse(&it, scalars, strlen(scalars), &err), SP_OK);
    sp_hash_hex("5", 1, want);
    CHECK_STR(it.d_hash, want);
    CHECK(it.d_type.p == NULL);
    {
        struct sp_hash_chain c; /* s then r per syscall, whatever the key order */
        sp_hash_chain_init(&c);
        sp_hash_chain_add(&c, "7", 1);
        sp_hash_chain_add(&c, "\"x\"", 3);
        sp_hash_chain_add(&c, "-1.5e3", 6);
        sp_hash_chain_add(&c, "true", 4);
        CHECK_STR(it.sc_hash, c.hex);
    }
    CHECK(it.status.p == NULL);

    /* huge number literals are data, not parse errors */
    {
        static const char huge[] = "{\"d\":[\"message\",1e999,123456789012345678901234567890],\"sc\":[],"
                                   "\"r\":{\"status\":\"ok\",\"metering\":{\"computrons\":5}}}";
        CHECK_INT(sp_titem_parse(&it, huge, strlen(huge), &err), SP_OK);
        CHECK_INT(it.computrons, 5);
        sp_hash_hex("[\"message\",1e999,123456789012345678901234567890]", 48, want);
        CHECK_STR(it.d_hash, want);
    }
}

static void test_parse_bad(void)
{
    static const char *const bad[] = {"", "not json", "[1,2]", "\"str\"", "{\"d\":[\"message\"",
                                      "{} x", "{\"d\":[\"a\"]}}", "{\"d\":\"\xff\"}"};
    struct sp_titem it;
    struct sp_err err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        CHECK_INT(sp_titem_parse(&it, bad[i], strlen(bad[i]), &err), SP_EBADINPUT);
        CHECK(err.msg[0] != '\0');
        CHECK_STR(it.d_hash, "");
    }
    CHECK_INT(sp_titem_parse(&it, "[1,2]", 5, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "not a JSON object") != NULL);
    CHECK_INT(sp_titem_parse(&it, "{\"d\":[\"message\"", 15, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "invalid JSON at byte") != NULL);
}

static void test_helpers(void)
{
    char vat[16];
    int64_t a = -1, b = -1;

    CHECK(sp_transcript_kv_wanted("kernel.snapshotInitial", 22));
    CHECK(sp_transcript_kv_wanted("vat.name.bootstrap", 18));
    CHECK(!sp_transcript_kv_wanted("vat.name.", 9));
    CHECK(sp_transcript_kv_wanted("v12.options", 11));
    CHECK(!sp_transcript_kv_wanted("v.options", 9));
    CHECK(!sp_transcript_kv_wanted("v1x.options", 11));
    CHECK(!sp_transcript_kv_wanted("v1.vs.options", 13));
    CHECK(!sp_transcript_kv_wanted("kernel.snapshotInitialX", 23));
    CHECK(sp_transcript_kv_wanted("host.height", 11));

    CHECK_INT(sp_tx_trim_end("ab \t\r\n", 6), 2);
    CHECK_INT(sp_tx_trim_end("ab\xe2\x80\xa8", 5), 2);        /* U+2028 */
    CHECK_INT(sp_tx_trim_end("ab\xc2\xa0 \xef\xbb\xbf", 8), 2); /* NBSP, space, BOM */
    CHECK_INT(sp_tx_trim_end("}\xe2\x80", 3), 3);              /* not whitespace */
    CHECK_INT(sp_tx_trim_end("", 0), 0);

    CHECK_INT(sp_tx_parse_transcript_name("transcript.v12.5.14", 19, vat, sizeof(vat), &a, &b), 1);
    CHECK_STR(vat, "v12");
    CHECK_INT(a, 5);
    CHECK_INT(b, 14);
    CHECK_INT(sp_tx_parse_transcript_name("transcript.v1.5", 15, vat, sizeof(vat), &a, &b), 0);
    CHECK_INT(sp_tx_parse_transcript_name("transcript.v1.5.x", 17, vat, sizeof(vat), &a, &b), 0);
    CHECK_INT(sp_tx_parse_transcript_name("transcript.v1.current", 21, vat, sizeof(vat), &a, &b), 0);
    CHECK_INT(sp_tx_parse_transcript_name("transcript..1.2", 15, vat, sizeof(vat), &a, &b), 0);
    CHECK_INT(sp_tx_parse_transcript_name("snapshot.v1.4", 13, vat, sizeof(vat), &a, &b), 0);
}

/* ---- slog <-> transcript agreement on a real pair ------------------------ */

/* End of the JSON value starting at p[i] (strings/brackets aware). */
static size_t value_end(const char *p, size_t n, size_t i)
{
    int depth = 0, in_str = 0;
    for (; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') {
                in_str = 0;
                if (depth == 0) return i + 1;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            if (--depth == 0) return i + 1;
        } else if (depth == 0 && (c == ',' || c == '}')) {
            return i;
        }
    }
    return n;
}

/* Raw bytes of top-level field "key" of a slog line (found by its quoted key). */
static int raw_field(const char *line, size_t n, const char *key, const char **out, size_t *on)
{
    char pat[64];
    const char *k;
    size_t s;
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    k = strstr(line, pat);
    if (!k) return 0;
    s = (size_t)(k - line) + strlen(pat);
    *out = line + s;
    *on = value_end(line, n, s) - s;
    return 1;
}

static void test_slog_pair(void)
{
    gzFile gz = gzopen(DATA "/slog.jsonl.gz", "rb");
    static char line[1 << 20];
    struct sp_hash_chain sc;
    char vd_hash[SP_HASH_HEX_LEN + 1] = "", sc_hash[SP_HASH_HEX_LEN + 1];
    int syscalls = 0, results = 0, found = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct sp_titem it;
    struct sp_err err;

    CHECK(gz != NULL);
    if (!gz) return;
    sp_hash_chain_init(&sc);
    while (gzgets(gz, line, sizeof(line))) {
        size_t n = strlen(line);
        const char *v;
        size_t vn;
        if (!strstr(line, "\"vatID\":\"v6\",\"deliveryNum\":2,") || !strstr(line, "\"replay\":false"))
            continue;
        if (!strncmp(line, "{\"type\":\"deliver\",", 18) && raw_field(line, n, "vd", &v, &vn)) {
            sp_hash_hex(v, vn, vd_hash);
            found++;
        } else if (!strncmp(line, "{\"type\":\"syscall\",", 18) && raw_field(line, n, "vsc", &v, &vn)) {
            sp_hash_chain_add(&sc, v, vn);
            syscalls++;
        } else if (!strncmp(line, "{\"type\":\"syscall-result\",", 25) &&
                   raw_field(line, n, "vsr", &v, &vn)) {
            sp_hash_chain_add(&sc, v, vn);
            results++;
        } else if (!strncmp(line, "{\"type\":\"deliver-result\",", 25)) {
            break;
        }
    }
    gzclose(gz);
    memcpy(sc_hash, sc.hex, sizeof(sc_hash));
    CHECK_INT(found, 1);
    CHECK_INT(syscalls, 23);
    CHECK_INT(results, 23);

    CHECK_INT(sqlite3_open_v2(DATA "/swingstore.sqlite", &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "SELECT item FROM transcriptItems WHERE vatID = 'v6' AND position = 2",
                                 -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sp_titem_parse(&it, (const char *)sqlite3_column_text(st, 0),
                             (size_t)sqlite3_column_bytes(st, 0), &err),
              SP_OK);
    CHECK_SLICE(it.d_type, "message");
    CHECK_STR(it.d_hash, vd_hash);
    CHECK_STR(it.sc_hash, sc_hash);
    CHECK_SLICE(it.status, "ok");
    CHECK_INT(it.computrons, 89978);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int main(void)
{
    test_span_vectors();
    test_parse_vectors();
    test_parse_snapshots();
    test_parse_raw_slices();
    test_parse_bad();
    test_helpers();
    test_slog_pair();
    return TEST_DONE();
}
