-- 004-views.sql - slogpipe SQLite schema v4: read-only views behind `slogpipe query` (also for dashboards).
--
-- Every view has a `node` and (except v_blocks) a `vat_id` column, so the
-- usual filter is `WHERE node = ? AND vat_id = ?`. Views read the 001/002
-- tables only and prefer the analysed columns (002, written by sp_analyze)
-- when present, falling back to the raw evidence when the analysis has not
-- run (`slogpipe ingest --no-analyze`). Rows come unordered: order them in
-- your SELECT (vats sort numerically with CAST(substr(vat_id, 2) AS INTEGER)).
-- Times are the slog's wall clock (seconds since the epoch, REAL).

-- One row per vat and node: identity, lifecycle, size of its history and
-- its newest heap snapshot. manager = worker type (xsnap / local / ...);
-- incarnations and spans count the analysed spans (else the swing-store's);
-- deliveries = committed live deliveries as the analysis counted them
-- (vats.live_deliveries: replays, crash re-executions and aborted fatal
-- deliveries excluded), else the non-replay slog `deliver` lines.
CREATE VIEW IF NOT EXISTS v_vats AS
SELECT
  v.node,
  v.vat_id,
  COALESCE(v.name,
           (SELECT json_extract(k.value, '$.name') FROM store_kv k
             WHERE k.node = v.node AND k.key IN (v.vat_id || '.options', 'kv.' || v.vat_id || '.options')
               AND json_valid(k.value) LIMIT 1)) AS name,
  v.status,
  COALESCE(v.worker_type, v.manager_type,
           (SELECT json_extract(k.value, '$.workerOptions.type') FROM store_kv k
             WHERE k.node = v.node AND k.key IN (v.vat_id || '.options', 'kv.' || v.vat_id || '.options')
               AND json_valid(k.value) LIMIT 1)) AS manager,
  COALESCE(v.incarnations,
           NULLIF((SELECT COUNT(DISTINCT s.incarnation) FROM spans s
                    WHERE s.node = v.node AND s.vat_id = v.vat_id), 0),
           (SELECT COUNT(DISTINCT t.incarnation) FROM transcript_spans t
             WHERE t.node = v.node AND t.vat_id = v.vat_id)) AS incarnations,
  COALESCE(NULLIF((SELECT COUNT(*) FROM spans s WHERE s.node = v.node AND s.vat_id = v.vat_id), 0),
           (SELECT COUNT(*) FROM transcript_spans t WHERE t.node = v.node AND t.vat_id = v.vat_id)) AS spans,
  COALESCE(v.live_deliveries,
           (SELECT COUNT(*) FROM deliveries d
             WHERE d.node = v.node AND d.vat_id = v.vat_id AND d.replay = 0)) AS deliveries,
  ls.snap_pos AS last_snap_pos,
  COALESCE(ls.snapshot_id, ls.store_hash) AS last_snap_id,
  ls.save_time AS last_snap_time
FROM vats v
LEFT JOIN snapshots ls
  ON ls.node = v.node AND ls.vat_id = v.vat_id
 AND ls.snap_pos = (SELECT MAX(s2.snap_pos) FROM snapshots s2
                     WHERE s2.node = v.node AND s2.vat_id = v.vat_id);

-- One row per vat with a current span: how far it is into its snapshot
-- interval. span_len counts items including the leading
-- initialize-worker/load-snapshot (agoric-formats.md §3.2); threshold is
-- snapshotInitial when the span starts with initialize-worker, else
-- snapshotInterval (from analysis_runs, else store_kv, else 3 / 200).
-- overdue = span_len >= threshold at the last committed block (NULL for
-- vats that never snapshot: non-xsnap workers, comms).
CREATE VIEW IF NOT EXISTS v_schedule AS
WITH cur AS (
  SELECT node, vat_id, incarnation, start_pos, end_pos, first_type, deliveries
    FROM spans WHERE is_current = 1
  UNION ALL
  SELECT t.node, t.vat_id, t.incarnation, t.start_pos, t.end_pos,
         (SELECT i.d_type FROM transcript_items i
           WHERE i.node = t.node AND i.vat_id = t.vat_id AND i.position = t.start_pos),
         (SELECT COUNT(*) FROM transcript_items i
           WHERE i.node = t.node AND i.vat_id = t.vat_id
             AND i.position >= t.start_pos AND i.position < t.end_pos
             AND i.d_type NOT IN ('initialize-worker', 'load-snapshot', 'save-snapshot', 'shutdown-worker'))
    FROM transcript_spans t
   WHERE t.is_current = 1
     AND NOT EXISTS (SELECT 1 FROM spans s WHERE s.node = t.node AND s.vat_id = t.vat_id)
),
cfg AS (
  SELECT n.node,
         COALESCE((SELECT a.snapshot_initial FROM analysis_runs a WHERE a.node = n.node),
                  (SELECT CAST(k.value AS INTEGER) FROM store_kv k WHERE k.node = n.node
                     AND k.key IN ('kernel.snapshotInitial', 'kv.kernel.snapshotInitial') LIMIT 1),
                  3) AS snapshot_initial,
         COALESCE((SELECT a.snapshot_interval FROM analysis_runs a WHERE a.node = n.node),
                  (SELECT CAST(k.value AS INTEGER) FROM store_kv k WHERE k.node = n.node
                     AND k.key IN ('kernel.snapshotInterval', 'kv.kernel.snapshotInterval') LIMIT 1),
                  200) AS snapshot_interval,
         (SELECT MAX(b.block_height) FROM blocks b WHERE b.node = n.node AND b.committed = 1) AS last_block
    FROM (SELECT DISTINCT node FROM cur) n
),
cur2 AS (
  SELECT c.*,
         CASE WHEN c.end_pos >= 0 THEN c.end_pos
              ELSE COALESCE(v.end_pos,
                            (SELECT MAX(d.delivery_num) + 1 FROM deliveries d
                              WHERE d.node = c.node AND d.vat_id = c.vat_id AND d.replay = 0
                                AND (f.last_block IS NULL OR d.block_height <= f.last_block)))
         END AS end_at,
         COALESCE(v.worker_type, v.manager_type,
                  (SELECT json_extract(k.value, '$.workerOptions.type') FROM store_kv k
                    WHERE k.node = c.node AND k.key IN (c.vat_id || '.options', 'kv.' || c.vat_id || '.options')
                      AND json_valid(k.value) LIMIT 1)) AS manager,
         v.use_transcript,
         f.snapshot_initial, f.snapshot_interval, f.last_block
    FROM cur c
    JOIN cfg f ON f.node = c.node
    LEFT JOIN vats v ON v.node = c.node AND v.vat_id = c.vat_id
)
SELECT
  node,
  vat_id,
  manager,
  incarnation,
  start_pos AS span_start,
  end_at AS span_end,
  end_at - start_pos AS span_len,
  deliveries,
  first_type,
  CASE WHEN first_type = 'initialize-worker' THEN 'initial' ELSE 'interval' END AS threshold_kind,
  CASE WHEN first_type = 'initialize-worker' THEN snapshot_initial ELSE snapshot_interval END AS threshold,
  CASE WHEN manager IS NOT 'xsnap' OR use_transcript = 0 OR end_at IS NULL THEN NULL
       WHEN end_at - start_pos >= CASE WHEN first_type = 'initialize-worker' THEN snapshot_initial
                                       ELSE snapshot_interval END THEN 1
       ELSE 0 END AS overdue,
  last_block
FROM cur2;

-- One row per heap snapshot: sizes and how long the save took. The
-- *_delta columns are the change from the vat's previous snapshot.
CREATE VIEW IF NOT EXISTS v_snapshots AS
SELECT
  s.node,
  s.vat_id,
  s.snap_pos,
  COALESCE(s.snapshot_id, s.store_hash, ss.hash) AS snapshot_id,
  s.save_time,
  COALESCE(s.uncompressed_size, ss.uncompressed_size) AS uncompressed_size,
  COALESCE(s.compressed_size, ss.compressed_size) AS compressed_size,
  COALESCE(s.uncompressed_size, ss.uncompressed_size)
    - LAG(COALESCE(s.uncompressed_size, ss.uncompressed_size))
        OVER (PARTITION BY s.node, s.vat_id ORDER BY s.snap_pos) AS uncompressed_delta,
  s.save_seconds,
  s.compress_seconds,
  COALESCE(s.in_use, ss.in_use) AS in_use,
  s.loads
FROM snapshots s
LEFT JOIN store_snapshots ss
  ON ss.node = s.node AND ss.vat_id = s.vat_id AND ss.snap_pos = s.snap_pos;

-- One row per block: work done and wall-clock duration. cranks = distinct
-- crankNums of the slog lines inside the block (counted on crank-start
-- lines, which every crank has, so the (node, type) index serves it); deliveries/computrons from
-- live (non-replay) deliveries; duration = commit-block-finish time minus
-- begin-block time.
CREATE VIEW IF NOT EXISTS v_blocks AS
SELECT
  b.node,
  b.block_height,
  b.block_time,
  b.committed,
  COALESCE(c.cranks, 0) AS cranks,
  COALESCE(d.deliveries, 0) AS deliveries,
  COALESCE(d.computrons, 0) AS computrons,
  b.commit_time - b.begin_time AS duration,
  b.begin_time
FROM blocks b
LEFT JOIN (SELECT node, block_height, COUNT(DISTINCT crank_num) AS cranks
             FROM slog_events
            WHERE type = 'crank-start' AND crank_num IS NOT NULL AND block_height IS NOT NULL
            GROUP BY node, block_height) c
  ON c.node = b.node AND c.block_height = b.block_height
LEFT JOIN (SELECT node, block_height, COUNT(*) AS deliveries, SUM(computrons) AS computrons
             FROM deliveries
            WHERE replay = 0 AND block_height IS NOT NULL
            GROUP BY node, block_height) d
  ON d.node = b.node AND d.block_height = b.block_height;

-- Anomaly counts by node, kind, vat and severity (vat_id NULL for
-- node-level anomalies such as crankhash divergence).
CREATE VIEW IF NOT EXISTS v_anomaly_counts AS
SELECT node, kind, vat_id, severity, COUNT(*) AS count
  FROM anomalies
 GROUP BY node, kind, vat_id, severity;
