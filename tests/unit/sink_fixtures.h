/* sink_fixtures.h - records of every kind for the sink tests (test_sink_sqlite.c, test_sink_jsonl.c). */
#ifndef SINK_FIXTURES_H
#define SINK_FIXTURES_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sinks/sp_sink.h"

/* An event with no optional field set and no context. */
static inline struct sp_event fx_event(const char *type, int64_t line)
{
    struct sp_event e;
    memset(&e, 0, sizeof(e));
    e.origin.node = SP_STR_LIT("n1");
    e.origin.source = SP_STR_LIT("slog.json");
    e.origin.line = line;
    e.origin.offset = (line - 1) * 100;
    e.type = sp_evtype_lookup(type, strlen(type));
    e.type_name = sp_str_c(type);
    e.ctx_block_height = -1;
    e.ctx_crank_num = -1;
    e.time = 1700000000.25 + (double)line;
    e.has = SP_HAS_TIME;
    return e;
}

static inline struct sp_record fx_rec_event(const struct sp_event *e)
{
    struct sp_record r;
    r.kind = SP_REC_EVENT;
    r.u.event = e;
    return r;
}

/* A live deliver line of vat v1 in crank 5, block 10. */
static inline struct sp_event fx_deliver(int64_t line)
{
    struct sp_event e = fx_event("deliver", line);
    e.vat_id = SP_STR_LIT("v1");
    e.crank_num = 5;
    e.delivery_num = 2;
    e.replay = 0;
    e.has |= SP_HAS_CRANK_NUM | SP_HAS_DELIVERY_NUM | SP_HAS_REPLAY | SP_HAS_MONOTIME;
    e.monotime = 12.5;
    e.dispatch = SP_STR_LIT("message");
    e.kd = SP_STR_LIT("[\"message\",\"ko26\",{\"methargs\":{\"body\":\"#[\\\"bump\\\",[]]\",\"slots\":[]}}]");
    e.vd = SP_STR_LIT("[\"message\",\"o+0\",{\"methargs\":{\"body\":\"#[]\",\"slots\":[]},\"result\":\"p-60\"}]");
    e.ctx_block_height = 10;
    e.ctx_crank_num = 5;
    e.ctx_epoch = 1;
    return e;
}

static inline struct sp_delivery fx_delivery(void)
{
    struct sp_delivery d;
    memset(&d, 0, sizeof(d));
    d.origin.node = SP_STR_LIT("n1");
    d.origin.source = SP_STR_LIT("slog.json");
    d.origin.line = 7;
    d.origin.offset = 600;
    d.result_line = -1;
    d.vat_id = SP_STR_LIT("v1");
    d.delivery_num = 2;
    d.crank_num = 5;
    d.block_height = 10;
    d.epoch = 1;
    d.dispatch = SP_STR_LIT("message");
    d.status = SP_STR_LIT("ok");
    d.has_computrons = 1;
    d.computrons = 13901;
    d.syscalls = 1;
    d.time = 1700000007.5;
    d.seconds = NAN;
    memcpy(d.vd_hash, "0123456789abcdef0123456789abcdef", 33);
    return d;
}

static inline struct sp_bad fx_bad(const char *bytes, size_t n)
{
    struct sp_bad b;
    memset(&b, 0, sizeof(b));
    b.origin.node = SP_STR_LIT("n1");
    b.origin.source = SP_STR_LIT("slog.json");
    b.origin.line = 9;
    b.origin.offset = 800;
    b.reason = "not JSON: unexpected character at column 3";
    b.bytes = sp_str_make(bytes, n);
    return b;
}

static inline struct sp_titem fx_titem(int64_t pos, const char *item)
{
    struct sp_titem t;
    memset(&t, 0, sizeof(t));
    t.node = SP_STR_LIT("n1");
    t.source = SP_STR_LIT("swingstore.sqlite");
    t.vat_id = SP_STR_LIT("v1");
    t.position = pos;
    t.incarnation = 0;
    t.item = sp_str_c(item);
    t.d_type = SP_STR_LIT("message");
    memcpy(t.d_hash, "fedcba9876543210fedcba9876543210", 33);
    t.status = SP_STR_LIT("ok");
    t.has_computrons = 1;
    t.computrons = 13901;
    return t;
}

static inline struct sp_tspan fx_tspan(void)
{
    struct sp_tspan t;
    memset(&t, 0, sizeof(t));
    t.node = SP_STR_LIT("n1");
    t.source = SP_STR_LIT("swingstore.sqlite");
    t.vat_id = SP_STR_LIT("v1");
    t.start_pos = 0;
    t.end_pos = 5;
    t.hash = SP_STR_LIT("aa11");
    t.items = 5;
    t.is_current = 0;
    t.incarnation = -1;
    return t;
}

static inline struct sp_tsnapshot fx_tsnapshot(void)
{
    struct sp_tsnapshot t;
    memset(&t, 0, sizeof(t));
    t.node = SP_STR_LIT("n1");
    t.source = SP_STR_LIT("swingstore.sqlite");
    t.vat_id = SP_STR_LIT("v1");
    t.snap_pos = 4;
    t.hash = SP_STR_LIT("f625fb09");
    t.in_use = 1;
    t.uncompressed_size = 10061331;
    t.compressed_size = -1;
    t.has_blob = -1;
    return t;
}

static inline struct sp_kv fx_kv(void)
{
    struct sp_kv k;
    k.node = SP_STR_LIT("n1");
    k.source = SP_STR_LIT("swingstore.sqlite");
    k.key = SP_STR_LIT("kernel.snapshotInitial");
    k.value = SP_STR_LIT("3");
    return k;
}

static inline struct sp_span fx_span(void)
{
    struct sp_span s;
    memset(&s, 0, sizeof(s));
    s.node = SP_STR_LIT("n1");
    s.vat_id = SP_STR_LIT("v1");
    s.incarnation = 0;
    s.start_pos = 5;
    s.end_pos = -1;
    s.first_type = SP_STR_LIT("load-snapshot");
    s.last_type = SP_STR_LIT("message");
    s.is_current = 1;
    s.hash_ok = -1;
    s.deliveries = 2;
    s.from_slog = 1;
    s.load_snapshot_id = SP_STR_LIT("f625fb09");
    return s;
}

static inline struct sp_anomaly fx_anomaly(void)
{
    struct sp_anomaly a;
    memset(&a, 0, sizeof(a));
    a.node = SP_STR_LIT("n1");
    a.vat_id = SP_STR_LIT("v1");
    a.kind = SP_STR_LIT("span-hash-mismatch");
    a.incarnation = 0;
    a.position = 0;
    a.severity = SP_STR_LIT("error");
    a.detail = SP_STR_LIT("{\"stored\":\"aa11\",\"computed\":\"bb22\"}");
    a.source = SP_STR_LIT("swingstore.sqlite");
    a.line = -1;
    return a;
}

/* A fresh temporary folder (removed by fx_rmdir). */
static inline void fx_tmpdir(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/sp_sinktest_XXXXXX");
    if (!mkdtemp(out)) {
        perror("mkdtemp");
        exit(2);
    }
}

static inline void fx_rmdir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

#endif
