/* test_reader.c - slog line reader on real data: plain/gzip/multi-member/truncated/corrupt, max_line, CRLF, stdin, seek, detect. */
#include "sp_test.h"
#include "../../ingest/sp_input.h"
#include "reader_util.h"

#include <sys/wait.h>

#define BASIC SP_TEST_DATA "/basic/slog.jsonl.gz"

static char *tmp;      /* temp dir for this run */
static char *ref;      /* the basic slog, decompressed by zlib's gzread */
static size_t ref_len;
static struct ru_lines ref_lines;

/* Read the whole sample; every line must equal gzread's bytes and the offsets must chain. */
static void test_basic_gzip(void)
{
    struct sp_reader *r = ru_open(BASIC, 0, 0);
    struct sp_line l;
    struct sp_err err = {0};
    struct sp_reader_stats st;
    int64_t n = 0, mismatches = 0, expect_off = 0;
    size_t longest = 0;
    int64_t longest_at = 0;
    int rc;

    CHECK_INT(sp_reader_kind(r), SP_IN_SLOG);
    CHECK_STR(sp_reader_member(r, 0), BASIC);
    while ((rc = sp_reader_next(r, &l, &err)) == SP_OK) {
        n++;
        if (n <= (int64_t)ref_lines.n) {
            size_t i = (size_t)n - 1;
            if (l.n != ref_lines.len[i] || memcmp(l.p, ref + ref_lines.start[i], l.n) != 0 ||
                l.offset != (int64_t)ref_lines.start[i])
                mismatches++;
        }
        if (l.line != n || l.offset != expect_off || l.end_offset != l.offset + (int64_t)l.n + 1)
            mismatches++;
        expect_off = l.end_offset;
        if (l.n >= longest) { /* lines 14 and 11536 are both 943202 bytes */
            longest = l.n;
            longest_at = l.line;
        }
        CHECK(l.source && strcmp(l.source, BASIC) == 0);
    }
    CHECK_INT(rc, SP_EOF);
    CHECK_INT(n, 24851); /* FACTS.md: 24851 lines */
    CHECK_INT(ref_lines.n, 24851);
    CHECK_INT(mismatches, 0);
    CHECK_INT(expect_off, (int64_t)ref_len);
    CHECK_INT(longest, 943202); /* FACTS.md "943203 chars" counts the '\n' */
    CHECK_INT(longest_at, 11536);
    /* EOF is sticky */
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
    {
        struct stat sb;
        stat(BASIC, &sb);
        CHECK_INT(sp_reader_bytes_in(r), sb.st_size);
        CHECK_INT(sp_reader_size(r), sb.st_size);
    }
    sp_reader_stats(r, &st);
    CHECK_INT(st.lines, 24851);
    CHECK_INT(st.longest_line, 943202);
    CHECK(st.buf_peak <= 2 * 943202 + 2 * 256 * 1024);
    sp_reader_destroy(r);
}

/* The same bytes as a plain file: identical lines and offsets. */
static void test_plain(const char *plain)
{
    struct sp_reader *r = ru_open(plain, 0, 0);
    struct sp_line l;
    struct sp_err err = {0};
    int64_t n = 0, bad = 0;
    int rc;
    while ((rc = sp_reader_next(r, &l, &err)) == SP_OK) {
        size_t i = (size_t)n++;
        if (i >= ref_lines.n || l.n != ref_lines.len[i] ||
            memcmp(l.p, ref + ref_lines.start[i], l.n) != 0 || l.offset != (int64_t)ref_lines.start[i])
            bad++;
    }
    CHECK_INT(rc, SP_EOF);
    CHECK_INT(n, 24851);
    CHECK_INT(bad, 0);
    CHECK_INT(sp_reader_bytes_in(r), (int64_t)ref_len);
    CHECK_INT(sp_reader_size(r), (int64_t)ref_len);
    sp_reader_destroy(r);
}

/* Collect all results of a reader: lines joined by '\n' into out, rc sequence summary. */
struct run {
    char *text;
    size_t len, cap;
    int64_t lines, bad;
    char lastmsg[512];
    int last_rc;
};

static void run_all(const char *path, size_t max_line, struct run *o)
{
    struct sp_reader *r = ru_open(path, max_line, 0);
    struct sp_line l;
    struct sp_err err = {0};
    int rc;
    memset(o, 0, sizeof(*o));
    while ((rc = sp_reader_next(r, &l, &err)) == SP_OK || rc == SP_EBADINPUT) {
        if (rc == SP_EBADINPUT) {
            o->bad++;
            snprintf(o->lastmsg, sizeof(o->lastmsg), "%s", err.msg);
            continue;
        }
        if (o->len + l.n + 1 > o->cap) {
            o->cap = (o->len + l.n + 1) * 2;
            o->text = sp_xrealloc(o->text, o->cap);
        }
        memcpy(o->text + o->len, l.p, l.n);
        o->len += l.n;
        o->text[o->len++] = '\n';
        o->lines++;
    }
    o->last_rc = rc;
    sp_reader_destroy(r);
}

static void run_free(struct run *o)
{
    free(o->text);
}

static void test_multimember(void)
{
    char *p = ru_path(tmp, "multi.gz");
    struct run o;
    size_t half = ref_lines.start[12000]; /* split between lines */
    ru_gz_member(p, ref, half, "wb");
    ru_gz_member(p, ref + half, ref_len - half, "ab");
    run_all(p, 0, &o);
    CHECK_INT(o.last_rc, SP_EOF);
    CHECK_INT(o.bad, 0);
    CHECK_INT(o.lines, 24851);
    CHECK(o.len == ref_len && memcmp(o.text, ref, ref_len) == 0);
    run_free(&o);

    /* three members split in the middle of lines, plus an empty member: `cat a.gz b.gz` */
    ru_gz_member(p, ref, 1000, "wb");
    ru_gz_member(p, ref + 1000, 0, "ab");
    ru_gz_member(p, ref + 1000, half + 17 - 1000, "ab");
    ru_gz_member(p, ref + half + 17, ref_len - half - 17, "ab");
    run_all(p, 0, &o);
    CHECK_INT(o.last_rc, SP_EOF);
    CHECK_INT(o.bad, 0);
    CHECK_INT(o.lines, 24851);
    CHECK(o.len == ref_len && memcmp(o.text, ref, ref_len) == 0);
    run_free(&o);
    free(p);
}

static void test_truncated_gzip(void)
{
    size_t gzlen, got_len;
    char *gz = ru_slurp(BASIC, &gzlen);
    char *p = ru_path(tmp, "trunc.gz"), *got;
    struct ru_lines tl;
    struct run o;

    ru_write(p, gz, gzlen / 2, "wb");
    got = ru_gunzip(p, &got_len); /* zlib's own view of what survives the cut */
    ru_index(got, got_len, 0, &tl);
    CHECK(tl.n > 1000 && tl.n < 24851);
    run_all(p, 0, &o);
    CHECK_INT(o.lines, tl.n); /* every complete line before the cut... */
    CHECK(o.len <= ref_len && memcmp(o.text, ref, o.len) == 0);
    CHECK_INT(o.bad, 1); /* ...then one SP_EBADINPUT... */
    CHECK(strstr(o.lastmsg, p) != NULL);
    CHECK(strstr(o.lastmsg, "truncated gzip") != NULL);
    CHECK(strstr(o.lastmsg, "offset") != NULL);
    CHECK_INT(o.last_rc, SP_EOF); /* ...then SP_EOF */
    fprintf(stderr, "  (truncated: %s)\n", o.lastmsg);
    run_free(&o);
    ru_lines_free(&tl);
    free(got);

    /* cut inside the 8-byte trailer: all lines are there, the member is still incomplete */
    ru_write(p, gz, gzlen - 3, "wb");
    run_all(p, 0, &o);
    CHECK_INT(o.lines, 24851);
    CHECK_INT(o.bad, 1);
    CHECK_INT(o.last_rc, SP_EOF);
    run_free(&o);

    /* corrupt deflate data: overwrite 64 bytes in the middle with garbage */
    memset(gz + gzlen / 2, 0xA5, 64);
    ru_write(p, gz, gzlen, "wb");
    run_all(p, 0, &o);
    CHECK_INT(o.bad, 1);
    CHECK(strstr(o.lastmsg, "corrupt gzip") != NULL || strstr(o.lastmsg, "truncated") != NULL);
    CHECK(strstr(o.lastmsg, p) != NULL);
    CHECK(o.lines >= 1000); /* the lines before the damage came through */
    CHECK(memcmp(o.text, ref, ref_lines.start[1000]) == 0);
    CHECK_INT(o.last_rc, SP_EOF);
    fprintf(stderr, "  (corrupt: %s; %lld lines before it)\n", o.lastmsg, (long long)o.lines);
    run_free(&o);

    /* a second member whose first deflate block has the invalid type 3 */
    {
        size_t first = ref_lines.start[300], flen2;
        char *raw;
        ru_gz_member(p, ref, first, "wb");
        flen2 = (size_t)ru_slurp_len(p);
        ru_gz_member(p, ref + first, 100000, "ab");
        raw = ru_slurp(p, &gzlen);
        raw[flen2 + 10] = 0x07; /* BFINAL 1, BTYPE 11 right after the 10-byte gzip header */
        ru_write(p, raw, gzlen, "wb");
        free(raw);
        run_all(p, 0, &o);
        CHECK_INT(o.lines, 300);
        CHECK(o.len == first && memcmp(o.text, ref, first) == 0);
        CHECK_INT(o.bad, 1);
        {
            /* the reason is the backend's: zlib "invalid block type", ISA-L "invalid deflate block" */
            char want[200];
            snprintf(want, sizeof(want), ") at uncompressed offset %zu", first);
            CHECK(strstr(o.lastmsg, want) != NULL);
            CHECK(strstr(o.lastmsg, "corrupt gzip data (invalid block type)") != NULL ||
                  strstr(o.lastmsg, "corrupt gzip data (invalid deflate block)") != NULL);
        }
        CHECK_INT(o.last_rc, SP_EOF);
        run_free(&o);
    }

    /* trailing garbage after a complete member */
    ru_gz_member(p, "a\nb\n", 4, "wb");
    ru_write_str(p, "this is not gzip", "ab");
    run_all(p, 0, &o);
    CHECK_INT(o.lines, 2);
    CHECK_INT(o.bad, 1);
    CHECK_INT(o.last_rc, SP_EOF);
    run_free(&o);
    free(gz);
    free(p);
}

static void test_max_line(void)
{
    char *p = ru_path(tmp, "long.jsonl");
    char *big = sp_xmalloc(5001);
    struct sp_reader *r;
    struct sp_line l;
    struct sp_err err = {0};

    memset(big, 'x', 5000);
    big[5000] = 0;
    ru_write_str(p, "{\"a\":1}\n", "wb");
    ru_write_str(p, big, "ab");
    ru_write_str(p, "\n{\"b\":2}\n", "ab");
    big[1000] = 0;
    ru_write_str(p, big, "ab"); /* exactly max_line: fine */
    ru_write_str(p, "\n", "ab");
    big[1000] = 'x';
    big[1001] = 0;
    ru_write_str(p, big, "ab"); /* max_line + 1, and the file ends without '\n' */
    r = ru_open(p, 1000, 0);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_INT(l.line, 1);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, ":2: line longer than 1000 bytes (skipped)") != NULL);
    CHECK(strncmp(err.msg, p, strlen(p)) == 0);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_INT(l.line, 3);
    CHECK_SLICE(sp_str_make(l.p, l.n), "{\"b\":2}");
    CHECK_INT(l.offset, 8 + 5001);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_INT(l.line, 4);
    CHECK_INT(l.n, 1000);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, ":5: line longer") != NULL);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
    sp_reader_destroy(r);
    free(big);

    /* on the real sample with max_line 100000: the big create-vat lines are skipped, others kept */
    {
        size_t over = 0, i;
        struct run o;
        for (i = 0; i < ref_lines.n; i++) over += ref_lines.len[i] > 100000;
        run_all(BASIC, 100000, &o);
        CHECK(over >= 4);
        CHECK_INT(o.bad, over);
        CHECK_INT(o.lines + o.bad, 24851);
        CHECK_INT(o.last_rc, SP_EOF);
        run_free(&o);
    }
    free(p);
}

/* A 12 MiB line inside a gzip file: read whole, the buffer sized by it (not by the 36 MB file). */
static void test_huge_line(void)
{
    char *p = ru_path(tmp, "huge.gz");
    size_t big = 12u << 20, filler = 24u * 1000 * 1000; /* a multiple of 100 */
    char *b = sp_xmalloc(filler);
    struct sp_reader *r;
    struct sp_line l;
    struct sp_err err = {0};
    struct sp_reader_stats st;
    int64_t n = 0, ok = 1;
    int rc;

    memset(b, 'y', big);
    ru_gz_member(p, "{\"first\":1}\n", 12, "wb");
    ru_gz_member(p, b, big, "ab");
    for (size_t i = 0; i + 100 <= filler; i += 100) { /* 24 MB of 99-byte lines after it */
        memset(b + i, 'z', 99);
        b[i + 99] = '\n';
    }
    ru_gz_member(p, "\n", 1, "ab");
    ru_gz_member(p, b, filler, "ab");
    r = ru_open(p, 0, 0);
    while ((rc = sp_reader_next(r, &l, &err)) == SP_OK) {
        n++;
        if (n == 2 && (l.n != big || l.p[0] != 'y' || l.p[big - 1] != 'y')) ok = 0;
        if (n > 2 && l.n != 99) ok = 0;
    }
    CHECK_INT(rc, SP_EOF);
    CHECK_INT(n, 2 + (int64_t)(filler / 100));
    CHECK(ok);
    sp_reader_stats(r, &st);
    CHECK_INT(st.longest_line, big);
    CHECK(st.buf_peak >= big && st.buf_peak <= 2 * big + 256 * 1024);
    sp_reader_destroy(r);
    free(b);
    free(p);
}

static void test_small_files(void)
{
    char *p = ru_path(tmp, "small.jsonl");
    struct sp_reader *r;
    struct sp_line l;
    struct sp_err err = {0};

    /* empty file: detected as a slog, SP_EOF at once */
    ru_write(p, "", 0, "wb");
    CHECK_INT(sp_input_detect(p, &err), SP_IN_SLOG);
    r = ru_open(p, 0, 0);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
    CHECK_INT(sp_reader_size(r), 0);
    sp_reader_destroy(r);

    /* no final newline, CRLF, empty lines */
    ru_write_str(p, "a\r\n\nbb\r\r\nlast", "wb");
    r = ru_open(p, 0, 0);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_SLICE(sp_str_make(l.p, l.n), "a");
    CHECK_INT(l.end_offset, 3);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_INT(l.n, 0);
    CHECK_INT(l.line, 2);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_SLICE(sp_str_make(l.p, l.n), "bb\r"); /* only one trailing '\r' is stripped */
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_SLICE(sp_str_make(l.p, l.n), "last");
    CHECK_INT(l.line, 4);
    CHECK_INT(l.offset, 9);
    CHECK_INT(l.end_offset, 13);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
    sp_reader_destroy(r);

    /* a single byte, and a gzip of an empty string */
    ru_write_str(p, "x", "wb");
    r = ru_open(p, 0, 0);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_SLICE(sp_str_make(l.p, l.n), "x");
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
    sp_reader_destroy(r);
    ru_gz_member(p, "", 0, "wb");
    r = ru_open(p, 0, 0);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_EOF);
    sp_reader_destroy(r);
    free(p);
}

/* Read `path` as stdin ("-") through a pipe fed by a child process. */
static void test_stdin_one(const char *feed, int64_t want_lines, size_t want_bytes)
{
    int fds[2], saved = dup(0), status = 0;
    pid_t pid;
    size_t flen;
    char *data = ru_slurp(feed, &flen);

    if (pipe(fds) != 0) {
        perror("pipe");
        exit(2);
    }
    pid = fork();
    if (pid == 0) {
        size_t off = 0;
        close(fds[0]);
        while (off < flen) { /* small writes: the reader sees short reads */
            size_t n = flen - off < 4093 ? flen - off : 4093;
            ssize_t k = write(fds[1], data + off, n);
            if (k <= 0) _exit(1);
            off += (size_t)k;
        }
        _exit(0);
    }
    close(fds[1]);
    dup2(fds[0], 0);
    close(fds[0]);
    {
        struct sp_reader *r = ru_open("-", 0, 1 /* follow is ignored on stdin */);
        struct sp_line l;
        struct sp_err err = {0};
        int64_t n = 0;
        size_t bytes = 0;
        int rc;
        CHECK_INT(sp_input_detect("-", &err), SP_IN_SLOG);
        while ((rc = sp_reader_next(r, &l, &err)) == SP_OK) {
            n++;
            bytes += l.n + 1;
            if (n == 1) CHECK_STR(l.source, "<stdin>");
        }
        CHECK_INT(rc, SP_EOF);
        CHECK_INT(n, want_lines);
        CHECK_INT(bytes, want_bytes);
        CHECK_INT(sp_reader_bytes_in(r), flen);
        CHECK_INT(sp_reader_size(r), -1);
        sp_reader_destroy(r);
    }
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    dup2(saved, 0);
    close(saved);
    free(data);
}

static void test_stdin(const char *plain)
{
    test_stdin_one(BASIC, 24851, ref_len); /* gzip auto-detected on a pipe */
    test_stdin_one(plain, 24851, ref_len);
}

/* Read N lines, then a second reader seeks to line N's end: the rest must be identical. */
static void test_seek_one(const char *path, int64_t at)
{
    struct sp_reader *a = ru_open(path, 0, 0), *b = ru_open(path, 0, 0);
    struct sp_line la, lb;
    struct sp_err err = {0};
    int64_t end_off = 0, diff = 0, n = 0;
    int ra, rb;

    while (n < at && sp_reader_next(a, &la, &err) == SP_OK) {
        n++;
        end_off = la.end_offset;
    }
    CHECK_INT(n, at);
    CHECK_INT(sp_reader_seek(b, at, end_off, &err), SP_OK);
    for (;;) {
        ra = sp_reader_next(a, &la, &err);
        rb = sp_reader_next(b, &lb, &err);
        if (ra != rb) {
            diff++;
            break;
        }
        if (ra != SP_OK) break;
        if (la.line != lb.line || la.offset != lb.offset || la.n != lb.n ||
            memcmp(la.p, lb.p, la.n) != 0)
            diff++;
    }
    CHECK_INT(ra, SP_EOF);
    CHECK_INT(diff, 0);
    sp_reader_destroy(a);
    sp_reader_destroy(b);
}

static void test_seek(const char *plain)
{
    struct sp_reader *r;
    struct sp_line l;
    struct sp_err err = {0};

    test_seek_one(BASIC, 5000);
    test_seek_one(BASIC, 11536); /* right after the longest line */
    test_seek_one(plain, 5000);
    test_seek_one(plain, 24851); /* at the very end */
    test_seek_one(plain, 0);

    /* seek backwards on the same reader */
    r = ru_open(BASIC, 0, 0);
    for (int i = 0; i < 100; i++) sp_reader_next(r, &l, &err);
    CHECK_INT(sp_reader_seek(r, 2, (int64_t)ref_lines.start[2], &err), SP_OK);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_INT(l.line, 3);
    CHECK_INT(l.offset, (int64_t)ref_lines.start[2]);
    CHECK(l.n == ref_lines.len[2] && memcmp(l.p, ref + ref_lines.start[2], l.n) == 0);

    /* a checkpoint beyond the end: the file was truncated or replaced */
    CHECK_INT(sp_reader_seek(r, 30000, (int64_t)ref_len + 10, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "source shorter than checkpoint (truncated or replaced)") != NULL);
    sp_reader_destroy(r);
    r = ru_open(plain, 0, 0);
    CHECK_INT(sp_reader_seek(r, 30000, (int64_t)ref_len + 10, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "source shorter than checkpoint (truncated or replaced)") != NULL);
    /* the reader is still usable: restart from 0 */
    CHECK_INT(sp_reader_seek(r, 0, 0, &err), SP_OK);
    CHECK_INT(sp_reader_next(r, &l, &err), SP_OK);
    CHECK_INT(l.line, 1);
    sp_reader_destroy(r);
}

static void test_detect(void)
{
    struct sp_err err = {0};
    char *d = ru_path(tmp, "det"), *f;

    CHECK_INT(sp_input_detect(BASIC, &err), SP_IN_SLOG);
    CHECK_INT(sp_input_detect(SP_TEST_DATA "/basic/flight-recorder.bin", &err), SP_IN_FLIGHT_RECORDER);
    CHECK_INT(sp_input_detect(SP_TEST_DATA "/basic/swingstore.sqlite", &err), SP_IN_SWINGSTORE);
    CHECK_INT(sp_input_detect(SP_TEST_DATA "/basic/export", &err), SP_IN_EXPORT_DIR);
    CHECK_INT(sp_input_detect(SP_TEST_DATA "/basic/FACTS.md", &err), SP_IN_SLOG);
    CHECK_INT(sp_input_detect(SP_TEST_DATA "/basic", &err), SP_IN_SWINGSTORE);
    CHECK_INT(sp_input_detect("-", &err), SP_IN_SLOG);
    sp_err_clear(&err);
    CHECK_INT(sp_input_detect("/nonexistent/x.slog", &err), SP_IN_UNKNOWN);
    CHECK_STR(err.msg, "/nonexistent/x.slog: No such file or directory");

    mkdir(d, 0755);
    CHECK_INT(sp_input_detect(d, &err), SP_IN_UNKNOWN); /* empty dir */
    CHECK(strstr(err.msg, d) != NULL);
    f = ru_path(d, "transcript.v12.0.5.gz");
    ru_write_str(f, "", "wb");
    CHECK_INT(sp_input_detect(d, &err), SP_IN_ARCHIVE_DIR);
    free(f);
    f = ru_path(d, "slogfile_block_12_1700000000123.gz");
    ru_write_str(f, "", "wb");
    CHECK_INT(sp_input_detect(d, &err), SP_IN_BLOCK_SLOG_DIR);
    free(f);
    f = ru_path(d, "swingstore.sqlite");
    ru_write_str(f, "", "wb");
    CHECK_INT(sp_input_detect(d, &err), SP_IN_SWINGSTORE);
    free(f);
    f = ru_path(d, "export-manifest.json");
    ru_write_str(f, "{}", "wb");
    CHECK_INT(sp_input_detect(d, &err), SP_IN_EXPORT_DIR);
    free(f);
    /* content beats names: a gzip named .json, a text file named .gz */
    f = ru_path(d, "x.json");
    ru_gz_member(f, "{}\n", 3, "wb");
    CHECK_INT(sp_input_detect(f, &err), SP_IN_SLOG);
    free(f);
    f = ru_path(d, "fr.gz");
    ru_write(f, "AG-SLOG!", 8, "wb");
    CHECK_INT(sp_input_detect(f, &err), SP_IN_FLIGHT_RECORDER);
    free(f);

    /* the reader refuses what is not a slog */
    {
        struct sp_reader *r = NULL;
        CHECK_INT(sp_reader_open(&r, SP_TEST_DATA "/basic/swingstore.sqlite", NULL, &err), SP_EUSAGE);
        CHECK(r == NULL);
        CHECK(strstr(err.msg, "swingstore") != NULL);
        CHECK_INT(sp_reader_open(&r, "/nonexistent/x.slog", NULL, &err), SP_EIO);
    }

    /* unreadable path (we may be root: drop to nobody in a child to see EACCES) */
    f = ru_path(d, "secret.jsonl");
    ru_write_str(f, "{}\n", "wb");
    chmod(f, 0);
    {
        pid_t pid = fork();
        int status = 0;
        if (pid == 0) {
            struct sp_err e = {0};
            char want[600];
            if (getuid() == 0 && setuid(65534) != 0) _exit(3);
            snprintf(want, sizeof(want), "%s: Permission denied", f);
            if (sp_input_detect(f, &e) != SP_IN_UNKNOWN) _exit(1);
            if (strcmp(e.msg, want) != 0) _exit(2);
            _exit(0);
        }
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK_INT(WEXITSTATUS(status), 0);
    }
    free(f);
    free(d);
}

int main(void)
{
    char *plain;

    sp_log_level = SP_LOG_ERROR;
    tmp = ru_tmpdir();
    ref = ru_gunzip(BASIC, &ref_len);
    ru_index(ref, ref_len, 0, &ref_lines);
    plain = ru_path(tmp, "basic.jsonl");
    ru_write(plain, ref, ref_len, "wb");

    test_basic_gzip();
    test_plain(plain);
    test_multimember();
    test_truncated_gzip();
    test_max_line();
    test_huge_line();
    test_small_files();
    test_stdin(plain);
    test_seek(plain);
    test_detect();

    ru_rmrf(tmp);
    free(plain);
    free(tmp);
    ru_lines_free(&ref_lines);
    free(ref);
    return TEST_DONE();
}
