-- 003-kafka.sql - Kafka consumer positions, written in the same transaction as the rows they cover.
--
-- next_offset is the offset of the next message to read from (topic,
-- partition) for consumer group group_id. On partition assignment a
-- slogpipe instance seeks there; Kafka's own committed offsets are only
-- updated afterwards, for lag monitors.
CREATE TABLE IF NOT EXISTS kafka_offsets (
  group_id    TEXT NOT NULL,
  topic       TEXT NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  updated_at  REAL,
  PRIMARY KEY (group_id, topic, partition)
);
