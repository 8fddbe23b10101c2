-- 012-runs.sql - slogpipe SQLite schema v12: kernel runs and their triggers, each block's time budget, method and target per delivery (issue #19).
--
-- Written by the streaming timeline stage (timeline/sp_tl_runs.c) as the
-- slog arrives: a run at its cosmic-swingset-run-finish, a block's budget
-- at its cosmic-swingset-commit-block-finish, in the same transaction as
-- the lines. Keys: a block executed again after a crash (#8264) writes its
-- runs and budget again over the same rows.

-- One row per kernel run (cosmic-swingset-run-start .. -finish).
CREATE TABLE IF NOT EXISTS runs (
  node             TEXT NOT NULL,
  block_height     INTEGER NOT NULL,
  run_num          INTEGER NOT NULL,
  epoch            INTEGER,             -- kernel process epoch of the run
  source           TEXT,                -- input of the run-finish line
  phase            TEXT,                -- leftover/forced/priority/timer/inbound/cleanup; NULL before upgrade-11
  trigger          TEXT,                -- line that preceded run-start: bridge-inbound, deliver-inbound,
                                        -- timer-poll, install-bundle, kernel-upgrade-events, bootstrap; NULL none
  inbound_num      TEXT,                -- inboundNum of the trigger ("H-txHash-msgIdx")
  trigger_source   TEXT,                -- bridge-inbound source (wallet, core, bank, ...), deliver-inbound sender
  trigger_type     TEXT,                -- bridge-inbound body.type (WALLET_SPEND_ACTION, CORE_EVAL, ...); install-bundle hash
  trigger_count    INTEGER,             -- deliver-inbound count, timer-poll added
  start_line       INTEGER,             -- NULL when the run-start line was not read
  finish_line      INTEGER,
  start_time       REAL,
  finish_time      REAL,
  seconds          REAL,                -- run-finish seconds, else finish_time - start_time
  beans_start      INTEGER,             -- startBeans (beans used in the block before this run)
  beans_used       INTEGER,             -- usedBeans
  beans_remaining  INTEGER,             -- remainingBeans at finish (upgrade-10: initialBeans at start)
  computrons       INTEGER NOT NULL,    -- live deliveries inside the run
  cranks           INTEGER NOT NULL,
  deliveries       INTEGER NOT NULL,
  delivery_seconds REAL,                -- sum of those deliveries' seconds
  boyd_seconds     REAL,                -- of which bringOutYourDead
  PRIMARY KEY (node, block_height, run_num)
);

-- A block's time budget (the columns the stage fills; NULL until its commit).
-- block_seconds = begin-block (bootstrap: bootstrap-block-start) .. commit-block-finish;
-- it splits into run_seconds (kernel runs), end_block_seconds - run_seconds (the rest of
-- end-block), commit_seconds, and the cosmos work before end-block (the remainder).
ALTER TABLE blocks ADD COLUMN bootstrap INTEGER;
ALTER TABLE blocks ADD COLUMN block_seconds REAL;
ALTER TABLE blocks ADD COLUMN run_seconds REAL;
ALTER TABLE blocks ADD COLUMN end_block_seconds REAL;       -- end-block-finish seconds, else its time - end-block-start's
ALTER TABLE blocks ADD COLUMN commit_seconds REAL;          -- commit-block-finish seconds, else the lines' times
ALTER TABLE blocks ADD COLUMN save_seconds REAL;            -- commit-block-finish saveTime (where the version has it)
ALTER TABLE blocks ADD COLUMN cosmos_commit_seconds REAL;   -- commit-block-finish cosmosCommitSeconds
ALTER TABLE blocks ADD COLUMN runs INTEGER;
ALTER TABLE blocks ADD COLUMN computrons INTEGER;
ALTER TABLE blocks ADD COLUMN cranks INTEGER;
ALTER TABLE blocks ADD COLUMN deliveries INTEGER;           -- live deliveries
ALTER TABLE blocks ADD COLUMN beans_used INTEGER;
ALTER TABLE blocks ADD COLUMN boyd_seconds REAL;            -- bringOutYourDead seconds
ALTER TABLE blocks ADD COLUMN snapshot_saves INTEGER;       -- heap-snapshot-save lines
ALTER TABLE blocks ADD COLUMN snapshot_seconds REAL;        -- their dbSaveSeconds + compressSeconds
ALTER TABLE blocks ADD COLUMN replays INTEGER;              -- replayed deliveries (restart, page-in)
ALTER TABLE blocks ADD COLUMN replay_seconds REAL;
-- `slogpipe query slow-blocks` / `explain --slowest N`: the slowest blocks without a scan
CREATE INDEX IF NOT EXISTS blocks_by_seconds ON blocks (block_seconds);

-- What each delivery did, and the run it belongs to.
ALTER TABLE deliveries ADD COLUMN run_num INTEGER;          -- runNum of the enclosing run (live deliveries)
ALTER TABLE deliveries ADD COLUMN method TEXT;              -- message: methargs smallcaps #["name",...] / legacy msg.method
ALTER TABLE deliveries ADD COLUMN target TEXT;              -- message: target vref (vd[1])
ALTER TABLE deliveries ADD COLUMN resolutions INTEGER;      -- notify: number of resolutions
-- `explain --block H`: the block's live deliveries
CREATE INDEX IF NOT EXISTS deliveries_by_block ON deliveries (node, block_height) WHERE replay = 0;
-- `explain --block H`: the heap snapshot saves of a block (a few per block)
CREATE INDEX IF NOT EXISTS slog_events_block_saves ON slog_events (node, block_height)
  WHERE type = 'heap-snapshot-save';
