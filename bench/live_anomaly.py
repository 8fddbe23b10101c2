#!/usr/bin/env python3
# live_anomaly.py - line-to-anomaly latency for bench/run: a follower reads a slog appended at a steady rate in which heap-snapshot-saves lie; time from each lying line's append to its anomaly row in SQLite.
"""Usage: live_anomaly.py SLOGPIPE DATA_DIR WORKDIR [RATE] [REPEATS]

Uses the basic sample (DATA_DIR/basic: slog.jsonl.gz + swingstore.sqlite).
Every heap-snapshot-save line of the slog whose (vatID, endPosition) has a
save-snapshot item in the swing-store (the oracle: the store's own
transcriptItems, read here with sqlite3) gets a fake snapshotID, different
per line. Each repeat (default 8) starts from a fresh database:

  1. `SLOGPIPE ingest -q --db W/la.db --node basic swingstore.sqlite`
     (the store first, as tests/e2e/timeline_stream.sh does, so that each
     save is judged when its line arrives);
  2. `SLOGPIPE ingest -q --follow --db W/la.db --node basic W/la.jsonl`
     (default --commit-ms, as an operator runs it);
  3. appends the altered slog to W/la.jsonl at RATE lines/s (default
     10000, in 100 slices per second) while polling the anomalies table
     every 10 ms for SLOG_SNAPSHOT_ID_MISMATCH rows of that source.

A lying line's latency = the poll time its anomaly row (matched by the
row's `line`) was first seen - the time the writer appended it. Prints:
  live anomalies: RATE lines/s, N lying lines x R runs, p50 X ms, p99 Y ms, max Z ms, achieved A lines/s[, M never seen]
Exit 1 if an expected anomaly never appeared (within 10 s of the end).
"""
import gzip
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

SAVE = b'"type":"heap-snapshot-save"'
SNAP = re.compile(rb'"snapshotID":"[0-9a-f]{64}"')


def altered_slog(data):
    """The basic slog with lying saves; returns (lines, [1-based line numbers that lie])."""
    st = sqlite3.connect('file:%s?mode=ro' % os.path.join(data, 'basic', 'swingstore.sqlite'), uri=True)
    saves = set(st.execute("SELECT vatID, position FROM transcriptItems "
                           "WHERE json_extract(item, '$.d[0]') = 'save-snapshot'").fetchall())
    st.close()
    with gzip.open(os.path.join(data, 'basic', 'slog.jsonl.gz'), 'rb') as f:
        lines = f.read().splitlines(keepends=True)
    lying = []
    for i, ln in enumerate(lines):
        if SAVE not in ln:
            continue
        r = json.loads(ln)
        if (r['vatID'], r['endPosition']) not in saves:
            continue
        fake = b'"snapshotID":"%s"' % (b'%064x' % (0xfa4e << 200 | (i + 1)))
        lines[i], n = SNAP.subn(fake, ln, count=1)
        if n == 1:
            lying.append(i + 1)
    return lines, lying


def one_run(exe, data, work, lines, lying, rate):
    path = os.path.join(work, 'la.jsonl')
    db = os.path.join(work, 'la.db')
    for p in (path, db, db + '-wal', db + '-shm'):
        if os.path.exists(p):
            os.unlink(p)
    subprocess.run([exe, 'ingest', '-q', '--db', db, '--node', 'basic',
                    os.path.join(data, 'basic', 'swingstore.sqlite')], check=True, stderr=subprocess.DEVNULL)
    open(path, 'wb').close()
    proc = subprocess.Popen([exe, 'ingest', '-q', '--follow', '--db', db, '--node', 'basic', path],
                            stderr=subprocess.DEVNULL)
    c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, check_same_thread=False)
    time.sleep(0.5)  # the follower opens the database and its source before the first line comes
    want = set(lying)
    wrote = {}
    seen = {}
    done_at = [0.0]
    span = [0.0]

    def writer():
        slice_n = max(1, rate // 100)
        start = time.time()
        i = 0
        with open(path, 'ab', buffering=0) as out:
            while i < len(lines):
                due = start + i / rate
                now = time.time()
                if due > now:
                    time.sleep(due - now)
                chunk = lines[i:i + slice_n]
                out.write(b''.join(chunk))
                t = time.time()
                for k in range(i + 1, i + len(chunk) + 1):
                    if k in want:
                        wrote[k] = t
                i += len(chunk)
        span[0] = time.time() - start

    def poller():
        while len(seen) < len(want):
            try:
                rows = c.execute("SELECT line FROM anomalies WHERE kind = 'SLOG_SNAPSHOT_ID_MISMATCH' "
                                 "AND source = ?", (path,)).fetchall()
            except sqlite3.Error:
                rows = []
            t = time.time()
            for (ln,) in rows:
                if ln in want and ln not in seen:
                    seen[ln] = t
            if done_at[0] and t > done_at[0] + 10:
                break
            time.sleep(0.01)

    tw = threading.Thread(target=writer)
    tp = threading.Thread(target=poller)
    tw.start()
    tp.start()
    tw.join()
    done_at[0] = time.time()
    tp.join()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
    c.close()
    lat = [(seen[k] - wrote[k]) * 1000 for k in want if k in seen and k in wrote]
    return lat, len(want) - len(lat), len(lines) / span[0]


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 64
    exe, data, work = sys.argv[1:4]
    rate = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    os.makedirs(work, exist_ok=True)
    lines, lying = altered_slog(data)
    lat, missing, achieved = [], 0, []
    for _ in range(repeats):
        l, m, a = one_run(exe, data, work, lines, lying, rate)
        lat += l
        missing += m
        achieved.append(a)
    if not lat:
        print('live anomalies: no anomaly became visible')
        return 1
    lat.sort()

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))]

    print('live anomalies: %d lines/s, %d lying lines x %d runs, p50 %.0f ms, p99 %.0f ms, max %.0f ms, '
          'achieved %.0f lines/s%s' % (rate, len(lying), repeats, pct(0.5), pct(0.99), lat[-1], min(achieved),
                                       ', %d never seen' % missing if missing else ''))
    return 0 if not missing else 1


if __name__ == '__main__':
    sys.exit(main())
