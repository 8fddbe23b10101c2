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

/* Published SHA-256 test vectors (FIPS 180-2 / NIST examples). sp_hash_hex is
 * the FIRST 16 bytes (32 hex) of the SHA-256; the chain's expected values come
 * from sp_hash.h's definition computed outside slogpipe (Python hashlib). */
static void test_sha256_vectors(void)
{
    static const char abc448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char full[SP_SHA256_HEX_LEN + 1], shrt[SP_HASH_HEX_LEN + 1];
    struct sp_hash_ctx hc;
    struct sp_hash_chain c;

    sp_sha256_hex("", 0, full);
    CHECK_STR(full, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sp_sha256_hex("abc", 3, full);
    CHECK_STR(full, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sp_sha256_hex(abc448, strlen(abc448), full);
    CHECK_STR(full, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    sp_hash_hex("", 0, shrt);
    CHECK_STR(shrt, "e3b0c44298fc1c149afbf4c8996fb924");
    sp_hash_hex("abc", 3, shrt);
    CHECK_STR(shrt, "ba7816bf8f01cfea414140de5dae2223");
    sp_hash_hex(abc448, strlen(abc448), shrt);
    CHECK_STR(shrt, "248d6a61d20638b8e5c026930c3e6039");

    /* incremental: the same first half, in pieces and with no piece at all */
    sp_hash_begin(&hc);
    sp_hash_update(&hc, "ab", 2);
    sp_hash_update(&hc, "c", 1);
    sp_hash_end(&hc, shrt);
    CHECK_STR(shrt, "ba7816bf8f01cfea414140de5dae2223");
    sp_hash_begin(&hc);
    sp_hash_end(&hc, shrt);
    CHECK_STR(shrt, "e3b0c44298fc1c149afbf4c8996fb924");

    /* chain: h0 = hash(""), h' = hash(h || hash(piece)) */
    sp_hash_chain_init(&c);
    CHECK_STR(c.hex, "e3b0c44298fc1c149afbf4c8996fb924");
    sp_hash_chain_add(&c, "[\"a\" , 1]", 9);
    sp_hash_chain_add(&c, "[ \"ok\" , null ]", 15);
    CHECK_STR(c.hex, "ee2a2d47874cb0d5a5d54b8164a0f330");
    CHECK_INT(sp_hash_chain_resume(&c, "e3b0c44298fc1c149afbf4c8996fb924", 32), 1);
    sp_hash_chain_add(&c, "7", 1);
    sp_hash_chain_add(&c, "\"x\"", 3);
    sp_hash_chain_add(&c, "-1.5e3", 6);
    sp_hash_chain_add(&c, "true", 4);
    CHECK_STR(c.hex, "24d43f4868a0f2a8afdd3531358be540");
}

/* Vectors stored by the kernel itself in the real sample (sqlite3 on
 * tests/data/basic/swingstore.sqlite): transcriptSpans.hash of v9's span
 * [5,11) over its items, and snapshots.hash of v9 at snapPos 4 as the
 * snapshot ID the save item reports and the next load item names. */
static void test_store_vectors(void)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    struct sp_span_hash h;
    struct sp_titem it;
    struct sp_err err;
    int n = 0;

    CHECK_INT(sqlite3_open_v2(DATA "/swingstore.sqlite", &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT position, item FROM transcriptItems WHERE vatID = 'v9' AND "
                                     "position >= 4 AND position < 11 ORDER BY position", -1, &st, NULL),
              SQLITE_OK);
    sp_span_hash_init(&h);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int pos = sqlite3_column_int(st, 0);
        const char *item = (const char *)sqlite3_column_text(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        n++;
        if (pos == 4 || pos == 5) {
            CHECK_INT(sp_titem_parse(&it, item, len, &err), SP_OK);
            CHECK_SLICE(it.snapshot_id, "a062fceab74f3eb007db143574ee2349eef967338aff75a218205ef3d18539fc");
        }
        if (pos == 4) {
            CHECK_STR(it.d_hash, "ea9b144fbc280d63c6809d744df3af1f"); /* ["save-snapshot"] */
            continue;
        }
        sp_span_hash_add(&h, item, len);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECK_INT(n, 7);
    CHECK_STR(h.hex, "16adc348be839a5783765f80b5afb7d2296fc2324b0666458cb14a227c08f0f7");
}

static void test_parse_vectors(void)
{
    struct sp_titem it;
    struct sp_err err;

    memset(&it, 0, sizeof(it));
    CHECK_INT(sp_titem_parse(&it, item0, strlen(item0), &err), SP_OK);
    CHECK_SLICE(it.d_type, "initialize-worker");
    /* expected short hashes: first 32 hex of SHA-256 of the raw d / sc slices, computed outside
     * slogpipe (Python hashlib); d is ["initialize-worker",{"source":{"bundleID":"b1-00"},...}] */
    CHECK_STR(it.d_hash, "c80e8a5a10c9c7a5fce976d207fee5d8");
    CHECK_STR(it.sc_hash, "e3b0c44298fc1c149afbf4c8996fb924"); /* sc: [] -> hash of nothing */
    CHECK_SLICE(it.status, "ok");
    CHECK_INT(it.has_computrons, 0);
    CHECK(it.snapshot_id.p == NULL);

    CHECK_INT(sp_titem_parse(&it, item2, strlen(item2), &err), SP_OK);
    CHECK_SLICE(it.d_type, "bringOutYourDead");
    CHECK_INT(it.has_computrons, 1);
    CHECK_INT(it.computrons, 2364);
    CHECK_STR(it.d_hash, "98b14d52739d2444169d5bbd177648cb"); /* ["bringOutYourDead"] */
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

    /* expected values computed outside slogpipe (Python hashlib, sp_hash.h's definitions) */
    CHECK_INT(sp_titem_parse(&it, spaced, strlen(spaced), &err), SP_OK);
    CHECK_STR(it.d_hash, "fa82f47c5f2ee00d61a0ad1b1f6096d0"); /* [ "bringOutYourDead" ] */
    CHECK_STR(it.sc_hash, "ee2a2d47874cb0d5a5d54b8164a0f330"); /* chain of ["a" , 1], [ "ok" , null ] */
    CHECK_INT(it.computrons, 12);
    CHECK_SLICE(it.d_type, "bringOutYourDead");

    CHECK_INT(sp_titem_parse(&it, scalars, strlen(scalars), &err), SP_OK);
    CHECK_STR(it.d_hash, "ef2d127de37b942baad06145e54b0c61"); /* 5 */
    CHECK(it.d_type.p == NULL);
    /* s then r per syscall, whatever the key order: chain of 7, "x", -1.5e3, true */
    CHECK_STR(it.sc_hash, "24d43f4868a0f2a8afdd3531358be540");
    CHECK(it.status.p == NULL);

    /* huge number literals are data, not parse errors */
    {
        static const char huge[] = "{\"d\":[\"message\",1e999,123456789012345678901234567890],\"sc\":[],"
                                   "\"r\":{\"status\":\"ok\",\"metering\":{\"computrons\":5}}}";
        CHECK_INT(sp_titem_parse(&it, huge, strlen(huge), &err), SP_OK);
        CHECK_INT(it.computrons, 5);
        CHECK_STR(it.d_hash, "f9f5f76081297affc07dbdcc9352597d"); /* ["message",1e999,1234...7890] */
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
    test_sha256_vectors();
    test_store_vectors();
    test_parse_vectors();
    test_parse_snapshots();
    test_parse_raw_slices();
    test_parse_bad();
    test_helpers();
    test_slog_pair();
    return TEST_DONE();
}
