/* sp_tl_parts.c - the analyses plugged into the streaming timeline stage, in the order they see each record. */
#include "sp_tl_part.h"

extern const struct sp_tl_part sp_tl_part_slogchk; /* sp_tl_slogchk.c: the slog's own checks */
extern const struct sp_tl_part sp_tl_part_tspans;  /* sp_tl_tspans.c: the transcript's structure, span by span */
extern const struct sp_tl_part sp_tl_part_diverge; /* sp_tl_diverge.c: cross-node consensus: X1, X2, X3 */
extern const struct sp_tl_part sp_tl_part_heap;    /* sp_tl_heap.c: heap size thresholds per vat incarnation */
extern const struct sp_tl_part sp_tl_part_runs;    /* sp_tl_runs.c: kernel runs, triggers, block time budgets */

const struct sp_tl_part *const sp_tl_parts[] = {
    &sp_tl_part_slogchk,
    &sp_tl_part_tspans,
    &sp_tl_part_diverge,
    &sp_tl_part_heap,
    &sp_tl_part_runs,
    NULL};
