-- 008-keyed-timeline.sql - slogpipe SQLite schema v8: anomalies are keyed, like spans.
--
-- Why: the timeline is a streaming stage now (timeline/sp_tl_stream.c). It
-- writes an anomaly as soon as it is determined, and a later record with the
-- same key (node, vat, kind, position) replaces the earlier one: after a
-- restart the stage may judge the same evidence again, and the end-of-run
-- reconciliation (timeline/sp_analyze.c) corrects what the stage could not
-- know yet. Spans already had their key (node, vat_id, start_pos).
--
-- Rows of older versions that share a key (none are expected: the batch
-- analysis inserted only when no row had the key) keep the first.
DELETE FROM anomalies WHERE rowid NOT IN (
  SELECT min(rowid) FROM anomalies
  GROUP BY node, ifnull(vat_id, ''), kind, ifnull(position, -1));
CREATE UNIQUE INDEX IF NOT EXISTS anomalies_key
  ON anomalies (node, ifnull(vat_id, ''), kind, ifnull(position, -1));
