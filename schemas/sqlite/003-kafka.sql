-- 003-kafka.sql - Kafka consumer positions, written in the same transaction as the rows they cover.
--
-- next_offset is the offset of the next message to read from (topic,
-- partition) for consumer group group_id. On partition assignment a
-- slogpipe instance seeks there; Kafka's own committed offsets are only
-- updated afterwards, for lag monitors. skip_lines > 0 means a commit
-- happened inside the multi-line message at next_offset: its first
-- skip_lines lines are already stored and are not fed again.
CREATE TABLE IF NOT EXISTS kafka_offsets (
  group_id    TEXT NOT NULL,
  topic       TEXT NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  skip_lines  INTEGER NOT NULL DEFAULT 0,
  updated_at  REAL,
  PRIMARY KEY (group_id, topic, partition)
);
