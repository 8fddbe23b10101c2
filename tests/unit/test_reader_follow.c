/* test_reader_follow.c - follow mode (tail -F) on real files: append, partial lines, rotation, truncation, gzip members, a live writer process. */
#include "sp_test.h"
#include "../../ingest/sp_input.h"
#include "reader_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static char *tmp;

/* Next line must be `want` with number `line`. */
#define EXPECT_LINE(r, want, lineno)                                    \
    do {                                                                \
        struct sp_line l_;                                              \
        struct sp_err e_ = {0};                                         \
        CHECK_INT(sp_reader_next((r), &l_, &e_), SP_OK);                \
        CHECK_SLICE(sp_str_make(l_.p, l_.n), (want));                   \
        CHECK_INT(l_.line, (lineno));                                   \
    } while (0)

#define EXPECT_RC(r, rc)                                                \
    do {                                                                \
        struct sp_line l_;                                              \
        struct sp_err e_ = {0};                                         \
        CHECK_INT(sp_reader_next((r), &l_, &e_), (rc));                 \
    } while (0)

static void test_append_rotate_truncate(void)
{
    char *p = ru_path(tmp, "live.jsonl"), *old = ru_path(tmp, "live.jsonl.1");
    struct sp_reader *r;
    struct sp_line l;
    struct sp_err err = {0};

    ru_write_str(p, "", "wb"); /* starts empty */
    r = ru_open(p, 0, 1);
    EXPECT_RC(r, SP_AGAIN);
    ru_write_str(p, "a\n", "ab");
    EXPECT_LINE(r, "a", 1);
    EXPECT_RC(r, SP_AGAIN);
    ru_write_str(p, "{\"partial", "ab"); /* no '\n' yet: not returned */
    EXPECT_RC(r, SP_AGAIN);
    EXPECT_RC(r, SP_AGAIN);
    ru_write_str(p, "\":1}\nb\r\n", "ab");
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_SLICE(sp_str_make(l.p, l.n), "{\"partial\":1}");
    CHECK_INT(l.line, 2);
    CHECK_INT(l.offset, 2);
    EXPECT_LINE(r, "b", 3);
    EXPECT_RC(r, SP_AGAIN);

    /* rotation: rename, the writer still appends to the old file, leaves a partial line */
    CHECK_INT(rename(p, old), 0);
    EXPECT_RC(r, SP_AGAIN); /* nothing at the path yet */
    ru_write_str(old, "c\nd-unterminated", "ab");
    ru_write_str(p, "x\ny\n", "wb"); /* the new file */
    EXPECT_LINE(r, "c", 4);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK); /* the old file is finished: its tail comes out */
    CHECK_SLICE(sp_str_make(l.p, l.n), "d-unterminated");
    CHECK_INT(l.line, 5);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_SLICE(sp_str_make(l.p, l.n), "x");
    CHECK_INT(l.line, 1); /* numbering restarts in the new file */
    CHECK_INT(l.offset, 0);
    CHECK_STR(l.source, p);
    EXPECT_LINE(r, "y", 2);
    EXPECT_RC(r, SP_AGAIN);

    /* truncation in place (copytruncate): shorter than what we read -> from 0 again */
    CHECK_INT(truncate(p, 0), 0);
    ru_write_str(p, "t\n", "ab");
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_SLICE(sp_str_make(l.p, l.n), "t");
    CHECK_INT(l.line, 1);
    CHECK_INT(l.offset, 0);
    EXPECT_RC(r, SP_AGAIN);
    sp_reader_destroy(r);

    /* a checkpoint resumes a followed file; a file now shorter than the checkpoint is reported */
    ru_write_str(p, "l1\nl2\nl3\n", "wb");
    r = ru_open(p, 0, 1);
    CHECK_INT(sp_reader_seek(r, 1, 3, &err), SP_OK);
    EXPECT_LINE(r, "l2", 2);
    EXPECT_LINE(r, "l3", 3);
    EXPECT_RC(r, SP_AGAIN);
    CHECK_INT(sp_reader_seek(r, 9, 100, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "source shorter than checkpoint") != NULL);
    sp_reader_destroy(r);
    free(p);
    free(old);
}

static void test_follow_gzip(void)
{
    char *p = ru_path(tmp, "live.gz");
    struct sp_reader *r;
    size_t len;
    char *gz;

    ru_gz_member(p, "g1\ng2\n", 6, "wb");
    r = ru_open(p, 0, 1);
    EXPECT_LINE(r, "g1", 1);
    EXPECT_LINE(r, "g2", 2);
    EXPECT_RC(r, SP_AGAIN);
    ru_gz_member(p, "g3\n", 3, "ab"); /* a new member appended */
    EXPECT_LINE(r, "g3", 3);
    EXPECT_RC(r, SP_AGAIN);

    /* half of a member arrives first: wait, no error; the rest completes it */
    {
        char *q = ru_path(tmp, "member.gz");
        ru_gz_member(q, "g4\ng5\n", 6, "wb");
        gz = ru_slurp(q, &len);
        ru_write(p, gz, len / 2, "ab");
        EXPECT_RC(r, SP_AGAIN);
        EXPECT_RC(r, SP_AGAIN);
        ru_write(p, gz + len / 2, len - len / 2, "ab");
        EXPECT_LINE(r, "g4", 4);
        EXPECT_LINE(r, "g5", 5);
        EXPECT_RC(r, SP_AGAIN);
        free(gz);
        free(q);
    }
    sp_reader_destroy(r);
    free(p);
}

/* sp_reader_lag (what is left to read now: the size now minus the position
 * read) and sp_reader_bytes_read (bytes read ever) while following: growth,
 * rotation, truncation, gzip; then a resumed and a finished file. The
 * expected values are the byte counts of what the test wrote. */
static void test_lag_and_bytes_read(void)
{
    char *p = ru_path(tmp, "lag.jsonl"), *old = ru_path(tmp, "lag.jsonl.1"), *g = ru_path(tmp, "lag.gz");
    struct sp_reader *r;
    int64_t glen;

    ru_write_str(p, "", "wb");
    r = ru_open(p, 0, 1);
    CHECK_INT(sp_reader_lag(r), 0);
    EXPECT_RC(r, SP_AGAIN);
    CHECK_INT(sp_reader_lag(r), 0);
    CHECK_INT(sp_reader_bytes_read(r), 0);
    ru_write_str(p, "aaaa\n", "ab"); /* appended: 5 bytes to read, none read */
    CHECK_INT(sp_reader_lag(r), 5);
    CHECK_INT(sp_reader_bytes_read(r), 0);
    EXPECT_LINE(r, "aaaa", 1);
    CHECK_INT(sp_reader_lag(r), 0);
    CHECK_INT(sp_reader_bytes_read(r), 5);
    ru_write_str(p, "bb\ncc", "ab"); /* a line and a partial one: both count as left to read */
    CHECK_INT(sp_reader_lag(r), 5);
    EXPECT_LINE(r, "bb", 2);
    EXPECT_RC(r, SP_AGAIN);
    CHECK_INT(sp_reader_lag(r), 0); /* the partial line was read into the buffer */
    CHECK_INT(sp_reader_bytes_read(r), 10);
    ru_write_str(p, "\n", "ab");
    EXPECT_LINE(r, "cc", 3);

    /* rotated: what is left of the old file plus the new file */
    CHECK_INT(rename(p, old), 0);
    ru_write_str(old, "dd\n", "ab");
    ru_write_str(p, "x\nyy\n", "wb");
    CHECK_INT(sp_reader_lag(r), 3 + 5);
    EXPECT_LINE(r, "dd", 4);
    CHECK_INT(sp_reader_lag(r), 5);
    EXPECT_LINE(r, "x", 1);
    EXPECT_LINE(r, "yy", 2);
    CHECK_INT(sp_reader_lag(r), 0);
    CHECK_INT(sp_reader_bytes_read(r), 11 + 3 + 5); /* never lowered by the new file's position 0 */

    /* truncated and rewritten shorter: the whole new content is left to read */
    CHECK_INT(truncate(p, 0), 0);
    ru_write_str(p, "t\n", "ab");
    CHECK_INT(sp_reader_lag(r), 2);
    EXPECT_LINE(r, "t", 1);
    CHECK_INT(sp_reader_lag(r), 0);
    CHECK_INT(sp_reader_bytes_read(r), 19 + 2);
    sp_reader_destroy(r);

    /* gzip: compressed bytes, member by member */
    ru_gz_member(g, "g1\ng2\n", 6, "wb");
    glen = ru_slurp_len(g);
    r = ru_open(g, 0, 1);
    CHECK_INT(sp_reader_lag(r), glen);
    EXPECT_LINE(r, "g1", 1);
    EXPECT_LINE(r, "g2", 2);
    EXPECT_RC(r, SP_AGAIN);
    CHECK_INT(sp_reader_lag(r), 0);
    ru_gz_member(g, "g3\n", 3, "ab");
    CHECK_INT(sp_reader_lag(r), ru_slurp_len(g) - glen);
    EXPECT_LINE(r, "g3", 3);
    EXPECT_RC(r, SP_AGAIN);
    CHECK_INT(sp_reader_lag(r), 0);
    CHECK_INT(sp_reader_bytes_read(r), ru_slurp_len(g));
    sp_reader_destroy(r);

    /* not followed: resumed at a checkpoint (the bytes before it are not read), then to the end */
    ru_write_str(p, "1111\n2222\n3333\n", "wb");
    r = ru_open(p, 0, 0);
    {
        struct sp_err e = {0};
        CHECK_INT(sp_reader_seek(r, 1, 5, &e), SP_OK);
    }
    CHECK_INT(sp_reader_lag(r), 10);
    CHECK_INT(sp_reader_bytes_read(r), 0);
    EXPECT_LINE(r, "2222", 2);
    EXPECT_LINE(r, "3333", 3);
    EXPECT_RC(r, SP_EOF);
    CHECK_INT(sp_reader_lag(r), 0);
    CHECK_INT(sp_reader_bytes_read(r), 10);
    ru_write_str(p, "4444\n", "ab"); /* grows after the end: not followed, nothing more is read */
    CHECK_INT(sp_reader_lag(r), 0);
    sp_reader_destroy(r);
    free(p);
    free(old);
    free(g);
}

/* A separate writer process appends 3000 lines in odd-sized pieces, rotates half way, truncates
 * nothing; the reader polls (10 ms naps, 30 s deadline) and must see every line once, in order. */
static void test_live_writer(void)
{
    char *p = ru_path(tmp, "writer.jsonl"), *old = ru_path(tmp, "writer.jsonl.1");
    pid_t pid;
    struct sp_reader *r;
    struct sp_line l;
    struct sp_err err = {0};
    int64_t next = 0, bad = 0, again = 0;
    double deadline;
    int status = 0;

    ru_write_str(p, "", "wb");
    r = ru_open(p, 0, 1);
    pid = fork();
    if (pid == 0) {
        char line[64], pend[256];
        size_t plen = 0;
        FILE *f = fopen(p, "ab");
        struct timespec nap = {0, 2 * 1000 * 1000};
        for (int i = 0; i < 3000; i++) {
            int n = snprintf(line, sizeof(line), "{\"seq\":%d}\n", i);
            memcpy(pend + plen, line, (size_t)n);
            plen += (size_t)n;
            if (i % 7 == 3 || plen > 150) { /* write a piece that ends mid-line */
                size_t cut = plen - (size_t)(i % 5);
                fwrite(pend, 1, cut, f);
                fflush(f);
                memmove(pend, pend + cut, plen - cut);
                plen -= cut;
                nanosleep(&nap, NULL);
            }
            if (i == 1500) { /* rotate: finish the old file, continue in a new one */
                fwrite(pend, 1, plen, f);
                plen = 0;
                fclose(f);
                if (rename(p, old) != 0) _exit(1);
                nanosleep(&nap, NULL);
                f = fopen(p, "ab");
            }
        }
        fwrite(pend, 1, plen, f);
        fclose(f);
        _exit(0);
    }
    deadline = sp_now_s() + 30;
    while (next < 3000 && sp_now_s() < deadline) {
        int rc = sp_reader_next(r, &l, &err);
        if (rc == SP_AGAIN) {
            struct timespec nap = {0, 10 * 1000 * 1000};
            again++;
            nanosleep(&nap, NULL);
            continue;
        }
        if (rc != SP_OK) {
            bad++;
            break;
        }
        {
            char want[64];
            snprintf(want, sizeof(want), "{\"seq\":%lld}", (long long)next);
            if (l.n != strlen(want) || memcmp(l.p, want, l.n) != 0) bad++;
            if (next == 1501 && l.line != 1) bad++; /* first line of the new file */
        }
        next++;
    }
    if (next < 3000) kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(next, 3000);
    CHECK_INT(bad, 0);
    CHECK(again > 0); /* we really did catch up with the writer */
    EXPECT_RC(r, SP_AGAIN);
    sp_reader_destroy(r);
    free(p);
    free(old);
}

int main(void)
{
    sp_log_level = SP_LOG_ERROR; /* the truncation warning is expected */
    tmp = ru_tmpdir();
    test_append_rotate_truncate();
    test_follow_gzip();
    test_lag_and_bytes_read();
    test_live_writer();
    ru_rmrf(tmp);
    free(tmp);
    return TEST_DONE();
}
