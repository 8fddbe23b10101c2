/* test_transcript_collect.h - a record collector shared by the transcript-source tests (copies what it keeps). */
#ifndef TEST_TRANSCRIPT_COLLECT_H
#define TEST_TRANSCRIPT_COLLECT_H

#include "../../ingest/sp_transcript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_span {
    char vat[64];
    int64_t start, end, items, incarnation;
    char hash[80], computed[80];
    int has_hash, has_computed, is_current;
};

struct tc_kv {
    char key[128];
    char value[512];
};

struct tc {
    int n_titem, n_tspan, n_snap, n_kv, n_bad;
    int items_without_dtype, items_with_text, items_inc_unknown;
    struct tc_span *spans;
    size_t aspans;
    struct { char name[40]; int n; } types[64];
    int ntypes;
    char bad[64][600];          /* first 64 BAD reasons */
    struct tc_kv kv[64];        /* first 64 KV records */
    int snap_blob_1, snap_blob_unknown, snap_in_use;
    int stop_after;             /* > 0: return SP_ESINK at that record */
    int seen;
    void (*hook)(struct tc *c, const struct sp_record *rec); /* optional, per record */
    void *hook_arg;
};

static __attribute__((unused)) void tc_init(struct tc *c)
{
    memset(c, 0, sizeof(*c));
}

static __attribute__((unused)) void tc_free(struct tc *c)
{
    free(c->spans);
    c->spans = NULL;
}

static __attribute__((unused)) void tc_copy(char *dst, size_t cap, struct sp_str s)
{
    sp_str_to_buf(s, dst, cap);
}

static __attribute__((unused)) int tc_fn(void *arg, const struct sp_record *rec, struct sp_err *err)
{
    struct tc *c = arg;
    int i;

    c->seen++;
    if (c->stop_after > 0 && c->seen >= c->stop_after)
        return sp_err_set(err, SP_ESINK, "test sink: stop after %d records", c->stop_after);
    if (c->hook) c->hook(c, rec);
    switch (rec->kind) {
    case SP_REC_TITEM: {
        const struct sp_titem *it = rec->u.titem;
        char name[40];
        c->n_titem++;
        if (it->item.p) c->items_with_text++;
        if (it->incarnation < 0) c->items_inc_unknown++;
        if (!it->d_type.p) {
            c->items_without_dtype++;
            break;
        }
        tc_copy(name, sizeof(name), it->d_type);
        for (i = 0; i < c->ntypes; i++)
            if (!strcmp(c->types[i].name, name)) break;
        if (i == c->ntypes && c->ntypes < 64) snprintf(c->types[c->ntypes++].name, 40, "%s", name);
        if (i < 64) c->types[i].n++;
        break;
    }
    case SP_REC_TSPAN: {
        const struct sp_tspan *s = rec->u.tspan;
        struct tc_span *d;
        if ((size_t)c->n_tspan == c->aspans) {
            c->aspans = c->aspans ? 2 * c->aspans : 256;
            c->spans = realloc(c->spans, c->aspans * sizeof(*c->spans));
        }
        d = &c->spans[c->n_tspan++];
        memset(d, 0, sizeof(*d));
        tc_copy(d->vat, sizeof(d->vat), s->vat_id);
        d->start = s->start_pos;
        d->end = s->end_pos;
        d->items = s->items;
        d->incarnation = s->incarnation;
        d->is_current = s->is_current;
        d->has_hash = s->hash.p != NULL;
        d->has_computed = s->computed_hash.p != NULL;
        tc_copy(d->hash, sizeof(d->hash), s->hash);
        tc_copy(d->computed, sizeof(d->computed), s->computed_hash);
        break;
    }
    case SP_REC_TSNAPSHOT:
        c->n_snap++;
        if (rec->u.tsnapshot->has_blob == 1) c->snap_blob_1++;
        if (rec->u.tsnapshot->has_blob == -1) c->snap_blob_unknown++;
        if (rec->u.tsnapshot->in_use) c->snap_in_use++;
        break;
    case SP_REC_KV:
        if (c->n_kv < 64) {
            tc_copy(c->kv[c->n_kv].key, sizeof(c->kv[0].key), rec->u.kv->key);
            tc_copy(c->kv[c->n_kv].value, sizeof(c->kv[0].value), rec->u.kv->value);
        }
        c->n_kv++;
        break;
    case SP_REC_BAD:
        if (c->n_bad < 64) snprintf(c->bad[c->n_bad], sizeof(c->bad[0]), "%s", rec->u.bad->reason);
        c->n_bad++;
        break;
    default:
        break;
    }
    return SP_OK;
}

static __attribute__((unused)) int tc_type(const struct tc *c, const char *name)
{
    int i;
    for (i = 0; i < c->ntypes; i++)
        if (!strcmp(c->types[i].name, name)) return c->types[i].n;
    return 0;
}

static __attribute__((unused)) const char *tc_kv(const struct tc *c, const char *key)
{
    int i;
    for (i = 0; i < c->n_kv && i < 64; i++)
        if (!strcmp(c->kv[i].key, key)) return c->kv[i].value;
    return NULL;
}

static __attribute__((unused)) int tc_spans_of(const struct tc *c, const char *vat)
{
    int i, n = 0;
    for (i = 0; i < c->n_tspan; i++) n += !strcmp(c->spans[i].vat, vat);
    return n;
}

static __attribute__((unused)) const struct tc_span *tc_span(const struct tc *c, const char *vat, int64_t start)
{
    int i;
    for (i = 0; i < c->n_tspan; i++)
        if (!strcmp(c->spans[i].vat, vat) && c->spans[i].start == start) return &c->spans[i];
    return NULL;
}

/* Spans whose computed hash equals the stored one. */
static __attribute__((unused)) int tc_verified(const struct tc *c)
{
    int i, n = 0;
    for (i = 0; i < c->n_tspan; i++)
        n += c->spans[i].has_hash && c->spans[i].has_computed &&
             !strcmp(c->spans[i].hash, c->spans[i].computed);
    return n;
}

/* Index of the first BAD reason containing needle, or -1. */
static __attribute__((unused)) int tc_bad_find(const struct tc *c, const char *needle)
{
    int i;
    for (i = 0; i < c->n_bad && i < 64; i++)
        if (strstr(c->bad[i], needle)) return i;
    return -1;
}

static __attribute__((unused)) void tc_dump_bad(const struct tc *c)
{
    int i;
    for (i = 0; i < c->n_bad && i < 64; i++) fprintf(stderr, "  BAD: %s\n", c->bad[i]);
}

#endif
