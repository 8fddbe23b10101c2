/* sp_tl_spans.c - span pass: transcript spans/items merged with slog-rebuilt spans, transcript invariants T1-T13 and the snapshot schedule. */
#include <stdio.h>
#include <string.h>

#include "sp_tl_int.h"

#define ID_CAP 80
#define TYPE_CAP 40

static int is_pseudo(const char *t)
{
    return strcmp(t, "initialize-worker") == 0 || strcmp(t, "load-snapshot") == 0 ||
           strcmp(t, "save-snapshot") == 0 || strcmp(t, "shutdown-worker") == 0;
}
static int is_start_type(const char *t)
{
    return strcmp(t, "initialize-worker") == 0 || strcmp(t, "load-snapshot") == 0;
}
static int is_end_type(const char *t)
{
    return strcmp(t, "save-snapshot") == 0 || strcmp(t, "shutdown-worker") == 0;
}

/* What one transcript span looked like once its items were read. */
struct tspan {
    int present;
    int64_t start, end, inc, items;
    int64_t item_inc;             /* incarnation written in its first item, -1 unknown */
    int is_current;
    int complete;                 /* items == end - start */
    char first[TYPE_CAP], second[TYPE_CAP], last[TYPE_CAP], before_last[TYPE_CAP], third_last[TYPE_CAP];
    char load_id[ID_CAP], save_id[ID_CAP];
    int64_t deliveries;
    char hash[72], source[256];
    int hash_ok;
};

/* Per-vat running state of the merged pass. */
struct vstate {
    char vat[64];
    struct tl_vat *v;
    int have_prev;       /* a transcript span was seen for this vat */
    struct tspan prev;
};

struct pass {
    struct tl_ctx *c;
    sqlite3_stmt *items, *store_row, *known_save;
};

/* Read the items of one span, run the item-level checks. */
static int scan_items(struct pass *ps, struct vstate *vs, struct tspan *t, int after_shutdown)
{
    struct tl_ctx *c = ps->c;
    sqlite3_stmt *st = ps->items;
    const char *vat = vs->vat;
    int rc = SP_OK, gap_reported = 0, inc_reported = 0;
    int64_t expect = t->start, last_pos = -1;
    char prev_type[TYPE_CAP] = "";
    int64_t prev_pos = -1;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, vat, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, t->start);
    sqlite3_bind_int64(st, 4, t->end);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t p = sqlite3_column_int64(st, 0);
        int64_t inc = tl_int(st, 1, -1);
        char ty[TYPE_CAP];
        snprintf(ty, sizeof ty, "%s", tl_text(st, 2));
        const char *status = tl_text(st, 3);
        const char *sid = tl_text(st, 4);
        const char *src = tl_text(st, 5);

        /* terminated vats lose items span by span during cleanup: partial spans are expected */
        if (p != expect && !gap_reported && !(vs->v && vs->v->terminated)) {
            tl_det_begin(c);
            tl_det_int(c, "span_start", t->start);
            tl_det_int(c, "span_end", t->end);
            tl_det_int(c, "missing_from", expect);
            tl_det_int(c, "missing_to", p);
            tl_det_int(c, "items_present", t->items);
            tl_det_str(c, "rule", "T1/T3: a span holds all of its items or none");
            if ((rc = tl_anomaly(c, vat, "POSITION_GAP", t->inc, expect, "error", src, -1))) return rc;
            gap_reported = 1;
        }
        if (p == t->start) snprintf(t->first, sizeof t->first, "%s", ty);
        if (t->item_inc < 0) t->item_inc = inc;
        if (p == t->start + 1) snprintf(t->second, sizeof t->second, "%s", ty);
        if (!is_pseudo(ty)) t->deliveries++;

        if (t->inc >= 0 && inc >= 0 && inc != t->inc && !inc_reported) {
            tl_det_begin(c);
            tl_det_int(c, "span_start", t->start);
            tl_det_int(c, "span_incarnation", t->inc);
            tl_det_int(c, "item_incarnation", inc);
            tl_det_str(c, "rule", "T10: item incarnation == span incarnation");
            if ((rc = tl_anomaly(c, vat, "INCARNATION_JUMP", inc, p, "error", src, -1))) return rc;
            inc_reported = 1;
        }
        if (is_start_type(ty) && p != t->start) {
            tl_det_begin(c);
            tl_det_str(c, "type", ty);
            tl_det_int(c, "span_start", t->start);
            tl_det_str(c, "rule", "T5: initialize-worker/load-snapshot only as the first item of a span");
            if ((rc = tl_anomaly(c, vat, "PSEUDO_MISPLACED", t->inc, p, "error", src, -1))) return rc;
        }
        if (is_end_type(ty)) {
            if (t->is_current) {
                tl_det_begin(c);
                tl_det_str(c, "type", ty);
                tl_det_int(c, "span_start", t->start);
                tl_det_int(c, "span_end", t->end);
                tl_det_str(c, "rule", "T6: save-snapshot/shutdown-worker never in the current span");
                if ((rc = tl_anomaly(c, vat, "CURRENT_SPAN_HAS_TERMINATOR", t->inc, p, "error", src, -1))) return rc;
            } else if (p != t->end - 1) {
                tl_det_begin(c);
                tl_det_str(c, "type", ty);
                tl_det_int(c, "span_end", t->end);
                tl_det_str(c, "rule", "T6: save-snapshot/shutdown-worker only as the last item of a closed span");
                if ((rc = tl_anomaly(c, vat, "PSEUDO_MISPLACED", t->inc, p, "error", src, -1))) return rc;
            }
            if (prev_pos == p - 1 && strcmp(prev_type, "bringOutYourDead") != 0) {
                tl_det_begin(c);
                tl_det_str(c, "type", ty);
                tl_det_str(c, "previous_type", prev_type);
                tl_det_str(c, "rule", "T8: bringOutYourDead right before every save-snapshot/shutdown-worker");
                if ((rc = tl_anomaly(c, vat, "MISSING_PRE_SNAPSHOT_BOYD", t->inc, p, "error", src, -1))) return rc;
            }
        }
        if (strcmp(ty, "save-snapshot") == 0) {
            snprintf(t->save_id, sizeof t->save_id, "%s", sid);
            /* S1: a snapshots row with the same hash */
            if (c->has_store_snapshots && !(vs->v && vs->v->terminated)) {
                sqlite3_stmt *q = ps->store_row;
                sqlite3_reset(q);
                sqlite3_bind_text(q, 1, c->node, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 2, vat, -1, SQLITE_STATIC);
                sqlite3_bind_int64(q, 3, p);
                int r = sqlite3_step(q);
                if (r != SQLITE_ROW && r != SQLITE_DONE) return tl_sqlerr(c, "store snapshot row");
                if (r == SQLITE_DONE || strcmp(tl_text(q, 0), sid) != 0) {
                    tl_det_begin(c);
                    tl_det_str(c, "transcript_snapshot_id", sid);
                    tl_det_str(c, "store_hash", r == SQLITE_ROW ? tl_text(q, 0) : NULL);
                    tl_det_str(c, "problem", r == SQLITE_DONE ? "no snapshots row at snapPos" : "snapshots.hash differs");
                    tl_det_str(c, "rule", "S1: snapshots row (vatID, snapPos=p) with hash == r.snapshotID");
                    if ((rc = tl_anomaly(c, vat, "SNAPSHOT_MISSING_IN_STORE", t->inc, p, "error", src, -1))) return rc;
                }
            }
        }
        if (strcmp(ty, "load-snapshot") == 0 && p == t->start) snprintf(t->load_id, sizeof t->load_id, "%s", sid);
        if (strcmp(ty, "stopVat") == 0) {
            tl_det_begin(c);
            tl_det_str(c, "type", ty);
            tl_det_int(c, "span_start", t->start);
            tl_det_str(c, "rule", "T12: stopVat is not delivered since 2023-03-28 (5cc47d2d88)");
            if ((rc = tl_anomaly(c, vat, "UNEXPECTED_STOPVAT", t->inc, p, "warning", src, -1))) return rc;
        }
        if (*status && strcmp(status, "ok") != 0) {
            tl_det_begin(c);
            tl_det_str(c, "status", status);
            tl_det_str(c, "type", ty);
            tl_det_str(c, "rule", "T12: committed transcript items have r.status 'ok'");
            if ((rc = tl_anomaly(c, vat, "NON_OK_RESULT", t->inc, p, "error", src, -1))) return rc;
        }
        snprintf(t->third_last, sizeof t->third_last, "%s", t->before_last);
        snprintf(t->before_last, sizeof t->before_last, "%s", prev_pos == p - 1 ? prev_type : "");
        snprintf(t->last, sizeof t->last, "%s", ty);
        snprintf(prev_type, sizeof prev_type, "%s", ty);
        prev_pos = p;
        last_pos = p;
        expect = p + 1;
    }
    if (rc != SQLITE_DONE) return tl_sqlerr(c, "scan transcript items");
    if (last_pos >= 0 && last_pos != t->end - 1) t->last[0] = '\0'; /* last item missing: unknown */
    if (last_pos >= 0 && last_pos < t->end - 1 && !gap_reported && !(vs->v && vs->v->terminated)) {
        tl_det_begin(c);
        tl_det_int(c, "span_start", t->start);
        tl_det_int(c, "span_end", t->end);
        tl_det_int(c, "missing_from", last_pos + 1);
        tl_det_int(c, "missing_to", t->end);
        tl_det_int(c, "items_present", t->items);
        tl_det_str(c, "rule", "T1/T3: a span holds all of its items or none");
        if ((rc = tl_anomaly(c, vat, "POSITION_GAP", t->inc, last_pos + 1, "error", t->source, -1))) return rc;
    }
    /* start of span (only judged when item 0 is present) */
    if (t->first[0] && !is_start_type(t->first)) {
        tl_det_begin(c);
        tl_det_str(c, "first_type", t->first);
        tl_det_str(c, "rule", "T5: item 0 of a span is initialize-worker or load-snapshot");
        if ((rc = tl_anomaly(c, vat, "SPAN_BAD_START", t->inc, t->start, "error", t->source, -1))) return rc;
    } else if (strcmp(t->first, "initialize-worker") == 0 && t->second[0] && strcmp(t->second, "startVat") != 0) {
        tl_det_begin(c);
        tl_det_str(c, "first_type", t->first);
        tl_det_str(c, "second_type", t->second);
        tl_det_str(c, "rule", "T13: the 2nd item of an incarnation is startVat");
        if ((rc = tl_anomaly(c, vat, after_shutdown ? "UPGRADE_SPAN_BAD_START" : "SPAN_BAD_START", t->inc, t->start,
                             "error", t->source, -1)))
            return rc;
    }
    return SP_OK;
}

/* Was snapshot `id` produced at a position < before (store rows or slog saves)? -1 when nothing to check against. */
static int known_save(struct pass *ps, const char *vat, const char *id, int64_t before)
{
    sqlite3_stmt *q = ps->known_save;
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, ps->c->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, vat, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, before);
    if (sqlite3_step(q) != SQLITE_ROW) return -1;
    int64_t found = sqlite3_column_int64(q, 0), sources = sqlite3_column_int64(q, 1);
    if (found) return 1;
    return sources ? 0 : -1;
}

/* Schedule rule of the Amendments for a closed span (T11). save_first_dn = first delivery of the snapshot crank (slog) or -1.
 * early_only (slog-only spans): a snapshot taken too late is reported only when the slog shows
 * the crank (its first delivery), not from an estimate. It is its own violation beside the
 * SNAPSHOT_OVERDUE the span may have had at a block commit while it was current: every
 * violated invariant is reported, whether or not a commit fell inside the span. */
static int check_schedule(struct pass *ps, struct vstate *vs, const struct tspan *t, int64_t save_first_dn,
                          const char *save_source, int64_t save_line, int early_only)
{
    struct tl_ctx *c = ps->c;
    if (!t->first[0] || !t->last[0] || tl_is_local(vs->v)) return SP_OK;
    int64_t L = t->end - t->start, T = tl_threshold(c, t->first);
    int upgraded_first = strcmp(t->first, "initialize-worker") == 0 && t->start > 0;
    int first_init = strcmp(t->first, "initialize-worker") == 0;
    if (T < 0) return SP_OK; /* no known schedule for the node: nothing to judge against */
    if (strcmp(t->last, "save-snapshot") == 0) {
        int64_t after = L - 2, before;
        int estimated = 0;
        if (save_first_dn >= 0 && save_first_dn >= t->start && save_first_dn < t->end - 1) {
            before = save_first_dn - t->start;
        } else {
            /* transcript only: the crank delivered 1 item, or 2 if a reap BOYD precedes the snapshot BOYD */
            int64_t k = (strcmp(t->third_last, "bringOutYourDead") == 0 && L - 4 >= 1) ? 2 : 1;
            before = after - k;
            estimated = 1;
        }
        int in_upgrade_crank = 0;
        if (first_init && before <= 1) {
            /* the crank delivered startVat: for a vat's first incarnation the init item is
             * added in that crank (span empty before it); for an upgrade it is the upgrade
             * crank, which never checks the schedule */
            if (upgraded_first) in_upgrade_crank = 1;
            before = 0;
        }
        int late = before >= T && !(upgraded_first && before == 2);
        int bad = in_upgrade_crank || after < T || (late && (!early_only || !estimated));
        if (!bad) return SP_OK;
        tl_det_begin(c);
        tl_det_int(c, "span_start", t->start);
        tl_det_int(c, "span_end", t->end);
        tl_det_int(c, "span_length", L);
        tl_det_int(c, "threshold", T);
        tl_det_str(c, "threshold_kind", first_init ? "snapshotInitial" : "snapshotInterval");
        tl_det_threshold(c, first_init);
        tl_det_int(c, "length_before_crank", before);
        tl_det_int(c, "length_after_crank", after);
        tl_det_str(c, "crank_evidence", estimated ? "transcript (estimated)" : "slog");
        if (in_upgrade_crank) tl_det_str(c, "problem", "snapshot taken in the upgrade crank (upgrade cranks do not check)");
        tl_det_str(c, "save_snapshot_id", t->save_id);
        tl_det_str(c, "rule", "snapshot at the end of the first delivery crank after which the span length >= threshold");
        return tl_anomaly(c, vs->vat, "SNAPSHOT_SCHEDULE_DEVIATION", t->inc, t->start, "warning",
                          save_source && *save_source ? save_source : t->source, save_line);
    }
    if (strcmp(t->last, "shutdown-worker") == 0 && !early_only) {
        int64_t before_upgrade = L - 2;
        if (before_upgrade < T || (upgraded_first && before_upgrade == 2)) return SP_OK;
        tl_det_begin(c);
        tl_det_int(c, "span_start", t->start);
        tl_det_int(c, "span_end", t->end);
        tl_det_int(c, "span_length", L);
        tl_det_int(c, "threshold", T);
        tl_det_str(c, "threshold_kind", first_init ? "snapshotInitial" : "snapshotInterval");
        tl_det_threshold(c, first_init);
        tl_det_int(c, "length_before_upgrade", before_upgrade);
        tl_det_str(c, "rule", "a span closed by an upgrade was below the threshold when last checked");
        return tl_anomaly(c, vs->vat, "SNAPSHOT_SCHEDULE_DEVIATION", t->inc, t->start, "warning", t->source, -1);
    }
    return SP_OK;
}

/* Checks between the previous transcript span of the vat and this one (T1, T7, T9, T10). */
static int check_chain(struct pass *ps, struct vstate *vs, const struct tspan *t)
{
    struct tl_ctx *c = ps->c;
    struct tspan prev_view = vs->prev;
    const struct tspan *p = &prev_view;
    int rc;
    /* a span row renumbered alone is reported once (on itself): its items keep the truth */
    if (p->item_inc >= 0) prev_view.inc = p->item_inc;
    if (!vs->have_prev) {
        if (t->start != 0) {
            tl_det_begin(c);
            tl_det_int(c, "first_span_start", t->start);
            tl_det_str(c, "rule", "T1: the first span starts at 0");
            return tl_anomaly(c, vs->vat, "POSITION_GAP", t->inc, 0, "error", t->source, -1);
        }
        return SP_OK;
    }
    if (t->start != p->end) {
        tl_det_begin(c);
        tl_det_int(c, "previous_start", p->start);
        tl_det_int(c, "previous_end", p->end);
        tl_det_int(c, "start", t->start);
        tl_det_str(c, "rule", "T1: span[k+1].startPos == span[k].endPos");
        if (t->start > p->end)
            return tl_anomaly(c, vs->vat, "POSITION_GAP", t->inc, p->end, "error", t->source, -1);
        return tl_anomaly(c, vs->vat, "POSITION_OVERLAP", t->inc, t->start, "error", t->source, -1);
    }
    if (!p->is_current && p->last[0] && !is_end_type(p->last)) {
        tl_det_begin(c);
        tl_det_int(c, "span_end", p->end);
        tl_det_str(c, "last_type", p->last);
        tl_det_str(c, "rule", "T7: a closed span of a live vat ends with save-snapshot or shutdown-worker");
        if ((rc = tl_anomaly(c, vs->vat, "CLOSED_SPAN_BAD_END", p->inc, p->start, "error", p->source, -1))) return rc;
    }
    if (p->is_current) {
        tl_det_begin(c);
        tl_det_int(c, "current_start", p->start);
        tl_det_int(c, "next_start", t->start);
        tl_det_str(c, "rule", "T2: only the last span of a vat can be current");
        if ((rc = tl_anomaly(c, vs->vat, "POSITION_OVERLAP", p->inc, p->start, "error", p->source, -1))) return rc;
    }
    if (strcmp(p->last, "save-snapshot") == 0) {
        if (t->first[0] && strcmp(t->first, "load-snapshot") != 0) {
            tl_det_begin(c);
            tl_det_str(c, "first_type", t->first);
            tl_det_str(c, "expected", "load-snapshot");
            tl_det_str(c, "rule", "T10: a span after save-snapshot starts with load-snapshot");
            if ((rc = tl_anomaly(c, vs->vat, "SPAN_BAD_START", t->inc, t->start, "error", t->source, -1))) return rc;
        }
        if (t->load_id[0] && p->save_id[0] && strcmp(t->load_id, p->save_id) != 0) {
            tl_det_begin(c);
            tl_det_str(c, "load_snapshot_id", t->load_id);
            tl_det_str(c, "previous_save_snapshot_id", p->save_id);
            tl_det_int(c, "save_position", p->end - 1);
            tl_det_str(c, "rule", "T9: load-snapshot id == r.snapshotID of the preceding save-snapshot");
            if ((rc = tl_anomaly(c, vs->vat, "LOAD_SAVE_ID_MISMATCH", t->inc, t->start, "error", t->source, -1)))
                return rc;
        }
        if (t->inc >= 0 && p->inc >= 0 && t->inc != p->inc) {
            tl_det_begin(c);
            tl_det_int(c, "previous_incarnation", p->inc);
            tl_det_int(c, "incarnation", t->inc);
            tl_det_str(c, "rule", "T10: incarnation unchanged after save-snapshot");
            if ((rc = tl_anomaly(c, vs->vat, "INCARNATION_JUMP", t->inc, t->start, "error", t->source, -1))) return rc;
        }
    } else if (strcmp(p->last, "shutdown-worker") == 0) {
        if (t->first[0] && strcmp(t->first, "initialize-worker") != 0) {
            tl_det_begin(c);
            tl_det_str(c, "first_type", t->first);
            tl_det_str(c, "expected", "initialize-worker");
            tl_det_str(c, "rule", "T10: a span after shutdown-worker starts with initialize-worker");
            if ((rc = tl_anomaly(c, vs->vat, "UPGRADE_SPAN_BAD_START", t->inc, t->start, "error", t->source, -1)))
                return rc;
        }
        if (t->inc >= 0 && p->inc >= 0 && t->inc != p->inc + 1) {
            tl_det_begin(c);
            tl_det_int(c, "previous_incarnation", p->inc);
            tl_det_int(c, "incarnation", t->inc);
            tl_det_int(c, "expected", p->inc + 1);
            tl_det_str(c, "rule", "T10: incarnation +1 after shutdown-worker");
            if ((rc = tl_anomaly(c, vs->vat, t->inc == p->inc ? "INCARNATION_NOT_INCREMENTED" : "INCARNATION_JUMP",
                                 t->inc, t->start, "error", t->source, -1)))
                return rc;
        }
    } else if (!p->last[0] && t->inc >= 0 && p->inc >= 0 && t->inc != p->inc && t->inc != p->inc + 1) {
        tl_det_begin(c);
        tl_det_int(c, "previous_incarnation", p->inc);
        tl_det_int(c, "incarnation", t->inc);
        tl_det_str(c, "rule", "T10: incarnation changes by 0 or +1 between spans");
        if ((rc = tl_anomaly(c, vs->vat, "INCARNATION_JUMP", t->inc, t->start, "error", t->source, -1))) return rc;
    }
    /* load of a snapshot nobody saved: when the previous save is unknown (pruned items), and
     * also beside a LOAD_SAVE_ID_MISMATCH (each violated invariant is its own anomaly) */
    if (t->load_id[0] && (!p->save_id[0] || strcmp(t->load_id, p->save_id) != 0)) {
        int k = known_save(ps, vs->vat, t->load_id, t->start);
        if (k == 0) {
            tl_det_begin(c);
            tl_det_str(c, "load_snapshot_id", t->load_id);
            tl_det_str(c, "rule", "T9/S1: load-snapshot names a snapshot saved earlier by this vat");
            if ((rc = tl_anomaly(c, vs->vat, "LOAD_SNAPSHOT_UNKNOWN", t->inc, t->start, "error", t->source, -1)))
                return rc;
        }
    }
    return SP_OK;
}

static int current_checks(struct pass *ps, struct vstate *vs, const struct tspan *t)
{
    struct tl_ctx *c = ps->c;
    int64_t L = t->end - t->start;
    if (L == 0) {
        if (vs->v && vs->v->use_transcript == 1) {
            tl_det_begin(c);
            tl_det_int(c, "span_start", t->start);
            tl_det_str(c, "rule", "§1.4: a transcript-using vat's current span is non-empty once it has run");
            return tl_anomaly(c, vs->vat, "UNEXPECTED_EMPTY_CURRENT_SPAN", t->inc, t->start, "info", t->source, -1);
        }
        return SP_OK;
    }
    if (!t->first[0] || tl_is_local(vs->v)) return SP_OK;
    int64_t T = tl_threshold(c, t->first);
    int upgraded_first = strcmp(t->first, "initialize-worker") == 0 && t->start > 0;
    if (T >= 0 && L >= T && !(upgraded_first && L == 2)) {
        tl_det_begin(c);
        tl_det_int(c, "span_start", t->start);
        tl_det_int(c, "span_length", L);
        tl_det_int(c, "threshold", T);
        tl_det_threshold(c, strcmp(t->first, "initialize-worker") == 0);
        tl_det_str(c, "evidence", "swing-store current span (committed state)");
        tl_det_str(c, "rule", "T11: current span length < threshold at every commit");
        return tl_anomaly(c, vs->vat, "SNAPSHOT_OVERDUE", t->inc, t->start, "warning", t->source, -1);
    }
    return SP_OK;
}

int tl_pass_spans(struct tl_ctx *c)
{
    static const char *merged_sql =
        "WITH k AS (SELECT vat_id, start_pos FROM transcript_spans WHERE node=?1 UNION "
        "SELECT vat_id, start_pos FROM tl_sspan) "
        "SELECT k.vat_id, k.start_pos, t.end_pos, t.hash, t.computed_hash, t.items, t.is_current, t.incarnation, "
        "t.source, s.start_pos IS NOT NULL, s.kind, s.next_start, s.next_kind, s.save_id, s.save_line, "
        "s.save_first_dn, s.upg, s.load_id, s.save_source, "
        "(SELECT count(*) FROM tl_live l WHERE l.vat_id=k.vat_id AND l.dn>=k.start_pos AND "
        " (s.next_start IS NULL OR l.dn<s.next_start)), "
        "(SELECT max(dn) FROM tl_live l WHERE l.vat_id=k.vat_id AND l.dn>=k.start_pos AND "
        " (s.next_start IS NULL OR l.dn<s.next_start)), "
        "(SELECT min(dn) FROM tl_live l WHERE l.vat_id=k.vat_id), t.start_pos IS NOT NULL, "
        "w.first_dn, w.line, w.source "
        "FROM k LEFT JOIN transcript_spans t ON t.node=?1 AND t.vat_id=k.vat_id AND t.start_pos=k.start_pos "
        "LEFT JOIN tl_sspan s ON s.vat_id=k.vat_id AND s.start_pos=k.start_pos "
        "LEFT JOIN tl_saves w ON w.vat_id=k.vat_id AND w.pos=t.end_pos-1 ORDER BY k.vat_id, k.start_pos";
    struct pass ps = {.c = c};
    struct vstate vs;
    sqlite3_stmt *st = NULL;
    int rc;

    memset(&vs, 0, sizeof vs);
    if ((rc = tl_prep(c, merged_sql, &st))) return rc;
    if ((rc = tl_prep(c, "SELECT position, incarnation, d_type, status, snapshot_id, source FROM transcript_items "
                         "WHERE node=?1 AND vat_id=?2 AND position>=?3 AND position<?4 ORDER BY position",
                      &ps.items)))
        goto done;
    if ((rc = tl_prep(c, "SELECT hash FROM store_snapshots WHERE node=?1 AND vat_id=?2 AND snap_pos=?3", &ps.store_row)))
        goto done;
    if ((rc = tl_prep(c, "SELECT EXISTS (SELECT 1 FROM store_snapshots WHERE node=?1 AND vat_id=?2 AND hash=?3 AND "
                         "snap_pos<?4) OR EXISTS (SELECT 1 FROM tl_saves WHERE vat_id=?2 AND sid=?3 AND pos<?4), "
                         "(SELECT count(*) FROM store_snapshots WHERE node=?1 AND vat_id=?2) + "
                         "(SELECT count(*) FROM tl_saves WHERE vat_id=?2)",
                      &ps.known_save)))
        goto done;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *vat = tl_text(st, 0);
        if (strcmp(vat, vs.vat) != 0) {
            memset(&vs, 0, sizeof vs);
            snprintf(vs.vat, sizeof vs.vat, "%s", vat);
            vs.v = tl_vat_find(c, vs.vat);
        }
        int from_t = sqlite3_column_int(st, 22), from_s = sqlite3_column_int(st, 9);
        int64_t start = sqlite3_column_int64(st, 1);
        struct tspan t;
        memset(&t, 0, sizeof t);
        t.start = start;
        t.item_inc = -1;
        t.hash_ok = -1;
        /* slog side */
        int64_t s_next = tl_int(st, 11, -1), s_next_kind = tl_int(st, 12, -1), s_kind = tl_int(st, 10, -1);
        int64_t s_save_line = tl_int(st, 14, -1), s_upg = tl_int(st, 16, 0);
        int64_t s_count = tl_int(st, 19, 0), s_maxdn = tl_int(st, 20, -1), s_mindn = tl_int(st, 21, -1);
        char s_save_id[ID_CAP], s_load_id[ID_CAP];
        snprintf(s_save_id, sizeof s_save_id, "%s", tl_text(st, 13));
        snprintf(s_load_id, sizeof s_load_id, "%s", tl_text(st, 17));
        int terminated = vs.v && vs.v->terminated;

        if (from_t) {
            int after_shutdown = vs.have_prev && strcmp(vs.prev.last, "shutdown-worker") == 0;
            t.present = 1;
            t.end = sqlite3_column_int64(st, 2);
            snprintf(t.hash, sizeof t.hash, "%s", tl_text(st, 3));
            t.items = tl_int(st, 5, 0);
            t.is_current = sqlite3_column_int(st, 6) != 0;
            t.inc = tl_int(st, 7, -1);
            snprintf(t.source, sizeof t.source, "%s", tl_text(st, 8));
            t.complete = t.items == t.end - t.start;
            if (t.end < t.start) {
                tl_det_begin(c);
                tl_det_int(c, "start", t.start);
                tl_det_int(c, "end", t.end);
                tl_det_str(c, "rule", "T1: endPos >= startPos");
                if ((rc = tl_anomaly(c, vs.vat, "POSITION_OVERLAP", t.inc, t.start, "error", t.source, -1))) goto done;
            }
            if (t.items > 0 && (rc = scan_items(&ps, &vs, &t, after_shutdown))) goto done;
            if (t.items > 0 && t.items < t.end - t.start && t.items > 0) {
                /* partial prune already reported as a POSITION_GAP by scan_items */
            } else if (t.items == 0 && t.end > t.start && t.is_current) {
                tl_det_begin(c);
                tl_det_int(c, "span_start", t.start);
                tl_det_int(c, "span_end", t.end);
                tl_det_str(c, "rule", "T3: the current span is always complete");
                if ((rc = tl_anomaly(c, vs.vat, "POSITION_GAP", t.inc, t.start, "error", t.source, -1))) goto done;
            }
            const char *computed = tl_text(st, 4);
            /* a span missing items cannot hash to the stored value either: that is its own
             * violation beside the POSITION_GAP (the hash is over the items present) */
            if ((t.complete || t.items > 0) && *computed && t.hash[0]) {
                t.hash_ok = strcmp(computed, t.hash) == 0;
                if (!t.hash_ok) {
                    tl_det_begin(c);
                    tl_det_str(c, "stored_hash", t.hash);
                    tl_det_str(c, "computed_hash", computed);
                    tl_det_int(c, "span_end", t.end);
                    if (!t.complete) {
                        tl_det_int(c, "items_present", t.items);
                        tl_det_int(c, "items_expected", t.end - t.start);
                    }
                    tl_det_str(c, "rule", "T4: recomputed span hash == stored hash (§1.6)");
                    if ((rc = tl_anomaly(c, vs.vat, "SPAN_HASH_MISMATCH", t.inc, t.start, "error", t.source, -1)))
                        goto done;
                }
            }
            if (!t.complete) {
                /* types of a pruned span, from the slog when it agrees on the bounds */
                if (!t.first[0] && from_s) snprintf(t.first, sizeof t.first, "%s", s_kind == 1 ? "load-snapshot" : "initialize-worker");
                if (!t.last[0] && from_s && s_next == t.end && s_next_kind > 0)
                    snprintf(t.last, sizeof t.last, "%s", s_next_kind == 1 ? "save-snapshot" : "shutdown-worker");
                if (!t.save_id[0] && from_s && s_next == t.end) snprintf(t.save_id, sizeof t.save_id, "%s", s_save_id);
                if (!t.load_id[0] && t.items == 0 && from_s) snprintf(t.load_id, sizeof t.load_id, "%s", s_load_id);
            }
            if ((rc = check_chain(&ps, &vs, &t))) goto done;
            if (!t.is_current) {
                /* the heap-snapshot-save at end-1 tells which crank took the snapshot */
                char w_src[256];
                snprintf(w_src, sizeof w_src, "%s", tl_text(st, 25));
                if ((rc = check_schedule(&ps, &vs, &t, tl_int(st, 23, -1), w_src, tl_int(st, 24, -1), 0)))
                    goto done;
            } else if ((rc = current_checks(&ps, &vs, &t))) {
                goto done;
            }
            if (!t.complete) {
                int64_t L = t.end - t.start;
                t.deliveries = from_s && s_next == t.end ? s_count
                               : L - (t.first[0] ? 1 : 0) - (t.last[0] && is_end_type(t.last) ? 1 : 0);
                if (t.deliveries < 0) t.deliveries = 0;
            }
        } else {
            /* slog-only span */
            t.inc = (s_mindn >= 0 && s_mindn <= 1) ? s_upg : -1;
            snprintf(t.first, sizeof t.first, "%s", s_kind == 1 ? "load-snapshot" : "initialize-worker");
            if (s_next >= 0) {
                t.end = s_next;
                snprintf(t.last, sizeof t.last, "%s", s_next_kind == 1 ? "save-snapshot" : "shutdown-worker");
                snprintf(t.save_id, sizeof t.save_id, "%s", s_save_id);
            } else if (terminated && s_maxdn >= 0) {
                t.end = s_maxdn + 1;
            } else {
                t.end = -1;
                t.is_current = !terminated;
            }
            if (vs.v && vs.v->use_transcript == 0) {
                t.first[0] = '\0';
                t.end = start;
                t.is_current = 1;
                s_count = 0;
            }
            snprintf(t.load_id, sizeof t.load_id, "%s", s_load_id);
            t.deliveries = s_count;
            /* Snapshots taken too early, from the slog alone (vats with no
             * transcript in the store: there the transcript spans are judged),
             * for spans whose start the slog itself shows: after a
             * heap-snapshot-save it saw, at an upgrade, or at 0 when it saw the
             * vat's first delivery (a flight-recorder tail that starts
             * mid-span proves nothing about that span). */
            if (s_next >= 0 && s_next_kind == 1 && t.first[0] && !(vs.v && vs.v->has_transcript) &&
                (s_kind == 1 || s_kind == 2 || (s_mindn >= 0 && s_mindn <= 1))) {
                char w_src[256];
                snprintf(w_src, sizeof w_src, "%s", tl_text(st, 18));
                if ((rc = check_schedule(&ps, &vs, &t, tl_int(st, 15, -1), w_src, s_save_line, 1))) goto done;
            }
        }

        /* the slog saw the store's current span closed later (the store copy is older than the
         * slog): the row shows the newer state; the checks above judged the store's own state */
        struct tspan shown = t;
        if (from_t && from_s && t.is_current && s_next > t.end && s_next_kind > 0) {
            shown.end = s_next;
            shown.is_current = 0;
            snprintf(shown.last, sizeof shown.last, "%s", s_next_kind == 1 ? "save-snapshot" : "shutdown-worker");
            snprintf(shown.save_id, sizeof shown.save_id, "%s", s_save_id);
            shown.deliveries = s_count;
            shown.hash_ok = -1;
        }
        struct sp_span sp = {
            .vat_id = sp_str_c(vs.vat), .incarnation = t.inc, .start_pos = start, .end_pos = shown.end,
            .first_type = t.first[0] ? sp_str_c(t.first) : SP_STR_NULL,
            .last_type = shown.last[0] ? sp_str_c(shown.last) : SP_STR_NULL, .is_current = shown.is_current,
            .hash = t.hash[0] ? sp_str_c(t.hash) : SP_STR_NULL, .hash_ok = shown.hash_ok,
            .deliveries = shown.deliveries, .from_transcript = from_t, .from_slog = from_s,
            .save_snapshot_id = shown.save_id[0] ? sp_str_c(shown.save_id) : SP_STR_NULL,
            .load_snapshot_id = t.load_id[0] ? sp_str_c(t.load_id) : SP_STR_NULL};
        if ((rc = tl_span(c, &sp, from_t ? t.items : -1, from_s && s_next >= 0 ? s_save_line : -1))) goto done;
        if (from_t) {
            vs.prev = t;
            vs.have_prev = 1;
        }
    }
    rc = rc == SQLITE_DONE ? SP_OK : tl_sqlerr(c, "merged spans");
done:
    sqlite3_finalize(st);
    sqlite3_finalize(ps.items);
    sqlite3_finalize(ps.store_row);
    sqlite3_finalize(ps.known_save);
    return rc;
}
