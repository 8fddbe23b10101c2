-- 001-tables.sql - slogpipe PostgreSQL schema v1: the tables and indexes of schemas/sqlite/001..007 in their current shape.
--
-- The same tables, columns and meaning as the SQLite store (read the
-- comments in schemas/sqlite/*.sql for each column); a new PostgreSQL store
-- starts here rather than replaying the SQLite history of ALTER TABLEs.
-- Types: INTEGER -> bigint, REAL -> double precision, TEXT -> text.
-- `offset` is a reserved word in PostgreSQL: quote it ("offset").
-- Applied by the PostgreSQL sink inside one transaction holding an advisory
-- lock, so concurrent instances migrate once; slogpipe_schema records the
-- highest file applied (PostgreSQL has no PRAGMA user_version).
--
-- Differences from SQLite, each because PostgreSQL needs it:
--   * spans and anomalies have unique keys: the streaming timeline stage
--     upserts them, record by record, from any number of instances
--     (anomalies: one per (node, vat_id, kind, position), NULLs folded).
--   * transcript_items is an ordinary heap table (no WITHOUT ROWID).

CREATE TABLE IF NOT EXISTS slog_events (
  node          text NOT NULL,
  source        text NOT NULL,
  line          bigint NOT NULL,
  "offset"      bigint,
  type          text NOT NULL,
  time          double precision,
  monotime      double precision,
  seconds       double precision,
  vat_id        text,
  crank_num     bigint,
  delivery_num  bigint,
  syscall_num   bigint,
  replay        bigint,
  block_height  bigint,
  epoch         bigint NOT NULL,
  raw           text,
  message_type  text,
  crank_type    text,
  crankhash     text,
  activityhash  text,
  snapshot_id   text,
  snap_pos      bigint,
  uncompressed_size bigint,
  deliveries    bigint,
  args          text
);
CREATE INDEX IF NOT EXISTS slog_events_by_type ON slog_events (node, type, vat_id)
  WHERE type NOT IN ('syscall', 'syscall-result');
CREATE INDEX IF NOT EXISTS slog_events_crank_start ON slog_events (crank_num, node, block_height)
  WHERE type = 'crank-start';
CREATE INDEX IF NOT EXISTS slog_events_crank_finish ON slog_events (crank_num, node)
  WHERE type = 'crank-finish';
CREATE INDEX IF NOT EXISTS slog_events_block_cranks ON slog_events (node, block_height, crank_num)
  WHERE type = 'crank-start';

CREATE TABLE IF NOT EXISTS deliveries (
  node          text NOT NULL,
  source        text NOT NULL,
  line          bigint NOT NULL,
  result_line   bigint,
  vat_id        text NOT NULL,
  delivery_num  bigint,
  crank_num     bigint,
  block_height  bigint,
  epoch         bigint NOT NULL,
  dispatch      text,
  replay        bigint NOT NULL,
  status        text,
  computrons    bigint,
  syscalls      bigint NOT NULL,
  time          double precision,
  seconds       double precision,
  vd_hash       text,
  sc_hash       text
);
CREATE INDEX IF NOT EXISTS deliveries_by_vat ON deliveries (node, vat_id, delivery_num);
CREATE INDEX IF NOT EXISTS deliveries_by_crank ON deliveries (node, epoch, crank_num);
CREATE INDEX IF NOT EXISTS deliveries_by_line ON deliveries (node, vat_id, source, line);
CREATE INDEX IF NOT EXISTS deliveries_live ON deliveries (node, vat_id, delivery_num) WHERE replay = 0;

CREATE TABLE IF NOT EXISTS vats (
  node            text NOT NULL,
  vat_id          text NOT NULL,
  name            text,
  dynamic         bigint,
  manager_type    text,
  status          text NOT NULL DEFAULT 'alive',
  created_line    bigint,
  terminated_line bigint,
  cleanup_line    bigint,
  worker_type     text,
  use_transcript  bigint,
  incarnations    bigint,
  current_incarnation bigint,
  upgrades        bigint,
  failed_upgrades bigint,
  created_time    double precision,
  terminated      bigint,
  spans           bigint,
  snapshots       bigint,
  live_deliveries bigint,
  end_pos         bigint,
  anomalies       bigint,
  PRIMARY KEY (node, vat_id)
);

CREATE TABLE IF NOT EXISTS snapshots (
  node              text NOT NULL,
  vat_id            text NOT NULL,
  snap_pos          bigint NOT NULL,
  snapshot_id       text,
  slog_snapshot_id  text,
  save_line         bigint,
  save_time         double precision,
  uncompressed_size bigint,
  compressed_size   bigint,
  save_seconds      double precision,
  compress_seconds  double precision,
  loads             bigint NOT NULL DEFAULT 0,
  from_transcript   bigint,
  from_slog         bigint,
  from_store        bigint,
  store_hash        text,
  transcript_snapshot_id text,
  in_use            bigint,
  PRIMARY KEY (node, vat_id, snap_pos)
);

CREATE TABLE IF NOT EXISTS blocks (
  node            text NOT NULL,
  block_height    bigint NOT NULL,
  block_time      bigint,
  begin_line      bigint,
  begin_time      double precision,
  end_time        double precision,
  commit_time     double precision,
  committed       bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (node, block_height)
);

CREATE TABLE IF NOT EXISTS ingest_errors (
  node     text NOT NULL,
  source   text NOT NULL,
  line     bigint,
  "offset" bigint,
  reason   text NOT NULL,
  excerpt  text
);

CREATE TABLE IF NOT EXISTS transcript_items (
  node         text NOT NULL,
  vat_id       text NOT NULL,
  position     bigint NOT NULL,
  incarnation  bigint,
  d_type       text,
  item         text NOT NULL,
  d_hash       text,
  sc_hash      text,
  status       text,
  computrons   bigint,
  snapshot_id  text,
  source       text NOT NULL,
  PRIMARY KEY (node, vat_id, position)
);

CREATE TABLE IF NOT EXISTS transcript_spans (
  node          text NOT NULL,
  vat_id        text NOT NULL,
  start_pos     bigint NOT NULL,
  end_pos       bigint NOT NULL,
  hash          text,
  computed_hash text,
  items         bigint NOT NULL DEFAULT 0,
  is_current    bigint NOT NULL,
  incarnation   bigint,
  source        text NOT NULL,
  PRIMARY KEY (node, vat_id, start_pos)
);

CREATE TABLE IF NOT EXISTS store_snapshots (
  node              text NOT NULL,
  vat_id            text NOT NULL,
  snap_pos          bigint NOT NULL,
  hash              text,
  in_use            bigint NOT NULL,
  uncompressed_size bigint,
  compressed_size   bigint,
  has_blob          bigint,
  source            text NOT NULL,
  PRIMARY KEY (node, vat_id, snap_pos)
);

CREATE TABLE IF NOT EXISTS store_kv (
  node    text NOT NULL,
  key     text NOT NULL,
  value   text,
  source  text NOT NULL,
  PRIMARY KEY (node, key)
);

CREATE TABLE IF NOT EXISTS checkpoints (
  node        text NOT NULL,
  source      text NOT NULL,
  line        bigint NOT NULL,
  "offset"    bigint NOT NULL,
  jsonl_bytes bigint,
  state       text,
  updated_at  double precision NOT NULL,
  PRIMARY KEY (node, source)
);

CREATE TABLE IF NOT EXISTS sink_state (
  key         text PRIMARY KEY,
  value       text,
  updated_at  double precision NOT NULL
);

CREATE TABLE IF NOT EXISTS spans (
  node              text NOT NULL,
  vat_id            text NOT NULL,
  incarnation       bigint,
  start_pos         bigint NOT NULL,
  end_pos           bigint NOT NULL,
  first_type        text,
  last_type         text,
  is_current        bigint NOT NULL,
  hash              text,
  hash_ok           bigint NOT NULL,
  deliveries        bigint NOT NULL,
  from_transcript   bigint NOT NULL,
  from_slog         bigint NOT NULL,
  save_snapshot_id  text,
  load_snapshot_id  text,
  items             bigint,
  save_line         bigint,
  PRIMARY KEY (node, vat_id, start_pos)
);

CREATE TABLE IF NOT EXISTS anomalies (
  node        text NOT NULL,
  vat_id      text,
  kind        text NOT NULL,
  incarnation bigint,
  position    bigint,
  severity    text NOT NULL,
  detail      text NOT NULL,
  source      text,
  line        bigint
);
CREATE INDEX IF NOT EXISTS anomalies_by_kind ON anomalies (kind, node, vat_id);
CREATE INDEX IF NOT EXISTS anomalies_by_vat ON anomalies (node, vat_id, position);
CREATE UNIQUE INDEX IF NOT EXISTS anomalies_key
  ON anomalies (node, (COALESCE(vat_id, '')), kind, (COALESCE(position, -1)));

CREATE TABLE IF NOT EXISTS analysis_runs (
  node                     text PRIMARY KEY,
  snapshot_initial         bigint NOT NULL,
  snapshot_initial_source  text NOT NULL,
  snapshot_interval        bigint NOT NULL,
  snapshot_interval_source text NOT NULL,
  vats                     bigint NOT NULL,
  spans                    bigint NOT NULL,
  anomalies                bigint NOT NULL,
  deduped_deliveries       bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS kafka_offsets (
  group_id    text NOT NULL,
  topic       text NOT NULL,
  partition   bigint NOT NULL,
  next_offset bigint NOT NULL,
  skip_lines  bigint NOT NULL DEFAULT 0,
  updated_at  double precision,
  PRIMARY KEY (group_id, topic, partition)
);

CREATE TABLE IF NOT EXISTS sources (
  node        text NOT NULL,
  source      text NOT NULL,
  events      bigint NOT NULL,
  first_line  bigint,
  last_line   bigint,
  min_time    double precision,
  max_time    double precision,
  PRIMARY KEY (node, source)
);
