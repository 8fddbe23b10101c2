#!/usr/bin/env python3
"""check_facts.py DB FACTS_JSON NODE - compare an ingested slog with the sample's ground truth."""
import json, sqlite3, sys

db, facts, node = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
c = sqlite3.connect(db)
s = facts["slog"]
fails = 0
checks = 0

def check(what, got, want):
    global fails, checks
    checks += 1
    if got != want:
        fails += 1
        print(f"FAIL - {what}: got {got!r}, expected {want!r}")
    else:
        print(f"ok - {what}")

types = dict(c.execute("SELECT type, count(*) FROM slog_events WHERE node=? GROUP BY type", (node,)))
check("slog line count", sum(types.values()), s["lines"])
check("lines per event type", types, s["types"])
for vat, pv in sorted(s["per_vat"].items()):
    got = dict(c.execute("SELECT dispatch, count(*) FROM deliveries WHERE node=? AND vat_id=? AND replay=0 "
                         "GROUP BY dispatch", (node, vat)))
    check(f"{vat} live deliveries by dispatch", got, pv["deliveries"])
    saves = c.execute("SELECT count(*) FROM slog_events WHERE node=? AND vat_id=? AND type='heap-snapshot-save'",
                      (node, vat)).fetchone()[0]
    check(f"{vat} heap-snapshot-save lines", saves, len(pv["saves"]))
    rep = c.execute("SELECT count(*) FROM deliveries WHERE node=? AND vat_id=? AND replay=1", (node, vat)).fetchone()[0]
    check(f"{vat} replayed deliveries", rep, pv["replayed_deliveries"])
    sc = c.execute("SELECT coalesce(sum(syscalls),0) FROM deliveries WHERE node=? AND vat_id=? AND replay=0",
                   (node, vat)).fetchone()[0]
    check(f"{vat} live syscalls", sc, pv["syscalls"])
    name = c.execute("SELECT name, dynamic, manager_type FROM vats WHERE node=? AND vat_id=?", (node, vat)).fetchone()
    check(f"{vat} name/dynamic/manager", name and (name[0], bool(name[1]), name[2]),
          (pv["name"], bool(pv["dynamic"]), pv["managerType"]))
    term = c.execute("SELECT status FROM vats WHERE node=? AND vat_id=?", (node, vat)).fetchone()
    want = "cleaned" if pv["cleanup_complete"] else ("terminated" if pv["terminate"] else "alive")
    check(f"{vat} status", term and term[0], want)
    if "loads" in pv:
        loads = c.execute("SELECT count(*) FROM slog_events WHERE node=? AND vat_id=? AND type='heap-snapshot-load'",
                          (node, vat)).fetchone()[0]
        check(f"{vat} heap-snapshot-load lines", loads, len(pv["loads"]))
blocks = c.execute("SELECT count(*) FROM blocks WHERE node=?", (node,)).fetchone()[0]
check("blocks", blocks, s["types"].get("cosmic-swingset-begin-block", 0))
errs = c.execute("SELECT count(*) FROM ingest_errors WHERE node=?", (node,)).fetchone()[0]
check("no ingest errors", errs, 0)
print(f"{checks - fails} passed, {fails} failed")
sys.exit(1 if fails else 0)
