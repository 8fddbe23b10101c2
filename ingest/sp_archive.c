/* sp_archive.c - vat-transcript-archive-dir (transcript.<vat>.<start>.<end>.gz files) -> transcript records. */
#include "sp_transcript_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AR_VAT_MAX 128

struct ar_file {
    char *file; /* directory entry name */
    char vat[AR_VAT_MAX + 1];
    int64_t start, end;
};

static int ar_cmp(const void *a, const void *b)
{
    const struct ar_file *x = a, *y = b;
    int c = strcmp(x->vat, y->vat);
    if (c) return c;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return strcmp(x->file, y->file);
}

static int ar_one(struct sp_tx *t, const char *dir, const char *dir_real, const struct ar_file *f)
{
    struct sp_tx_lines l;
    struct sp_tx_span acc;
    struct sp_err e;
    char *path = NULL;
    const char *p;
    size_t n;
    int64_t pos = f->start;
    int fd, rc;

    rc = sp_tx_open_in_dir(dir, dir_real, f->file, &path, &fd, &e);
    if (rc) {
        /* vanished since readdir (pruned): a warning; unsafe or unreadable: the input's error */
        if (rc == SP_EOF)
            rc = sp_tx_bad(t, path ? path : dir, -1, sp_str_c(f->file), "warning: %s/%s: %s", dir, f->file, e.msg);
        else
            rc = sp_tx_part_failed(t, rc, path ? path : dir, "%s/%s: %s: span %s [%lld,%lld) has no items", dir,
                                   f->file, e.msg, f->vat, (long long)f->start, (long long)f->end);
        free(path);
        return rc;
    }
    if ((rc = sp_tx_lines_open_fd(&l, fd, path, &e))) {
        rc = sp_tx_part_failed(t, rc, path, "%s", e.msg);
        free(path);
        return rc;
    }
    sp_tx_span_begin(&acc);
    for (;;) {
        int lr = sp_tx_lines_next(&l, &p, &n, &e);
        if (lr == SP_EOF) break;
        if (lr == SP_EBADINPUT && l.skipping) {
            acc.broken = 1;
            rc = sp_tx_bad_at(t, path, l.line, l.off, SP_STR_NULL, "%s (%s position %lld)", e.msg, f->vat,
                              (long long)pos);
            pos++;
            if (rc) break;
            continue;
        }
        if (lr != SP_OK) {
            acc.broken = 1;
            rc = sp_tx_part_failed_at(t, lr, path, l.line + 1, l.err_off, "%s", e.msg);
            break;
        }
        n = sp_tx_trim_end(p, n);
        rc = sp_tx_item(t, &acc, path, sp_str_c(f->vat), pos, -1, l.line, l.off, p, n);
        pos++;
        if (rc) break;
    }
    sp_tx_lines_close(&l);
    if (!rc)
        rc = sp_tx_span_emit(t, &acc, path, sp_str_c(f->vat), f->start, f->end, SP_STR_NULL, 0, -1);
    free(path);
    return rc;
}

int sp_archive_ingest(const char *dir, const struct sp_transcript_opts *o, sp_record_fn fn,
                      void *arg, struct sp_err *err)
{
    struct sp_tx t;
    struct ar_file *files = NULL;
    size_t nf = 0, af = 0, i;
    char *dir_real = NULL;
    DIR *d = NULL;
    struct dirent *de;
    int rc = SP_OK;

    sp_tx_init(&t, o, fn, arg, err);
    dir_real = realpath(dir, NULL);
    if (!dir_real || !(d = opendir(dir_real))) {
        rc = sp_err_set(err, SP_EIO, "%s: %s", dir, strerror(errno));
        goto out;
    }
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t n = strlen(name);
        struct ar_file f;

        if (strncmp(name, "transcript.", 11)) {
            if (strncmp(name, "snapshot.", 9) && name[0] != '.')
                sp_debug("%s: %s is not an archive file: skipped", dir, name);
            continue;
        }
        if (n > 3 && !strcmp(name + n - 3, ".gz")) n -= 3;
        memset(&f, 0, sizeof(f));
        if (!sp_tx_parse_transcript_name(name, n, f.vat, sizeof(f.vat), &f.start, &f.end)) {
            rc = sp_tx_bad(&t, dir, -1, sp_str_c(name),
                           "warning: %s/%s: not transcript.<vatID>.<startPos>.<endPos>[.gz]: skipped",
                           dir, name);
            if (rc) goto out;
            continue;
        }
        f.file = sp_xstrdup(name);
        if (nf == af) {
            af = af ? 2 * af : 64;
            files = sp_xrealloc(files, af * sizeof(*files));
        }
        files[nf++] = f;
    }
    closedir(d);
    d = NULL;
    if (nf) qsort(files, nf, sizeof(*files), ar_cmp); /* qsort(NULL, 0) is UB */
    for (i = 0; i < nf && !rc; i++) rc = ar_one(&t, dir, dir_real, &files[i]);
    if (!rc) rc = sp_tx_finish(&t);
out:
    if (d) closedir(d);
    for (i = 0; i < nf; i++) free(files[i].file);
    free(files);
    free(dir_real);
    sp_tx_free(&t);
    return rc;
}
