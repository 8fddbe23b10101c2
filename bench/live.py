#!/usr/bin/env python3
# live.py - live-latency probe for bench/run: append slog lines at a steady rate, time when each line's row is visible in SQLite.
"""Usage: live.py SLOGPIPE SAMPLE.jsonl.gz WORKDIR [RATE] [SECONDS]

Starts `SLOGPIPE ingest --follow --db WORKDIR/live.db WORKDIR/live.jsonl`,
appends the sample's lines to live.jsonl at RATE lines/s (default 10000,
in 100 slices per second) for SECONDS (default 20), and polls the database
every 20 ms for the newest slog_events row (by rowid: rows are inserted in
line order). A line's latency = the poll time its row was first seen -
the time the writer wrote it. Prints one line:
  live: RATE lines/s, N lines, p50 X ms, p99 Y ms, max Z ms, achieved R lines/s
"""
import gzip
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 64
    exe, sample, work = sys.argv[1:4]
    rate = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 20.0
    with gzip.open(sample, 'rb') as f:
        lines = f.read().splitlines(keepends=True)
    total = min(len(lines), int(rate * seconds))
    path = os.path.join(work, 'live.jsonl')
    db = os.path.join(work, 'live.db')
    for p in (path, db, db + '-wal', db + '-shm'):
        if os.path.exists(p):
            os.unlink(p)
    open(path, 'wb').close()
    proc = subprocess.Popen([exe, 'ingest', '-q', '--follow', '--no-analyze', '--db', db, path],
                            stderr=subprocess.DEVNULL)
    # wait until the database exists and has its schema
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, check_same_thread=False)
            c.execute('SELECT 1 FROM slog_events LIMIT 1').fetchall()
            break
        except sqlite3.Error:
            time.sleep(0.05)
    else:
        proc.kill()
        sys.stderr.write('live: slogpipe did not create %s\n' % db)
        return 1

    wrote = [0.0] * (total + 1)  # wall clock at which line i (1-based) was written
    seen = [0.0] * (total + 1)
    done = threading.Event()

    def writer():
        slice_n = max(1, rate // 100)
        start = time.time()
        i = 0
        with open(path, 'ab', buffering=0) as out:
            while i < total:
                due = start + (i / rate)
                now = time.time()
                if due > now:
                    time.sleep(due - now)
                chunk = lines[i:i + slice_n]
                out.write(b''.join(chunk))
                t = time.time()
                for k in range(len(chunk)):
                    wrote[i + 1 + k] = t
                i += len(chunk)
        wrote[0] = time.time() - start

    def poller():
        last = 0
        while last < total:
            try:
                r = c.execute('SELECT line FROM slog_events ORDER BY rowid DESC LIMIT 1').fetchone()
            except sqlite3.Error:
                r = None
            t = time.time()
            if r and r[0] > last:
                for k in range(last + 1, min(r[0], total) + 1):
                    seen[k] = t
                last = r[0]
            if done.is_set() and time.time() > done_at[0] + 10:
                break
            time.sleep(0.02)

    done_at = [0.0]
    tw = threading.Thread(target=writer)
    tp = threading.Thread(target=poller)
    tw.start()
    tp.start()
    tw.join()
    done_at[0] = time.time()
    done.set()
    tp.join()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    lat = sorted((seen[i] - wrote[i]) * 1000 for i in range(1, total + 1) if seen[i])
    missing = sum(1 for i in range(1, total + 1) if not seen[i])
    if not lat:
        print('live: no row became visible')
        return 1

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))]

    print('live: %d lines/s, %d lines, p50 %.0f ms, p99 %.0f ms, max %.0f ms, achieved %.0f lines/s%s'
          % (rate, total, pct(0.5), pct(0.99), lat[-1], total / wrote[0],
             ', %d never seen' % missing if missing else ''))
    return 0 if not missing else 1


if __name__ == '__main__':
    sys.exit(main())
