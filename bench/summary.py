#!/usr/bin/env python3
# summary.py - bench/run's report for one case: per-command medians, ratios against their targets, peak RSS; exit 1 if a target is missed.
"""Usage: summary.py TIMES USIZE CASE [EXTRA_LINE...]

TIMES: lines "NAME WALL_S CPU_S RSS_KB" (one per timed run); USIZE: bytes of
uncompressed slog in the case's input; CASE: its name for the headings.
EXTRA_LINE: printed after the ratios (Kafka, live); a line with "p99 N ms"
and N > 1000 is a missed target.
"""
import re
import statistics
import sys


def main():
    times, usize, case = sys.argv[1], int(sys.argv[2]) / 1e6, sys.argv[3]
    extras = [x for x in sys.argv[4:] if x]
    rows = {}
    for ln in open(times):
        n, w, c, r = ln.split()
        rows.setdefault(n, []).append((float(w), float(c), int(r)))

    def med(n, k):
        return statistics.median(x[k] for x in rows[n])

    def rss(n):
        return max(x[2] for x in rows[n]) / 1024

    print('== case %s (%.0f MB uncompressed)' % (case, usize))
    print('%-14s %5s %9s %9s %8s %9s' % ('command', 'runs', 'wall s', 'cpu s', 'MB/s', 'peak RSS'))
    for n in rows:
        print('%-14s %5d %9.2f %9.2f %8.1f %6.1f MB' % (n, len(rows[n]), med(n, 0), med(n, 1), usize / med(n, 0),
                                                        rss(n)))
    fails = []

    def check(label, num, den, target):
        if num not in rows or den not in rows:
            return
        r = med(den, 0) / med(num, 0)
        cpu = med(den, 1) / med(num, 1)
        if target is None:
            print('%-52s %5.2fx [cpu %.2fx] (informative)' % (label, r, cpu))
            return
        ok = r >= target
        print('%-52s %5.2fx [cpu %.2fx] (target >= %.2fx) %s' % (label, r, cpu, target, 'ok' if ok else 'MISSED'))
        if not ok:
            fails.append('%s: %s' % (case, label))

    print()
    print('ratios of median wall-clock throughput (cpu-time ratio in brackets, informative):')
    for label, num, den, target in [
            # issue #15: with the timeline stage on every record
            ('gz -> SQLite (stage + analysis) vs node', 'sqlite', 'node', 1.5),
            ('gz -> JSONL (stage, --db \'\') vs node', 'jsonl', 'node', 2.0),
            ('gz -> SQLite --no-analyze vs node', 'sqlite_noan', 'node', None),
            ('gz -> JSONL --no-analyze vs node', 'jsonl_noan', 'node', None),
            ('SQLite: stage + analysis vs --no-analyze', 'sqlite', 'sqlite_noan', None),
            ('JSONL: stage vs --no-analyze', 'jsonl', 'jsonl_noan', None),
            ('gz -> parse + normalize vs zlib + yajl', 'normalize', 'zlib_yajl', 0.6),
            ('Kafka -> SQLite, group join included', 'kafka', 'sqlite_k', None),
            ('Kafka -> SQLite vs file -> SQLite (consuming)', 'kafka_consume', 'sqlite_k', 0.7)]:
        check(label, num, den, target)
    for n in ('sqlite', 'sqlite_noan', 'jsonl', 'jsonl_noan', 'sqlite_fast', 'rss_1g', 'rss_big'):
        if n in rows:
            ok = rss(n) <= 64
            print('%-52s %5.1f MB (target <= 64 MB) %s' % ('peak RSS ' + n, rss(n), 'ok' if ok else 'MISSED'))
            if not ok:
                fails.append('%s: rss %s' % (case, n))
    if 'rss_1g' in rows and 'rss_big' in rows:
        a, b = rows['rss_1g'][0][2], rows['rss_big'][0][2]
        d = abs(b - a) / a
        print('%-52s %5.1f%% (target <= 10%%) %s' % ('peak RSS big vs 1G', 100 * d, 'ok' if d <= 0.10 else 'MISSED'))
        if d > 0.10:
            fails.append('rss growth')
    for extra in extras:
        print(extra)
        for ln in extra.splitlines():
            m = re.search(r'p99 (\d+) ms', ln)
            if m and int(m.group(1)) > 1000:
                fails.append(ln.split(':')[0] + ' p99')
    if fails:
        print('MISSED: ' + ', '.join(fails))
        return 1
    print('all measured targets of case %s met' % case)
    return 0


if __name__ == '__main__':
    sys.exit(main())
