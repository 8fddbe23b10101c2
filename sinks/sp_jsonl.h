/* sp_jsonl.h - extra entry points of the JSONL sink (committed length, torn-tail cut, sidecar checkpoints). */
#ifndef SP_JSONL_H
#define SP_JSONL_H

#include "sp_sink.h"

/*
 * The JSONL sink (sp_sink_jsonl) writes one JSON object per record and
 * line (sp_record_to_json) to a file, or to stdout when the target is "-".
 * Output is buffered (1 MiB) and written with write(2); commit writes the
 * rest and fsyncs. For a file, each commit also replaces the sidecar
 * "PATH.ckpt" atomically (temp file, fsync, rename, fsync of the folder):
 *   {"bytes":N,"checkpoints":[{"node":..,"source":..,"line":..,"offset":..,"state":"..."|null},..]}
 * holding the file length at that commit and the latest checkpoint of
 * every (node, source) ever committed; open reads it back. With a
 * database, the database's checkpoints are authoritative and the pipeline
 * may turn the sidecar off (sp_jsonl_set_sidecar).
 * A failed write(2) or fsync returns SP_ESINK and leaves the sink failed
 * (every later write/commit is SP_ESINK): the file may end in a torn line
 * that only a resume (sp_jsonl_truncate) removes. close does not flush:
 * output after the last commit is dropped, as after a crash.
 * stdout: nothing is truncated and no checkpoint is kept (a pipe cannot be
 * rewound): sp_jsonl_truncate returns SP_EUSAGE, sp_jsonl_checkpoint_get
 * SP_EOF, sp_jsonl_bytes counts the bytes written so far.
 */

/* Length of the output after the last commit (file: its size then). */
int64_t sp_jsonl_bytes(void *ctx);

/* Length recorded in the sidecar read at open; -1 if there was none. */
int64_t sp_jsonl_sidecar_bytes(void *ctx);

/*
 * Resume: cut the file to `bytes` (a committed length), dropping a torn
 * tail written after the last checkpoint, and drop anything buffered.
 * SP_OK; SP_EIO if the file is shorter than bytes (it was replaced or cut:
 * records would be missing) or a syscall fails; SP_EUSAGE for stdout.
 */
int sp_jsonl_truncate(void *ctx, int64_t bytes, struct sp_err *err);

/* Checkpoint of (node, source) from the sidecar (or the last commit):
 * same contract as sp_sqlite_checkpoint_get (SP_OK / SP_EOF). */
int sp_jsonl_checkpoint_get(void *ctx, const char *node, const char *source, int64_t *line,
                            int64_t *offset, char **state, struct sp_err *err);

/* Turn the sidecar on (default for files) or off (a database keeps the checkpoints). */
void sp_jsonl_set_sidecar(void *ctx, int on);

#endif
