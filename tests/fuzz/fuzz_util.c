/* fuzz_util.c - temp dir, file writing and record serialization shared by the fuzz targets. */
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>

static char tmpdir[256];

static void tmpdir_remove(void)
{
    if (!tmpdir[0]) return;
    fuzz_clear_dir(tmpdir);
    rmdir(tmpdir);
}

const char *fuzz_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/spfuzz.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(tmpdir_remove);
    }
    return tmpdir;
}

void fuzz_write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    const char *c = p;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            perror(path);
            abort();
        }
        c += k;
        n -= (size_t)k;
    }
    close(fd);
}

void fuzz_clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[512];
    if (!d) return;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
}

void fuzz_check_record(const struct sp_record *rec)
{
    struct sp_buf b;
    size_t bad;
    sp_buf_init(&b, 0);
    if (sp_record_to_json(rec, &b) == SP_OK && !sp_utf8_valid(b.data, b.len, &bad)) {
        fprintf(stderr, "sp_record_to_json produced invalid UTF-8 at byte %zu\n", bad);
        abort();
    }
    sp_buf_free(&b);
}
