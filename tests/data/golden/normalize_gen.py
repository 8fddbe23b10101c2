#!/usr/bin/env python3
"""normalize_gen.py - independent oracle for tests/unit/test_normalize.c.

Reads normalize_in.jsonl and writes normalize_expected.txt: for every input
line, the fields a correct normalizer extracts, rendered in the canonical
text form that test_normalize.c renders struct sp_event into. Written from
the spec (agoric-formats.md §2.2-§2.4) with Python's json module, not from
the C code, so the two implementations check each other.

Canonical form: "# line N" then one "key=value" line per present field, in
the order of FIELDS below, then a blank line. Strings are printed with '\\'
-> '\\\\' and newline -> '\\n'; integers in decimal; doubles as %.17g;
booleans as true/false; raw JSON values as their exact input bytes.

Run: python3 normalize_gen.py normalize_in.jsonl > normalize_expected.txt
"""
import json
import sys

ALIASES = {"replay-transcript-start": "start-replay", "replay-transcript-finish": "finish-replay"}
KNOWN = set("""kernel-init-start kernel-init-finish bundle-kernel-start bundle-kernel-finish
import-kernel-start import-kernel-finish create-vat vat-startup-start vat-startup-finish start-replay
finish-replay start-replay-delivery finish-replay-delivery deliver deliver-result syscall syscall-result
crank-start crank-finish clist terminate vat-cleanup vat-cleanup-complete heap-snapshot-save
heap-snapshot-load console slogger-confused kernel-stats slog-record-too-big cosmic-swingset-init
cosmic-swingset-bootstrap-block-start cosmic-swingset-bootstrap-block-finish cosmic-swingset-upgrade-start
cosmic-swingset-upgrade-finish cosmic-swingset-begin-block cosmic-swingset-end-block-start
cosmic-swingset-end-block-finish cosmic-swingset-run-start cosmic-swingset-run-finish
cosmic-swingset-deliver-inbound cosmic-swingset-bridge-inbound cosmic-swingset-install-bundle
cosmic-swingset-timer-poll cosmic-swingset-inject-kernel-upgrade-events cosmic-swingset-commit-block-start
cosmic-swingset-commit-block-finish cosmic-swingset-after-commit-stats cosmic-swingset-snapshot-start
cosmic-swingset-snapshot-finish""".split())

RAW_KEYS = {"kd", "vd", "dr", "ksc", "vsc", "ksr", "vsr", "message", "info", "work", "args", "stats",
            "vatSourceBundle"}


def top_level(line):
    """Parse a top-level object keeping each value's exact text: {key: (value, raw)}."""
    dec = json.JSONDecoder()
    i = 0
    ws = " \t\r\n"
    while line[i] in ws:
        i += 1
    assert line[i] == "{"
    i += 1
    out = {}
    while True:
        while line[i] in ws:
            i += 1
        if line[i] == "}":
            return out
        key, i = dec.raw_decode(line, i)
        while line[i] in ws:
            i += 1
        assert line[i] == ":"
        i += 1
        while line[i] in ws:
            i += 1
        val, end = dec.raw_decode(line, i)
        out[key] = (val, line[i:end])
        i = end
        while line[i] in ws:
            i += 1
        if line[i] == ",":
            i += 1


def esc(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()


def render(line):
    kv = top_level(line)

    def val(k):
        v = kv.get(k)
        return None if v is None else v[0]

    out = []

    def put(k, v):
        if v is None:
            return
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, float) and k not in ("time", "monotime", "seconds", "saveSeconds",
                                                "compressSeconds"):
            v = str(int(v))
        elif isinstance(v, float):
            v = "%.17g" % v
        elif isinstance(v, int):
            v = str(v)
        else:
            v = esc(v)
        out.append("%s=%s" % (k, v))

    tname = val("type")
    canon = ALIASES.get(tname, tname) if tname in KNOWN or tname in ALIASES else ""
    put("type", canon)
    put("type_name", tname)
    for k in ("vatID", "crankNum", "deliveryNum", "syscallNum", "replay", "blockHeight", "blockTime"):
        put(k, val(k))
    vd, vsc, dr = val("vd"), val("vsc"), val("dr")
    dispatch = val("dispatch")
    if canon in ("deliver", "deliver-result") and dispatch is None:
        if isinstance(vd, list) and vd and isinstance(vd[0], str):
            dispatch = vd[0]
    if canon in ("syscall", "syscall-result"):
        dispatch = val("syscall")
        if dispatch is None and isinstance(vsc, list) and vsc and isinstance(vsc[0], str):
            dispatch = vsc[0]
    put("dispatch", dispatch)

    def raw(k):
        if k in kv and kv[k][0] is not None:
            out.append("%s=%s" % (k, kv[k][1]))

    raw("kd")
    raw("vd")
    raw("dr")
    if isinstance(dr, list) and dr and isinstance(dr[0], str):
        put("dr_status", dr[0])
    if isinstance(dr, list) and len(dr) > 2 and isinstance(dr[2], dict) and is_int(dr[2].get("compute")):
        put("computrons", int(dr[2]["compute"]))
    for k in ("ksc", "vsc", "ksr", "vsr"):
        raw(k)
    put("crankType", val("crankType"))
    mt = val("messageType")
    msg = val("message")
    if mt is None and isinstance(msg, dict) and isinstance(msg.get("type"), str):
        mt = msg["type"]
    put("messageType", mt)
    raw("message")
    for k in ("crankhash", "activityhash", "mode", "kobj", "vobj", "name", "description", "managerType",
              "dynamic", "shouldReject"):
        put(k, val(k))
    raw("info")
    raw("work")
    if "vatSourceBundle" in kv and kv["vatSourceBundle"][0] is not None:
        put("bundle_bytes", len(kv["vatSourceBundle"][1].encode("utf-8")))
    sid = val("snapshotID")
    put("snapshotID", sid if sid is not None else val("hash"))
    pos = [val(k) for k in ("endPosition", "snapPos", "endPos") if val(k) is not None]
    put("snapPos", pos[0] if pos else None)
    us = val("uncompressedSize")
    put("uncompressedSize", us if us is not None else val("rawByteCount"))
    cs = val("compressedSize")
    put("compressedSize", cs if cs is not None else val("compressedByteCount"))
    put("sizeDelta", val("uncompressedSizeDelta"))
    ss = val("dbSaveSeconds")
    ss = ss if ss is not None else val("rawSaveSeconds")
    put("saveSeconds", float(ss) if ss is not None else None)
    cps = val("compressSeconds")
    put("compressSeconds", float(cps) if cps is not None else None)
    put("restartWorker", val("restartWorker"))
    put("deliveries", val("deliveries"))
    src = val("source")
    if src is not None and not canon.startswith("cosmic-swingset-"):
        put("console_source", src)
    put("level", val("level"))
    raw("args")
    put("runNum", val("runNum"))
    put("phase", val("phase"))
    put("inboundNum", val("inboundNum"))
    if src is not None and canon.startswith("cosmic-swingset-"):
        put("inbound_source", src)
    put("usedBeans", val("usedBeans"))
    raw("stats")
    for k in ("time", "monotime", "seconds"):
        v = val(k)
        put(k, float(v) if v is not None else None)
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "normalize_in.jsonl"
    with open(src, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            print("# line %d" % n)
            for kv in render(line):
                print(kv)
            print()


if __name__ == "__main__":
    main()
