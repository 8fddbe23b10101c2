/* sp_tl_parts.c - the analyses plugged into the streaming timeline stage, in the order they see each record. */
#include "sp_tl_part.h"

extern const struct sp_tl_part sp_tl_part_slogchk; /* sp_tl_slogchk.c: the slog's own checks */
extern const struct sp_tl_part sp_tl_part_tspans;  /* sp_tl_tspans.c: the transcript's structure, span by span */
extern const struct sp_tl_part sp_tl_part_diverge; /* sp_tl_diverge.c: cross-node consensus: X1, X2, X3 */
extern const struct sp_tl_part sp_tl_part_heap;    /* sp_tl_heap.c: heap size thresholds per vat incarnation */

const struct sp_tl_part *const sp_tl_parts[] = {
    &sp_tl_part_slogchk,
    &sp_tl_part_tspans,
    &sp_tl_part_diverge,
    &sp_tl_part_heap,
    NULL};

/*
 * The anomaly kinds the stage judges in full, with the batch analysis's
 * rules and evidence (tests/e2e/timeline_parity.sh holds it to that): the
 * batch analysis (sp_analyze.c) takes these from a replay of the stored
 * records through the stage instead of its own SQL. When every kind is
 * here, the SQL passes go and the batch analysis is only the replay.
 */
const char *const sp_tl_stage_kinds[] = {
    "INCARNATION_NOT_INCREMENTED", "LOAD_SAVE_ID_MISMATCH",
    /* sp_tl_slogchk.c (SLOG_SNAPSHOT_ID_MISMATCH with the stage's own L2 check) */
    "SLOG_TRANSCRIPT_DIVERGENCE", "SLOG_SNAPSHOT_ID_MISMATCH", "REPLAY_DIVERGENCE", "REPLAY_COMPUTRON_DRIFT",
    "REPLAY_SPAN_MISMATCH", "DELIVERYNUM_REGRESSION", "ACTIVITY_AFTER_TERMINATION", "NON_OK_RESULT", "UNEXPECTED_STOPVAT",
    /* sp_tl_tspans.c: the transcript's structure (sp_tl_spans.c, tl_pass_store); MISSING_PRE_SNAPSHOT_BOYD
     * with slogchk's slog rule (L2) */
    "SPAN_HASH_MISMATCH", "POSITION_GAP", "POSITION_OVERLAP", "PSEUDO_MISPLACED", "CURRENT_SPAN_HAS_TERMINATOR",
    "CLOSED_SPAN_BAD_END", "LOAD_SNAPSHOT_UNKNOWN", "SNAPSHOT_MISSING_IN_STORE", "UNEXPECTED_EMPTY_CURRENT_SPAN",
    "SPAN_BAD_START", "UPGRADE_SPAN_BAD_START", "INCARNATION_JUMP", "MISSING_PRE_SNAPSHOT_BOYD",
    /* the stage itself and sp_tl_tspans.c: the schedule (a threshold inferred from the whole history only in a replay) */
    "SNAPSHOT_SCHEDULE_DEVIATION", "SNAPSHOT_OVERDUE",
    /* sp_tl_diverge.c */
    "CROSS_NODE_SNAPSHOT_DIVERGENCE", "CROSS_NODE_CRANKHASH_DIVERGENCE", "CROSS_NODE_ACTIVITYHASH_DIVERGENCE",
    "CROSS_NODE_DELIVERY_DIVERGENCE",
    /* sp_tl_heap.c */
    "HEAP_SIZE_THRESHOLD",
    NULL};

/* 1 when the stage's span records equal the batch analysis's spans rows (transcript spans included). */
const int sp_tl_stage_spans = 0;
