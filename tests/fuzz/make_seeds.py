#!/usr/bin/env python3
# make_seeds.py - writes the initial seed corpora (corpus/<target>/) from the real samples in tests/data plus small edge cases.
import gzip, json, os, random, sqlite3, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
D = os.path.join(HERE, '..', 'data')
C = os.path.join(HERE, 'corpus')
random.seed(1)

def w(t, name, b):
    os.makedirs(os.path.join(C, t), exist_ok=True)
    if isinstance(b, str):
        b = b.encode()
    with open(os.path.join(C, t, name), 'wb') as f:
        f.write(b)

# Short real slog lines (long deliveries make slow seeds).
lines = []
with gzip.open(os.path.join(D, 'basic', 'slog.jsonl.gz'), 'rt') as f:
    for i, l in enumerate(f):
        if i >= 5000:
            break
        if len(l) < 1200:
            lines.append(l)
seen, chunks = set(), []
for i in range(0, len(lines), 12):
    ch = lines[i:i + 12]
    types = tuple(sorted(set(json.loads(x).get('type', '') for x in ch)))
    if types in seen:
        continue
    seen.add(types)
    chunks.append(''.join(ch))

# ---- normalize
for k, ch in enumerate(chunks[:30]):
    w('normalize', f'slog{k:02d}', ch)
gold = [l for l in open(os.path.join(D, 'golden', 'normalize_in.jsonl')).read().splitlines(True) if len(l) < 4000]
for k in range(0, len(gold), 10):
    w('normalize', f'golden{k // 10:02d}', ''.join(gold[k:k + 10]))
w('normalize', 'edge_empty', '')
w('normalize', 'edge_nul', '{"type":"deliver","vatID":"v1\x00"}\n')
w('normalize', 'edge_utf8', b'{"type":"x\xc3\x28"}\n')
w('normalize', 'edge_deep', '[' * 5000 + '\n')
w('normalize', 'edge_dupkey', '{"type":"deliver","vatID":"v1","vatID":"v2"}\n')
w('normalize', 'edge_bigint', '{"type":"crank-start","crankNum":99999999999999999999999}\n')
w('normalize', 'restore_state', '#R{"v":2,"block":5,"crank":7,"epoch":1,"open":[]}\n' + chunks[0])

# ---- titem: real items of every delivery type
db = sqlite3.connect(f'file:{D}/basic/swingstore.sqlite?mode=ro', uri=True)
byt = {}
for (it,) in db.execute('select item from transcriptItems'):
    if len(it) > 6000:
        continue
    try:
        t = json.loads(it)['d'][0]
    except Exception:
        t = 'unparsed'
    if len(byt.setdefault(t, [])) < 3:
        byt[t].append(it)
n = 0
for t, l in sorted(byt.items()):
    for it in l:
        w('titem', f'{t}{n:02d}', it)
        n += 1
w('titem', 'edge_empty', '')
w('titem', 'edge_notobj', '[1,2]')
w('titem', 'edge_trunc', '{"d":["message","ko12",{"methargs":')
w('titem', 'edge_sc_empty', '{"d":["bringOutYourDead"],"sc":[],"r":{"status":"ok","metering":{"computrons":123}}}')
w('titem', 'edge_sc_nots', '{"d":["x"],"sc":[{"r":1},{"s":["vatstoreGet","k"]}],"r":{"status":"error","metering":{"computrons":-1}}}')
w('titem', 'edge_snap', '{"d":["save-snapshot"],"sc":[],"r":{"status":"ok","snapshotID":"abc\\u0041"}}')
w('titem', 'edge_load', '{"d":["load-snapshot",{"snapshotID":"s1","snapPos":3}],"sc":[],"r":{"status":"ok"}}')

# ---- flightrec: small rings made of real records (input = file after the magic)
recs = [l.rstrip('\n') for l in lines[:40]]

def ring(rs, arena, start):
    a = bytearray(arena)
    pos = start
    for r in rs:
        d = ('\n' + r).encode()
        for b in struct.pack('>Q', len(d)) + d:
            a[pos % arena] = b
            pos += 1
    return struct.pack('>QQQ', arena, start % arena, pos % arena) + bytes(a)

w('flightrec', 'small', ring(recs[:6], 4096, 0) + b'\x00')
w('flightrec', 'wrapped', ring(recs[:8], 3000, 2500) + b'\x00')
w('flightrec', 'wraplen', ring(recs[:4], 1500, 1495) + b'\x01')
w('flightrec', 'empty', struct.pack('>QQQ', 64, 0, 0) + bytes(64))
w('flightrec', 'toobig', struct.pack('>QQQ', 64, 0, 20) + struct.pack('>Q', 1000) + bytes(56))
w('flightrec', 'hdronly', struct.pack('>QQ', 64, 0))
w('flightrec', 'nonewline', struct.pack('>QQQ', 64, 0, 30) + struct.pack('>Q', 22) + b'slog-record-too-big xx' + bytes(34))

# ---- reader: flags byte, parameter byte, content
body = ''.join(lines[:8]).encode()[:3000]
w('reader', 'plain', b'\x00\x00' + body)
w('reader', 'gzip_here', b'\x01\x00' + body)
w('reader', 'gzip_two', b'\x03\x80' + body)
w('reader', 'maxline', b'\x04\x30' + body)
w('reader', 'boundary', b'\x08\x10' + body[:600])
w('reader', 'boundary_gz', b'\x19\x05' + body[:600])
w('reader', 'seek', b'\x10\x00' + body)
w('reader', 'crlf', b'\x10\x00{"type":"a"}\r\n{"type":"b"}\r\n\r\nlast-no-newline')
w('reader', 'rawgz', b'\x00\x00' + gzip.compress(body[:1500]))
w('reader', 'rawgz_trunc', b'\x00\x00' + gzip.compress(body[:1500])[:-40])
w('reader', 'rawgz_garbage', b'\x10\x00' + gzip.compress(body[:800]) + b'\x1f\x8bgarbage')
w('reader', 'empty', b'\x00\x00')

# ---- kafka: mode byte, key length byte, key, value
slogv = ''.join(lines[:8]).rstrip('\n').encode()[:3000]
w('kafka', 'uri', b'\x00kafka://127.0.0.1:9092,h2:1/t1,t2?group=g&node=n')
w('kafka', 'uri_bad', b'\x00kafka://h:1/t?group=&x=y')
w('kafka', 'plain_key', b'\x01\x05node1' + slogv)
w('kafka', 'gzip_hdr', b'\x0d\x05node1' + gzip.compress(slogv))
w('kafka', 'gzip_multi', b'\x09\x00' + gzip.compress(slogv[:400]) + gzip.compress(slogv[400:]))
w('kafka', 'gzip_bad', b'\x01\x00' + gzip.compress(slogv)[:-9])
titems = [it for l in byt.values() for it in l if len(it) < 800][:4]
tmsg = '\n'.join(json.dumps({'vatID': 'v1', 'position': i, 'item': it, 'incarnation': 0}) for i, it in enumerate(titems))
tmsg += '\n' + json.dumps({'vatID': 'v1', 'startPos': 0, 'endPos': len(titems), 'hash': 'ab' * 32, 'isCurrent': False})
tmsg += '\n' + json.dumps({'vatID': 'v1', 'startPos': 4, 'endPos': 4, 'hash': None, 'isCurrent': True})
w('kafka', 'transcript', b'\x01\x02n2' + tmsg.encode())
w('kafka', 'transcript_bad', b'\x09\x00{"vatID":5,"item":"x","position":1}\n{"vatID":"v1","item":"{","position":-1}\n'
  b'{"vatID":"v1","item":"{","position":3}\n{"vatID":"v1","startPos":2,"endPos":1,"hash":"x"}')
w('kafka', 'badkey', b'\x01\x03\x01\xff\x02{"type":"x"}')
w('kafka', 'crlf', b'\x01\x00{"type":"kernel-init-start","time":1}\r\n\r\n{"type":"x"}\r\n')

# ---- config
w('config', 'basic', 'db = /tmp/x.db\nnode = validator-1\nstrict = true\n# comment\n; comment\ninput = /a/b.gz\ninput=/c\n')
w('config', 'flags', 'fast_backfill = false\nquiet=true\nverbose = true\nmax-line = 100\n')
w('config', 'bad_key', 'dbb = x\n')
w('config', 'bad_flag', 'strict = maybe\n')
w('config', 'noeq', 'node\n')
w('config', 'crlf_ws', '  db   =   "quoted value"  \r\n\tnode=\tn\t\r\n\n\n')
w('config', 'nul', 'db = a\x00b\n')
w('config', 'help', 'help = true\nconfig = other\n')

# ---- export: manifest, export data, artifacts separated by "\n==\n"
E = os.path.join(D, 'basic', 'export')
data = open(os.path.join(E, 'export-data.jsonl')).read().splitlines()
keep = [l for l in data if ('"transcript.v1.' in l and ('.0"' in l or '.5"' in l or 'current' in l)) or
        '"transcript.v2.' in l or l.startswith('["kv.kernel.snapshot') or l.startswith('["kv.vat.name') or
        l.startswith('["snapshot.v1.')][:20]
arts = sorted(f for f in os.listdir(E) if f.startswith('transcript.v1.'))[:2]
t1 = open(os.path.join(E, 'transcript.v1.0.5')).read()
man = {'blockHeight': 27, 'mode': 'debug', 'data': 'export-data.jsonl',
       'artifacts': [['transcript.v1.0.5', 'transcript.v1.0.5'], ['transcript.v1.5.10', 'transcript.v1.5.10'],
                     ['transcript.v2.0.3', 'transcript.v2.0.3']]}
sep = '\n==\n'
w('export', 'real', json.dumps(man) + sep + '\n'.join(keep) + '\n' + sep + t1 + sep + t1.splitlines()[0] + '\n')
w('export', 'gzip_artifact', json.dumps(man).encode() + sep.encode() + '\n'.join(keep).encode() + sep.encode() +
  gzip.compress(t1.encode()))
w('export', 'escape', json.dumps({'blockHeight': 1, 'artifactMode': 'operational', 'data': 'export-data.jsonl',
                                  'artifacts': [['transcript.v1.0.5', '../../etc/passwd'],
                                                ['transcript.v1.5.10', '/etc/passwd'], ['x', 'out'], ['y', 'up'],
                                                ['transcript.v2.0.3', 'up/etc']]}) + sep + '\n'.join(keep))
w('export', 'bad_manifest', '{"blockHeight":"x","artifacts":[1,[2],["a"]]}' + sep + '["kv.a"]\n[1,2]\nnot json\n')
w('export', 'data_escape', json.dumps({'blockHeight': 1, 'data': '../x'}))
