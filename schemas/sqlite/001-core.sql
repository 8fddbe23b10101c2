-- 001-core.sql - slogpipe SQLite schema v1: normalized slog records, transcript evidence, checkpoints.
--
-- This schema is a public interface for observability teams. Columns are
-- only ever added (by later numbered files), never renamed or dropped.
-- Applied by the SQLite sink inside one transaction; PRAGMA user_version
-- records the highest file applied.
--
-- Conventions: `node` is the --node name (or Kafka header/key), `source`
-- the input (file path, "topic/partition", swing-store path), `line` the
-- 1-based line number in that source (Kafka: the message offset). Times
-- are the slog's own wall clock (`time`, seconds since the epoch, float).

-- One row per slog line that parsed as a JSON object with a string `type`.
CREATE TABLE IF NOT EXISTS slog_events (
  node          TEXT NOT NULL,
  source        TEXT NOT NULL,
  line          INTEGER NOT NULL,
  offset        INTEGER,             -- byte offset of the line start (Kafka: index inside the message)
  type          TEXT NOT NULL,       -- as written (aliases kept)
  time          REAL,
  monotime      REAL,
  seconds       REAL,                -- duration on *-finish / *-result (>= u20)
  vat_id        TEXT,
  crank_num     INTEGER,             -- from the line, else the enclosing crank
  delivery_num  INTEGER,
  syscall_num   INTEGER,
  replay        INTEGER,             -- 0/1, NULL when absent
  block_height  INTEGER,             -- from the line, else the enclosing block
  epoch         INTEGER NOT NULL,    -- kernel process start count in this source (0-based)
  raw           TEXT                 -- the whole line, kept only for unknown event types
);
CREATE INDEX IF NOT EXISTS slog_events_by_type ON slog_events (node, type);

-- One row per `deliver` (+ its `deliver-result`, + its syscalls).
CREATE TABLE IF NOT EXISTS deliveries (
  node          TEXT NOT NULL,
  source        TEXT NOT NULL,
  line          INTEGER NOT NULL,    -- line of the `deliver`
  result_line   INTEGER,             -- line of the `deliver-result` (NULL if missing)
  vat_id        TEXT NOT NULL,
  delivery_num  INTEGER,
  crank_num     INTEGER,             -- NULL for replayed deliveries
  block_height  INTEGER,
  epoch         INTEGER NOT NULL,
  dispatch      TEXT,                -- vd[0]: message, notify, bringOutYourDead, startVat, ...
  replay        INTEGER NOT NULL,
  status        TEXT,                -- dr[0]: ok / error; NULL if no result seen
  computrons    INTEGER,             -- dr[2].compute
  syscalls      INTEGER NOT NULL,    -- number of `syscall` lines
  time          REAL,
  seconds       REAL,
  vd_hash       TEXT,                -- sp_hash of the raw vd bytes (compare with transcript_items.d_hash)
  sc_hash       TEXT                 -- sp_hash over the syscalls' vsc/vsr bytes (compare with transcript_items.sc_hash)
);
CREATE INDEX IF NOT EXISTS deliveries_by_vat ON deliveries (node, vat_id, delivery_num);

-- One row per vat and node, upserted from create-vat, terminate,
-- vat-cleanup(-complete) and the swing-store's kvStore.
CREATE TABLE IF NOT EXISTS vats (
  node            TEXT NOT NULL,
  vat_id          TEXT NOT NULL,
  name            TEXT,
  dynamic         INTEGER,
  manager_type    TEXT,
  status          TEXT NOT NULL DEFAULT 'alive',   -- alive / terminated / cleaned
  created_line    INTEGER,           -- first create-vat line seen
  terminated_line INTEGER,
  cleanup_line    INTEGER,           -- vat-cleanup-complete line
  PRIMARY KEY (node, vat_id)
);

-- Heap snapshots per (node, vat, snap_pos), from the slog
-- (heap-snapshot-save / -load) and from swing-stores (snapshots table,
-- export data). snap_pos = position of the save-snapshot item.
CREATE TABLE IF NOT EXISTS snapshots (
  node              TEXT NOT NULL,
  vat_id            TEXT NOT NULL,
  snap_pos          INTEGER NOT NULL,
  snapshot_id       TEXT,            -- best known id (slog save, else store)
  slog_snapshot_id  TEXT,            -- heap-snapshot-save snapshotID/hash
  save_line         INTEGER,
  save_time         REAL,
  uncompressed_size INTEGER,
  compressed_size   INTEGER,
  save_seconds      REAL,            -- dbSaveSeconds / rawSaveSeconds
  compress_seconds  REAL,
  loads             INTEGER NOT NULL DEFAULT 0,   -- heap-snapshot-load lines naming it
  PRIMARY KEY (node, vat_id, snap_pos)
);

-- Blocks from the cosmic-swingset markers.
CREATE TABLE IF NOT EXISTS blocks (
  node            TEXT NOT NULL,
  block_height    INTEGER NOT NULL,
  block_time      INTEGER,           -- consensus time (integer seconds)
  begin_line      INTEGER,
  begin_time      REAL,              -- slog wall clock of begin-block
  end_time        REAL,              -- slog wall clock of end-block-finish
  commit_time     REAL,              -- slog wall clock of commit-block-finish
  committed       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (node, block_height)
);

-- Dead letters: every bad line or record, with its location.
CREATE TABLE IF NOT EXISTS ingest_errors (
  node     TEXT NOT NULL,
  source   TEXT NOT NULL,
  line     INTEGER,                  -- line (or Kafka offset); NULL when the whole source failed
  offset   INTEGER,                  -- byte offset in the (uncompressed) stream
  reason   TEXT NOT NULL,
  excerpt  TEXT                      -- printable excerpt of the bad bytes (<= 200 chars)
);

-- Transcript evidence from swing-store DBs, exports and archives.
CREATE TABLE IF NOT EXISTS transcript_items (
  node         TEXT NOT NULL,
  vat_id       TEXT NOT NULL,
  position     INTEGER NOT NULL,
  incarnation  INTEGER,
  d_type       TEXT,                 -- d[0]
  item         TEXT NOT NULL,        -- exact stored bytes
  d_hash       TEXT,                 -- sp_hash of the raw `d` value bytes
  sc_hash      TEXT,                 -- sp_hash over sc[k].s / sc[k].r bytes
  status       TEXT,                 -- r.status
  computrons   INTEGER,              -- r.metering.computrons
  snapshot_id  TEXT,                 -- r.snapshotID (save-snapshot) or d[1].snapshotID (load-snapshot)
  source       TEXT NOT NULL,
  PRIMARY KEY (node, vat_id, position)
) WITHOUT ROWID;

-- Spans as the swing-store recorded them (transcriptSpans, export data).
CREATE TABLE IF NOT EXISTS transcript_spans (
  node          TEXT NOT NULL,
  vat_id        TEXT NOT NULL,
  start_pos     INTEGER NOT NULL,
  end_pos       INTEGER NOT NULL,
  hash          TEXT,                -- stored hash
  computed_hash TEXT,                -- recomputed over the items (NULL if items absent)
  items         INTEGER NOT NULL DEFAULT 0, -- items present
  is_current    INTEGER NOT NULL,
  incarnation   INTEGER,
  source        TEXT NOT NULL,
  PRIMARY KEY (node, vat_id, start_pos)
);

-- Snapshot rows as the swing-store recorded them.
CREATE TABLE IF NOT EXISTS store_snapshots (
  node              TEXT NOT NULL,
  vat_id            TEXT NOT NULL,
  snap_pos          INTEGER NOT NULL,
  hash              TEXT,
  in_use            INTEGER NOT NULL,
  uncompressed_size INTEGER,
  compressed_size   INTEGER,
  has_blob          INTEGER,         -- NULL when unknown (export data)
  source            TEXT NOT NULL,
  PRIMARY KEY (node, vat_id, snap_pos)
);

-- Selected kvStore / export-data keys (kernel.snapshotInitial, vat.names, vNN.options, ...).
CREATE TABLE IF NOT EXISTS store_kv (
  node    TEXT NOT NULL,
  key     TEXT NOT NULL,
  value   TEXT,
  source  TEXT NOT NULL,
  PRIMARY KEY (node, key)
);

-- Resume points, committed in the same transaction as the rows they cover.
CREATE TABLE IF NOT EXISTS checkpoints (
  node        TEXT NOT NULL,
  source      TEXT NOT NULL,         -- file path / "topic/partition" / swing-store path
  line        INTEGER NOT NULL,      -- last line (Kafka: offset) fully covered
  offset      INTEGER NOT NULL,      -- byte offset just after that line
  jsonl_bytes INTEGER,               -- length of the JSONL output at this commit
  state       TEXT,                  -- JSON: pipeline context to restore (block, crank, epoch, ...)
  updated_at  REAL NOT NULL,
  PRIMARY KEY (node, source)
);


-- Small key/value state kept by the sinks and the pipeline, written in the
-- same transaction as the rows it describes: "jsonl.bytes" (length of the
-- JSONL output at the last commit), Kafka offsets ("kafka:<topic>/<partition>"), ...
CREATE TABLE IF NOT EXISTS sink_state (
  key         TEXT PRIMARY KEY,
  value       TEXT,
  updated_at  REAL NOT NULL
);
