-- 007-live-deliveries.sql - slogpipe SQLite schema v7: an index of the live (non-replay) deliveries.
--
-- Why: most deliveries in a slog are replays (84 % in bench/run's input:
-- every kernel restart and every page-in of a vat replays its current
-- span), and the analysis asks about the live ones: the committed
-- deliveries per vat, aborted cranks, blocks re-executed after a crash,
-- the last delivery number of each vat. Through deliveries_by_vat each of
-- those walked every delivery of the node; this partial index holds only
-- the live rows. Measured on the 300 MB bench input: the end-of-run
-- analysis 0.39 s -> 0.30 s, the ingest unchanged (2.49-2.60 s with and
-- without it, alternate runs).
--
-- A query uses it when it says `replay = 0` (SQLite uses a partial index
-- only when the query repeats its WHERE term), e.g. a vat's live history:
--   SELECT * FROM deliveries WHERE node = ? AND vat_id = ? AND replay = 0
--   ORDER BY delivery_num;
CREATE INDEX IF NOT EXISTS deliveries_live ON deliveries (node, vat_id, delivery_num)
  WHERE replay = 0;
