/* fuzz_util.h - helpers shared by the fuzz targets: a per-process temp dir, file writing, record checks. */
#ifndef SP_FUZZ_UTIL_H
#define SP_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/sp_buf.h"
#include "../../core/sp_core.h"
#include "../../sinks/sp_sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private temp directory made once per process (removed at exit by
 * fuzz_rm_tree of the caller's files; the dir itself by atexit). */
const char *fuzz_tmpdir(void);
/* Write n bytes to dir/name (replacing it). Aborts on failure: the fuzz
 * harness itself must not fail silently. */
void fuzz_write_file(const char *dir, const char *name, const void *p, size_t n);
/* Remove every entry of dir (not recursive: targets make flat dirs). */
void fuzz_clear_dir(const char *dir);
/* Serialize rec with sp_record_to_json and check the output is valid
 * UTF-8: touches every slice of the record, so ASan sees a stale one. */
void fuzz_check_record(const struct sp_record *rec);

#endif
