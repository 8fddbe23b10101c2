-- 011-load-index.sql - slogpipe SQLite schema v11: an index of the heap-snapshot-load lines.
--
-- Why: the analysis pairs every heap-snapshot-save with the first
-- heap-snapshot-load of its vat in the same crank (three lookups per save,
-- timeline/sp_tl_slog.c) and counts each snapshot's loads (sp_analyze.c).
-- Through slog_events_by_type (node, type, vat_id) each lookup walked every
-- load of the vat, so the cost grew with saves x loads: on a 204 MB slog of
-- real kernel output (swingset-gen, 80 rounds) that query was 1.5 s of the
-- 2.4 s analysis (docs/performance.md, "Timeline stage"). Loads are few
-- lines of a slog, so this partial index is small. A query uses it when it
-- says type = 'heap-snapshot-load' (SQLite uses a partial index only when
-- the query repeats its WHERE term), as the analysis does.
CREATE INDEX IF NOT EXISTS slog_events_loads ON slog_events (node, vat_id, crank_num, snap_pos)
  WHERE type = 'heap-snapshot-load';
