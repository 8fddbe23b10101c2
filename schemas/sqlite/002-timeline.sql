-- 002-timeline.sql - slogpipe SQLite schema v2: analysed spans, anomalies, vat lifecycle (written by timeline/sp_analyze).
--
-- Everything here is rebuilt by `sp_analyze` inside one transaction per
-- run: the rows of the analysed node(s) are deleted and recomputed from the
-- 001 tables, so the same input tables always give byte-identical rows.
--
-- Position convention for anomalies: an anomaly about a whole span (hash
-- mismatch, schedule deviation, bad start/end, ...) carries the span's
-- start_pos; an anomaly about one item or one delivery carries that item's
-- transcript position (= slog deliveryNum); -1 when no position applies
-- (e.g. a crankhash divergence, keyed by crankNum in `detail`).

-- Extra slog_events columns, filled by the SQLite sink from struct sp_event
-- (NULL when the line has no such field):
ALTER TABLE slog_events ADD COLUMN message_type TEXT;      -- crank-start/-finish messageType (else message.type)
ALTER TABLE slog_events ADD COLUMN crank_type TEXT;        -- crank-start/-finish crankType
ALTER TABLE slog_events ADD COLUMN crankhash TEXT;         -- crank-finish
ALTER TABLE slog_events ADD COLUMN activityhash TEXT;      -- crank-finish
ALTER TABLE slog_events ADD COLUMN snapshot_id TEXT;       -- heap-snapshot-save/-load: snapshotID ?? hash
ALTER TABLE slog_events ADD COLUMN snap_pos INTEGER;       -- heap-snapshot-save/-load: endPosition ?? snapPos ?? endPos
ALTER TABLE slog_events ADD COLUMN uncompressed_size INTEGER; -- heap-snapshot-save/-load (load: present only on a cold load)
ALTER TABLE slog_events ADD COLUMN deliveries INTEGER;     -- start-replay
ALTER TABLE slog_events ADD COLUMN args TEXT;              -- console / slogger-confused: raw JSON of args

CREATE INDEX IF NOT EXISTS slog_events_by_vat ON slog_events (node, vat_id, type);
CREATE INDEX IF NOT EXISTS slog_events_by_crank ON slog_events (type, crank_num, node);
CREATE INDEX IF NOT EXISTS deliveries_by_crank ON deliveries (node, epoch, crank_num);
CREATE INDEX IF NOT EXISTS deliveries_by_line ON deliveries (node, vat_id, source, line);

-- One row per span and node: merged from the swing-store transcript
-- (transcript_spans + transcript_items) and from the slog alone
-- (starts = 0, endPosition+1 of each heap-snapshot-save, deliveryNum-1
-- of each successful upgrade startVat). Columns match struct sp_span.
CREATE TABLE IF NOT EXISTS spans (
  node              TEXT NOT NULL,
  vat_id            TEXT NOT NULL,
  incarnation       INTEGER,           -- transcript incarnation, else counted from slog upgrades
  start_pos         INTEGER NOT NULL,
  end_pos           INTEGER NOT NULL,  -- exclusive; -1 = open (slog-only current span)
  first_type        TEXT,              -- d[0] of the item at start_pos (slog-only: inferred)
  last_type         TEXT,              -- d[0] of the item at end_pos-1
  is_current        INTEGER NOT NULL,
  hash              TEXT,              -- stored span hash
  hash_ok           INTEGER NOT NULL,  -- 1 ok, 0 mismatch, -1 not verifiable (items absent)
  deliveries        INTEGER NOT NULL,  -- real deliveries (not pseudo-events) in the span
  from_transcript   INTEGER NOT NULL,
  from_slog         INTEGER NOT NULL,
  save_snapshot_id  TEXT,              -- snapshot that closed the span (save-snapshot / heap-snapshot-save)
  load_snapshot_id  TEXT,              -- snapshot the span starts from (load-snapshot)
  items             INTEGER,           -- transcript items present (NULL: slog only)
  save_line         INTEGER,           -- slog line of the heap-snapshot-save that closed it
  PRIMARY KEY (node, vat_id, start_pos)
);

-- One row per anomaly (agoric-formats.md §3.7 kinds). Columns match
-- struct sp_anomaly; `detail` is a JSON object with the evidence
-- (expected/actual, positions, snapshot IDs, slog lines, sources).
CREATE TABLE IF NOT EXISTS anomalies (
  node        TEXT NOT NULL,
  vat_id      TEXT,                  -- NULL for node-level anomalies (crankhash)
  kind        TEXT NOT NULL,
  incarnation INTEGER,               -- NULL unknown
  position    INTEGER,               -- see the convention above; NULL none
  severity    TEXT NOT NULL,         -- info / warning / error
  detail      TEXT NOT NULL,
  source      TEXT,                  -- input the evidence was read from
  line        INTEGER                -- slog line (NULL for transcript-only evidence)
);
CREATE INDEX IF NOT EXISTS anomalies_by_kind ON anomalies (kind, node, vat_id);
CREATE INDEX IF NOT EXISTS anomalies_by_vat ON anomalies (node, vat_id, position);

-- Which snapshot schedule each analysis used, and where it came from.
CREATE TABLE IF NOT EXISTS analysis_runs (
  node                     TEXT PRIMARY KEY,
  snapshot_initial         INTEGER NOT NULL,
  snapshot_initial_source  TEXT NOT NULL,  -- store_kv / option / slog (most common closed span) / default
  snapshot_interval        INTEGER NOT NULL,
  snapshot_interval_source TEXT NOT NULL,
  vats                     INTEGER NOT NULL,
  spans                    INTEGER NOT NULL,
  anomalies                INTEGER NOT NULL,
  deduped_deliveries       INTEGER NOT NULL  -- live deliveries dropped as crash re-executions (#8264)
);

-- Per-snapshot cross-source view (set by sp_analyze; rows it needs are inserted).
ALTER TABLE snapshots ADD COLUMN from_transcript INTEGER;        -- a save-snapshot item exists at snap_pos
ALTER TABLE snapshots ADD COLUMN from_slog INTEGER;              -- a heap-snapshot-save names snap_pos
ALTER TABLE snapshots ADD COLUMN from_store INTEGER;             -- a swing-store snapshots row exists
ALTER TABLE snapshots ADD COLUMN store_hash TEXT;                -- store_snapshots.hash
ALTER TABLE snapshots ADD COLUMN transcript_snapshot_id TEXT;    -- save-snapshot r.snapshotID
ALTER TABLE snapshots ADD COLUMN in_use INTEGER;                 -- store inUse (NULL unknown)

-- Vat lifecycle summary (set by sp_analyze).
ALTER TABLE vats ADD COLUMN worker_type TEXT;          -- xsnap / local / node-subprocess (options, create-vat, init item)
ALTER TABLE vats ADD COLUMN use_transcript INTEGER;    -- 0 for comms-like vats
ALTER TABLE vats ADD COLUMN incarnations INTEGER;      -- number of incarnations seen
ALTER TABLE vats ADD COLUMN current_incarnation INTEGER;
ALTER TABLE vats ADD COLUMN upgrades INTEGER;          -- successful upgrades (slog upgrade-vat cranks or shutdown-worker items)
ALTER TABLE vats ADD COLUMN failed_upgrades INTEGER;   -- aborted upgrade-vat cranks (slog)
ALTER TABLE vats ADD COLUMN created_time REAL;         -- slog time of the first create-vat
ALTER TABLE vats ADD COLUMN terminated INTEGER;        -- 1 if terminate / vat-cleanup-complete / vats.terminated
ALTER TABLE vats ADD COLUMN spans INTEGER;
ALTER TABLE vats ADD COLUMN snapshots INTEGER;
ALTER TABLE vats ADD COLUMN live_deliveries INTEGER;   -- committed live slog deliveries
ALTER TABLE vats ADD COLUMN end_pos INTEGER;           -- next transcript position (current span end)
ALTER TABLE vats ADD COLUMN anomalies INTEGER;
