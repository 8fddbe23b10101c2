#!/usr/bin/env python3
# gen_slog.py - scale real slogs into a large, still-consistent benchmark slog (writes JSON lines to stdout).
"""Repeat real sample slogs until SIZE uncompressed bytes are written.

Copy k of a sample is the sample with
  * every vat ID string "vN" remapped to "v(N + 1000*k)", so each copy is
    a fresh set of vats (their transcript positions / deliveryNums stay valid);
  * crankNum and blockHeight shifted past the previous copies' maxima, so
    cranks and blocks keep increasing across the whole file;
  * time and blockTime shifted by whole seconds past the previous copy, so
    wall clocks keep increasing too (monotime restarts, as after a restart).
Every copy starts with the sample's own kernel-init-start: to slogpipe it
looks like one more kernel restart (a new epoch) of the same node.

Usage: gen_slog.py SIZE SAMPLE.jsonl.gz [SAMPLE.jsonl.gz ...] | gzip -6 > out.gz
SIZE accepts K/M/G suffixes (powers of 1000, like disk sizes).
"""
import gzip
import re
import sys

TOKEN = re.compile(rb'"v([0-9]+)"|"(crankNum|blockHeight)":([0-9]+)|"(time|blockTime)":([0-9]+)')


def parse_size(s):
    mult = {'K': 10**3, 'M': 10**6, 'G': 10**9, 'T': 10**12}
    s = s.strip().upper()
    if s and s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]])
    return int(s)


class Template:
    """A sample split once into literal pieces and renumberable tokens."""

    def __init__(self, path):
        with gzip.open(path, 'rb') as f:
            data = f.read()
        if not data.endswith(b'\n'):
            data += b'\n'
        self.size = len(data)
        self.lits = []   # literal bytes before token i (and one trailing literal)
        self.kinds = []  # 0 vat, 1 crankNum, 2 blockHeight, 3 seconds (time-like integer part)
        self.vals = []
        self.max = {1: 0, 2: 0}
        t_min = t_max = None
        pos = 0
        for m in TOKEN.finditer(data):
            if m.group(1) is not None:
                kind, val = 0, int(m.group(1))
                self.lits.append(data[pos:m.start()])
            elif m.group(2) is not None:
                kind = 1 if m.group(2) == b'crankNum' else 2
                val = int(m.group(3))
                self.lits.append(data[pos:m.start(3)])
                self.max[kind] = max(self.max[kind], val)
            else:
                kind, val = 3, int(m.group(5))
                self.lits.append(data[pos:m.start(5)])
                if m.group(4) == b'time':
                    t_min = val if t_min is None else min(t_min, val)
                    t_max = val if t_max is None else max(t_max, val)
            self.kinds.append(kind)
            self.vals.append(val)
            pos = m.end()
        self.lits.append(data[pos:])
        self.t_min = t_min or 0
        self.seconds = (t_max - t_min + 1) if t_min is not None else 1

    def render(self, vat_off, crank_off, block_off, sec_off):
        out = []
        app = out.append
        lits, kinds, vals = self.lits, self.kinds, self.vals
        for i in range(len(kinds)):
            app(lits[i])
            k = kinds[i]
            v = vals[i]
            if k == 0:
                app(b'"v%d"' % (v + vat_off))
            elif k == 1:
                app(b'%d' % (v + crank_off))
            elif k == 2:
                app(b'%d' % (v + block_off))
            else:
                app(b'%d' % (v + sec_off))
        app(lits[-1])
        return b''.join(out)


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 64
    target = parse_size(sys.argv[1])
    samples = [Template(p) for p in sys.argv[2:]]
    out = sys.stdout.buffer
    written = 0
    copy = 0
    crank_off = block_off = 0
    clock = samples[0].t_min  # where the next copy's wall clock starts
    while written < target:
        t = samples[copy % len(samples)]
        buf = t.render(1000 * copy, crank_off, block_off, clock - t.t_min)
        out.write(buf)
        written += len(buf)
        crank_off += t.max[1] + 1
        block_off += t.max[2] + 1
        clock += t.seconds + 60
        copy += 1
    out.flush()
    sys.stderr.write('gen_slog: %d copies, %d bytes, last crankNum %d, last blockHeight %d\n'
                     % (copy, written, crank_off - 1, block_off - 1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
