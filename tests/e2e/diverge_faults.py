#!/usr/bin/env python3
"""diverge_faults.py - a second node that diverges from the first at a known crank, from real kernel output.

usage: diverge_faults.py CASE DATA_DIR OUT_DIR
The basic and node2 samples are two real kernel runs of one workload (tests/data/node2/FACTS.md: the
same lines once times are dropped). OUT_DIR/slog.jsonl is node2's slog with exactly one change:
  same         unchanged
  activityhash activityhash of every crank >= 700 replaced (crankhash kept: cumulative hash only)
  compute      dr[2].compute + 1 in the first metered live deliver-result of a crank >= 800
  syscall      vsc of the first live syscall of a crank >= 900 changed (one argument appended)
  crankhash    crankhash and activityhash of every crank >= 1000 replaced (the chains part there)
  late         as crankhash, and the file starts at crank 500's crank-start (a rotated slog)
Prints what to expect, computed here from the files (the oracle, independent of slogpipe):
  expect KIND NODE_FIELD=VALUE ...   (one line per anomaly kind expected on each node)
  crank N / vat V / dn D / range LO HI (node2's crank range) / other facts as "fact KEY VALUE"
"""
import gzip, hashlib, json, os, sys


def lines_of(data, case):
    with gzip.open(os.path.join(data, case, "slog.jsonl.gz"), "rt", encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def sub(line, key, old, new):
    """Replace one field's string value in a raw line (the rest byte for byte)."""
    a = '"%s":"%s"' % (key, old)
    assert line.count(a) == 1, (key, line[:120])
    return line.replace(a, '"%s":"%s"' % (key, new))


def other(h):
    return hashlib.sha256(("diverged:" + h).encode()).hexdigest()


def main():
    case, data, out = sys.argv[1:4]
    ls = lines_of(data, "node2")
    objs = [json.loads(l) for l in ls]
    fact = {}
    first_line = 0
    if case in ("activityhash", "crankhash", "late"):
        n0 = 700 if case == "activityhash" else 1000
        changed = 0
        for i, o in enumerate(objs):
            if o["type"] == "crank-finish" and o["crankNum"] >= n0:
                if case != "activityhash":
                    ls[i] = sub(ls[i], "crankhash", o["crankhash"], other(o["crankhash"]))
                ls[i] = sub(ls[i], "activityhash", o["activityhash"], other(o["activityhash"]))
                changed += 1
        fact["crank"] = n0
        fact["changed_cranks"] = changed
        if case == "late":
            first_line = next(i for i, o in enumerate(objs) if o["type"] == "crank-start" and o["crankNum"] == 500)
    elif case == "compute":
        i, o = next((i, o) for i, o in enumerate(objs) if o["type"] == "deliver-result" and not o.get("replay")
                    and o.get("crankNum", -1) >= 800 and isinstance(o["dr"][2], dict) and "compute" in o["dr"][2])
        c = o["dr"][2]["compute"]
        a = '"compute":%d,' % c
        assert ls[i].count(a) == 1
        ls[i] = ls[i].replace(a, '"compute":%d,' % (c + 1))
        fact.update(crank=o["crankNum"], vat=o["vatID"], dn=o["deliveryNum"], computrons=c, other_computrons=c + 1)
    elif case == "syscall":
        i, o = next((i, o) for i, o in enumerate(objs) if o["type"] == "syscall" and not o.get("replay")
                    and o.get("crankNum", -1) >= 900)
        v = json.dumps(o["vsc"], separators=(",", ":"))
        assert ls[i].count('"vsc":' + v) == 1
        ls[i] = ls[i].replace('"vsc":' + v, '"vsc":' + v[:-1] + ',"injected"]')
        fact.update(crank=o["crankNum"], vat=o["vatID"], dn=o["deliveryNum"])
    elif case != "same":
        raise SystemExit("diverge_faults: unknown case " + case)
    # the crank range of each file, from its crank-finish lines
    cr = [o["crankNum"] for o in objs[first_line:] if o["type"] == "crank-finish"]
    fact["range"] = "%d %d" % (min(cr), max(cr))
    # the deliveries of the divergent crank, as the files say (both nodes)
    if "crank" in fact:
        base = [json.loads(l) for l in lines_of(data, "basic")]
        for name, src in (("basic", base), ("node2", objs)):
            ds = [(o["vatID"], o["deliveryNum"]) for o in src if o["type"] == "deliver" and not o.get("replay")
                  and o.get("crankNum") == fact["crank"]]
            fact["deliveries_" + name] = " ".join("%s:%d" % d for d in ds) or "-"
    with open(os.path.join(out, "slog.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(ls[first_line:]) + "\n")
    for k, v in fact.items():
        print("fact", k, v)


if __name__ == "__main__":
    main()
