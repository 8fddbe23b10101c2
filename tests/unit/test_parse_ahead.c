/* test_parse_ahead.c - the parse-ahead thread hands over exactly what reader + normalizer give inline, slices intact, errors in place. */
#include "sp_test.h"
#include "../../core/sp_buf.h"
#include "../../normalize/sp_normalize.h"
#include "../../pipeline/sp_parse_ahead.h"
#include "reader_util.h"

#define BASIC SP_TEST_DATA "/basic/slog.jsonl.gz"

static char *tmp;

/* What one item (or one inline read) amounts to: every slice's bytes and
 * every scalar, folded into a 64-bit FNV-1a. */
struct sig {
    int rc, nrc;
    int64_t line, offset, end_offset;
    uint64_t h;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t fnv_str(uint64_t h, struct sp_str s)
{
    h = fnv(h, &s.n, sizeof(s.n));
    return s.p ? fnv(h, s.p, s.n) : fnv(h, "\1", 1);
}

static uint64_t ev_hash(const struct sp_event *ev)
{
    const struct sp_str strs[] = {
        ev->type_name, ev->raw, ev->time_text, ev->monotime_text, ev->seconds_text, ev->vat_id,
        ev->dispatch, ev->kd, ev->vd, ev->dr, ev->dr_status, ev->ksc, ev->vsc, ev->ksr, ev->vsr,
        ev->crank_type, ev->message_type, ev->message, ev->crankhash, ev->activityhash,
        ev->clist_mode, ev->kobj, ev->vobj, ev->name, ev->description, ev->manager_type, ev->info,
        ev->work, ev->snapshot_id, ev->console_source, ev->inbound_source, ev->level, ev->args,
        ev->phase, ev->inbound_num, ev->stats};
    const int64_t ints[] = {ev->type, ev->has, ev->crank_num, ev->delivery_num, ev->syscall_num,
                            ev->replay, ev->block_height, ev->block_time, ev->computrons,
                            ev->snap_pos, ev->uncompressed_size, ev->compressed_size,
                            ev->deliveries, ev->run_num, ev->origin.line, ev->origin.offset};
    const double dbls[] = {ev->time, ev->monotime, ev->seconds, ev->save_seconds};
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) h = fnv_str(h, strs[i]);
    h = fnv(h, ints, sizeof(ints));
    return fnv(h, dbls, sizeof(dbls));
}

/* The reference: sp_reader_next then sp_normalize_line, one line at a time. */
static struct sig *reference(const char *path, size_t max_line, size_t *count)
{
    struct sp_reader *r = ru_open(path, max_line, 0);
    struct sp_normalizer *nz = sp_normalizer_new();
    struct sig *out = NULL;
    size_t n = 0, cap = 0;

    for (;;) {
        struct sp_line ln;
        struct sp_err e;
        struct sp_event ev;
        struct sig s;
        memset(&s, 0, sizeof(s));
        e.msg[0] = '\0';
        s.rc = sp_reader_next(r, &ln, &e);
        s.h = 0xcbf29ce484222325ull;
        if (s.rc == SP_OK) {
            struct sp_origin o = {{NULL, 0}, {NULL, 0}, ln.line, ln.offset};
            s.line = ln.line;
            s.offset = ln.offset;
            s.end_offset = ln.end_offset;
            s.nrc = sp_normalize_line(nz, ln.p, ln.n, &o, &ev, &e);
            s.h = fnv(s.h, ln.p, ln.n);
            s.h = s.nrc == SP_OK ? fnv(s.h ^ ev_hash(&ev), "", 0) : fnv(s.h, e.msg, strlen(e.msg));
        } else if (s.rc != SP_EOF) {
            s.h = fnv(s.h, e.msg, strlen(e.msg));
        }
        if (n == cap) out = sp_xrealloc(out, (cap = cap ? cap * 2 : 1024) * sizeof(*out));
        out[n++] = s;
        if (s.rc != SP_OK && s.rc != SP_EBADINPUT) break;
    }
    sp_normalizer_destroy(nz);
    sp_reader_destroy(r);
    *count = n;
    return out;
}

static struct sig item_sig(const struct sp_pa_item *it)
{
    struct sig s;
    memset(&s, 0, sizeof(s));
    s.rc = it->rc;
    s.h = 0xcbf29ce484222325ull;
    if (it->rc == SP_OK) {
        s.nrc = it->nrc;
        s.line = it->ln.line;
        s.offset = it->ln.offset;
        s.end_offset = it->ln.end_offset;
        s.h = fnv(s.h, it->ln.p, it->ln.n);
        s.h = it->nrc == SP_OK ? fnv(s.h ^ ev_hash(&it->ev), "", 0) : fnv(s.h, it->msg, strlen(it->msg));
    } else if (it->rc != SP_EOF) {
        s.h = fnv(s.h, it->msg, strlen(it->msg));
    }
    return s;
}

/* Every item of every batch equals the reference, in order; the signatures
 * are taken once the whole batch is filled, so a slice overwritten by a
 * later line of the same batch shows. Returns the number of batches. */
struct tally {
    size_t batches, bad_lines, framing;
};

static struct tally compare(const char *path, size_t max_line, int threaded, const char *what)
{
    struct tally t = {0, 0, 0};
    size_t nref, at = 0, bad = 0;
    int64_t bytes_in = 0;
    struct sig *ref = reference(path, max_line, &nref);
    struct sp_reader *r = ru_open(path, max_line, 0);
    struct sp_parse_ahead *pa = sp_parse_ahead_start(r, threaded);
    struct sp_pa_batch *b;

    while ((b = sp_parse_ahead_next(pa)) != NULL) {
        t.batches++;
        CHECK(b->n >= 1);
        for (int i = 0; i < b->n; i++, at++) {
            struct sig s = item_sig(&b->items[i]);
            t.bad_lines += s.rc == SP_OK && s.nrc != SP_OK;
            t.framing += s.rc == SP_EBADINPUT;
            if (at >= nref || memcmp(&s, &ref[at], sizeof(s)) != 0) {
                if (bad++ < 5)
                    fprintf(stderr, "%s: item %zu differs (rc %d/%d nrc %d/%d line %lld)\n", what, at,
                            s.rc, at < nref ? ref[at].rc : -1, s.nrc, at < nref ? ref[at].nrc : -1,
                            (long long)s.line);
            }
        }
        CHECK(b->bytes_in >= bytes_in && b->bytes_in <= ru_slurp_len(path) && b->size == ru_slurp_len(path));
        bytes_in = b->bytes_in;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(at, nref);
    CHECK(sp_parse_ahead_next(pa) == NULL); /* stays at the end */
    sp_parse_ahead_stop(pa);
    CHECK_INT(sp_reader_bytes_in(r), ru_slurp_len(path)); /* the reader is ours again, at its end */
    sp_reader_destroy(r);
    free(ref);
    printf("%s: %zu items in %zu batches, %zu bad lines, %zu framing errors\n", what, at, t.batches,
           t.bad_lines, t.framing);
    return t;
}

/* Real data (24851 lines, two of 943202 bytes): threaded and inline. */
static void test_real(void)
{
    struct tally t = compare(BASIC, 0, 1, "basic threaded");
    CHECK(t.batches > 10);
    CHECK_INT(t.bad_lines + t.framing, 0);
    t = compare(BASIC, 0, 0, "basic inline");
    CHECK_INT(t.batches, 24852); /* one line per batch, + EOF */
}

/* Bad lines, escapes (decoded strings live in the batch), an over-long
 * line (a framing error, reading goes on), a truncated gzip tail. */
static void test_bad_input(void)
{
    char *plain = ru_path(tmp, "bad.jsonl"), *gz = ru_path(tmp, "trunc.jsonl.gz");
    struct sp_buf b;
    struct tally t;
    size_t len;
    char *raw;

    sp_buf_init(&b, 0);
    for (int i = 0; i < 3000; i++) {
        switch (i % 7) {
        case 0: sp_buf_printf(&b, "{\"type\":\"deliver\",\"vatID\":\"v%d\",\"crankNum\":%d,\"kd\":[1],\"vd\":[\"message\",\"o+%d\"]}\n", i, i, i); break;
        case 1: sp_buf_printf(&b, "{\"type\":\"console\",\"vatID\":\"v\\u00e9%d\",\"args\":[\"a\\nb\\\"c\"],\"source\":\"s\\t%d\"}\n", i, i); break;
        case 2: sp_buf_printf(&b, "{\"type\":\"syscall\",\"vatID\":\"v1\",\"ksc\":[\"send\"] broken\n"); break;
        case 3: sp_buf_printf(&b, "{\"type\":\"crank-start\",\"crankNum\":%d,\"message\":{\"type\":\"send\",\"x\":\"%0400d\"}}\n", i, i); break;
        case 4: sp_buf_printf(&b, "{\"type\":\"x\",\"bad\":\"\xff\xfe\"}\n"); break;
        case 5: sp_buf_printf(&b, "\n"); break;
        default: sp_buf_printf(&b, "{\"type\":\"heap-snapshot-save\",\"vatID\":\"v2\",\"hash\":\"h%d\",\"endPosition\":%d}\n", i, i); break;
        }
    }
    ru_write(plain, b.data, b.len, "wb");
    t = compare(plain, 300, 1, "bad threaded");
    CHECK_INT(t.framing, 429);    /* i % 7 == 3: the 400-digit crank-start lines */
    CHECK_INT(t.bad_lines, 1285); /* i % 7 == 2, 4, 5: 429 + 428 + 428 */
    t = compare(plain, 300, 0, "bad inline");
    CHECK_INT(t.framing, 429);

    /* the same bytes gzipped, cut in the middle: the lines before, then the error */
    ru_gz_member(gz, b.data, b.len, "wb");
    raw = ru_slurp(gz, &len);
    ru_write(gz, raw, len / 2, "wb");
    t = compare(gz, 300, 1, "truncated gzip threaded");
    CHECK(t.framing >= 1 && t.batches >= 2);
    free(raw);
    sp_buf_free(&b);
    free(plain);
    free(gz);
}

/* Stopping early (the pipeline's stop request, a failed sink) neither hangs
 * nor leaks: before any batch, after one, with the ring full. */
static void test_stop_early(void)
{
    for (int k = 0; k < 3; k++) {
        struct sp_reader *r = ru_open(BASIC, 0, 0);
        struct sp_parse_ahead *pa = sp_parse_ahead_start(r, 1);
        if (k >= 1) CHECK(sp_parse_ahead_next(pa) != NULL);
        if (k == 2) usleep(200 * 1000); /* the thread runs until the ring is full */
        sp_parse_ahead_stop(pa);
        sp_reader_destroy(r);
    }
    sp_parse_ahead_stop(NULL);
}

/* Pool mode (the Kafka source): lines handed over come back parsed, in
 * order, with the caller's fields; a full ring says so instead of waiting;
 * inline (no thread) gives the same. */
static void test_pool(void)
{
    size_t nref, at = 0, refused = 0, bad = 0;
    struct sig *ref = reference(BASIC, 0, &nref);
    struct sp_reader *r = ru_open(BASIC, 0, 0);
    struct sp_parse_ahead *pa = sp_parse_pool_start();
    struct sp_pa_batch *b;
    struct sp_line ln;
    struct sp_err e;
    int64_t fed = 0;

    CHECK(sp_parse_pool_take(pa) == NULL); /* nothing submitted */
    CHECK_INT(sp_parse_pool_pending(pa), 0);
    while (sp_reader_next(r, &ln, &e) == SP_OK) {
        struct sp_pa_item *it;
        while (!(it = sp_parse_pool_add(pa, ln.p, ln.n, ln.line, ln.offset, ln.end_offset, pa, &fed, fed, -fed))) {
            refused++; /* every slot in use: take the oldest, as pool_feed does */
            CHECK((b = sp_parse_pool_take(pa)) != NULL);
            for (int i = 0; b && i < b->n; i++, at++) {
                struct sig s = item_sig(&b->items[i]);
                if (at >= nref || memcmp(&s, &ref[at], sizeof(s)) != 0 || b->items[i].user != pa ||
                    b->items[i].user2 != &fed || b->items[i].user_a != (int64_t)at || b->items[i].user_b != -(int64_t)at)
                    bad++;
            }
        }
        fed++;
    }
    CHECK(refused > 0); /* only the full ring made room */
    CHECK(sp_parse_pool_pending(pa) > 0);
    sp_parse_pool_submit(pa);
    while ((b = sp_parse_pool_take(pa)) != NULL) {
        for (int i = 0; i < b->n; i++, at++) {
            struct sig s = item_sig(&b->items[i]);
            if (at >= nref || memcmp(&s, &ref[at], sizeof(s)) != 0 || b->items[i].user_a != (int64_t)at) bad++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(at, nref - 1); /* every line (the reference also holds the EOF) */
    CHECK_INT(fed, (int64_t)nref - 1);
    CHECK_INT(sp_parse_pool_pending(pa), 0);
    sp_parse_ahead_stop(pa);
    sp_reader_destroy(r);
    free(ref);
    printf("pool: %zu lines, the ring was full %zu times\n", at, refused);
}

int main(void)
{
    tmp = ru_tmpdir();
    test_real();
    test_bad_input();
    test_stop_early();
    test_pool();
    ru_rmrf(tmp);
    free(tmp);
    return TEST_DONE();
}
