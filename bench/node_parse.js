// node_parse.js - baseline for bench/run: gunzip a slog with zlib, JSON.parse every line, count types.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const readline = require('readline');

const path = process.argv[2];
if (!path) {
  console.error('usage: node node_parse.js SLOG.jsonl.gz');
  process.exit(64);
}
const rl = readline.createInterface({
  input: fs.createReadStream(path).pipe(zlib.createGunzip()),
  crlfDelay: Infinity,
});
const counts = new Map();
let lines = 0;
rl.on('line', (line) => {
  if (line.length === 0) return;
  const o = JSON.parse(line);
  lines++;
  counts.set(o.type, (counts.get(o.type) || 0) + 1);
});
rl.on('close', () => {
  console.log(`${lines} lines, ${counts.size} types`);
});
