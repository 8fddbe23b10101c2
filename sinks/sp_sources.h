/* sp_sources.h - per-source totals of a sink's open batch (events, line range, time range) for the `sources` table. */
#ifndef SP_SOURCES_H
#define SP_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "../core/sp_event.h"

/* One (node, source) of the open batch. node/source are owned, NUL-terminated copies. */
struct sp_src_total {
    char *node, *source;
    int64_t events, first_line, last_line;
    double min_time, max_time;
    int has_time;
};

/*
 * The totals of one batch: sp_sources_note for each slog_events row, then
 * the sink merges v[0..n) into its `sources` table inside the batch and
 * calls sp_sources_clear (also when the batch is rolled back). Owned by
 * the sink; sp_sources_free at close. No errors (allocation aborts).
 */
struct sp_sources {
    struct sp_src_total *v;
    size_t n, cap, last; /* last: the entry the previous row used (a source is nearly always the same) */
};

void sp_sources_note(struct sp_sources *s, const struct sp_event *e);
void sp_sources_clear(struct sp_sources *s);
void sp_sources_free(struct sp_sources *s);

#endif
