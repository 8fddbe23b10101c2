/* cmd_report.c - `slogpipe report`: one self-contained HTML file with per-vat span timelines and summary charts. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "../core/sp_core.h"
#include "../sinks/sp_pg.h"
#include "sp_ux.h"

static const char usage_report[] =
    "usage: slogpipe report --db FILE|URL -o report.html [--node N]\n"
    "\n"
    "Writes one self-contained HTML file (inline CSS, JavaScript and SVG; no\n"
    "network access) with, per vat, a timeline of its transcript spans: one\n"
    "lane per incarnation, spans as bars by transcript position (or by wall\n"
    "clock time when the slog gives times), snapshots and upgrades as markers,\n"
    "anomalies highlighted with their detail on hover; plus deliveries per\n"
    "block and snapshot sizes over time. The data is embedded as JSON in the\n"
    "page, so it can also be read back from it.\n"
    "\n"
    "Options:\n"
    "  --db FILE|URL      database written by 'slogpipe ingest' (read-only): a SQLite\n"
    "                     file or a postgresql:// URL\n"
    "  -o, --output FILE  the HTML file to write ('-' = stdout)\n"
    "  --node N           only this node\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 not a slogpipe database, 66 no database,\n"
    "73 cannot create the output, 74 write error.\n";

#define VAT_ORDER "CAST(substr(vat_id, 2) AS INTEGER)"
#define MAX_ANOMALIES 20000 /* rows embedded; the page says when more exist */

/* The data sets embedded in the page: key in the JSON object + query
 * (?1 = node or NULL). Column names become the JSON keys the script reads. */
struct dataset {
    const char *key;
    const char *sql;
    int optional; /* a database from before the table/column: embedded as [] */
};

static const struct dataset datasets[] = {
    {"vats",
     "SELECT node, vat_id, name, status, manager, incarnations, spans, deliveries, last_snap_pos,"
     " substr(last_snap_id, 1, 12) AS last_snap_id, last_snap_time"
     " FROM v_vats WHERE (?1 IS NULL OR node = ?1) ORDER BY node, " VAT_ORDER, 0},
    {"spans",
     "WITH s AS ("
     " SELECT node, vat_id, incarnation AS inc, start_pos AS start, end_pos, first_type AS first,"
     "  last_type AS last, is_current AS cur, hash_ok, deliveries, items"
     " FROM spans WHERE (?1 IS NULL OR node = ?1)"
     " UNION ALL"
     " SELECT t.node, t.vat_id, t.incarnation, t.start_pos, t.end_pos,"
     "  (SELECT i.d_type FROM transcript_items i WHERE i.node = t.node AND i.vat_id = t.vat_id"
     "    AND i.position = t.start_pos),"
     "  (SELECT i.d_type FROM transcript_items i WHERE i.node = t.node AND i.vat_id = t.vat_id"
     "    AND i.position = t.end_pos - 1),"
     "  t.is_current,"
     "  CASE WHEN t.computed_hash IS NULL THEN -1 WHEN t.computed_hash = t.hash THEN 1 ELSE 0 END,"
     "  (SELECT COUNT(*) FROM transcript_items i WHERE i.node = t.node AND i.vat_id = t.vat_id"
     "    AND i.position >= t.start_pos AND i.position < t.end_pos AND i.d_type NOT IN"
     "    ('initialize-worker', 'load-snapshot', 'save-snapshot', 'shutdown-worker')),"
     "  t.items"
     " FROM transcript_spans t WHERE (?1 IS NULL OR t.node = ?1)"
     "  AND NOT EXISTS (SELECT 1 FROM spans x WHERE x.node = t.node AND x.vat_id = t.vat_id)"
     "), e AS ("
     " SELECT s.*, CASE WHEN s.end_pos >= 0 THEN s.end_pos ELSE"
     "  MAX(s.start + 1, COALESCE((SELECT MAX(d.delivery_num) + 1 FROM deliveries d WHERE d.node = s.node"
     "   AND d.vat_id = s.vat_id AND d.replay = 0 AND d.superseded = 0 AND d.delivery_num >= s.start), 0)) END AS \"end\","
     "  s.end_pos < 0 AS open"
     " FROM s)"
     " SELECT node, vat_id, inc, start, \"end\", open, first, last, cur, hash_ok, deliveries, items,"
     "  (SELECT MIN(d.time) FROM deliveries d WHERE d.node = e.node AND d.vat_id = e.vat_id"
     "    AND d.replay = 0 AND d.superseded = 0 AND d.delivery_num >= e.start AND d.delivery_num < e.\"end\") AS t0,"
     "  (SELECT MAX(d.time + COALESCE(d.seconds, 0)) FROM deliveries d WHERE d.node = e.node"
     "    AND d.vat_id = e.vat_id AND d.replay = 0 AND d.superseded = 0 AND d.delivery_num >= e.start"
     "    AND d.delivery_num < e.\"end\") AS t1,"
     "  (SELECT p.save_time FROM snapshots p WHERE p.node = e.node AND p.vat_id = e.vat_id"
     "    AND p.snap_pos = e.\"end\" - 1) AS tsave"
     " FROM e ORDER BY node, " VAT_ORDER ", start", 0},
    {"snapshots",
     "SELECT node, vat_id, snap_pos, substr(snapshot_id, 1, 12) AS id, save_time, uncompressed_size,"
     " compressed_size, save_seconds, in_use"
     " FROM v_snapshots WHERE (?1 IS NULL OR node = ?1) ORDER BY node, " VAT_ORDER ", snap_pos", 0},
    {"schedule",
     "SELECT node, vat_id, span_len, threshold, threshold_kind, overdue"
     " FROM v_schedule WHERE (?1 IS NULL OR node = ?1) ORDER BY node, " VAT_ORDER, 0},
    {"blocks",
     "SELECT node, block_height, block_time, cranks, deliveries, computrons, duration"
     " FROM v_blocks WHERE (?1 IS NULL OR node = ?1) ORDER BY node, block_height", 0},
    /* block time budgets, runs and each block's top deliveries (schemas/sqlite/012-runs.sql) */
    {"block_times",
     "SELECT node, block_height, block_time, bootstrap, block_seconds, run_seconds, end_block_seconds,"
     " commit_seconds, runs AS run_count, deliveries, computrons, beans_used, boyd_seconds, snapshot_saves,"
     " snapshot_seconds, replays, replay_seconds"
     " FROM blocks WHERE block_seconds IS NOT NULL AND (?1 IS NULL OR node = ?1) ORDER BY node, block_height",
     1},
    {"runs",
     "SELECT node, block_height, run_num, phase, trigger, trigger_source, trigger_type, seconds, deliveries,"
     " computrons, beans_used FROM runs WHERE (?1 IS NULL OR node = ?1) ORDER BY node, block_height, run_num",
     1},
    {"block_top",
     "SELECT node, block_height, rk, vat_id, vat_name, dispatch, method, seconds, computrons, line FROM ("
     " SELECT d.node, d.block_height, d.vat_id, v.name AS vat_name, d.dispatch, d.method, d.seconds,"
     "  d.computrons, d.line, row_number() OVER (PARTITION BY d.node, d.block_height"
     "  ORDER BY d.seconds IS NULL, d.seconds DESC, d.line) AS rk"
     " FROM deliveries d LEFT JOIN vats v ON v.node = d.node AND v.vat_id = d.vat_id"
     " WHERE d.replay = 0 AND d.superseded = 0 AND d.block_height IS NOT NULL AND (?1 IS NULL OR d.node = ?1))"
     " WHERE rk <= 3 ORDER BY node, block_height, rk",
     1},
    {"anomaly_counts",
     "SELECT node, kind, vat_id, severity, count FROM v_anomaly_counts"
     " WHERE (?1 IS NULL OR node = ?1) ORDER BY node, kind, " VAT_ORDER, 0},
    {"anomalies",
     "SELECT node, vat_id, kind, severity, incarnation, position, source, line, detail"
     " FROM anomalies WHERE (?1 IS NULL OR node = ?1)"
     " ORDER BY node, vat_id IS NOT NULL, " VAT_ORDER ", position, kind, line"
     " LIMIT 20001", 0},
    {NULL, NULL, 0},
};

static const char html_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    /* Self-contained by policy: the browser refuses any fetch the page might attempt. */
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
    "<title>slogpipe report</title>\n"
    "<style>\n"
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "margin:0;padding:16px 24px;color:#1d2330;background:#fafbfc}\n"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #d8dde6;"
    "padding-bottom:4px}h3{font-size:15px;margin:16px 0 4px}\n"
    ".meta{color:#5b6475;font-size:12px}\n"
    "table{border-collapse:collapse;font-size:12px;margin:4px 0}th,td{padding:3px 8px;"
    "border-bottom:1px solid #e3e7ee;text-align:left;white-space:nowrap}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}th{background:#eef1f6}\n"
    "td.detail{white-space:normal;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px;"
    "max-width:700px;word-break:break-all}\n"
    ".controls{margin:10px 0;display:flex;gap:8px;align-items:center}\n"
    "button{font:inherit;padding:4px 10px;border:1px solid #a9b3c4;background:#fff;border-radius:4px;"
    "cursor:pointer}button.on{background:#2f5fb3;color:#fff;border-color:#2f5fb3}"
    "button:disabled{opacity:.5;cursor:default}\n"
    ".vat{background:#fff;border:1px solid #e0e4eb;border-radius:6px;padding:6px 10px;margin:10px 0}\n"
    ".vat .note{color:#5b6475;font-size:12px}.vat .overdue{color:#d7263d;font-weight:600}\n"
    "svg{display:block;max-width:100%;height:auto}\n"
    "svg text{font-size:11px;fill:#3b4252}\n"
    ".lane-bg{fill:#f1f3f7}\n"
    ".span{stroke:#fff;stroke-width:.5}\n"
    ".span-save{fill:#4c7fd1}.span-shutdown{fill:#e39a3b}.span-current{fill:#3aa76d}"
    ".span-other{fill:#8c96a8}.span-bad{stroke:#d7263d;stroke-width:2}\n"
    ".snap{fill:#1d3f7a}.upgrade{stroke:#b5179e;stroke-width:1.5;stroke-dasharray:4 3}\n"
    ".anom{stroke:#fff;stroke-width:1}.sev-error{fill:#d7263d}.sev-warning{fill:#f08c00}"
    ".sev-info{fill:#6c7a89}\n"
    ".axis{stroke:#9aa3b2;stroke-width:1}.grid{stroke:#e3e7ee;stroke-width:1}\n"
    ".bar{fill:#4c7fd1}.legend span{display:inline-block;margin-right:12px;font-size:12px}\n"
    ".bt-block{cursor:pointer}.bt-block:hover rect{opacity:.8}.slow-mark{fill:#d7263d;font-size:12px}\n"
    ".explain{background:#fff;border:1px solid #e0e4eb;border-radius:6px;padding:6px 10px;margin:8px 0}"
    ".explain:empty{display:none}\n"
    ".swatch{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}\n"
    "i.span-save{background:#4c7fd1}i.span-shutdown{background:#e39a3b}i.span-current{background:#3aa76d}"
    "i.span-other{background:#8c96a8}\n"
    "tr.sev-error td:first-child{border-left:3px solid #d7263d}"
    "tr.sev-warning td:first-child{border-left:3px solid #f08c00}\n"
    "</style>\n</head>\n"
    "<body>\n"
    "<h1>slogpipe report</h1>\n<div class=\"meta\" id=\"meta\"></div>\n"
    "<noscript><p>This report draws its charts with JavaScript; the raw data is in the "
    "<code>slogpipe-data</code> script element.</p></noscript>\n"
    "<h2>Timelines</h2>\n"
    "<div class=\"controls\">x axis: <button id=\"by-pos\" class=\"on\">transcript position</button>"
    "<button id=\"by-time\">time</button></div>\n"
    "<div class=\"legend\"><span><i class=\"swatch span-save\"></i>span closed by snapshot</span>"
    "<span><i class=\"swatch span-shutdown\"></i>closed by upgrade</span>"
    "<span><i class=\"swatch span-current\"></i>current span</span>"
    "<span><i class=\"swatch span-other\"></i>other</span>"
    "<span>&#9660; snapshot</span><span style=\"color:#b5179e\">&#8942; upgrade</span>"
    "<span style=\"color:#d7263d\">&#9679; anomaly</span></div>\n"
    "<div id=\"timelines\"></div>\n"
    "<h2>Summary</h2>\n"
    "<h3>Block time by run phase</h3>\n"
    "<div class=\"legend\" id=\"blocktime-legend\"></div>\n<div id=\"blocktime\"></div>\n"
    "<div id=\"block-explain\" class=\"explain\"></div>\n"
    "<h3>Deliveries per block</h3>\n<div id=\"blocks\"></div>\n"
    "<h3>Snapshot sizes over time (uncompressed)</h3>\n<div id=\"snapsizes\"></div>\n"
    "<h2>Vats</h2>\n<div id=\"vats\"></div>\n"
    "<h2>Anomalies</h2>\n<div id=\"anomaly-counts\"></div>\n<div id=\"anomalies\"></div>\n"
    "<script type=\"application/json\" id=\"slogpipe-data\">";

static const char html_tail[] =
    "</script>\n"
    "<script>\n"
    "(function () {\n"
    "'use strict';\n"
    "var NS = 'http://www.w3.org/2000/svg';\n"
    "var D = JSON.parse(document.getElementById('slogpipe-data').textContent);\n"
    "var PALETTE = ['#4c7fd1','#e39a3b','#3aa76d','#b5179e','#d7263d','#6c4fb3','#1b9aaa','#8c6d1f',"
    "'#5b6475','#e05a9d'];\n"
    "function svg(tag, attrs, parent, text) {\n"
    "  var e = document.createElementNS(NS, tag);\n"
    "  for (var k in attrs) e.setAttribute(k, attrs[k]);\n"
    "  if (text != null) e.textContent = text;\n"
    "  if (parent) parent.appendChild(e);\n"
    "  return e;\n"
    "}\n"
    "function h(tag, attrs, parent, text) {\n"
    "  var e = document.createElement(tag);\n"
    "  for (var k in attrs) e.setAttribute(k, attrs[k]);\n"
    "  if (text != null) e.textContent = text;\n"
    "  if (parent) parent.appendChild(e);\n"
    "  return e;\n"
    "}\n"
    "function tip(node, text) { svg('title', {}, node, text); }\n"
    "function iso(t) { return t == null ? '-' : new Date(t * 1000).toISOString().replace('.000Z', 'Z'); }\n"
    "function num(v) { return v == null ? '-' : String(v); }\n"
    "function mb(v) { return v == null ? '-' : (v / 1048576).toFixed(2) + ' MiB'; }\n"
    "function key(node, vat) { return node + '\\u0000' + vat; }\n"
    "function vnum(v) { return v ? parseInt(v.slice(1), 10) : -1; }\n"
    "function ticks(lo, hi, n, integer) {\n"
    "  var span = hi - lo; if (!(span > 0)) return [lo];\n"
    "  var step = Math.pow(10, Math.floor(Math.log10(span / n)));\n"
    "  var err = span / n / step;\n"
    "  if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;\n"
    "  if (integer && step < 1) step = 1;\n"
    "  var out = [];\n"
    "  for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);\n"
    "  return out;\n"
    "}\n"
    "function table(parent, cols, rows, rowClass) {\n"
    "  var t = h('table', {}, parent), tr = h('tr', {}, t);\n"
    "  cols.forEach(function (c) { h('th', {}, tr, c[1]); });\n"
    "  rows.forEach(function (r) {\n"
    "    var row = h('tr', rowClass ? {'class': rowClass(r)} : {}, t);\n"
    "    cols.forEach(function (c) {\n"
    "      var v = c[2] ? c[2](r[c[0]], r) : r[c[0]];\n"
    "      h('td', {'class': c[3] || (typeof r[c[0]] === 'number' ? 'num' : '')}, row, v == null ? '-' : String(v));\n"
    "    });\n"
    "  });\n"
    "  if (!rows.length) h('p', {'class': 'note'}, parent, '(none)');\n"
    "  return t;\n"
    "}\n"
    "\n"
    "/* ---- header, vat table ---- */\n"
    "var meta = D.meta || {};\n"
    "document.getElementById('meta').textContent = 'database ' + meta.db + (meta.node ? ', node ' + meta.node : '') +\n"
    "  ' \\u2014 generated ' + meta.generated + ' by slogpipe ' + meta.version;\n"
    "table(document.getElementById('vats'), [['node','node'],['vat_id','vat'],['name','name'],['status','status'],\n"
    "  ['manager','manager'],['incarnations','incarnations'],['spans','spans'],['deliveries','deliveries'],\n"
    "  ['last_snap_pos','last snapshot pos'],['last_snap_id','last snapshot id'],['last_snap_time','last snapshot time',iso]],\n"
    "  D.vats);\n"
    "\n"
    "/* ---- block time, stacked by run phase; slow blocks marked; a click opens the explanation ---- */\n"
    "(function () {\n"
    "  var bt = D.block_times || [], box = document.getElementById('blocktime');\n"
    "  if (!bt.length) { h('p', {'class': 'note'}, box, '(no block time budgets: the slog has no cosmic-swingset '\n"
    "    + 'block markers, or it was ingested with --no-analyze)'); return; }\n"
    "  var PH = ['leftover', 'forced', 'priority', 'timer', 'inbound', 'cleanup', 'none'];\n"
    "  var PC = {leftover: '#8c6bb1', forced: '#b5179e', priority: '#e39a3b', timer: '#3aa76d', inbound: '#4c7fd1',\n"
    "    cleanup: '#1b9aaa', none: '#8c96a8', other: '#d8dde6'};\n"
    "  var lg = document.getElementById('blocktime-legend');\n"
    "  PH.concat(['other']).forEach(function (p) { var sp = h('span', {}, lg); h('i', {'class': 'swatch', style: 'background:' + PC[p]}, sp);\n"
    "    sp.appendChild(document.createTextNode(p === 'other' ? 'outside runs (rest of end-block, commit, cosmos)' : p === 'none' ? 'run without phase' : p + ' runs')); });\n"
    "  h('span', {style: 'color:#d7263d'}, lg, '\\u25BC slow block (top 10 %)');\n"
    "  var runs = {}, top = {};\n"
    "  (D.runs || []).forEach(function (r) { var k = key(r.node, r.block_height); (runs[k] = runs[k] || []).push(r); });\n"
    "  (D.block_top || []).forEach(function (r) { var k = key(r.node, r.block_height); (top[k] = top[k] || []).push(r); });\n"
    "  var secs = bt.map(function (b) { return b.block_seconds; }).sort(function (a, b) { return a - b; });\n"
    "  var thr = secs[Math.max(0, Math.ceil(0.9 * secs.length) - 1)];\n"
    "  var W = 1200, H = 220, L = 60, B = 28, T = 18, max = 0;\n"
    "  bt.forEach(function (b) { if (b.block_seconds > max) max = b.block_seconds; });\n"
    "  if (!(max > 0)) max = 1;\n"
    "  var s = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, id: 'chart-blocktime'}, box);\n"
    "  function Y(v) { return (H - B - T) * v / max; }\n"
    "  ticks(0, max, 4).forEach(function (v) {\n"
    "    var y = H - B - Y(v);\n"
    "    svg('line', {x1: L, x2: W - 10, y1: y, y2: y, 'class': 'grid'}, s);\n"
    "    svg('text', {x: L - 6, y: y + 4, 'text-anchor': 'end'}, s, v + ' s');\n"
    "  });\n"
    "  var bw = (W - L - 10) / bt.length, every = Math.max(1, Math.ceil(bt.length / 20));\n"
    "  function href(b) { return '#block=' + b.block_height + '@' + encodeURIComponent(b.node); }\n"
    "  bt.forEach(function (b, i) {\n"
    "    var x = L + i * bw, y = H - B, slow = b.block_seconds >= thr && b.block_seconds > 0;\n"
    "    var a = svg('a', {href: href(b), 'class': 'bt-block' + (slow ? ' slow' : ''), 'data-node': b.node,\n"
    "      'data-height': b.block_height}, s);\n"
    "    var per = {};\n"
    "    (runs[key(b.node, b.block_height)] || []).forEach(function (r) {\n"
    "      var p = PH.indexOf(r.phase) >= 0 ? r.phase : 'none'; per[p] = (per[p] || 0) + (r.seconds || 0); });\n"
    "    var rest = b.block_seconds - (b.run_seconds || 0);\n"
    "    PH.concat(['other']).forEach(function (p) {\n"
    "      var v = p === 'other' ? rest : per[p]; if (!(v > 0)) return;\n"
    "      var hh = Y(v); y -= hh;\n"
    "      svg('rect', {x: x + bw * 0.1, y: y, width: Math.max(1, bw * 0.8), height: hh, fill: PC[p], 'class': 'bt-seg',\n"
    "        'data-phase': p}, a);\n"
    "    });\n"
    "    tip(a, (b.node ? b.node + ' ' : '') + 'block ' + b.block_height + ': ' + b.block_seconds.toFixed(3) + ' s, runs ' +\n"
    "      (b.run_seconds == null ? '-' : b.run_seconds.toFixed(3) + ' s') + ', commit ' +\n"
    "      (b.commit_seconds == null ? '-' : b.commit_seconds.toFixed(3) + ' s') + ' (click to explain)');\n"
    "    if (slow) svg('text', {x: x + bw / 2, y: Math.max(10, y - 3), 'text-anchor': 'middle', 'class': 'slow-mark'}, a, '\\u25BC');\n"
    "    if (i % every === 0) svg('text', {x: x + bw / 2, y: H - B + 14, 'text-anchor': 'middle'}, s, String(b.block_height));\n"
    "  });\n"
    "  svg('line', {x1: L, x2: W - 10, y1: H - B, y2: H - B, 'class': 'axis'}, s);\n"
    "  svg('text', {x: L + (W - L) / 2, y: H - 2, 'text-anchor': 'middle'}, s, 'block height');\n"
    "  function f3(v) { return v == null ? '-' : v.toFixed(3); }\n"
    "  function pc(a, b) { return a != null && b > 0 ? ' (' + (100 * a / b).toFixed(1) + ' %)' : ''; }\n"
    "  function explain(b) {\n"
    "    var ex = document.getElementById('block-explain');\n"
    "    ex.textContent = '';\n"
    "    ex.setAttribute('data-node', b.node); ex.setAttribute('data-height', b.block_height);\n"
    "    h('h3', {}, ex, 'Block ' + b.block_height + ' on ' + b.node + (b.bootstrap ? ' (bootstrap block)' : '') + ': ' +\n"
    "      f3(b.block_seconds) + ' s');\n"
    "    h('p', {}, ex, 'kernel runs ' + f3(b.run_seconds) + ' s' + pc(b.run_seconds, b.block_seconds) +\n"
    "      ', rest of end-block ' + f3(b.end_block_seconds == null ? null : b.end_block_seconds - (b.run_seconds || 0)) +\n"
    "      ' s, commit ' + f3(b.commit_seconds) + ' s' + pc(b.commit_seconds, b.block_seconds) + '; ' + b.deliveries +\n"
    "      ' deliveries, ' + b.computrons + ' computrons; bringOutYourDead ' + f3(b.boyd_seconds) + ' s; ' +\n"
    "      b.snapshot_saves + ' heap snapshot saves (' + f3(b.snapshot_seconds) + ' s); ' + b.replays +\n"
    "      ' replayed deliveries (' + f3(b.replay_seconds) + ' s)');\n"
    "    table(ex, [['run_num', 'run'], ['phase', 'phase'], ['trigger', 'trigger'], ['trigger_source', 'source'],\n"
    "      ['trigger_type', 'type'], ['seconds', 'seconds', f3], ['deliveries', 'deliveries'], ['computrons', 'computrons'],\n"
    "      ['beans_used', 'beans']], runs[key(b.node, b.block_height)] || []);\n"
    "    h('p', {}, ex, 'slowest deliveries:');\n"
    "    table(ex, [['vat_id', 'vat'], ['vat_name', 'name'], ['dispatch', 'dispatch'], ['method', 'method'],\n"
    "      ['seconds', 'seconds', f3], ['computrons', 'computrons'], ['line', 'line']], top[key(b.node, b.block_height)] || [])\n"
    "      .setAttribute('class', 'block-top');\n"
    "  }\n"
    "  function fromHash() {\n"
    "    var m = /^#block=(\\d+)(?:@(.*))?$/.exec(location.hash); if (!m) return;\n"
    "    var hgt = parseInt(m[1], 10), node = m[2] == null ? null : decodeURIComponent(m[2]);\n"
    "    for (var i = 0; i < bt.length; i++)\n"
    "      if (bt[i].block_height === hgt && (node == null || bt[i].node === node)) {\n"
    "        explain(bt[i]); return; }\n"
    "  }\n"
    "  window.addEventListener('hashchange', fromHash);\n"
    "  fromHash();\n"
    "})();\n"
    "\n"
    "/* ---- deliveries per block ---- */\n"
    "(function () {\n"
    "  var blocks = D.blocks, box = document.getElementById('blocks');\n"
    "  if (!blocks.length) { h('p', {'class': 'note'}, box, '(no blocks in the slog)'); return; }\n"
    "  var W = 1200, H = 180, L = 60, B = 28, T = 10, max = 1;\n"
    "  blocks.forEach(function (b) { if (b.deliveries > max) max = b.deliveries; });\n"
    "  var s = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, id: 'chart-blocks'}, box);\n"
    "  var bw = (W - L - 10) / blocks.length;\n"
    "  ticks(0, max, 4).forEach(function (v) {\n"
    "    var y = H - B - (H - B - T) * v / max;\n"
    "    svg('line', {x1: L, x2: W - 10, y1: y, y2: y, 'class': 'grid'}, s);\n"
    "    svg('text', {x: L - 6, y: y + 4, 'text-anchor': 'end'}, s, String(v));\n"
    "  });\n"
    "  var every = Math.max(1, Math.ceil(blocks.length / 20));\n"
    "  blocks.forEach(function (b, i) {\n"
    "    var bh = (H - B - T) * b.deliveries / max, x = L + i * bw;\n"
    "    var r = svg('rect', {x: x + bw * 0.1, y: H - B - bh, width: Math.max(1, bw * 0.8), height: bh, 'class': 'bar'}, s);\n"
    "    tip(r, (b.node ? b.node + ' ' : '') + 'block ' + b.block_height + ' (' + iso(b.block_time) + '): ' +\n"
    "      b.deliveries + ' deliveries, ' + b.cranks + ' cranks, ' + b.computrons + ' computrons, ' +\n"
    "      (b.duration == null ? '?' : b.duration.toFixed(3)) + ' s');\n"
    "    if (i % every === 0) svg('text', {x: x + bw / 2, y: H - B + 14, 'text-anchor': 'middle'}, s, String(b.block_height));\n"
    "  });\n"
    "  svg('line', {x1: L, x2: W - 10, y1: H - B, y2: H - B, 'class': 'axis'}, s);\n"
    "  svg('text', {x: L + (W - L) / 2, y: H - 2, 'text-anchor': 'middle'}, s, 'block height');\n"
    "})();\n"
    "\n"
    "/* ---- snapshot sizes over time ---- */\n"
    "(function () {\n"
    "  var pts = D.snapshots.filter(function (p) { return p.save_time != null && p.uncompressed_size != null; });\n"
    "  var box = document.getElementById('snapsizes');\n"
    "  if (!pts.length) { h('p', {'class': 'note'}, box, '(no snapshot sizes with times)'); return; }\n"
    "  var W = 1200, H = 220, L = 80, B = 28, T = 10;\n"
    "  var t0 = Infinity, t1 = -Infinity, y0 = Infinity, y1 = -Infinity;\n"
    "  pts.forEach(function (p) { t0 = Math.min(t0, p.save_time); t1 = Math.max(t1, p.save_time);\n"
    "    y0 = Math.min(y0, p.uncompressed_size); y1 = Math.max(y1, p.uncompressed_size); });\n"
    "  if (t1 <= t0) t1 = t0 + 1;\n"
    "  var pad = (y1 - y0) * 0.1 || y1 * 0.05 || 1; y0 = Math.max(0, y0 - pad); y1 += pad;\n"
    "  var s = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, id: 'chart-snapshots'}, box);\n"
    "  function X(t) { return L + (W - L - 10) * (t - t0) / (t1 - t0); }\n"
    "  function Y(v) { return H - B - (H - B - T) * (v - y0) / (y1 - y0); }\n"
    "  ticks(y0, y1, 4).forEach(function (v) {\n"
    "    svg('line', {x1: L, x2: W - 10, y1: Y(v), y2: Y(v), 'class': 'grid'}, s);\n"
    "    svg('text', {x: L - 6, y: Y(v) + 4, 'text-anchor': 'end'}, s, (v / 1048576).toFixed(2) + ' MiB');\n"
    "  });\n"
    "  svg('line', {x1: L, x2: W - 10, y1: H - B, y2: H - B, 'class': 'axis'}, s);\n"
    "  svg('text', {x: L, y: H - 6}, s, iso(t0));\n"
    "  svg('text', {x: W - 10, y: H - 6, 'text-anchor': 'end'}, s, iso(t1));\n"
    "  var byVat = {}, order = [];\n"
    "  pts.forEach(function (p) { var k = key(p.node, p.vat_id);\n"
    "    if (!byVat[k]) { byVat[k] = []; order.push(k); } byVat[k].push(p); });\n"
    "  var legend = h('div', {'class': 'legend'}, box);\n"
    "  order.forEach(function (k, i) {\n"
    "    var c = PALETTE[i % PALETTE.length], list = byVat[k].slice().sort(function (a, b) { return a.save_time - b.save_time; });\n"
    "    svg('polyline', {points: list.map(function (p) { return X(p.save_time) + ',' + Y(p.uncompressed_size); }).join(' '),\n"
    "      fill: 'none', stroke: c, 'stroke-width': 1.5}, s);\n"
    "    list.forEach(function (p) {\n"
    "      var dot = svg('circle', {cx: X(p.save_time), cy: Y(p.uncompressed_size), r: 3, fill: c}, s);\n"
    "      tip(dot, p.vat_id + ' snapshot @' + p.snap_pos + ' ' + p.id + ': ' + mb(p.uncompressed_size) +\n"
    "        ' (' + mb(p.compressed_size) + ' compressed), saved ' + iso(p.save_time) +\n"
    "        (p.save_seconds != null ? ' in ' + p.save_seconds.toFixed(3) + ' s' : ''));\n"
    "    });\n"
    "    var item = h('span', {}, legend);\n"
    "    h('i', {'class': 'swatch', style: 'background:' + c}, item);\n"
    "    item.appendChild(document.createTextNode(list[0].vat_id + (meta.nodes > 1 ? ' (' + list[0].node + ')' : '')));\n"
    "  });\n"
    "})();\n"
    "\n"
    "/* ---- per-vat timelines ---- */\n"
    "var vats = [], byVat = {};\n"
    "function vatOf(node, vat) {\n"
    "  var k = key(node, vat);\n"
    "  if (!byVat[k]) { byVat[k] = {node: node, vat: vat, spans: [], snaps: [], anoms: [], info: null}; vats.push(byVat[k]); }\n"
    "  return byVat[k];\n"
    "}\n"
    "D.vats.forEach(function (v) { vatOf(v.node, v.vat_id).info = v; });\n"
    "D.schedule.forEach(function (r) { vatOf(r.node, r.vat_id).sched = r; });\n"
    "D.spans.forEach(function (s) { vatOf(s.node, s.vat_id).spans.push(s); });\n"
    "D.snapshots.forEach(function (p) { vatOf(p.node, p.vat_id).snaps.push(p); });\n"
    "D.anomalies.forEach(function (a) { if (a.vat_id) vatOf(a.node, a.vat_id).anoms.push(a); });\n"
    "vats.sort(function (a, b) { return a.node < b.node ? -1 : a.node > b.node ? 1 : vnum(a.vat) - vnum(b.vat); });\n"
    "var tmin = Infinity, tmax = -Infinity;\n"
    "D.spans.forEach(function (s) {\n"
    "  s.ta = s.t0; s.tb = s.tsave != null ? Math.max(s.tsave, s.t1 == null ? s.tsave : s.t1) : s.t1;\n"
    "  if (s.ta == null && s.tsave != null) s.ta = s.tsave;\n"
    "  if (s.ta != null) { tmin = Math.min(tmin, s.ta); tmax = Math.max(tmax, s.tb); }\n"
    "});\n"
    "/* spans without deliveries (a lone load-snapshot) start where the previous span ended;\n"
    "   the current span runs to the end of the data */\n"
    "vats.forEach(function (v) {\n"
    "  var prev = null;\n"
    "  v.spans.forEach(function (s) {\n"
    "    if (s.ta == null && prev && prev.tb != null) { s.ta = prev.tb; s.tb = s.tb == null ? s.ta : s.tb; }\n"
    "    if (s.cur && s.ta != null && tmax > s.tb) s.tb = tmax;\n"
    "    prev = s;\n"
    "  });\n"
    "});\n"
    "var haveTime = tmin < tmax;\n"
    "function spanClass(s) {\n"
    "  var c = s.cur ? 'span-current' : s.last === 'save-snapshot' ? 'span-save' :\n"
    "    s.last === 'shutdown-worker' ? 'span-shutdown' : 'span-other';\n"
    "  return 'span ' + c + (s.hash_ok === 0 || s.bad ? ' span-bad' : '');\n"
    "}\n"
    "function spanAt(v, pos) {\n"
    "  for (var i = 0; i < v.spans.length; i++) { var s = v.spans[i]; if (pos >= s.start && pos < s['end']) return s; }\n"
    "  return null;\n"
    "}\n"
    "function drawVat(box, v, mode) {\n"
    "  var info = v.info || {};\n"
    "  var sec = h('div', {'class': 'vat', id: 'vat-' + v.node + '-' + v.vat}, box);\n"
    "  h('h3', {}, sec, v.vat + (info.name ? ' \\u2014 ' + info.name : '') + (meta.nodes > 1 ? ' (node ' + v.node + ')' : ''));\n"
    "  h('div', {'class': 'note'}, sec, [info.status || '?', info.manager || '?', num(info.incarnations) + ' incarnation(s)',\n"
    "    v.spans.length + ' span(s)', num(info.deliveries) + ' deliveries', v.snaps.length + ' snapshot(s)',\n"
    "    v.anoms.length + ' anomal' + (v.anoms.length === 1 ? 'y' : 'ies')].join(' \\u00b7 '));\n"
    "  if (v.sched && v.sched.overdue != null) {\n"
    "    var sc = h('div', {'class': 'note'}, sec, 'current span ' + v.sched.span_len + ' item(s); snapshot due at ' +\n"
    "      v.sched.threshold + ' items (snapshot' + (v.sched.threshold_kind === 'initial' ? 'Initial' : 'Interval') + ')' +\n"
    "      (v.sched.overdue ? ' \\u2014 OVERDUE' : ''));\n"
    "    if (v.sched.overdue) sc.className = 'note overdue';\n"
    "  }\n"
    "  if (!v.spans.length) { h('div', {'class': 'note'}, sec, 'no transcript spans recorded for this vat'); return; }\n"
    "  var incs = [];\n"
    "  v.spans.forEach(function (s) { var i = s.inc == null ? 0 : s.inc; if (incs.indexOf(i) < 0) incs.push(i); });\n"
    "  incs.sort(function (a, b) { return a - b; });\n"
    "  var W = 1200, L = 110, R = 12, LH = 22, G = 6, T = 8, B = 26;\n"
    "  var H = T + incs.length * (LH + G) + B;\n"
    "  var lo, hi, X;\n"
    "  if (mode === 'time') { lo = tmin; hi = tmax; }\n"
    "  else { lo = 0; hi = 1; v.spans.forEach(function (s) { hi = Math.max(hi, s['end']); }); }\n"
    "  X = function (x) { return L + (W - L - R) * (x - lo) / (hi - lo); };\n"
    "  var s = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'class': 'timeline'}, sec);\n"
    "  var laneY = {};\n"
    "  incs.forEach(function (inc, i) {\n"
    "    var y = T + i * (LH + G); laneY[inc] = y;\n"
    "    var g = svg('g', {'class': 'lane', 'data-node': v.node, 'data-vat': v.vat, 'data-inc': inc}, s);\n"
    "    svg('rect', {x: L, y: y, width: W - L - R, height: LH, 'class': 'lane-bg'}, g);\n"
    "    svg('text', {x: L - 8, y: y + LH / 2 + 4, 'text-anchor': 'end'}, g, 'incarnation ' + inc);\n"
    "  });\n"
    "  var axisY = T + incs.length * (LH + G);\n"
    "  svg('line', {x1: L, x2: W - R, y1: axisY, y2: axisY, 'class': 'axis'}, s);\n"
    "  var tk = ticks(lo, hi, 8, mode !== 'time');\n"
    "  tk.forEach(function (t, i) {\n"
    "    svg('line', {x1: X(t), x2: X(t), y1: axisY, y2: axisY + 4, 'class': 'axis'}, s);\n"
    "    var label = mode === 'time' ? new Date(t * 1000).toISOString().slice(11, 19) : String(Math.round(t));\n"
    "    if (mode !== 'time' || i % 2 === 0) svg('text', {x: X(t), y: axisY + 16, 'text-anchor': 'middle'}, s, label);\n"
    "  });\n"
    "  svg('text', {x: L - 8, y: axisY + 16, 'text-anchor': 'end'}, s, mode === 'time' ? 'UTC' : 'position');\n"
    "  var skipped = 0, spanLevel = {};\n"
    "  v.anoms.forEach(function (a) { if (a.position != null) spanLevel[a.position] = (spanLevel[a.position] || 0) + 1; });\n"
    "  v.spans.forEach(function (sp) {\n"
    "    var a, b;\n"
    "    if (mode === 'time') { if (sp.ta == null) { skipped++; return; } a = sp.ta; b = Math.max(sp.tb, sp.ta); }\n"
    "    else { a = sp.start; b = sp['end']; }\n"
    "    var y = laneY[sp.inc == null ? 0 : sp.inc];\n"
    "    var w = Math.max(1.5, X(b) - X(a));\n"
    "    if (spanLevel[sp.start]) sp.bad = true;\n"
    "    var r = svg('rect', {x: X(a), y: y + 2, width: w, height: LH - 4, 'class': spanClass(sp),\n"
    "      'data-start': sp.start, 'data-end': sp['end']}, s);\n"
    "    tip(r, v.vat + ' incarnation ' + sp.inc + ' span [' + sp.start + ',' + (sp.open ? '\\u2026' : sp['end']) + '): ' +\n"
    "      (sp['end'] - sp.start) + ' items' + (sp.items != null && sp.items !== sp['end'] - sp.start ? ' (' + sp.items + ' stored)' : '') +\n"
    "      ', ' + num(sp.deliveries) + ' deliveries; first ' + num(sp.first) + ', last ' + num(sp.last) +\n"
    "      (sp.cur ? '; current' : '') + (sp.hash_ok === 1 ? '; hash ok' : sp.hash_ok === 0 ? '; HASH MISMATCH' : '') +\n"
    "      (sp.ta != null ? '; ' + iso(sp.ta) + ' \\u2192 ' + iso(sp.tb) : ''));\n"
    "    if (sp.first === 'initialize-worker' && sp.start > 0) {\n"
    "      var ux = X(a);\n"
    "      var ln = svg('line', {x1: ux, x2: ux, y1: T - 4, y2: axisY, 'class': 'upgrade'}, s);\n"
    "      tip(ln, v.vat + ' upgrade to incarnation ' + sp.inc + ' at position ' + sp.start +\n"
    "        (sp.ta != null ? ', ' + iso(sp.ta) : ''));\n"
    "    }\n"
    "  });\n"
    "  v.snaps.forEach(function (p) {\n"
    "    var x, sp = spanAt(v, p.snap_pos);\n"
    "    if (mode === 'time') { if (p.save_time == null) return; x = X(p.save_time); } else x = X(p.snap_pos + 1);\n"
    "    var y = laneY[sp && sp.inc != null ? sp.inc : incs[incs.length - 1]];\n"
    "    if (y == null) return;\n"
    "    var m = svg('path', {d: 'M' + (x - 4) + ',' + (y - 3) + 'h8l-4,6z', 'class': 'snap'}, s);\n"
    "    tip(m, v.vat + ' snapshot at position ' + p.snap_pos + ' ' + num(p.id) + ', ' + mb(p.uncompressed_size) +\n"
    "      (p.in_use ? ' (in use)' : '') + (p.save_time != null ? ', saved ' + iso(p.save_time) : ''));\n"
    "  });\n"
    "  v.anoms.forEach(function (a) {\n"
    "    var pos = a.position != null && a.position >= 0 ? a.position : null;\n"
    "    var sp = pos != null ? spanAt(v, pos) : null;\n"
    "    if (!sp && pos != null && v.spans.length) sp = v.spans[v.spans.length - 1];\n"
    "    var inc = a.incarnation != null && laneY[a.incarnation] != null ? a.incarnation : sp && sp.inc != null ? sp.inc : incs[0];\n"
    "    var x;\n"
    "    if (mode === 'time') { if (!sp || sp.ta == null) return; x = X(sp.ta); }\n"
    "    else if (pos != null) x = X(pos + 0.5); else x = L + 6;\n"
    "    var c = svg('circle', {cx: x, cy: laneY[inc] + LH / 2, r: 5, 'class': 'anom sev-' + a.severity}, s);\n"
    "    tip(c, a.kind + ' (' + a.severity + ')' + (pos != null ? ' at position ' + pos : '') +\n"
    "      (a.line != null ? ', slog line ' + a.line : '') + ': ' + a.detail);\n"
    "  });\n"
    "  if (skipped) h('div', {'class': 'note'}, sec, skipped + ' span(s) without slog times are not shown on the time axis');\n"
    "}\n"
    "function render(mode) {\n"
    "  var box = document.getElementById('timelines');\n"
    "  while (box.firstChild) box.removeChild(box.firstChild);\n"
    "  vats.forEach(function (v) { drawVat(box, v, mode); });\n"
    "  if (!vats.length) h('p', {'class': 'note'}, box, '(no vats in the database)');\n"
    "  document.getElementById('by-pos').className = mode === 'time' ? '' : 'on';\n"
    "  document.getElementById('by-time').className = mode === 'time' ? 'on' : '';\n"
    "  document.body.setAttribute('data-mode', mode);\n"
    "}\n"
    "document.getElementById('by-pos').addEventListener('click', function () { render('pos'); });\n"
    "/* #time in the address starts on the time axis */\n"
    "var bt = document.getElementById('by-time');\n"
    "if (haveTime) bt.addEventListener('click', function () { render('time'); });\n"
    "else { bt.disabled = true; bt.title = 'the slog gives no delivery times'; }\n"
    "render(location.hash === '#time' && haveTime ? 'time' : 'pos');\n"
    "\n"
    "/* ---- anomalies ---- */\n"
    "table(document.getElementById('anomaly-counts'), [['node','node'],['kind','kind'],['vat_id','vat'],\n"
    "  ['severity','severity'],['count','count']], D.anomaly_counts);\n"
    "table(document.getElementById('anomalies'), [['node','node'],['vat_id','vat'],['kind','kind'],\n"
    "  ['severity','severity'],['incarnation','inc'],['position','position'],['source','source'],['line','line'],\n"
    "  ['detail','detail',null,'detail']], D.anomalies, function (a) { return 'sev-' + a.severity; });\n"
    "if (D.anomalies_truncated) h('p', {'class': 'note'}, document.getElementById('anomalies'),\n"
    "  'only the first ' + D.anomalies.length + ' anomalies are embedded; use slogpipe query anomalies for all');\n"
    "document.body.setAttribute('data-lanes', String(document.querySelectorAll('g.lane').length));\n"
    "document.body.setAttribute('data-ok', '1');\n"
    "})();\n"
    "</script>\n"
    "</body>\n</html>\n";

/* Write the rows of st as a JSON array of objects (keys = column names).
 * Returns the number of rows written (up to max), or -1 on an SQLite error
 * (message printed). *more is set when rows beyond max exist. */
static long write_rows(FILE *f, sqlite3 *db, sqlite3_stmt *st, long max, int *more)
{
    int ncol = sqlite3_column_count(st), rc;
    long n = 0;

    *more = 0;
    fputc('[', f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == max) {
            *more = 1;
            break;
        }
        fputs(n ? ",\n{" : "\n{", f);
        for (int i = 0; i < ncol; i++) {
            const char *name = sqlite3_column_name(st, i);
            if (i) fputc(',', f);
            sp_ux_json_str(f, name, strlen(name), 1);
            fputc(':', f);
            sp_ux_json_col(f, st, i, 1);
        }
        fputc('}', f);
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fprintf(stderr, "slogpipe report: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    fputs("]", f);
    return n;
}

static int count_nodes(sqlite3 *db, const char *node, long *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sp_ux_prepare("report", db, "nodes",
                           "SELECT COUNT(DISTINCT node) FROM vats WHERE (?1 IS NULL OR node = ?1)", &st);

    if (rc) return rc;
    sp_ux_bind_text(st, 1, node);
    *n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return 0;
}

/* Write the whole page to f. 0 or a sysexits code (message printed). */
static int write_report(FILE *f, sqlite3 *db, const char *dbpath, const char *node)
{
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    long nodes = 0;
    int more_anoms = 0, rc;

    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if ((rc = count_nodes(db, node, &nodes)) != 0) return rc;

    fputs(html_head, f);
    fputs("{\"meta\":{\"db\":", f);
    sp_ux_json_str(f, dbpath, strlen(dbpath), 1);
    fputs(",\"node\":", f);
    if (node)
        sp_ux_json_str(f, node, strlen(node), 1);
    else
        fputs("null", f);
    fprintf(f, ",\"nodes\":%ld,\"generated\":\"%s\",\"version\":\"%s\"", nodes, when, SP_VERSION);
    for (const struct dataset *d = datasets; d->key; d++) {
        sqlite3_stmt *st = NULL;
        int more = 0;
        long n;
        if (d->optional && sqlite3_prepare_v2(db, d->sql, -1, &st, NULL) != SQLITE_OK) {
            sqlite3_finalize(st); /* a database from before these tables: nothing to draw */
            fprintf(f, "%s,\n\"%s\":[]", d == datasets ? "}" : "", d->key);
            continue;
        }
        if (!d->optional && (rc = sp_ux_prepare("report", db, d->key, d->sql, &st)) != 0) return rc;
        sp_ux_bind_text(st, 1, node);
        fprintf(f, "%s,\n\"%s\":", d == datasets ? "}" : "", d->key);
        n = write_rows(f, db, st, strcmp(d->key, "anomalies") == 0 ? MAX_ANOMALIES : -1, &more);
        sqlite3_finalize(st);
        if (n < 0) return EX_SOFTWARE;
        if (more) more_anoms = 1;
    }
    /* The flag goes last so the script can read it from the same object. */
    fprintf(f, ",\n\"anomalies_truncated\":%s}", more_anoms ? "true" : "false");
    fputs(html_tail, f);
    return 0;
}

int sp_cmd_report(int argc, char **argv)
{
    enum { O_DB = 256, O_NODE };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"node", required_argument, NULL, O_NODE},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dbpath = NULL, *node = NULL, *out = NULL;
    char *tmp = NULL;
    sqlite3 *db = NULL;
    FILE *f = NULL;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case O_DB: dbpath = optarg; break;
        case O_NODE: node = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage_report, stdout); return 0;
        default: fputs(usage_report, stderr); return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "slogpipe report: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    if (!dbpath || !*dbpath || !out || !*out) {
        fprintf(stderr, "slogpipe report: --db and -o are required\n%s", usage_report);
        return EX_USAGE;
    }
    {
        /* what the report reads (copied from a PostgreSQL store) */
        static const char *const rels[] = {"anomalies", "deliveries", "snapshots", "spans", "transcript_items",
                                           "transcript_spans", "vats", "v_anomaly_counts", "v_blocks", "blocks", "runs",
                                           "v_schedule", "v_snapshots", "v_vats", NULL};
        if ((rc = sp_ux_open_store("report", dbpath, rels, node, &db)) != 0) return rc;
    }

    if (strcmp(out, "-") == 0) {
        f = stdout;
    } else {
        size_t n = strlen(out) + 8;
        tmp = sp_xmalloc(n);
        snprintf(tmp, n, "%s.tmp", out);
        if (!(f = fopen(tmp, "w"))) {
            fprintf(stderr, "slogpipe report: %s: %s\n", tmp, strerror(errno));
            rc = EX_CANTCREAT;
            goto done;
        }
    }
    {
        /* a PostgreSQL URL may hold a password: the page names the server instead */
        char shown[256];
        if (sp_store_is_pg(dbpath)) sp_pg_describe(dbpath, shown, sizeof(shown));
        else snprintf(shown, sizeof(shown), "%s", dbpath);
        rc = write_report(f, db, shown, node);
    }
    if (f != stdout) {
        int bad = ferror(f) || fflush(f) != 0;
        if (fclose(f) != 0) bad = 1;
        f = NULL;
        if (!rc && bad) {
            fprintf(stderr, "slogpipe report: %s: write error: %s\n", tmp, strerror(errno));
            rc = EX_IOERR;
        }
        if (!rc && rename(tmp, out) != 0) {
            fprintf(stderr, "slogpipe report: %s: %s\n", out, strerror(errno));
            rc = EX_CANTCREAT;
        }
        if (rc) unlink(tmp);
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("slogpipe report: stdout");
        rc = rc ? rc : EX_IOERR;
    }
done:
    free(tmp);
    sqlite3_close(db);
    return rc;
}
