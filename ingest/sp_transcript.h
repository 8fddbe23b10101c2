/* sp_transcript.h - vat transcript sources (swing-store SQLite, export dirs, archive dirs) -> sink records. */
#ifndef SP_TRANSCRIPT_H
#define SP_TRANSCRIPT_H

#include "../core/sp_core.h"
#include "../sinks/sp_sink.h"

/*
 * Called for every record, in source order. The record and every slice in
 * it are valid only during the call (copy what must outlive it). Return
 * SP_OK to go on, anything else to stop: the ingest function then returns
 * that value at once and leaves `err` as the callback filled it.
 */
typedef int (*sp_record_fn)(void *arg, const struct sp_record *rec, struct sp_err *err);

/*
 * Parse one transcript item (the exact stored bytes, agoric-formats.md §1.1)
 * with yajl's callback parser; raw sub-values are located with
 * yajl_get_bytes_consumed, nothing is re-serialized. Fills only the parsed
 * fields of *it (d_type, d_hash, sc_hash, status, has_computrons,
 * computrons, snapshot_id); node/source/vat_id/position/incarnation/item are
 * left for the caller.
 *   d_type      = d[0] (slice of `item`)
 *   d_hash      = sp_hash_hex over the raw bytes of the `d` value ("" if no d)
 *   sc_hash     = sp_hash over, per syscall in order, raw sc[k].s, '\n', raw
 *                 sc[k].r, '\n' -- the same bytes the slog side hashes with
 *                 vsc/vsr ("" if there is no sc key; hash of nothing if [])
 *   status      = r.status;  computrons = r.metering.computrons (integer)
 *   snapshot_id = r.snapshotID (save-snapshot) or d[1].snapshotID (load-snapshot)
 * String fields are slices of `item` holding the bytes between the quotes;
 * a value containing a JSON escape is left escaped (JSON.stringify never
 * escapes these ASCII values). Absent fields are {NULL,0}.
 * Returns SP_OK, or SP_EBADINPUT with err naming the byte offset ("invalid
 * JSON at byte 17: ...", "not a JSON object"); *it then holds whatever was
 * parsed before the problem (hashes cleared). No allocation survives the call.
 */
int sp_titem_parse(struct sp_titem *it, const char *item, size_t n, struct sp_err *err);

/* The kvStore / export-data keys emitted as SP_REC_KV (§1.9):
 * kernel.snapshotInitial, kernel.snapshotInterval, kernel.defaultManagerType,
 * vat.names, vat.dynamicIDs, vats.terminated, vat.name.*, v<N>.options,
 * crankNumber, host.height, host.blockTime. Returns 1 if key is one of them. */
int sp_transcript_kv_wanted(const char *key, size_t n);

struct sp_transcript_opts {
    const char *node;      /* node name copied into every record (may be NULL) */
    int with_items;        /* 1: TITEM records carry the item text; 0: item = {NULL,0} */
    int busy_timeout_ms;   /* swing-store only: wait for a writer's lock (0 = 5000) */
};
/* Defaults: node NULL, with_items 1, busy_timeout_ms 5000. */
void sp_transcript_opts_init(struct sp_transcript_opts *o);

/*
 * Conventions shared by the three sources below:
 *  - Records: SP_REC_TITEM per item (position order within a span), then
 *    SP_REC_TSPAN for the span: `hash` = stored hash (NULL for archives),
 *    `computed_hash` = span hash (§1.6) over the items present when all
 *    endPos-startPos are present, over what is present when some are
 *    (`items` tells how many: the analysis flags the gap), NULL when none is
 *    present (pruned) or reading stopped on an error. SP_REC_TSNAPSHOT and
 *    SP_REC_KV as available. Hash mismatches are NOT reported here.
 *  - Per-item / per-entry problems become SP_REC_BAD records and the ingest
 *    goes on. In files (artifacts, archive files, export data) the location
 *    is the file, its line and the line's byte offset (uncompressed):
 *    origin.source = path, origin.line = line, origin.offset = byte offset,
 *    and the reason starts "path:line: byte offset: " (an item also names
 *    "vatID position P"); in a swing-store it is "path:vatID:position: " with
 *    origin.line = position. The bytes are the offending item. An item that
 *    is not valid JSON is dead-lettered only, never stored: its span has no
 *    computed hash and the analysis reports the missing position
 *    (POSITION_GAP). Reasons of problems that do not affect transcripts
 *    start with "warning: ".
 *  - Return: SP_OK when the source was read to its end (BAD records may have
 *    been emitted); SP_EBADINPUT after reading everything readable when some
 *    part could not be read (SQLite corruption, unreadable artifact): err
 *    holds the first such problem, and a BAD record was emitted for each;
 *    SP_EBADINPUT / SP_EIO without records when the source is unusable
 *    (cannot be opened, not a swing-store / export dir); or the callback's
 *    non-zero value.
 *  - Memory is bounded by the largest item plus per-span metadata (export:
 *    one small entry per span of the export data); items are streamed.
 */

/*
 * Swing-store: `path` is swingstore.sqlite or a state dir holding it.
 * Opened read-only through a "file:...?mode=ro" URI with PRAGMA
 * query_only; everything is read in ONE deferred read transaction (BEGIN
 * ... COMMIT) so the view is consistent. Never writes, never BEGIN
 * IMMEDIATE. In WAL mode (what swing-store uses) readers never block the
 * node's writer (on a WAL database no process has open, SQLite creates the
 * empty -wal/-shm files like any reader; the database file is never
 * modified). In rollback-journal mode the read holds a SHARED lock for
 * its duration (a writer's commit waits on its own busy timeout); if a
 * writer holds the lock we wait busy_timeout_ms, retry twice, then fail
 * with "database is locked".
 * Reads: transcriptSpans (by vatID, startPos) with their transcriptItems
 * (startPos <= position < endPos), items outside any span (found per vat
 * by ranges, never by a full scan), snapshots (has_blob from
 * typeof(compressedSnapshot), the blob is never read), selected kvStore keys
 * (exact keys, a vat.name.* range, v<N>.options found by skipping over
 * vat prefixes). Schema variants: snapshots.endPos (pre-rename), no
 * incarnation columns (-1), a missing table (BAD "…: no table snapshots").
 */
int sp_swingstore_ingest(const char *path, const struct sp_transcript_opts *o, sp_record_fn fn,
                         void *arg, struct sp_err *err);

/*
 * State-sync export directory (§1.8): export-manifest.json (blockHeight,
 * artifactMode|mode, data, artifacts [[name, file]...]), the export data
 * (kv.* -> KV for the wanted keys with "kv." stripped; snapshot.vN.P ->
 * TSNAPSHOT with has_blob -1; snapshot.vN.current cross-checked;
 * transcript.vN.S / .current -> span metadata), then every transcript
 * artifact (plain or gzip by magic, one item per line, each line's
 * trimEnd() hashed like the importer) -> TITEMs + TSPAN (stored hash from
 * the export data). Spans of the export data without artifact -> TSPAN with
 * items 0. Manifest file names must stay inside `dir`: absolute names,
 * ".." components and symlinks resolving outside are rejected (BAD naming
 * the entry). Missing artifacts -> BAD and go on; missing snapshot./bundle.
 * artifacts listed in omitted-artifacts.tsv are ignored, others are
 * "warning: " BADs.
 */
int sp_export_ingest(const char *dir, const struct sp_transcript_opts *o, sp_record_fn fn, void *arg,
                     struct sp_err *err);

/*
 * Archive directory (vat-transcript-archive-dir): every
 * transcript.<vatID>.<startPos>.<endPos>[.gz] file, in (vatID, startPos)
 * order -> TITEMs + TSPAN (hash NULL: archives carry no stored hash;
 * is_current 0; incarnation -1). snapshot.* files are skipped (their only
 * content is the heap snapshot; checking it is the opt-in S3 check), and
 * so are names not starting with "transcript.". A transcript.* name of
 * another shape, or a file that vanished since readdir -> "warning: " BAD;
 * a symlink resolving outside the directory or a non-regular file -> BAD.
 */
int sp_archive_ingest(const char *dir, const struct sp_transcript_opts *o, sp_record_fn fn,
                      void *arg, struct sp_err *err);

#endif
