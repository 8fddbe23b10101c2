/* sp_normalize.h - one slog JSON line -> struct sp_event, with yajl's streaming (callback) parser. */
#ifndef SP_NORMALIZE_H
#define SP_NORMALIZE_H

#include "../core/sp_event.h"

/* Heap object holding the yajl handle and a per-line arena, reused across
 * lines (no allocation per line in steady state). */
struct sp_normalizer;

struct sp_normalizer *sp_normalizer_new(void);
void sp_normalizer_destroy(struct sp_normalizer *nz);

/*
 * Parse one line (no trailing newline) into *ev. origin is copied into ev.
 * Returns SP_OK, or SP_EBADINPUT with err->msg naming the problem and the
 * byte column ("invalid JSON at column 17: ...", "invalid UTF-8 at column 3",
 * "NUL byte at column 9", "not a JSON object", "missing \"type\"", "field
 * \"crankNum\": expected an integer, got a string", "duplicate key \"vatID\"").
 * The caller adds file:line. ev's slices stay valid until the next call.
 */
int sp_normalize_line(struct sp_normalizer *nz, const char *line, size_t n,
                      const struct sp_origin *origin, struct sp_event *ev, struct sp_err *err);

/*
 * Batch use (the parse-ahead thread fills many events before any is read):
 * with hold set, the slices of every line parsed since the last
 * sp_normalizer_release stay valid (the arena is no longer reset per line)
 * until that call. The lines themselves must outlive the slices too.
 */
void sp_normalizer_hold(struct sp_normalizer *nz, int hold);
void sp_normalizer_release(struct sp_normalizer *nz);

#endif
