-- 005-sources.sql - slogpipe SQLite schema v5: a row per ingested slog source; leaner slog_events indexes.
--
-- Why: syscall and syscall-result lines are ~77 % of a slog. Every
-- secondary index on slog_events costs ~15 % of the ingest time, and the
-- three indexes of 001/002 all indexed every line. Measured with bench/run
-- (docs/performance.md): the two replaced below cost more ingest time than
-- the whole JSON parse; the analysis never needed them on syscall rows.

-- One row per (node, source) that has slog_events rows, kept by the SQLite
-- sink in the same transaction as the rows (so it always agrees with
-- slog_events). The analysis orders a node's sources by min_time; users get
-- "what was ingested, and what time range does it cover" without a scan.
CREATE TABLE IF NOT EXISTS sources (
  node        TEXT NOT NULL,
  source      TEXT NOT NULL,
  events      INTEGER NOT NULL,     -- slog_events rows of this source
  first_line  INTEGER,
  last_line   INTEGER,
  min_time    REAL,                 -- min / max of slog_events.time (NULL: no line had a time)
  max_time    REAL,
  PRIMARY KEY (node, source)
);
INSERT OR IGNORE INTO sources (node, source, events, first_line, last_line, min_time, max_time)
  SELECT node, source, count(*), min(line), max(line), min(time), max(time) FROM slog_events GROUP BY node, source;

-- (node, type) becomes (node, type, vat_id): the same per-type lookups and
-- counts, and per-vat lookups of one type ("the heap-snapshot-save lines of
-- v9") without a separate index over every line.
DROP INDEX IF EXISTS slog_events_by_type;
CREATE INDEX IF NOT EXISTS slog_events_by_type ON slog_events (node, type, vat_id);

-- slog_events_by_vat (node, vat_id, type) is dropped: per-vat history is in
-- `deliveries` (indexed by vat); "every line of a vat" is a scan. A user who
-- needs it often can add it back:
--   CREATE INDEX slog_events_by_vat ON slog_events (node, vat_id, type);
DROP INDEX IF EXISTS slog_events_by_vat;

-- slog_events_by_crank (type, crank_num, node) indexed every line; cranks are
-- looked up only on their crank-start / crank-finish lines. Partial indexes:
-- a query uses one when it says type = 'crank-start' (or 'crank-finish').
DROP INDEX IF EXISTS slog_events_by_crank;
CREATE INDEX IF NOT EXISTS slog_events_crank_start ON slog_events (crank_num, node, block_height)
  WHERE type = 'crank-start';
CREATE INDEX IF NOT EXISTS slog_events_crank_finish ON slog_events (crank_num, node)
  WHERE type = 'crank-finish';
-- cranks per block (v_blocks): the crank-start lines again, by block
CREATE INDEX IF NOT EXISTS slog_events_block_cranks ON slog_events (node, block_height, crank_num)
  WHERE type = 'crank-start';
