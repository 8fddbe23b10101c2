#!/usr/bin/env python3
"""timeline_faults.py - derive faulty inputs from the real samples, one fault per run (used by timeline_*.sh).

usage: timeline_faults.py FAULT DATA_DIR OUT_DIR
Writes OUT_DIR/swingstore.sqlite and/or OUT_DIR/slog.jsonl (copies of the basic
sample with exactly one fault) and prints, on stdout:
  inputs <file> [<file>...]          what to ingest
  expect <KIND> <vat|-> <position|->  an anomaly the analysis must report (one line each:
                                      a fault that breaks two invariants is two anomalies)
Span hashes are recomputed after every transcript edit except for
span-hash-mismatch, so each edit shows only the fault it is about.
"""
import gzip, hashlib, json, os, shutil, sqlite3, stat, sys

def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()

def span_hash(items):
    h = sha("start of transcript span")
    for it in items:
        h = sha(h + sha(it))
    return h

def ss_copy(data, out):
    dst = os.path.join(out, "swingstore.sqlite")
    shutil.copyfile(os.path.join(data, "basic", "swingstore.sqlite"), dst)
    os.chmod(dst, stat.S_IRUSR | stat.S_IWUSR)
    return sqlite3.connect(dst), dst

def rehash(db, vat, start):
    end = db.execute("SELECT endPos FROM transcriptSpans WHERE vatID=? AND startPos=?", (vat, start)).fetchone()[0]
    items = [r[0] for r in db.execute("SELECT item FROM transcriptItems WHERE vatID=? AND position>=? AND position<? "
                                      "ORDER BY position", (vat, start, end))]
    db.execute("UPDATE transcriptSpans SET hash=? WHERE vatID=? AND startPos=?", (span_hash(items), vat, start))

def item(db, vat, pos):
    return db.execute("SELECT item FROM transcriptItems WHERE vatID=? AND position=?", (vat, pos)).fetchone()[0]

def set_item(db, vat, pos, text):
    db.execute("UPDATE transcriptItems SET item=? WHERE vatID=? AND position=?", (text, vat, pos))

def slog_lines(data, case="basic"):
    with gzip.open(os.path.join(data, case, "slog.jsonl.gz"), "rt", encoding="utf-8") as f:
        return f.read().split("\n")[:-1]

def write_slog(out, lines):
    dst = os.path.join(out, "slog.jsonl")
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return dst

def find(lines, pred):
    for i, l in enumerate(lines):
        o = json.loads(l)
        if pred(o):
            return i, o
    raise SystemExit("timeline_faults: pattern not found")

# Store faults made by SQL alone; the slog is ingested too.
# fault -> (statements, expected (kind, vat, position))
SQL_FAULTS = {
    # a historical span missing an item: the gap, and a hash over the items left that cannot match
    "position-gap": ([
        "DELETE FROM transcriptItems WHERE vatID='v6' AND position=16",
    ], [("POSITION_GAP", "v6", 16), ("SPAN_HASH_MISMATCH", "v6", 14)]),
    "incarnation-jump": ([
        "UPDATE transcriptSpans SET incarnation=3 WHERE vatID='v9' AND incarnation=2",
        "UPDATE transcriptItems SET incarnation=3 WHERE vatID='v9' AND incarnation=2",
    ], ("INCARNATION_JUMP", "v9", 58)),
    # only the span row of v9 [16,25) renumbered (its items still say 1)
    "incarnation-span-row": ([
        "UPDATE transcriptSpans SET incarnation=3 WHERE vatID='v9' AND startPos=16",
    ], ("INCARNATION_JUMP", "v9", 16)),
    "incarnation-not-incremented": ([
        "UPDATE transcriptSpans SET incarnation=incarnation-1 WHERE vatID='v9' AND startPos>=58",
        "UPDATE transcriptItems SET incarnation=incarnation-1 WHERE vatID='v9' AND position>=58",
    ], ("INCARNATION_NOT_INCREMENTED", "v9", 58)),
    "snapshot-missing-in-store": ([
        "DELETE FROM snapshots WHERE vatID='v7' AND snapPos=31",
    ], ("SNAPSHOT_MISSING_IN_STORE", "v7", 31)),
    # S2: the store marks an older snapshot in use than the one v7's current span loaded
    "in-use-moved": ([
        "UPDATE snapshots SET inUse=NULL WHERE vatID='v7' AND inUse=1",
        "UPDATE snapshots SET inUse=1 WHERE vatID='v7' AND snapPos=393",
    ], ("SNAPSHOT_MISSING_IN_STORE", "v7", 402)),
}

# One item overwritten with a copy of another item of the same vat, its span
# rehashed; the store alone is ingested.
# fault -> (vat, position, copied from, span start, expected (kind, vat, position))
COPY_FAULTS = {
    "missing-pre-snapshot-boyd": ("v5", 3, 2, 0, ("MISSING_PRE_SNAPSHOT_BOYD", "v5", 4)),
    "span-bad-start": ("v7", 14, 15, 14, ("SPAN_BAD_START", "v7", 14)),
    "pseudo-misplaced": ("v7", 25, 23, 23, ("PSEUDO_MISPLACED", "v7", 25)),
    "closed-span-bad-end": ("v7", 22, 20, 14, ("CLOSED_SPAN_BAD_END", "v7", 14)),
    "upgrade-span-bad-start": ("v9", 12, 13, 11, ("UPGRADE_SPAN_BAD_START", "v9", 11)),
}

# every fault the suite runs, by the input it breaks (timeline_faults.sh runs each half as its own test;
# timeline_parity.sh and timeline_live.sh run them all): `timeline_faults.py --list store|slog|all`
STORE_SET = """span-hash-mismatch load-save-id-mismatch position-gap incarnation-jump incarnation-not-incremented
incarnation-span-row in-use-moved snapshot-missing-in-store non-ok-result schedule-deviation snapshot-overdue
missing-pre-snapshot-boyd span-bad-start pseudo-misplaced current-span-has-terminator closed-span-bad-end
load-snapshot-unknown upgrade-span-bad-start unexpected-stopvat unexpected-empty-current-span""".split()
SLOG_SET = """slog-snapshot-id-mismatch slog-end-position slog-reload-mismatch slog-only-snapshot-id
slog-transcript-divergence replay-span-mismatch replay-divergence replay-computron-drift deliverynum-regression
activity-after-termination slog-snapshot-overdue crash-reexecution store-older-than-slog slog-early-snapshot""".split()

def main():
    if sys.argv[1] == "--list":
        which = sys.argv[2] if len(sys.argv) > 2 else "all"
        print(" ".join({"store": STORE_SET, "slog": SLOG_SET}.get(which, STORE_SET + SLOG_SET)))
        return
    fault, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    inputs, expect = [], None
    if fault in SQL_FAULTS:
        stmts, expect = SQL_FAULTS[fault]
        db, p = ss_copy(data, out)
        for q in stmts:
            db.execute(q)
        db.commit()
        inputs = [p, "SLOG"]
    elif fault in COPY_FAULTS:
        vat, pos, src, start, expect = COPY_FAULTS[fault]
        db, p = ss_copy(data, out)
        set_item(db, vat, pos, item(db, vat, src))
        rehash(db, vat, start)
        db.commit()
        inputs = [p]
    elif fault == "span-hash-mismatch":
        # v6 initialize-worker item edited (not slogged), stored span hash left alone
        db, p = ss_copy(data, out)
        set_item(db, "v6", 0, item(db, "v6", 0).replace('"bundleIDs":["b0-', '"bundleIDs":["b0-f', 1))
        db.commit()
        inputs, expect = [p, "SLOG"], ("SPAN_HASH_MISMATCH", "v6", 0)
    elif fault == "load-save-id-mismatch":
        db, p = ss_copy(data, out)
        it = json.loads(item(db, "v6", 14))
        it["d"][1]["snapshotID"] = "0" * 64
        set_item(db, "v6", 14, json.dumps(it, separators=(",", ":")))
        rehash(db, "v6", 14)
        db.commit()
        # the load names a snapshot no save of v6 produced: both T9 and S1 are broken
        inputs, expect = [p, "SLOG"], [("LOAD_SAVE_ID_MISMATCH", "v6", 14), ("LOAD_SNAPSHOT_UNKNOWN", "v6", 14)]
    elif fault == "non-ok-result":
        db, p = ss_copy(data, out)
        set_item(db, "v1", 20, item(db, "v1", 20).replace('"r":{"status":"ok"', '"r":{"status":"error"', 1))
        rehash(db, "v1", 14)
        db.commit()
        inputs, expect = [p, "SLOG"], ("NON_OK_RESULT", "v1", 20)
    elif fault == "schedule-deviation":
        # one extra delivery in v4's first span [0,5): everything after shifts by one (transcript only)
        db, p = ss_copy(data, out)
        rows = db.execute("SELECT position, item, incarnation FROM transcriptItems WHERE vatID='v4' ORDER BY position").fetchall()
        db.execute("DELETE FROM transcriptItems WHERE vatID='v4'")
        new = rows[:3] + [rows[2]] + rows[3:]
        for i, (_, it, inc) in enumerate(new):
            db.execute("INSERT INTO transcriptItems VALUES ('v4',?,?,?)", (i, it, inc))
        db.execute("UPDATE transcriptSpans SET endPos=6 WHERE vatID='v4' AND startPos=0")
        db.execute("UPDATE transcriptSpans SET startPos=6, endPos=endPos+1 WHERE vatID='v4' AND startPos=5")
        db.execute("UPDATE snapshots SET snapPos=5 WHERE vatID='v4' AND snapPos=4")
        rehash(db, "v4", 0)
        rehash(db, "v4", 6)
        db.execute("UPDATE kvStore SET value=replace(value, '\"endPos\":7', '\"endPos\":8') WHERE key LIKE 'v4.%'")
        db.commit()
        inputs, expect = [p], ("SNAPSHOT_SCHEDULE_DEVIATION", "v4", 0)
    elif fault == "snapshot-overdue":
        # v9's current span [90,96) gets one more delivery: 7 items >= snapshotInterval 7 (transcript only)
        db, p = ss_copy(data, out)
        db.execute("INSERT INTO transcriptItems SELECT vatID, 96, item, incarnation FROM transcriptItems "
                   "WHERE vatID='v9' AND position=95")
        db.execute("UPDATE transcriptSpans SET endPos=97 WHERE vatID='v9' AND startPos=90")
        rehash(db, "v9", 90)
        db.commit()
        inputs, expect = [p], ("SNAPSHOT_OVERDUE", "v9", 90)
    elif fault == "current-span-has-terminator":
        # v4's current span [5,7) gets bringOutYourDead + shutdown-worker appended
        db, p = ss_copy(data, out)
        db.execute("INSERT INTO transcriptItems VALUES ('v4', 7, ?, 0)", (item(db, "v4", 3),))
        db.execute("INSERT INTO transcriptItems VALUES ('v4', 8, ?, 0)", (item(db, "v9", 10),))
        db.execute("UPDATE transcriptSpans SET endPos=9 WHERE vatID='v4' AND startPos=5")
        rehash(db, "v4", 5)
        db.commit()
        inputs, expect = [p], ("CURRENT_SPAN_HAS_TERMINATOR", "v4", 8)
    elif fault == "load-snapshot-unknown":
        # previous span pruned (keepTranscripts:false), the load names a snapshot nobody saved
        db, p = ss_copy(data, out)
        db.execute("DELETE FROM transcriptItems WHERE vatID='v7' AND position>=5 AND position<14")
        it = json.loads(item(db, "v7", 14))
        it["d"][1]["snapshotID"] = "1" * 64
        set_item(db, "v7", 14, json.dumps(it, separators=(",", ":")))
        rehash(db, "v7", 14)
        db.commit()
        inputs, expect = [p], ("LOAD_SNAPSHOT_UNKNOWN", "v7", 14)
    elif fault == "unexpected-stopvat":
        db, p = ss_copy(data, out)
        it = json.loads(item(db, "v1", 20))
        it["d"] = ["stopVat", {"body": "#null", "slots": []}]
        set_item(db, "v1", 20, json.dumps(it, separators=(",", ":")))
        rehash(db, "v1", 14)
        db.commit()
        inputs, expect = [p], ("UNEXPECTED_STOPVAT", "v1", 20)
    elif fault == "unexpected-empty-current-span":
        db, p = ss_copy(data, out)
        db.execute("DELETE FROM transcriptItems WHERE vatID='v4' AND position>=5")
        db.execute("UPDATE transcriptSpans SET endPos=5 WHERE vatID='v4' AND startPos=5")
        rehash(db, "v4", 5)
        db.commit()
        inputs, expect = [p], ("UNEXPECTED_EMPTY_CURRENT_SPAN", "v4", 5)
    elif fault == "replay-computron-drift":
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "deliver-result" and o["vatID"] == "v2" and o.get("replay") is True
                    and isinstance(o["dr"][2], dict))
        o["dr"][2]["compute"] += 1
        lines[i] = json.dumps(o, separators=(",", ":"))
        inputs, expect = [write_slog(out, lines), "STORE"], ("REPLAY_COMPUTRON_DRIFT", "v2", o["deliveryNum"])
    elif fault == "slog-snapshot-overdue":
        # the kernel skipped one of v6's snapshots, and the span was still open at the next
        # block commit: the span passes snapshotInterval at a commit (slog only)
        lines = slog_lines(data)
        saves, block = [], 0
        for i, l in enumerate(lines):
            if '"type":"cosmic-swingset-begin-block"' in l:
                block += 1
            elif '"type":"heap-snapshot-save"' in l and '"vatID":"v6"' in l:
                saves.append((i, json.loads(l)["endPosition"], block))
        k = next(k for k in range(1, len(saves) - 1) if saves[k + 1][2] > saves[k][2])
        pos = saves[k][1]
        drop = {saves[k][0]}
        drop |= {i for i, l in enumerate(lines) if '"type":"heap-snapshot-load"' in l and '"vatID":"v6"' in l
                 and json.loads(l)["snapPos"] == pos}
        keep = [l for i, l in enumerate(lines) if i not in drop]
        # the span went past its threshold at a commit, and the save that closed it came late
        inputs, expect = [write_slog(out, keep)], [("SNAPSHOT_OVERDUE", "v6", saves[k - 1][1] + 1),
                                                   ("SNAPSHOT_SCHEDULE_DEVIATION", "v6", saves[k - 1][1] + 1)]
    elif fault in ("slog-snapshot-id-mismatch", "slog-only-snapshot-id"):
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "heap-snapshot-save" and o["vatID"] == "v7" and o["endPosition"] == 58)
        lines[i] = lines[i].replace(o["snapshotID"], "f" * 64)
        inputs = [write_slog(out, lines)] + (["STORE"] if fault == "slog-snapshot-id-mismatch" else [])
        expect = ("SLOG_SNAPSHOT_ID_MISMATCH", "v7", 58)
    elif fault == "slog-end-position":
        # heap-snapshot-save names the wrong endPosition (one too far): reported at the real save
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "heap-snapshot-save" and o["vatID"] == "v6" and o["endPosition"] == 103)
        lines[i] = lines[i].replace('"endPosition":103,', '"endPosition":104,')
        inputs, expect = [write_slog(out, lines), "STORE"], ("SLOG_SNAPSHOT_ID_MISMATCH", "v6", 103)
    elif fault == "slog-early-snapshot":
        # slog only: v6 snapshots one delivery early. The first live delivery of the span
        # [95,104) (position 96) is removed with its syscalls, and every later v6 position
        # (deliveryNum, endPosition, snapPos) moves down by one, as the kernel would have
        # numbered them: the span closes at 102 after 6 deliveries instead of 7.
        lines = slog_lines(data)
        out_lines, shift_from = [], 96
        for l in lines:
            o = json.loads(l)
            if o.get("vatID") != "v6":
                out_lines.append(l)
                continue
            if o.get("deliveryNum") == shift_from and not o.get("replay"):
                continue  # the delivery that never happened
            for k in ("deliveryNum", "endPosition", "snapPos"):
                v = o.get(k)
                if isinstance(v, int) and v > shift_from:
                    l = l.replace('"%s":%d,' % (k, v), '"%s":%d,' % (k, v - 1), 1)
            out_lines.append(l)
        inputs, expect = [write_slog(out, out_lines)], ("SNAPSHOT_SCHEDULE_DEVIATION", "v6", 95)
    elif fault == "slog-reload-mismatch":
        # slog only: the reload right after a save names another snapshot
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "heap-snapshot-load" and o["vatID"] == "v7" and o["snapPos"] == 85
                    and "uncompressedSize" not in o)
        lines[i] = lines[i].replace(o["hash"], "a" * 64)
        inputs, expect = [write_slog(out, lines)], ("SLOG_SNAPSHOT_ID_MISMATCH", "v7", 85)
    elif fault == "slog-transcript-divergence":
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "deliver" and o["vatID"] == "v7" and o.get("deliveryNum") == 42
                    and not o["replay"])
        o["vd"][0] = "notify" if o["vd"][0] != "notify" else "message"
        o["vd"].append("x")
        lines[i] = json.dumps(o, separators=(",", ":"))
        inputs, expect = [write_slog(out, lines), "STORE"], ("SLOG_TRANSCRIPT_DIVERGENCE", "v7", 42)
    elif fault == "replay-span-mismatch":
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "start-replay" and o["vatID"] == "v2" and o["deliveries"] == 6)
        lines[i] = lines[i].replace('"deliveries":6', '"deliveries":5', 1)
        n = 0
        for j in range(i, len(lines)):
            if '"type":"finish-replay"' in lines[j] and '"vatID":"v2"' in lines[j]:
                break
            if '"type":"deliver"' in lines[j]:
                n += 1
        dn = None
        for j in range(i, len(lines)):
            q = json.loads(lines[j])
            if q["type"] == "deliver" and q["vatID"] == "v2":
                dn = q["deliveryNum"]
                break
        inputs, expect = [write_slog(out, lines), "STORE"], ("REPLAY_SPAN_MISMATCH", "v2", dn - 1)
    elif fault == "deliverynum-regression":
        # a live v1 delivery renumbered below its predecessor (slog only: no transcript to compare with)
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "deliver" and o["vatID"] == "v1" and o.get("deliveryNum") == 26
                    and not o["replay"])
        for j in range(i, len(lines)):
            q = json.loads(lines[j])
            if q.get("vatID") == "v1" and q.get("deliveryNum") == 26 and q["type"] in ("deliver", "syscall", "syscall-result", "deliver-result"):
                lines[j] = lines[j].replace('"deliveryNum":26', '"deliveryNum":24', 1)
            if q["type"] == "deliver-result" and q.get("vatID") == "v1":
                break
        inputs, expect = [write_slog(out, lines)], ("DELIVERYNUM_REGRESSION", "v1", 24)
    elif fault == "activity-after-termination":
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "vat-cleanup-complete" and o["vatID"] == "v10")
        j, d = find(lines, lambda o: o["type"] == "deliver" and o["vatID"] == "v10" and o.get("deliveryNum") == 6)
        k, r = find(lines, lambda o: o["type"] == "deliver-result" and o["vatID"] == "v10" and o.get("deliveryNum") == 6)
        lines[i + 1:i + 1] = [lines[j].replace('"deliveryNum":6', '"deliveryNum":7'), lines[k].replace('"deliveryNum":6', '"deliveryNum":7')]
        inputs, expect = [write_slog(out, lines), "STORE"], ("ACTIVITY_AFTER_TERMINATION", "v10", 7)
    elif fault == "replay-divergence":
        lines = slog_lines(data)
        i, o = find(lines, lambda o: o["type"] == "syscall" and o["vatID"] == "v2" and o.get("replay") is True)
        o["vsc"] = ["vatstoreGet", "not-what-the-transcript-says"]
        lines[i] = json.dumps(o, separators=(",", ":"))
        inputs, expect = [write_slog(out, lines), "STORE"], ("REPLAY_DIVERGENCE", "v2", o["deliveryNum"])
    elif fault == "crash-reexecution":
        # #8264: the busiest block ran once, the node crashed before committing it, restarted
        # (kernel-init-start) and ran it again: same crankNums/deliveryNums twice, only the
        # second execution is followed by commit-block-finish.
        lines = slog_lines(data)
        blocks, cur = {}, None
        for i, l in enumerate(lines):
            if '"type":"cosmic-swingset-begin-block"' in l:
                cur = i
                blocks[cur] = [0, None]
            elif cur is not None and '"type":"deliver"' in l and '"replay":false' in l:
                blocks[cur][0] += 1
            elif cur is not None and '"type":"cosmic-swingset-commit-block-start"' in l:
                blocks[cur][1] = i
        b = max(blocks, key=lambda k: (blocks[k][0], k))
        e = blocks[b][1]
        init = [l for l in lines if '"type":"kernel-init-start"' in l][0]
        lines[b:b] = lines[b:e] + [init]
        inputs, expect = [write_slog(out, lines), "STORE"], ("NONE", "-", "-")
    elif fault == "store-older-than-slog":
        # not a fault: the swing-store was copied at an earlier commit than the slog's end (v9 at
        # position 86, inside span [81,90)); the slog goes on to the save at 89 and beyond
        db, p = ss_copy(data, out)
        db.execute("DELETE FROM transcriptItems WHERE vatID='v9' AND position>=86")
        db.execute("DELETE FROM transcriptSpans WHERE vatID='v9' AND startPos>=90")
        db.execute("UPDATE transcriptSpans SET endPos=86, isCurrent=1 WHERE vatID='v9' AND startPos=81")
        rehash(db, "v9", 81)
        db.execute("DELETE FROM snapshots WHERE vatID='v9' AND snapPos=89")
        db.execute("UPDATE snapshots SET inUse=1 WHERE vatID='v9' AND snapPos=80")
        db.commit()
        inputs, expect = ["SLOG", p], ("NONE", "-", "-")
    elif fault == "cross-node-snapshot":
        # node2 saved a different heap at v6 snapPos 22: its transcript, store and slog all say so
        shutil.copyfile(os.path.join(data, "node2", "swingstore.sqlite"), os.path.join(out, "swingstore.sqlite"))
        p = os.path.join(out, "swingstore.sqlite")
        os.chmod(p, stat.S_IRUSR | stat.S_IWUSR)
        db = sqlite3.connect(p)
        old = db.execute("SELECT hash FROM snapshots WHERE vatID='v6' AND snapPos=22").fetchone()[0]
        new = "e" * 64
        for pos, start in ((22, 14), (23, 23)):
            set_item(db, "v6", pos, item(db, "v6", pos).replace(old, new))
            rehash(db, "v6", start)
        db.execute("UPDATE snapshots SET hash=? WHERE vatID='v6' AND snapPos=22", (new,))
        db.commit()
        lines = slog_lines(data, "node2")
        for i, l in enumerate(lines):
            if old in l and '"vatID":"v6"' in l:
                lines[i] = l.replace(old, new)
        inputs, expect = [write_slog(out, lines), p], ("CROSS_NODE_SNAPSHOT_DIVERGENCE", "v6", 22)
    elif fault == "cross-node-crankhash":
        lines = slog_lines(data, "node2")
        i, o = find(lines, lambda o: o["type"] == "crank-finish" and o["crankNum"] == 700)
        lines[i] = lines[i].replace(o["crankhash"], "0" * len(o["crankhash"]))
        inputs, expect = [write_slog(out, lines), os.path.join(data, "node2", "swingstore.sqlite")], \
            ("CROSS_NODE_CRANKHASH_DIVERGENCE", "-", "-")
    else:
        raise SystemExit("timeline_faults: unknown fault " + fault)
    print("inputs " + " ".join(inputs))
    for e in (expect if isinstance(expect, list) else [expect]):
        print("expect %s %s %s" % e)

if __name__ == "__main__":
    main()
