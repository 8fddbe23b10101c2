-- 009-schedule-unknown.sql - slogpipe SQLite schema v9: a snapshot schedule nobody stated is unknown, not 3 / 200.
--
-- Why (issue #22): an archive of transcript files alone carries no
-- kernel.snapshotInitial / snapshotInterval; judging it against the mainnet
-- defaults raised warnings on a clean run. The analysis now judges the
-- schedule only against a configuration known for the node (kvStore of any
-- of its inputs, or --snapshot-initial / --snapshot-interval), else one
-- inferred from the node's own closed spans where they agree; otherwise the
-- schedule is unknown: analysis_runs holds NULL thresholds with the source
-- 'unknown', and v_schedule a NULL threshold and overdue.
--
-- analysis_runs is rebuilt by every analysis, so its rows are carried over
-- as they are. Sources: store_kv / option / inferred / unknown.
CREATE TABLE analysis_runs_new (
  node                     TEXT PRIMARY KEY,
  snapshot_initial         INTEGER,        -- NULL: unknown (not judged)
  snapshot_initial_source  TEXT NOT NULL,  -- store_kv / option / inferred (the node's closed spans agree) / unknown
  snapshot_interval        INTEGER,        -- NULL: unknown (not judged)
  snapshot_interval_source TEXT NOT NULL,
  vats                     INTEGER NOT NULL,
  spans                    INTEGER NOT NULL,
  anomalies                INTEGER NOT NULL,
  deduped_deliveries       INTEGER NOT NULL  -- live deliveries dropped as crash re-executions (#8264)
);
INSERT INTO analysis_runs_new SELECT * FROM analysis_runs;
DROP VIEW IF EXISTS v_schedule;
DROP TABLE analysis_runs;
ALTER TABLE analysis_runs_new RENAME TO analysis_runs;

-- v_schedule as in 004, except the thresholds: those of the analysis (NULL
-- when unknown), else the node's kvStore, never a default; overdue is NULL
-- where the threshold is unknown.
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
  CASE WHEN manager IS NOT 'xsnap' OR use_transcript = 0 OR end_at IS NULL
            OR CASE WHEN first_type = 'initialize-worker' THEN snapshot_initial ELSE snapshot_interval END IS NULL
       THEN NULL
       WHEN end_at - start_pos >= CASE WHEN first_type = 'initialize-worker' THEN snapshot_initial
                                       ELSE snapshot_interval END THEN 1
       ELSE 0 END AS overdue,
  last_block
FROM cur2;
