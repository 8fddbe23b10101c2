-- 010-superseded.sql - slogpipe SQLite schema v10: the discarded execution of a block re-executed after a crash is marked, not counted.
--
-- Why (issue #22, agoric-sdk #8264): a node that crashes after executing a
-- block but before committing it restarts and executes the block again,
-- with the same crankNums and deliveryNums. The slog holds both executions;
-- only the second one happened as far as the chain state is concerned.
-- Both stay in the tables (they are what the node did), and the analysis
-- marks the rows of the discarded one superseded = 1: every slog line and
-- delivery from the start of the uncommitted block (or, without block
-- markers, from the first crank a later kernel start re-executed) up to the
-- kernel restart. Set by the timeline stage when it reads the restart (a
-- supersede record, README "Anomalies as they happen"; --stream-only and
-- followers included) and by the analysis (every `slogpipe ingest` unless
-- --no-analyze or --stream-only, and `slogpipe timeline`).
--
-- Count the node's live work with `replay = 0 AND superseded = 0`, e.g.
--   SELECT dispatch, count(*) FROM deliveries
--    WHERE replay = 0 AND superseded = 0 GROUP BY dispatch;
-- snapshots.loads counts the heap-snapshot-load lines of the kept execution.
ALTER TABLE slog_events ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0; -- 1: line of a discarded (re-executed) execution
ALTER TABLE deliveries ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;  -- 1: delivery of a discarded (re-executed) execution
-- the few marked rows, to clear them before each analysis without reading the tables
CREATE INDEX IF NOT EXISTS slog_events_superseded ON slog_events (node) WHERE superseded = 1;
CREATE INDEX IF NOT EXISTS deliveries_superseded ON deliveries (node) WHERE superseded = 1;

-- The views of 004 / 009 that count deliveries count the kept execution only.
DROP VIEW IF EXISTS v_vats;
DROP VIEW IF EXISTS v_blocks;
DROP VIEW IF EXISTS v_schedule;
CREATE VIEW v_vats AS
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
             WHERE d.node = v.node AND d.vat_id = v.vat_id AND d.replay = 0 AND d.superseded = 0)) AS deliveries,
  ls.snap_pos AS last_snap_pos,
  COALESCE(ls.snapshot_id, ls.store_hash) AS last_snap_id,
  ls.save_time AS last_snap_time
FROM vats v
LEFT JOIN snapshots ls
  ON ls.node = v.node AND ls.vat_id = v.vat_id
 AND ls.snap_pos = (SELECT MAX(s2.snap_pos) FROM snapshots s2
                     WHERE s2.node = v.node AND s2.vat_id = v.vat_id);

CREATE VIEW v_blocks AS
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
            WHERE replay = 0 AND superseded = 0 AND block_height IS NOT NULL
            GROUP BY node, block_height) d
  ON d.node = b.node AND d.block_height = b.block_height;

CREATE VIEW v_schedule AS
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
         CASE WHEN EXISTS (SELECT 1 FROM analysis_runs a WHERE a.node = n.node)
              THEN (SELECT a.snapshot_initial FROM analysis_runs a WHERE a.node = n.node)
              ELSE (SELECT CAST(k.value AS INTEGER) FROM store_kv k WHERE k.node = n.node
                      AND k.key IN ('kernel.snapshotInitial', 'kv.kernel.snapshotInitial') LIMIT 1)
         END AS snapshot_initial,
         CASE WHEN EXISTS (SELECT 1 FROM analysis_runs a WHERE a.node = n.node)
              THEN (SELECT a.snapshot_interval FROM analysis_runs a WHERE a.node = n.node)
              ELSE (SELECT CAST(k.value AS INTEGER) FROM store_kv k WHERE k.node = n.node
                      AND k.key IN ('kernel.snapshotInterval', 'kv.kernel.snapshotInterval') LIMIT 1)
         END AS snapshot_interval,
         (SELECT MAX(b.block_height) FROM blocks b WHERE b.node = n.node AND b.committed = 1) AS last_block
    FROM (SELECT DISTINCT node FROM cur) n
),
cur2 AS (
  SELECT c.*,
         CASE WHEN c.end_pos >= 0 THEN c.end_pos
              ELSE COALESCE(v.end_pos,
                            (SELECT MAX(d.delivery_num) + 1 FROM deliveries d
                              WHERE d.node = c.node AND d.vat_id = c.vat_id AND d.replay = 0 AND d.superseded = 0
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
  CASE WHEN manager IS NOT 'xsnap' OR use_transcript = 0 OR end_at IS NULL
            OR CASE WHEN first_type = 'initialize-worker' THEN snapshot_initial ELSE snapshot_interval END IS NULL
       THEN NULL
       WHEN end_at - start_pos >= CASE WHEN first_type = 'initialize-worker' THEN snapshot_initial
                                       ELSE snapshot_interval END THEN 1
       ELSE 0 END AS overdue,
  last_block
FROM cur2;
