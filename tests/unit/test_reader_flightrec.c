/* test_reader_flightrec.c - flight-recorder ring reader against the sample's ground truth (FACTS.md "Flight recorder"), plus corrupt rings. */
#include "sp_test.h"
#include "../../ingest/sp_input.h"
#include "reader_util.h"

#define FR SP_TEST_DATA "/basic/flight-recorder.bin"
#define BASIC SP_TEST_DATA "/basic/slog.jsonl.gz"

static char *tmp;

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

/* Every record equals slog line 23440 + i byte for byte (FACTS.md). */
static void test_ground_truth(void)
{
    size_t ref_len;
    char *ref = ru_gunzip(BASIC, &ref_len);
    struct ru_lines rl;
    struct sp_reader *r = NULL;
    struct sp_reader_opts o = {0, 0};
    struct sp_line l;
    struct sp_err err = {0};
    int64_t n = 0, diff = 0, first_off = -1, last_off = -1, chain_bad = 0, prev_end = -1;
    size_t first_n = 0, last_n = 0;
    char first_type[64] = "", last_type[64] = "";
    int rc;

    ru_index(ref, ref_len, 0, &rl);
    CHECK_INT(rl.n, 24851);
    CHECK_INT(sp_reader_open(&r, FR, &o, &err), SP_OK);
    if (!r) return;
    CHECK_INT(sp_reader_kind(r), SP_IN_FLIGHT_RECORDER);
    CHECK_INT(sp_reader_size(r), 32 + 408202); /* header + live bytes */
    CHECK_INT(sp_reader_lag(r), 408202);       /* FACTS: live bytes incl. length fields, none walked */
    while ((rc = sp_reader_next(r, &l, &err)) == SP_OK) {
        size_t i = (size_t)(23440 + n); /* 0-based index of slog line 23441 + n */
        n++;
        if (l.line != n) diff++;
        if (i >= rl.n || l.n != rl.len[i] || memcmp(l.p, ref + rl.start[i], l.n) != 0) diff++;
        if (prev_end >= 0 && l.offset != prev_end) chain_bad++;
        prev_end = l.end_offset;
        if (n == 1) {
            first_off = l.offset;
            first_n = l.n + 1; /* data bytes include the leading "\n" */
            sscanf(l.p, "{\"type\":\"%63[^\"]", first_type);
        }
        last_off = l.offset;
        last_n = l.n + 1;
        sscanf(l.p, "{\"type\":\"%63[^\"]", last_type);
        CHECK(l.source && strcmp(l.source, FR) == 0);
    }
    CHECK_INT(rc, SP_EOF);
    CHECK_INT(n, 1411);
    CHECK_INT(diff, 0);
    CHECK_INT(chain_bad, 0);
    CHECK_INT(first_off, 146950);
    CHECK_INT(first_n, 250);
    CHECK_STR(first_type, "syscall-result");
    CHECK_INT(last_off, 30752);
    CHECK_INT(last_n, 136);
    CHECK_STR(last_type, "cosmic-swingset-commit-block-finish");
    CHECK_INT(prev_end, 30896); /* circEnd */
    CHECK_INT(sp_reader_bytes_in(r), sp_reader_size(r));
    CHECK_INT(sp_reader_bytes_read(r), 32 + 408202);
    CHECK_INT(sp_reader_lag(r), 0);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);

    /* seek: skip 1297 records; the next one straddles the arena end (FACTS counts it as #1297 from 0:
     * record 1298 here, slog line 24738) */
    {
        struct sp_reader *a = NULL, *b = NULL;
        int64_t end = 0;
        CHECK_INT(sp_reader_open(&a, FR, &o, &err), SP_OK);
        CHECK_INT(sp_reader_open(&b, FR, &o, &err), SP_OK);
        for (int k = 0; k < 1297; k++) {
            sp_reader_next(a, &l, &err);
            end = l.end_offset;
        }
        CHECK_INT(sp_reader_seek(b, 1297, end, &err), SP_OK);
        CHECK_INT(sp_reader_next(b, &l, &err), SP_OK);
        CHECK_INT(l.line, 1298);
        CHECK_INT(l.offset, 524164);
        CHECK(l.end_offset < l.offset); /* wrapped */
        CHECK(l.n == rl.len[24737] && memcmp(l.p, ref + rl.start[24737], l.n) == 0);
        CHECK_INT(sp_reader_seek(b, 1297, end + 1, &err), SP_EBADINPUT); /* ring moved */
        CHECK_INT(sp_reader_seek(b, 5000, 0, &err), SP_EBADINPUT);       /* beyond the ring */
        CHECK(strstr(err.msg, "source shorter than checkpoint") != NULL);
        sp_reader_destroy(a);
        sp_reader_destroy(b);
    }
    sp_reader_destroy(r);
    ru_lines_free(&rl);
    free(ref);
}

/* A hand-made ring: a record without the leading "\n" (slog-record-too-big), the length field split
 * across the arena end, then a corrupt length. */
static void test_handmade(void)
{
    enum { ARENA = 72 };
    unsigned char file[32 + ARENA];
    const char *rec1 = "{\"type\":\"slog-record-too-big\",\"snippet\":\"x\"}"; /* 44 bytes */
    const char *rec2 = "\n{\"a\":1}";                                          /* 8 bytes */
    char *p = ru_path(tmp, "ring.bin");
    struct sp_reader *r = NULL;
    struct sp_reader_opts o = {0, 0};
    struct sp_line l;
    struct sp_err err = {0};
    uint64_t start = 68, pos;

    memset(file, 0xEE, sizeof(file)); /* free space holds junk, as in real rings */
    memcpy(file, "AG-SLOG!", 8);
    put_be64(file + 8, ARENA);
    /* record 1 at arena offset 68: its length field wraps (4 bytes at the end, 4 at the start) */
    {
        unsigned char len[8];
        put_be64(len, strlen(rec1));
        memcpy(file + 32 + 68, len, 4);
        memcpy(file + 32, len + 4, 4);
        memcpy(file + 32 + 4, rec1, strlen(rec1)); /* data 4..48 */
    }
    pos = 4 + strlen(rec1); /* 48 */
    put_be64(file + 32 + pos, strlen(rec2));
    memcpy(file + 32 + pos + 8, rec2, strlen(rec2)); /* 56..64 */
    put_be64(file + 16, start);
    put_be64(file + 24, 64); /* live: 68..72, 0..64 */
    ru_write(p, file, sizeof(file), "wb");

    CHECK_INT(sp_reader_open(&r, p, &o, &err), SP_OK);
    if (r) {
        CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
        CHECK_SLICE(sp_str_make(l.p, l.n), rec1);
        CHECK_INT(l.offset, 68);
        CHECK_INT(l.end_offset, 48);
        CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
        CHECK_SLICE(sp_str_make(l.p, l.n), "{\"a\":1}");
        CHECK_INT(l.line, 2);
        CHECK_INT(l.end_offset, 64);
        CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
        sp_reader_destroy(r);
    }

    /* corrupt length in record 2: SP_EBADINPUT naming the arena offset, then SP_EOF */
    put_be64(file + 32 + pos, 1000);
    ru_write(p, file, sizeof(file), "wb");
    r = NULL;
    CHECK_INT(sp_reader_open(&r, p, &o, &err), SP_OK);
    if (r) {
        CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
        CHECK_INT(sp_reader_next(r, &l, &err), SP_EBADINPUT);
        CHECK(strstr(err.msg, "record length 1000 at arena offset 48") != NULL);
        CHECK(strstr(err.msg, p) != NULL);
        CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
        sp_reader_destroy(r);
    }

    /* header errors are reported at open */
    put_be64(file + 8, ARENA + 1); /* arena larger than the file */
    ru_write(p, file, sizeof(file), "wb");
    r = NULL;
    CHECK_INT(sp_reader_open(&r, p, &o, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "corrupt flight recorder header") != NULL);
    ru_write(p, "AG-SLOG!", 8, "wb"); /* magic only */
    CHECK_INT(sp_reader_open(&r, p, &o, &err), SP_EBADINPUT);
    CHECK(r == NULL);

    /* empty ring (circStart == circEnd) */
    put_be64(file + 8, ARENA);
    put_be64(file + 16, 7);
    put_be64(file + 24, 7);
    ru_write(p, file, sizeof(file), "wb");
    CHECK_INT(sp_reader_open(&r, p, &o, &err), SP_OK);
    if (r) {
        CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
        sp_reader_destroy(r);
    }
    free(p);
}

/* max_line applies to records: an over-long record is skipped with its number, the next one read. */
static void test_max_line(void)
{
    struct sp_reader *r = NULL;
    struct sp_reader_opts o = {200, 0};
    struct sp_line l;
    struct sp_err err = {0};
    int64_t ok = 0, bad = 0;
    int rc;
    CHECK_INT(sp_reader_open(&r, FR, &o, &err), SP_OK);
    if (!r) return;
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EBADINPUT); /* record 1 is 249 bytes of JSON */
    CHECK(strstr(err.msg, ":1: record longer than 200 bytes (skipped)") != NULL);
    bad++;
    while ((rc = sp_reader_next(r, &l, &err)) == SP_OK || rc == SP_EBADINPUT) {
        if (rc == SP_OK) {
            ok++;
            CHECK(l.n <= 200);
        } else {
            bad++;
        }
    }
    CHECK_INT(rc, SP_EOF);
    CHECK_INT(ok + bad, 1411);
    CHECK(ok > 100);
    sp_reader_destroy(r);
}

int main(void)
{
    sp_log_level = SP_LOG_ERROR;
    tmp = ru_tmpdir();
    test_ground_truth();
    test_handmade();
    test_max_line();
    ru_rmrf(tmp);
    free(tmp);
    return TEST_DONE();
}
