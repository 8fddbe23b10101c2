#!/usr/bin/env python3
"""grafana_panels.py - checks docs/grafana/slogpipe.json: its structure, every PostgreSQL query run on a real database, every PromQL metric name in a real metrics file."""
# Usage: grafana_panels.py DASHBOARD.json PGURL METRICS_FILE RULES_OUT
# Prints TAP-like "ok - ..." / "FAIL - ..." lines (counted by the caller) and
# writes every PromQL expression, Grafana variables substituted, as a
# Prometheus rules file to RULES_OUT for `promtool check rules`.
import json
import re
import subprocess
import sys

dash_path, url, metrics_path, rules_out = sys.argv[1:5]
dash = json.load(open(dash_path))
fails = 0


def ok(cond, what):
    global fails
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fails += 1


def psql(q):
    """(returncode, header columns, data rows, stderr) of q run by psql."""
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-F", "\t", "-P", "footer=off",
                        "-d", url, "-c", q], capture_output=True, text=True)
    lines = p.stdout.splitlines()
    return p.returncode, (lines[0].split("\t") if lines else []), lines[1:], p.stderr.strip()


# The structure Grafana needs to import it with its datasource prompts.
ok(36 <= dash.get("schemaVersion", 0) <= 39, "schemaVersion %s is Grafana 9/10's (36-39)" % dash.get("schemaVersion"))
inputs = {i["name"]: i["pluginId"] for i in dash.get("__inputs", []) if i.get("type") == "datasource"}
ok(inputs == {"DS_POSTGRES": "postgres", "DS_PROMETHEUS": "prometheus"}, "__inputs: DS_POSTGRES and DS_PROMETHEUS")
ids = [p["id"] for p in dash["panels"]]
ok(len(ids) == len(set(ids)), "panel ids unique")
want_uid = {"postgres": "${DS_POSTGRES}", "prometheus": "${DS_PROMETHEUS}"}
refs = [p["datasource"] for p in dash["panels"] if p["type"] != "row"]
refs += [t["datasource"] for p in dash["panels"] for t in p.get("targets", [])]
refs += [v["datasource"] for v in dash["templating"]["list"] if "datasource" in v]
ok(all(want_uid.get(r.get("type")) == r.get("uid") for r in refs),
   "every datasource reference is ${DS_POSTGRES} or ${DS_PROMETHEUS} (%d references)" % len(refs))

# Template variables: the node list, from the database.
nodes = None
for v in dash["templating"]["list"]:
    rc, _, rows, err = psql(v["query"])
    ok(rc == 0 and len(rows) >= 1, "variable $%s: %d values %s" % (v["name"], len(rows), err))
    if v["name"] == "node":
        nodes = rows
node_list = ", ".join("'%s'" % n.replace("'", "''") for n in nodes or ["?"])

# Grafana's PostgreSQL macros, as plain SQL: the time range covers 1970-2100, $__interval is 1 minute.
FROM, TO, IV = 0, 4102444800, 60
ARG = r"\(\s*([^(),]+(?:\([^()]*\))?)\s*(?:,\s*([^()]+?))?\s*\)"
MACROS = [
    (r"\$__unixEpochFilter" + ARG, lambda m: "(%s >= %d AND %s <= %d)" % (m[1], FROM, m[1], TO)),
    (r"\$__unixEpochGroupAlias" + ARG, lambda m: 'floor(%s / %d) * %d AS "time"' % (m[1], IV, IV)),
    (r"\$__unixEpochGroup" + ARG, lambda m: "floor(%s / %d) * %d" % (m[1], IV, IV)),
    (r"\$__timeFilter" + ARG, lambda m: "%s BETWEEN to_timestamp(%d) AND to_timestamp(%d)" % (m[1], FROM, TO)),
    (r"\$__timeGroupAlias" + ARG,
     lambda m: 'to_timestamp(floor(extract(epoch from %s) / %d) * %d) AS "time"' % (m[1], IV, IV)),
]


def expand(sql):
    for pat, fn in MACROS:
        sql = re.sub(pat, fn, sql)
    return sql.replace("$node", node_list)


pg_targets = [(p, t) for p in dash["panels"] for t in p.get("targets", [])
              if t["datasource"]["type"] == "postgres"]
ok(len(pg_targets) >= 6, "%d PostgreSQL queries" % len(pg_targets))
for p, t in pg_targets:
    sql = expand(t["rawSql"])
    what = "panel '%s' %s" % (p["title"], t["refId"])
    if "$" in sql:
        ok(False, "%s: a macro or variable the test does not know: %s" % (what, re.findall(r"\$\w+", sql)))
        continue
    rc, cols, rows, err = psql(sql)
    ok(rc == 0 and len(rows) >= 1, "%s returns rows: %d %s" % (what, len(rows), err))
    if t.get("format") == "time_series":
        ok("time" in cols and "value" in cols, "%s: columns time and value for a time series (%s)" % (what, cols))

# PromQL: every metric name is one slogpipe writes (a family's TYPE line or a sample).
families = set()
for line in open(metrics_path):
    m = re.match(r"# TYPE (\S+)", line) or re.match(r"([a-zA-Z_:][\w:]*)", line)
    if m:
        families.add(m.group(1))
prom_targets = [(p, t) for p in dash["panels"] for t in p.get("targets", [])
                if t["datasource"]["type"] == "prometheus"]
ok(len(prom_targets) >= 4, "%d Prometheus queries" % len(prom_targets))
rules = []
for p, t in prom_targets:
    names = set(re.findall(r"\bslogpipe_\w+", t["expr"]))
    missing = sorted(n for n in names if n not in families)
    ok(names and not missing, "panel '%s' %s: metrics %s in the metrics file%s" % (
        p["title"], t["refId"], sorted(names), " (missing: %s)" % missing if missing else ""))
    expr = t["expr"].replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$node", ".*")
    rules.append("      - record: grafana:panel%d:%s\n        expr: %s" % (p["id"], t["refId"], json.dumps(expr)))
with open(rules_out, "w") as f:
    f.write("groups:\n  - name: grafana_panels\n    rules:\n" + "\n".join(rules) + "\n")
sys.exit(1 if fails else 0)
