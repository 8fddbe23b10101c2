/* fuzz_export.c - fuzz target: state-sync export directories (manifest, export data, transcript artifacts) through sp_export_ingest. */
#include "fuzz_util.h"

#include <sys/stat.h>

#include "../../ingest/sp_transcript.h"

/*
 * Input: parts separated by "\n==\n": export-manifest.json, then the
 * export data (written as export-data.jsonl), then artifacts written as
 * transcript.v1.0.5, transcript.v1.5.10, transcript.v2.0.3, f5, f6, f7.
 * The directory also holds two symlinks leading out of it ("out" ->
 * /etc/hostname, "up" -> ..) which a manifest may name. Every record is
 * serialized; bad-input records must name a location.
 */
#define SEP "\n==\n"

static const char *const names[] = {"export-manifest.json", "export-data.jsonl", "transcript.v1.0.5",
                                    "transcript.v1.5.10",   "transcript.v2.0.3", "f5",
                                    "f6",                   "f7"};

static int on_record(void *arg, const struct sp_record *rec, struct sp_err *err)
{
    (void)arg;
    (void)err;
    fuzz_check_record(rec);
    if (rec->kind == SP_REC_BAD && (!rec->u.bad->reason || !rec->u.bad->reason[0])) {
        fprintf(stderr, "bad record without a reason\n");
        abort();
    }
    return SP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[600];
    const char *p = (const char *)data, *end = p + size;
    struct sp_transcript_opts o;
    struct sp_err err;
    char link[700];
    size_t i = 0;

    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/export", fuzz_tmpdir());
        if (mkdir(dir, 0700) != 0) abort();
    }
    fuzz_clear_dir(dir);
    while (i < sizeof names / sizeof names[0]) {
        const char *s = memmem(p, (size_t)(end - p), SEP, 4);
        size_t n = s ? (size_t)(s - p) : (size_t)(end - p);
        fuzz_write_file(dir, names[i++], p, n);
        if (!s) break;
        p = s + 4;
    }
    snprintf(link, sizeof link, "%s/out", dir);
    if (symlink("/etc/hostname", link) != 0) abort();
    snprintf(link, sizeof link, "%s/up", dir);
    if (symlink("..", link) != 0) abort();

    sp_transcript_opts_init(&o);
    o.node = "n1";
    int rc = sp_export_ingest(dir, &o, on_record, NULL, &err);
    if (rc != SP_OK && rc != SP_EBADINPUT && rc != SP_EIO) {
        fprintf(stderr, "sp_export_ingest returned %d\n", rc);
        abort();
    }
    if (rc != SP_OK && !err.msg[0]) {
        fprintf(stderr, "sp_export_ingest failed without a message\n");
        abort();
    }
    return 0;
}
