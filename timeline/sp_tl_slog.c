/* sp_tl_slog.c - slog passes: slog <-> transcript (L1-L5), replays, termination, snapshot deadlines at block commits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_tl_int.h"

/* Run a query with ?1 = node and call fn for each row. */
static int each_row(struct tl_ctx *c, const char *sql, int (*fn)(struct tl_ctx *, sqlite3_stmt *, void *), void *arg)
{
    sqlite3_stmt *st = NULL;
    int rc = tl_prep(c, sql, &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fn(c, st, arg))) break;
    if (rc == SQLITE_DONE)
        rc = SP_OK;
    else if (rc == SQLITE_ROW || rc > 0)
        rc = tl_sqlerr(c, "slog pass");
    sqlite3_finalize(st);
    return rc;
}

/* ---- L2: heap-snapshot-save vs the save-snapshot item / store row -------- */

static int row_save(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    (void)arg;
    const char *vat = tl_text(st, 0), *sid = tl_text(st, 2), *src = tl_text(st, 3);
    int64_t pos = sqlite3_column_int64(st, 1), line = tl_int(st, 4, -1);
    const char *dtype = tl_text(st, 5), *tid = tl_text(st, 6), *shash = tl_text(st, 8);
    int64_t inc = tl_int(st, 7, -1), first_dn = tl_int(st, 9, -1);
    int has_boyd = sqlite3_column_int(st, 10);
    const char *problem = NULL, *expected = NULL;
    if (*dtype) {
        if (strcmp(dtype, "save-snapshot") != 0)
            problem = "endPosition does not hold a save-snapshot item", expected = NULL;
        else if (strcmp(tid, sid) != 0)
            problem = "snapshotID differs from the save-snapshot item", expected = tid;
    } else if (*shash && strcmp(shash, sid) != 0) {
        problem = "snapshotID differs from the swing-store snapshots row", expected = shash;
    }
    int64_t at = pos, true_pos = tl_int(st, 14, -1);
    if (problem && *dtype && strcmp(dtype, "save-snapshot") != 0 && true_pos >= 0) at = true_pos;
    if (problem) {
        tl_det_begin(c);
        tl_det_str(c, "problem", problem);
        tl_det_str(c, "slog_snapshot_id", sid);
        tl_det_int(c, "slog_end_position", pos);
        if (at != pos) tl_det_int(c, "transcript_save_position", at);
        tl_det_str(c, "expected_snapshot_id", expected);
        tl_det_str(c, "transcript_type", dtype);
        tl_det_str(c, "rule", "L2: heap-snapshot-save matches the save-snapshot item (id and position)");
        int rc = tl_anomaly(c, vat, "SLOG_SNAPSHOT_ID_MISMATCH", inc, at, "error", src, line);
        if (rc) return rc;
    }
    if (!problem && sqlite3_column_type(st, 11) != SQLITE_NULL) {
        /* the reload after the save (same crank) names the same snapshot and position */
        int64_t rpos = sqlite3_column_int64(st, 11);
        const char *rid = tl_text(st, 12);
        if (rpos != pos || strcmp(rid, sid) != 0) {
            tl_det_begin(c);
            tl_det_str(c, "problem", "heap-snapshot-load after the save names another snapshot or position");
            tl_det_str(c, "slog_snapshot_id", sid);
            tl_det_int(c, "slog_end_position", pos);
            tl_det_str(c, "reload_snapshot_id", rid);
            tl_det_int(c, "reload_snap_pos", rpos);
            tl_det_int(c, "reload_line", tl_int(st, 13, -1));
            tl_det_str(c, "rule", "§2.6: the restart after a save loads that snapshot (hash, snapPos)");
            int rc = tl_anomaly(c, vat, "SLOG_SNAPSHOT_ID_MISMATCH", inc, pos, "error", src, line);
            if (rc) return rc;
            problem = "reload";
        }
    }
    if (!problem && first_dn >= 0 && !has_boyd) {
        tl_det_begin(c);
        tl_det_int(c, "slog_end_position", pos);
        tl_det_int(c, "crank_first_delivery", first_dn);
        tl_det_str(c, "rule", "L2: heap-snapshot-save is preceded by a bringOutYourDead delivery at endPosition-1 in the same crank");
        return tl_anomaly(c, vat, "MISSING_PRE_SNAPSHOT_BOYD", inc, pos, "error", src, line);
    }
    return SP_OK;
}

/* A save-snapshot item right after a slogged BOYD, but no heap-snapshot-save. */
static int row_save_missing(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    (void)arg;
    tl_det_begin(c);
    tl_det_str(c, "problem", "save-snapshot item without a heap-snapshot-save in the slog");
    tl_det_str(c, "transcript_snapshot_id", tl_text(st, 2));
    tl_det_int(c, "boyd_delivery_num", sqlite3_column_int64(st, 1) - 1);
    tl_det_str(c, "rule", "L2: every save-snapshot item has its heap-snapshot-save");
    return tl_anomaly(c, tl_text(st, 0), "SLOG_SNAPSHOT_ID_MISMATCH", tl_int(st, 5, -1), sqlite3_column_int64(st, 1),
                      "error", tl_text(st, 3), tl_int(st, 4, -1));
}

/* heap-snapshot-load naming a different snapshot than the one saved at that position. */
static int row_load(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    (void)arg;
    const char *vat = tl_text(st, 0), *id = tl_text(st, 2);
    const char *t = tl_text(st, 6), *s = tl_text(st, 7), *g = tl_text(st, 8);
    const char *expected = *t ? t : *s ? s : *g ? g : NULL;
    const char *from = *t ? "transcript save-snapshot" : *s ? "swing-store snapshots row" : "slog heap-snapshot-save";
    if (!expected || !*id || strcmp(expected, id) == 0) return SP_OK;
    tl_det_begin(c);
    tl_det_str(c, "problem", "heap-snapshot-load names another snapshot than the one saved at snapPos");
    tl_det_str(c, "load_snapshot_id", id);
    tl_det_int(c, "snap_pos", sqlite3_column_int64(st, 1));
    tl_det_str(c, "expected_snapshot_id", expected);
    tl_det_str(c, "expected_from", from);
    tl_det_str(c, "load_kind", sqlite3_column_type(st, 5) == SQLITE_NULL ? "reload after save" : "cold load");
    tl_det_str(c, "rule", "L2/L4: heap-snapshot-load names the snapshot saved at snapPos");
    return tl_anomaly(c, vat, "SLOG_SNAPSHOT_ID_MISMATCH", -1, sqlite3_column_int64(st, 1), "error", tl_text(st, 3),
                      tl_int(st, 4, -1));
}

/* ---- L1 / replay comparisons with the transcript item ------------------- */

struct cmp_arg {
    int replay;
};

static int row_compare(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    const struct cmp_arg *a = arg;
    const char *vat = tl_text(st, 0);
    int64_t dn = sqlite3_column_int64(st, 1);
    const char *vd = tl_text(st, 2), *sc = tl_text(st, 3), *td = tl_text(st, 4), *tsc = tl_text(st, 5);
    const char *dtype = tl_text(st, 10), *disp = tl_text(st, 11), *src = tl_text(st, 8);
    int64_t line = tl_int(st, 9, -1), inc = tl_int(st, 12, -1);
    int has_c = sqlite3_column_type(st, 6) != SQLITE_NULL && sqlite3_column_type(st, 7) != SQLITE_NULL;
    int64_t comp = tl_int(st, 6, -1), tcomp = tl_int(st, 7, -1);
    /* a delivery whose `deliver` line was lost (a flight recorder's first, overwritten record)
     * carries only part of its syscalls: nothing to compare */
    if (!*vd) return SP_OK;
    int pseudo = strcmp(dtype, "initialize-worker") == 0 || strcmp(dtype, "load-snapshot") == 0 ||
                 strcmp(dtype, "save-snapshot") == 0 || strcmp(dtype, "shutdown-worker") == 0;
    int d_bad = pseudo || (*vd && *td && strcmp(vd, td) != 0);
    int sc_bad = !pseudo && *sc && *tsc && strcmp(sc, tsc) != 0;
    int c_bad = !pseudo && has_c && comp != tcomp;
    if (!a->replay && (d_bad || sc_bad || c_bad)) {
        tl_det_begin(c);
        tl_det_str(c, "slog_dispatch", disp);
        tl_det_str(c, "transcript_type", dtype);
        tl_det_str(c, "differs", d_bad ? (pseudo ? "delivery vs pseudo-event item" : "vd vs d")
                                       : sc_bad ? "syscalls (vsc/vsr vs sc)" : "computrons");
        tl_det_str(c, "slog_vd_hash", vd);
        tl_det_str(c, "transcript_d_hash", td);
        tl_det_str(c, "slog_sc_hash", sc);
        tl_det_str(c, "transcript_sc_hash", tsc);
        if (has_c) {
            tl_det_int(c, "slog_computrons", comp);
            tl_det_int(c, "transcript_computrons", tcomp);
        }
        tl_det_str(c, "rule", "L1: a committed live delivery equals the transcript item at deliveryNum");
        return tl_anomaly(c, vat, "SLOG_TRANSCRIPT_DIVERGENCE", inc, dn, "error", src, line);
    }
    if (a->replay && (d_bad || sc_bad)) {
        tl_det_begin(c);
        tl_det_str(c, "differs", d_bad ? "vd vs d" : "syscalls (vsc vs sc)");
        tl_det_str(c, "transcript_type", dtype);
        tl_det_str(c, "slog_vd_hash", vd);
        tl_det_str(c, "transcript_d_hash", td);
        tl_det_str(c, "slog_sc_hash", sc);
        tl_det_str(c, "transcript_sc_hash", tsc);
        tl_det_str(c, "rule", "L3: replayed deliveries and syscalls equal the transcript");
        return tl_anomaly(c, vat, "REPLAY_DIVERGENCE", inc, dn, "error", src, line);
    }
    if (a->replay && c_bad) {
        tl_det_begin(c);
        tl_det_int(c, "replay_computrons", comp);
        tl_det_int(c, "transcript_computrons", tcomp);
        tl_det_str(c, "rule", "#6770: replayed compute equals r.metering.computrons (not checked by the kernel)");
        return tl_anomaly(c, vat, "REPLAY_COMPUTRON_DRIFT", inc, dn, "info", src, line);
    }
    return SP_OK;
}

static int row_stopvat(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    (void)arg;
    tl_det_begin(c);
    tl_det_str(c, "evidence", "slog deliver");
    tl_det_str(c, "dispatch", "stopVat");
    tl_det_str(c, "rule", "T12: stopVat is not delivered since 2023-03-28 (5cc47d2d88)");
    return tl_anomaly(c, tl_text(st, 0), "UNEXPECTED_STOPVAT", -1, sqlite3_column_int64(st, 1), "warning",
                      tl_text(st, 2), tl_int(st, 3, -1));
}

/* console "anachrophobia strikes vN delivery dM syscalls" */
static int row_anachrophobia(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    (void)arg;
    const char *args = tl_text(st, 0);
    char vat[32] = "";
    int64_t pos = -1;
    const char *p = strstr(args, "anachrophobia strikes ");
    if (p) {
        p += strlen("anachrophobia strikes ");
        size_t n = strcspn(p, " \",]");
        if (n < sizeof vat) {
            memcpy(vat, p, n);
            vat[n] = '\0';
        }
        const char *d = strstr(p, "delivery d");
        if (d) pos = strtoll(d + strlen("delivery d"), NULL, 10);
    }
    char ex[240];
    sp_excerpt(args, strlen(args), 200, ex, sizeof ex);
    tl_det_begin(c);
    tl_det_str(c, "console", ex);
    tl_det_str(c, "rule", "L3: replay syscalls diverged from the transcript (kernel panic follows)");
    return tl_anomaly(c, *vat ? vat : NULL, "REPLAY_DIVERGENCE", -1, pos, "error", tl_text(st, 1), tl_int(st, 2, -1));
}

/* ---- L3: start-replay vs span length ------------------------------------ */

struct replay_arg {
    sqlite3_stmt *replayed, *next_live, *item;
};

static int row_replay(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    struct replay_arg *ra = arg;
    const char *vat = tl_text(st, 0), *src = tl_text(st, 2);
    if (sqlite3_column_type(st, 1) == SQLITE_NULL) return SP_OK;
    int64_t n = sqlite3_column_int64(st, 1), line = sqlite3_column_int64(st, 3), fin = tl_int(st, 4, -1);
    struct tl_vat *v = tl_vat_find(c, vat);
    if (v && v->use_transcript == 0) return SP_OK;
    if (fin < 0) return SP_OK; /* replay still running at the end of the slog */

    sqlite3_stmt *q = ra->replayed;
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, c->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, vat, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, src, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, line);
    sqlite3_bind_int64(q, 5, fin);
    if (sqlite3_step(q) != SQLITE_ROW) return tl_sqlerr(c, "replayed deliveries");
    int64_t count = sqlite3_column_int64(q, 0), mn = tl_int(q, 1, -1), mx = tl_int(q, 2, -1);

    q = ra->next_live;
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, c->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, vat, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, src, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, fin);
    int r = sqlite3_step(q);
    if (r != SQLITE_ROW && r != SQLITE_DONE) return tl_sqlerr(c, "next live delivery");
    int64_t next = r == SQLITE_ROW ? tl_int(q, 0, -1) : -1;

    int64_t start = count > 0 ? mn - 1 : next >= 0 ? next - 1 : -1;
    const char *problem = NULL;
    if (count != n - 1)
        problem = "number of replayed deliveries != deliveries - 1";
    else if (count > 0 && mx - mn + 1 != count)
        problem = "replayed deliveryNums are not contiguous";
    else if (count > 0 && next >= 0 && next != start + n)
        problem = "next live deliveryNum != span start + deliveries (span length)";
    char dtype[40] = "";
    if (!problem && start >= 0) {
        q = ra->item;
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, c->node, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, vat, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, start);
        r = sqlite3_step(q);
        if (r != SQLITE_ROW && r != SQLITE_DONE) return tl_sqlerr(c, "span start item");
        if (r == SQLITE_ROW) {
            snprintf(dtype, sizeof dtype, "%s", tl_text(q, 0));
            if (strcmp(dtype, "initialize-worker") != 0 && strcmp(dtype, "load-snapshot") != 0)
                problem = "replay does not start after an initialize-worker/load-snapshot item";
        }
    }
    if (!problem) return SP_OK;
    tl_det_begin(c);
    tl_det_str(c, "problem", problem);
    tl_det_int(c, "deliveries", n);
    tl_det_int(c, "replayed", count);
    if (mn >= 0) tl_det_int(c, "first_replayed", mn);
    if (mx >= 0) tl_det_int(c, "last_replayed", mx);
    if (next >= 0) tl_det_int(c, "next_live_delivery", next);
    if (*dtype) tl_det_str(c, "item_at_start", dtype);
    tl_det_int(c, "finish_line", fin);
    tl_det_str(c, "rule", "L3: start-replay.deliveries == current span length; replayed startPos+1..endPos-1");
    return tl_anomaly(c, vat, "REPLAY_SPAN_MISMATCH", -1, start, "error", src, line);
}

/* ---- L5 and termination -------------------------------------------------- */

struct order_arg {
    char vat[64];
    int64_t prev_dn, prev_line;
    char prev_src[256];
};

static int row_order(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    struct order_arg *o = arg;
    const char *vat = tl_text(st, 0), *src = tl_text(st, 2);
    int64_t dn = sqlite3_column_int64(st, 1), line = sqlite3_column_int64(st, 3);
    if (strcmp(vat, o->vat) != 0) {
        snprintf(o->vat, sizeof o->vat, "%s", vat);
        o->prev_dn = -1;
    }
    struct tl_vat *v = tl_vat_find(c, vat);
    int comms = (v && v->use_transcript == 0) || (dn == 0 && o->prev_dn == 0);
    if (o->prev_dn >= 0 && dn <= o->prev_dn && !comms) {
        tl_det_begin(c);
        tl_det_int(c, "delivery_num", dn);
        tl_det_int(c, "previous_delivery_num", o->prev_dn);
        tl_det_str(c, "previous_source", o->prev_src);
        tl_det_int(c, "previous_line", o->prev_line);
        tl_det_str(c, "rule", "L5: live deliveryNums of committed cranks strictly increase");
        int rc = tl_anomaly(c, vat, "DELIVERYNUM_REGRESSION", -1, dn, "error", src, line);
        if (rc) return rc;
    }
    o->prev_dn = dn;
    o->prev_line = line;
    snprintf(o->prev_src, sizeof o->prev_src, "%s", src);
    return SP_OK;
}

static int check_after_termination(struct tl_ctx *c)
{
    sqlite3_stmt *q = NULL;
    /* later in the same source, or in a later source at a later wall-clock time (overlapping
     * sources such as a slog file and a flight recorder repeat the same lines) */
    int rc = tl_prep(c, "SELECT d.delivery_num, d.source, d.line, d.replay, d.dispatch FROM deliveries d "
                        "WHERE d.node=?1 AND d.vat_id=?2 AND " TL_CK("d") ">?3 AND " TL_NOT_DUP("d") " "
                        "AND (d.source=?4 OR (?5>=0 AND d.time>?5)) ORDER BY " TL_CK("d") " LIMIT 1",
                     &q);
    if (rc) return rc;
    for (size_t i = 0; i < c->nvats && !rc; i++) {
        struct tl_vat *v = &c->vats[i];
        if (v->term_ck < 0) continue;
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, c->node, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, v->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, v->term_ck);
        sqlite3_bind_text(q, 4, v->term_source, -1, SQLITE_STATIC);
        sqlite3_bind_double(q, 5, v->term_time);
        int r = sqlite3_step(q);
        if (r == SQLITE_DONE) continue;
        if (r != SQLITE_ROW) {
            rc = tl_sqlerr(c, "activity after termination");
            break;
        }
        tl_det_begin(c);
        tl_det_int(c, "termination_line", v->term_line);
        tl_det_str(c, "dispatch", tl_text(q, 4));
        tl_det_int(c, "replay", sqlite3_column_int(q, 3));
        tl_det_str(c, "rule", "§3.4: no deliveries to a vat after terminate / vat-cleanup");
        rc = tl_anomaly(c, v->id, "ACTIVITY_AFTER_TERMINATION", -1, tl_int(q, 0, -1), "error", tl_text(q, 1),
                        tl_int(q, 2, -1));
    }
    sqlite3_finalize(q);
    return rc;
}

/* ---- SNAPSHOT_OVERDUE at block commits ------------------------------------ */

struct due_state {
    int64_t start, end;
    int first_init, upgraded, dirty;
    int64_t reported;
};

struct due_arg {
    struct due_state *s;
    sqlite3_stmt *lookup;
};

static int row_due(struct tl_ctx *c, sqlite3_stmt *st, void *arg)
{
    struct due_arg *da = arg;
    int kind = sqlite3_column_int(st, 0);
    if (kind == 3) {
        for (size_t i = 0; i < c->nvats; i++) {
            struct due_state *s = &da->s[i];
            struct tl_vat *v = &c->vats[i];
            if (!s->dirty || s->start < 0 || tl_is_local(v)) continue;
            s->dirty = 0;
            int64_t L = s->end - s->start, T = s->first_init ? c->sinit : c->sint;
            if (T < 0 || L < T || (s->upgraded && L == 2) || s->reported == s->start) continue;
            s->reported = s->start;
            tl_det_begin(c);
            tl_det_int(c, "span_start", s->start);
            tl_det_int(c, "span_length", L);
            tl_det_int(c, "threshold", T);
            tl_det_threshold(c, s->first_init);
            tl_det_int(c, "block_height", tl_int(st, 2, -1));
            tl_det_str(c, "evidence", "slog deliveries up to cosmic-swingset-commit-block-finish");
            tl_det_str(c, "rule", "T11: current span length < threshold at every commit");
            int rc = tl_anomaly(c, v->id, "SNAPSHOT_OVERDUE", -1, s->start, "warning", tl_text(st, 4), tl_int(st, 5, -1));
            if (rc) return rc;
        }
        return SP_OK;
    }
    struct tl_vat *v = tl_vat_find(c, tl_text(st, 1));
    if (!v) return SP_OK;
    struct due_state *s = &da->s[v - c->vats];
    int64_t x = sqlite3_column_int64(st, 2);
    if (kind == 0) {
        if (s->start < 0 || x < s->start) {
            sqlite3_stmt *q = da->lookup;
            sqlite3_reset(q);
            sqlite3_bind_text(q, 1, c->node, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, v->id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 3, x);
            int r = sqlite3_step(q);
            if (r == SQLITE_ROW) {
                s->start = sqlite3_column_int64(q, 0);
                s->first_init = strcmp(tl_text(q, 1), "initialize-worker") == 0;
                s->upgraded = s->first_init && s->start > 0;
                s->end = s->start + 1;
            } else if (r != SQLITE_DONE) {
                return tl_sqlerr(c, "span lookup");
            }
        }
        if (x + 1 > s->end) s->end = x + 1;
        s->dirty = 1;
    } else if (kind == 1) {
        s->start = x + 1, s->end = x + 2, s->first_init = 0, s->upgraded = 0, s->dirty = 1;
    } else if (kind == 2) {
        s->start = x - 1, s->end = x + 1, s->first_init = 1, s->upgraded = 1, s->dirty = 1;
    }
    return SP_OK;
}

static int check_overdue(struct tl_ctx *c)
{
    if (!c->has_commits || !c->nvats) return SP_OK;
    struct due_arg da = {0};
    da.s = sp_xcalloc(c->nvats, sizeof *da.s);
    for (size_t i = 0; i < c->nvats; i++) da.s[i].start = -1, da.s[i].reported = -1;
    int rc = tl_prep(c, "SELECT start_pos, first_type FROM spans WHERE node=?1 AND vat_id=?2 AND start_pos<=?3 "
                        "AND first_type IS NOT NULL ORDER BY start_pos DESC LIMIT 1",
                     &da.lookup);
    if (!rc)
        rc = each_row(c,
                      "SELECT 0, vat_id, dn, ck, source, line FROM tl_live "
                      "UNION ALL SELECT 1, vat_id, pos, ck, source, line FROM tl_saves "
                      "UNION ALL SELECT 2, vat_id, dn, ck, source, line FROM tl_upg "
                      "UNION ALL SELECT 3, NULL, e.block_height, " TL_CK("e") ", e.source, e.line FROM slog_events e "
                      "WHERE e.node=?1 AND e.type='cosmic-swingset-commit-block-finish'" TL_INDEXED("e.")
                      "ORDER BY 4, 1",
                      row_due, &da);
    sqlite3_finalize(da.lookup);
    free(da.s);
    return rc;
}

int tl_pass_slog(struct tl_ctx *c)
{
    int rc;
    struct cmp_arg live = {0}, rep = {1};
    struct order_arg ord;
    memset(&ord, 0, sizeof ord);

    rc = each_row(c,
                  "SELECT s.vat_id, s.pos, s.sid, s.source, s.line, t.d_type, t.snapshot_id, t.incarnation, "
                  "(SELECT hash FROM store_snapshots ss WHERE ss.node=?1 AND ss.vat_id=s.vat_id AND ss.snap_pos=s.pos), "
                  "s.first_dn, EXISTS (SELECT 1 FROM tl_live l WHERE l.vat_id=s.vat_id AND l.source=s.source AND "
                  "l.epoch=s.epoch AND "
                  "l.crank_num=s.crank_num AND l.dn=s.pos-1 AND l.dispatch='bringOutYourDead'), "
                  "(SELECT x.snap_pos FROM slog_events x WHERE x.node=?1 AND x.type='heap-snapshot-load'" TL_INDEXED("x.") "AND "
                  "x.crank_num=s.crank_num AND x.vat_id=s.vat_id AND x.source=s.source AND x.epoch=s.epoch AND "
                  "x.uncompressed_size IS NULL ORDER BY x.line LIMIT 1), "
                  "(SELECT x.snapshot_id FROM slog_events x WHERE x.node=?1 AND x.type='heap-snapshot-load'" TL_INDEXED("x.") "AND "
                  "x.crank_num=s.crank_num AND x.vat_id=s.vat_id AND x.source=s.source AND x.epoch=s.epoch AND "
                  "x.uncompressed_size IS NULL ORDER BY x.line LIMIT 1), "
                  "(SELECT x.line FROM slog_events x WHERE x.node=?1 AND x.type='heap-snapshot-load'" TL_INDEXED("x.") "AND "
                  "x.crank_num=s.crank_num AND x.vat_id=s.vat_id AND x.source=s.source AND x.epoch=s.epoch AND "
                  "x.uncompressed_size IS NULL ORDER BY x.line LIMIT 1), "
                  /* where the transcript put the save with this id, when endPosition points elsewhere */
                  "CASE WHEN t.d_type<>'save-snapshot' THEN (SELECT y.position FROM transcript_items y WHERE "
                  "y.node=?1 AND y.vat_id=s.vat_id AND y.d_type='save-snapshot' AND y.snapshot_id=s.sid AND "
                  "y.position BETWEEN s.pos-8 AND s.pos+8 ORDER BY y.position LIMIT 1) END "
                  "FROM tl_saves s LEFT JOIN transcript_items t ON t.node=?1 AND t.vat_id=s.vat_id AND t.position=s.pos "
                  "ORDER BY s.vat_id, s.pos",
                  row_save, NULL);
    if (rc) return rc;
    rc = each_row(c,
                  "SELECT l.vat_id, l.dn+1, t.snapshot_id, l.source, l.line, t.incarnation FROM tl_live l "
                  "JOIN transcript_items t ON t.node=?1 AND t.vat_id=l.vat_id AND t.position=l.dn+1 "
                  "AND t.d_type='save-snapshot' WHERE l.dispatch='bringOutYourDead' AND NOT EXISTS "
                  "(SELECT 1 FROM tl_saves s WHERE s.vat_id=l.vat_id AND s.pos=l.dn+1) "
                  /* not when a save of that crank claims another endPosition (reported with it) */
                  "AND NOT EXISTS (SELECT 1 FROM tl_saves s WHERE s.vat_id=l.vat_id AND s.source=l.source AND "
                  "s.epoch=l.epoch AND s.crank_num=l.crank_num AND s.sid=t.snapshot_id) ORDER BY l.vat_id, l.dn",
                  row_save_missing, NULL);
    if (rc) return rc;
    rc = each_row(c,
                  "SELECT e.vat_id, e.snap_pos, e.snapshot_id, e.source, e.line, e.uncompressed_size, "
                  "(SELECT snapshot_id FROM transcript_items t WHERE t.node=?1 AND t.vat_id=e.vat_id AND "
                  "t.position=e.snap_pos AND t.d_type='save-snapshot'), "
                  "(SELECT hash FROM store_snapshots ss WHERE ss.node=?1 AND ss.vat_id=e.vat_id AND ss.snap_pos=e.snap_pos), "
                  "(SELECT sid FROM tl_saves s WHERE s.vat_id=e.vat_id AND s.pos=e.snap_pos) "
                  "FROM slog_events e WHERE e.node=?1 AND e.type='heap-snapshot-load'" TL_INDEXED("e.") "AND e.snap_pos IS NOT NULL "
                  "AND e.vat_id IS NOT NULL AND " TL_NOT_DUP("e") " ORDER BY e.vat_id, " TL_CK("e"),
                  row_load, NULL);
    if (rc) return rc;
    rc = each_row(c,
                  "SELECT l.vat_id, l.dn, l.vd_hash, l.sc_hash, t.d_hash, t.sc_hash, l.computrons, t.computrons, "
                  "l.source, l.line, t.d_type, l.dispatch, t.incarnation FROM tl_live l JOIN transcript_items t "
                  "ON t.node=?1 AND t.vat_id=l.vat_id AND t.position=l.dn ORDER BY l.vat_id, l.dn, l.ck",
                  row_compare, &live);
    if (rc) return rc;
    rc = each_row(c,
                  "SELECT d.vat_id, d.delivery_num, d.vd_hash, d.sc_hash, t.d_hash, t.sc_hash, d.computrons, "
                  "t.computrons, d.source, d.line, t.d_type, d.dispatch, t.incarnation FROM deliveries d "
                  "JOIN transcript_items t ON t.node=d.node AND t.vat_id=d.vat_id AND t.position=d.delivery_num "
                  "WHERE d.node=?1 AND d.replay=1 AND EXISTS (SELECT 1 FROM transcript_items x WHERE x.node=?1) " /* once */
                  "ORDER BY d.vat_id, d.delivery_num, d.source, d.line",
                  row_compare, &rep);
    if (rc) return rc;
    rc = each_row(c, "SELECT vat_id, dn, source, line FROM tl_live WHERE dispatch='stopVat' ORDER BY vat_id, dn",
                  row_stopvat, NULL);
    if (rc) return rc;
    rc = each_row(c,
                  "SELECT args, source, line FROM slog_events WHERE node=?1 AND type='console'" TL_INDEXED("") "AND "
                  "args LIKE '%anachrophobia%' ORDER BY source, line",
                  row_anachrophobia, NULL);
    if (rc) return rc;

    struct replay_arg ra = {0};
    rc = tl_prep(c, "SELECT count(*), min(delivery_num), max(delivery_num) FROM deliveries WHERE node=?1 AND "
                    "vat_id=?2 AND source=?3 AND replay=1 AND line>?4 AND line<?5",
                 &ra.replayed);
    if (!rc)
        rc = tl_prep(c, "SELECT delivery_num FROM deliveries WHERE node=?1 AND vat_id=?2 AND source=?3 AND "
                        "replay=0 AND line>?4 ORDER BY line LIMIT 1",
                     &ra.next_live);
    if (!rc)
        rc = tl_prep(c, "SELECT d_type FROM transcript_items WHERE node=?1 AND vat_id=?2 AND position=?3", &ra.item);
    if (!rc)
        rc = each_row(c,
                      "SELECT e.vat_id, e.deliveries, e.source, e.line, (SELECT min(f.line) FROM slog_events f "
                      "WHERE f.node=?1 AND f.vat_id=e.vat_id AND f.type IN ('finish-replay','replay-transcript-finish')" TL_INDEXED("f.")
                      "AND f.source=e.source AND f.line>e.line) FROM slog_events e WHERE e.node=?1 AND e.type IN "
                      "('start-replay','replay-transcript-start')" TL_INDEXED("e.") "AND e.vat_id IS NOT NULL ORDER BY e.vat_id, " TL_CK("e"),
                      row_replay, &ra);
    sqlite3_finalize(ra.replayed);
    sqlite3_finalize(ra.next_live);
    sqlite3_finalize(ra.item);
    if (rc) return rc;

    rc = each_row(c, "SELECT vat_id, dn, source, line FROM tl_live ORDER BY vat_id, ck", row_order, &ord);
    if (rc) return rc;
    if ((rc = check_after_termination(c))) return rc;
    return check_overdue(c);
}
