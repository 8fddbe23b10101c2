/* sp_sources.c - per-source totals of a sink's open batch, shared by the SQLite and PostgreSQL stores. */
#include "sp_sources.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sp_sources_note(struct sp_sources *s, const struct sp_event *e)
{
    struct sp_str node = e->origin.node.p ? e->origin.node : SP_STR_LIT("");
    struct sp_str source = e->origin.source.p ? e->origin.source : SP_STR_LIT("");
    struct sp_src_total *a = NULL;

    if (s->last < s->n && sp_str_eq_c(source, s->v[s->last].source) && sp_str_eq_c(node, s->v[s->last].node)) {
        a = &s->v[s->last];
    } else {
        for (size_t i = 0; i < s->n && !a; i++)
            if (sp_str_eq_c(source, s->v[i].source) && sp_str_eq_c(node, s->v[i].node)) {
                a = &s->v[i];
                s->last = i;
            }
    }
    if (!a) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->v = sp_xrealloc(s->v, s->cap * sizeof(*s->v));
        }
        s->last = s->n++;
        a = &s->v[s->last];
        memset(a, 0, sizeof(*a));
        a->node = sp_xstrndup(node.p, node.n);
        a->source = sp_xstrndup(source.p, source.n);
        a->first_line = a->last_line = e->origin.line;
    }
    a->events++;
    if (e->origin.line < a->first_line) a->first_line = e->origin.line;
    if (e->origin.line > a->last_line) a->last_line = e->origin.line;
    if ((e->has & SP_HAS_TIME) && !isnan(e->time)) { /* as the sinks store it: NaN is NULL */
        if (!a->has_time || e->time < a->min_time) a->min_time = e->time;
        if (!a->has_time || e->time > a->max_time) a->max_time = e->time;
        a->has_time = 1;
    }
}

void sp_sources_clear(struct sp_sources *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].node);
        free(s->v[i].source);
    }
    s->n = 0;
    s->last = 0;
}

void sp_sources_free(struct sp_sources *s)
{
    sp_sources_clear(s);
    free(s->v);
    s->v = NULL;
    s->cap = 0;
}
