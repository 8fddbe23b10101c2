-- 004-load-index.sql - slogpipe PostgreSQL schema v4: schemas/sqlite/011 (the heap-snapshot-load index), so both stores keep the same indexes.
CREATE INDEX IF NOT EXISTS slog_events_loads ON slog_events (node, vat_id, crank_num, snap_pos)
  WHERE type = 'heap-snapshot-load';
