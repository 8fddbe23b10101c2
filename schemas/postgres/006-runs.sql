-- 006-runs.sql - slogpipe PostgreSQL schema v6: schemas/sqlite/012 for PostgreSQL: kernel runs and their triggers, each block's time budget, method and target per delivery (issue #19).
--
-- Written by the streaming timeline stage (timeline/sp_tl_runs.c) as the
-- slog arrives: a run at its cosmic-swingset-run-finish, a block's budget
-- at its cosmic-swingset-commit-block-finish, in the same transaction as
-- the lines. Keys: a block executed again after a crash (#8264) writes its
-- runs and budget again over the same rows.

-- One row per kernel run (cosmic-swingset-run-start .. -finish).
CREATE TABLE IF NOT EXISTS runs (
  node             text NOT NULL,
  block_height     bigint NOT NULL,
  run_num          bigint NOT NULL,
  epoch            bigint,             -- kernel process epoch of the run
  source           text,                -- input of the run-finish line
  phase            text,                -- leftover/forced/priority/timer/inbound/cleanup; NULL before upgrade-11
  trigger          text,                -- line that preceded run-start: bridge-inbound, deliver-inbound,
                                        -- timer-poll, install-bundle, kernel-upgrade-events, bootstrap; NULL none
  inbound_num      text,                -- inboundNum of the trigger ("H-txHash-msgIdx")
  trigger_source   text,                -- bridge-inbound source (wallet, core, bank, ...), deliver-inbound sender
  trigger_type     text,                -- bridge-inbound body.type (WALLET_SPEND_ACTION, CORE_EVAL, ...); install-bundle hash
  trigger_count    bigint,             -- deliver-inbound count, timer-poll added
  start_line       bigint,             -- NULL when the run-start line was not read
  finish_line      bigint,
  start_time       double precision,
  finish_time      double precision,
  seconds          double precision,                -- run-finish seconds, else finish_time - start_time
  beans_start      bigint,             -- startBeans (beans used in the block before this run)
  beans_used       bigint,             -- usedBeans
  beans_remaining  bigint,             -- remainingBeans at finish (upgrade-10: initialBeans at start)
  computrons       bigint NOT NULL,    -- live deliveries inside the run
  cranks           bigint NOT NULL,
  deliveries       bigint NOT NULL,
  delivery_seconds double precision,                -- sum of those deliveries' seconds
  boyd_seconds     double precision,                -- of which bringOutYourDead
  PRIMARY KEY (node, block_height, run_num)
);

-- A block's time budget (the columns the stage fills; NULL until its commit).
-- block_seconds = begin-block (bootstrap: bootstrap-block-start) .. commit-block-finish;
-- it splits into run_seconds (kernel runs), end_block_seconds - run_seconds (the rest of
-- end-block), commit_seconds, and the cosmos work before end-block (the remainder).
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS bootstrap bigint;
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS block_seconds double precision;
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS run_seconds double precision;
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS end_block_seconds double precision;       -- end-block-finish seconds, else its time - end-block-start's
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS commit_seconds double precision;          -- commit-block-finish seconds, else the lines' times
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS save_seconds double precision;            -- commit-block-finish saveTime (where the version has it)
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS cosmos_commit_seconds double precision;   -- commit-block-finish cosmosCommitSeconds
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS runs bigint;
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS computrons bigint;
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS cranks bigint;
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS deliveries bigint;           -- live deliveries
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS beans_used bigint;
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS boyd_seconds double precision;            -- bringOutYourDead seconds
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS snapshot_saves bigint;       -- heap-snapshot-save lines
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS snapshot_seconds double precision;        -- their dbSaveSeconds + compressSeconds
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS replays bigint;              -- replayed deliveries (restart, page-in)
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS replay_seconds double precision;
-- `slogpipe query slow-blocks` / `explain --slowest N`: the slowest blocks without a scan
CREATE INDEX IF NOT EXISTS blocks_by_seconds ON blocks (block_seconds);

-- What each delivery did, and the run it belongs to.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS run_num bigint;          -- runNum of the enclosing run (live deliveries)
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS method text;              -- message: methargs smallcaps #["name",...] / legacy msg.method
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS target text;              -- message: target vref (vd[1])
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS resolutions bigint;      -- notify: number of resolutions
-- `explain --block H`: the block's live deliveries
CREATE INDEX IF NOT EXISTS deliveries_by_block ON deliveries (node, block_height) WHERE replay = 0;
-- `explain --block H`: the heap snapshot saves of a block (a few per block)
CREATE INDEX IF NOT EXISTS slog_events_block_saves ON slog_events (node, block_height)
  WHERE type = 'heap-snapshot-save';
