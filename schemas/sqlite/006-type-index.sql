-- 006-type-index.sql - slogpipe SQLite schema v6: the per-type index leaves out syscall lines; view v_events.
--
-- Why: slog_events_by_type (node, type, vat_id) took an index insert for
-- every slog line, and three quarters of the lines are `syscall` /
-- `syscall-result`. Measured on a 300 MB slog (bench/run's input, ingest
-- without analysis, three alternate runs each): 3.0 s with the full index,
-- 2.5 s with this one -- the single largest cost left in the ingest
-- (docs/performance.md). The index never served the syscall lines well:
-- `type = 'syscall'` selects ~40 % of a node's rows, where a scan is as fast.
--
-- How to use it: SQLite uses a partial index only when the query repeats
-- the index's WHERE term. Query `v_events` (below) instead of slog_events
-- when filtering by type, or add the term yourself:
--   ... FROM slog_events WHERE node = ? AND type = 'create-vat'
--       AND type NOT IN ('syscall', 'syscall-result')
-- A plain `WHERE type = 'create-vat'` on slog_events still answers right,
-- by a scan. To index every line again (and pay for it at ingest):
--   CREATE INDEX slog_events_by_type_all ON slog_events (node, type, vat_id);
-- The crank-start / crank-finish partial indexes (005) are unchanged.
DROP INDEX IF EXISTS slog_events_by_type;
CREATE INDEX IF NOT EXISTS slog_events_by_type ON slog_events (node, type, vat_id)
  WHERE type NOT IN ('syscall', 'syscall-result');

-- Every slog line except syscall and syscall-result lines: the view to
-- filter by type (its WHERE is the index's, so `WHERE node = ? AND type = ?`
-- on it is an index search). Same columns as slog_events.
CREATE VIEW IF NOT EXISTS v_events AS
SELECT * FROM slog_events WHERE type NOT IN ('syscall', 'syscall-result');
