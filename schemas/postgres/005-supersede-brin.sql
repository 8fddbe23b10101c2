-- 005-supersede-brin.sql - slogpipe PostgreSQL schema v5: find a block's rows by block_height, for the supersede records of the timeline stage.
--
-- Why (issue #22): when the kernel restarts before committing the block it
-- was executing (agoric-sdk #8264), the timeline stage emits a supersede
-- record naming the discarded execution's lines (node, source, epoch,
-- block_height, first..last line); the sink marks them superseded = 1 at
-- once. No index of slog_events leads to one block's lines (the SQLite sink
-- walks back from the newest rowid, which PostgreSQL has no equivalent of).
-- Rows are appended in block order, so a BRIN index on block_height is a
-- few pages, costs next to nothing at insert, and narrows the UPDATE to the
-- pages of that block instead of a scan of the table.
CREATE INDEX IF NOT EXISTS slog_events_block_brin ON slog_events USING brin (block_height);
CREATE INDEX IF NOT EXISTS deliveries_block_brin ON deliveries USING brin (block_height);
