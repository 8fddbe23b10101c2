/* sp_detect.c - tell what an input path is (slog, flight recorder, swing-store, export/archive/block-slog dir) from its content. */
#include "sp_reader_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *sp_input_kind_name(enum sp_input_kind k)
{
    switch (k) {
    case SP_IN_SLOG: return "slog";
    case SP_IN_FLIGHT_RECORDER: return "flight-recorder";
    case SP_IN_BLOCK_SLOG_DIR: return "block-slog-dir";
    case SP_IN_SWINGSTORE: return "swingstore";
    case SP_IN_EXPORT_DIR: return "export-dir";
    case SP_IN_ARCHIVE_DIR: return "archive-dir";
    case SP_IN_UNKNOWN: break;
    }
    return "unknown";
}

/* "." followed by 1+ digits at *p; advances *p. */
static int dot_digits(const char **p)
{
    const char *q = *p;
    if (*q != '.') return 0;
    q++;
    if (*q < '0' || *q > '9') return 0;
    while (*q >= '0' && *q <= '9') q++;
    *p = q;
    return 1;
}

/* transcript.v<N>.<start>.<end> or the same + ".gz" */
static int is_transcript_name(const char *name)
{
    static const char pre[] = "transcript.v";
    const char *p = name + sizeof(pre) - 1;
    if (strncmp(name, pre, sizeof(pre) - 1) != 0) return 0;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
    if (!dot_digits(&p) || !dot_digits(&p)) return 0;
    return *p == '\0' || strcmp(p, ".gz") == 0;
}

static enum sp_input_kind detect_dir(const char *path, struct sp_err *err)
{
    DIR *dh = opendir(path);
    struct dirent *de;
    int manifest = 0, sqlite = 0, slogfile = 0, transcript = 0;

    if (!dh) {
        sp_err_set(err, SP_EIO, "%s: %s", path, strerror(errno));
        return SP_IN_UNKNOWN;
    }
    while ((de = readdir(dh)) != NULL) {
        int64_t ms, height;
        int rank;
        if (strcmp(de->d_name, "export-manifest.json") == 0) manifest = 1;
        else if (strcmp(de->d_name, "swingstore.sqlite") == 0) sqlite = 1;
        else if (sp_blockdir_parse_name(de->d_name, &ms, &rank, &height)) slogfile = 1;
        else if (is_transcript_name(de->d_name)) transcript = 1;
    }
    closedir(dh);
    if (manifest) return SP_IN_EXPORT_DIR;
    if (sqlite) return SP_IN_SWINGSTORE;
    if (slogfile) return SP_IN_BLOCK_SLOG_DIR;
    if (transcript) return SP_IN_ARCHIVE_DIR;
    sp_err_set(err, SP_EUSAGE,
               "%s: directory holds no export-manifest.json, swingstore.sqlite, slogfile_*.gz or "
               "transcript.v*.*.* files",
               path);
    return SP_IN_UNKNOWN;
}

enum sp_input_kind sp_input_detect(const char *path, struct sp_err *err)
{
    static const unsigned char sqlite_magic[16] = "SQLite format 3";
    unsigned char head[16];
    struct stat sb;
    size_t got = 0;
    int fd;

    if (strcmp(path, "-") == 0) return SP_IN_SLOG;
    if (stat(path, &sb) != 0) {
        sp_err_set(err, SP_EIO, "%s: %s", path, strerror(errno));
        return SP_IN_UNKNOWN;
    }
    if (S_ISDIR(sb.st_mode)) return detect_dir(path, err);
    if (!S_ISREG(sb.st_mode)) return SP_IN_SLOG; /* pipe, tty: peeking would eat its bytes */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sp_err_set(err, SP_EIO, "%s: %s", path, strerror(errno));
        return SP_IN_UNKNOWN;
    }
    while (got < sizeof(head)) {
        ssize_t k = read(fd, head + got, sizeof(head) - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            sp_err_set(err, SP_EIO, "%s: %s", path, strerror(errno));
            close(fd);
            return SP_IN_UNKNOWN;
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    close(fd);
    if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) return SP_IN_SLOG;
    if (got >= 8 && memcmp(head, "AG-SLOG!", 8) == 0) return SP_IN_FLIGHT_RECORDER;
    if (got >= 16 && memcmp(head, sqlite_magic, 16) == 0) return SP_IN_SWINGSTORE;
    return SP_IN_SLOG; /* text (or an empty file: the reader ends at once) */
}
