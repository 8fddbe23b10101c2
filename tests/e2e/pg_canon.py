#!/usr/bin/env python3
# pg_canon.py - one canonical text dump of a slogpipe store, SQLite file or PostgreSQL database, so the two compare with diff.
#
# usage: pg_canon.py sqlite FILE [--tables t1,t2]   |   pg_canon.py pg CONNINFO [--tables ...]
#        pg_canon.py load FILE CONNINFO: copy every table of a SQLite store into a PostgreSQL store
#        (same tables and column order), e.g. to read an analysed store through PostgreSQL.
# Rows are written in PostgreSQL's COPY text form (tab-separated, \N for
# NULL, backslash escapes) and sorted; REAL columns are printed as Python's
# repr of the double, so the same value prints the same from either store.
# Wall-clock bookkeeping (checkpoints.updated_at) is left out.
import sqlite3
import subprocess
import sys

TABLES = ["slog_events", "deliveries", "vats", "snapshots", "blocks", "ingest_errors", "transcript_items",
          "transcript_spans", "store_snapshots", "store_kv", "sources"]


def esc(v):
    if v is None:
        return "\\N"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def sqlite_dump(path, tables):
    db = sqlite3.connect(path)
    db.text_factory = bytes
    out = []
    for t in tables:
        out.append("== " + t)
        rows = [("\t".join(esc(v) for v in r)) for r in db.execute("SELECT * FROM " + t)]
        out.extend(sorted(rows))
    out.append("== checkpoints")
    for r in db.execute("SELECT node, source, line, offset, state FROM checkpoints ORDER BY 1, 2"):
        out.append("\t".join(esc(v) for v in r))
    return out


def psql(conn, sql):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, "-c", sql],
                          check=True, capture_output=True, text=True).stdout


def pg_dump(conn, tables):
    out = []
    for t in tables:
        out.append("== " + t)
        types = psql(conn, "COPY (SELECT data_type FROM information_schema.columns WHERE table_schema = "
                     "current_schema() AND table_name = '%s' ORDER BY ordinal_position) TO STDOUT" % t).split("\n")
        rows = []
        for line in psql(conn, "COPY %s TO STDOUT" % t).split("\n"):
            if not line:
                continue
            f = line.split("\t")
            for i, ty in enumerate(types[:len(f)]):
                if ty == "double precision" and f[i] != "\\N":
                    f[i] = repr(float(f[i]))
            rows.append("\t".join(f))
        out.extend(sorted(rows))
    out.append("== checkpoints")
    for line in psql(conn, 'COPY (SELECT node, source, line, "offset", state FROM checkpoints ORDER BY 1, 2) '
                     "TO STDOUT").split("\n"):
        if line:
            out.append(line)
    return out


def load(path, conn):
    db = sqlite3.connect(path)
    db.text_factory = bytes
    for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"):
        t = t.decode()
        if t in ("checkpoints", "sink_state", "kafka_offsets"):
            continue
        text = "".join("\t".join(esc(v) for v in r) + "\n" for r in db.execute("SELECT * FROM " + t))
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, "-c", "COPY %s FROM STDIN" % t],
                       input=text, check=True, text=True)


def main():
    kind, target = sys.argv[1], sys.argv[2]
    if kind == "load":
        load(target, sys.argv[3])
        return
    tables = TABLES
    if len(sys.argv) > 4 and sys.argv[3] == "--tables":
        tables = sys.argv[4].split(",")
    # sorted the same way whatever the locale
    lines = sqlite_dump(target, tables) if kind == "sqlite" else pg_dump(target, tables)
    sys.stdout.write("\n".join(lines) + "\n")


main()
