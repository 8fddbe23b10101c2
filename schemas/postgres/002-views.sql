-- 002-views.sql - slogpipe PostgreSQL schema v2: the read-only views of schemas/sqlite/004 and 006 (same names, columns, meaning).
--
-- Written from the SQLite text with three translations: json_extract /
-- json_valid become sp_json_text (NULL when the text is not JSON, as
-- json_valid guarded), SQLite's lenient CAST(text AS INTEGER) becomes
-- sp_int (the leading integer, NULL when there is none), and `IS NOT` on a
-- value becomes IS DISTINCT FROM. Sums are cast back to bigint (SUM(bigint)
-- is numeric in PostgreSQL).

-- The text at path in the JSON text t; NULL when t is not JSON or has no such member.
CREATE OR REPLACE FUNCTION sp_json_text(t text, VARIADIC path text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN t::jsonb #>> path;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;

-- The leading integer of t (SQLite's CAST(t AS INTEGER) on a number), NULL if none.
CREATE OR REPLACE FUNCTION sp_int(t text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT CAST(substring(t FROM '^\s*([-+]?[0-9]{1,18})') AS bigint)
$$;

CREATE OR REPLACE VIEW v_events AS
SELECT * FROM slog_events WHERE type NOT IN ('syscall', 'syscall-result');

CREATE OR REPLACE VIEW v_vats AS
SELECT
  v.node,
  v.vat_id,
  COALESCE(v.name,
           (SELECT sp_json_text(k.value, 'name') FROM store_kv k
             WHERE k.node = v.node AND k.key IN (v.vat_id || '.options', 'kv.' || v.vat_id || '.options')
               AND sp_json_text(k.value, 'name') IS NOT NULL LIMIT 1)) AS name,
  v.status,
  COALESCE(v.worker_type, v.manager_type,
           (SELECT sp_json_text(k.value, 'workerOptions', 'type') FROM store_kv k
             WHERE k.node = v.node AND k.key IN (v.vat_id || '.options', 'kv.' || v.vat_id || '.options')
               AND sp_json_text(k.value, 'workerOptions', 'type') IS NOT NULL LIMIT 1)) AS manager,
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

CREATE OR REPLACE VIEW v_schedule AS
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
                  (SELECT sp_int(k.value) FROM store_kv k WHERE k.node = n.node
                     AND k.key IN ('kernel.snapshotInitial', 'kv.kernel.snapshotInitial') LIMIT 1),
                  3) AS snapshot_initial,
         COALESCE((SELECT a.snapshot_interval FROM analysis_runs a WHERE a.node = n.node),
                  (SELECT sp_int(k.value) FROM store_kv k WHERE k.node = n.node
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
                  (SELECT sp_json_text(k.value, 'workerOptions', 'type') FROM store_kv k
                    WHERE k.node = c.node AND k.key IN (c.vat_id || '.options', 'kv.' || c.vat_id || '.options')
                      AND sp_json_text(k.value, 'workerOptions', 'type') IS NOT NULL LIMIT 1)) AS manager,
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
  CASE WHEN manager IS DISTINCT FROM 'xsnap' OR use_transcript = 0 OR end_at IS NULL THEN NULL
       WHEN end_at - start_pos >= CASE WHEN first_type = 'initialize-worker' THEN snapshot_initial
                                       ELSE snapshot_interval END THEN 1
       ELSE 0 END AS overdue,
  last_block
FROM cur2;

CREATE OR REPLACE VIEW v_snapshots AS
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

CREATE OR REPLACE VIEW v_blocks AS
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
LEFT JOIN (SELECT node, block_height, COUNT(*) AS deliveries, SUM(computrons)::bigint AS computrons
             FROM deliveries
            WHERE replay = 0 AND block_height IS NOT NULL
            GROUP BY node, block_height) d
  ON d.node = b.node AND d.block_height = b.block_height;

CREATE OR REPLACE VIEW v_anomaly_counts AS
SELECT node, kind, vat_id, severity, COUNT(*) AS count
  FROM anomalies
 GROUP BY node, kind, vat_id, severity;
