/* sp_ux.c - helpers shared by the read commands: read-only DB open, statement preparation, JSON output. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "../core/sp_core.h"
#include "sp_ux.h"

int sp_ux_open_db(const char *cmd, const char *path, sqlite3 **out)
{
    struct stat stbuf;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    *out = NULL;
    if (stat(path, &stbuf) != 0) {
        fprintf(stderr, "slogpipe %s: %s: %s\n", cmd, path, strerror(errno));
        return EX_NOINPUT;
    }
    if (!S_ISREG(stbuf.st_mode)) {
        fprintf(stderr, "slogpipe %s: %s: not a regular file\n", cmd, path);
        return EX_NOINPUT;
    }
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "slogpipe %s: %s: %s\n", cmd, path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return EX_NOINPUT;
    }
    sqlite3_busy_timeout(db, 10000); /* an ingest may be committing right now (WAL) */
    /* Touch the schema so that "file is not a database" shows up here. */
    rc = sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM sqlite_master", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        fprintf(stderr, "slogpipe %s: %s: %s\n", cmd, path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return EX_DATAERR;
    }
    sqlite3_finalize(st);
    *out = db;
    return 0;
}

int sp_ux_prepare(const char *cmd, sqlite3 *db, const char *what, const char *sql, sqlite3_stmt **st)
{
    const char *msg;

    *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK) return 0;
    msg = sqlite3_errmsg(db);
    fprintf(stderr, "slogpipe %s: %s: %s\n", cmd, what, msg);
    sqlite3_finalize(*st);
    *st = NULL;
    if (strstr(msg, "no such table") || strstr(msg, "no such view") || strstr(msg, "no such column")) {
        fprintf(stderr, "slogpipe %s: the database was not written by this slogpipe version "
                        "(re-run 'slogpipe ingest' on it to upgrade its schema)\n", cmd);
        return EX_DATAERR;
    }
    return EX_SOFTWARE;
}

void sp_ux_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}

/* Length of the UTF-8 sequence starting at p (1 for a bad lead byte) and
 * whether it is valid. */
static size_t utf8_seq(const unsigned char *p, size_t n, int *ok)
{
    size_t len = p[0] < 0xC0 ? 1 : p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
    size_t bad;

    if (p[0] >= 0x80 && p[0] < 0xC0) {
        *ok = 0;
        return 1;
    }
    if (len > n) {
        *ok = 0;
        return 1;
    }
    *ok = sp_utf8_valid((const char *)p, len, &bad);
    return *ok ? len : 1;
}

void sp_ux_json_str(FILE *f, const char *s, size_t n, int html_safe)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    fputc('"', f);
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
            case '"': fputs("\\\"", f); break;
            case '\\': fputs("\\\\", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default:
                if (c < 0x20 || c == 0x7f || (html_safe && (c == '<' || c == '>' || c == '&')))
                    fprintf(f, "\\u%04x", c);
                else
                    fputc(c, f);
            }
            i++;
            continue;
        }
        int ok;
        size_t len = utf8_seq(p + i, n - i, &ok);
        if (!ok) {
            fputs("\\ufffd", f);
        } else if (html_safe && len == 3 && p[i] == 0xE2 && p[i + 1] == 0x80 &&
                   (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
            fprintf(f, "\\u%04x", p[i + 2] == 0xA8 ? 0x2028 : 0x2029);
        } else {
            fwrite(p + i, 1, len, f);
        }
        i += len;
    }
    fputc('"', f);
}

void sp_ux_utf8_write(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t run = i;
        while (run < n && p[run] < 0x80) run++; /* ASCII stretch */
        fwrite(p + i, 1, run - i, f);
        i = run;
        if (i == n) break;
        int ok;
        size_t len = utf8_seq(p + i, n - i, &ok);
        if (ok)
            fwrite(p + i, 1, len, f);
        else
            fputs("\xef\xbf\xbd", f); /* U+FFFD */
        i += len;
    }
}

void sp_ux_json_col(FILE *f, sqlite3_stmt *st, int i, int html_safe)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: fputs("null", f); break;
    case SQLITE_INTEGER: fprintf(f, "%lld", (long long)sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        if (isfinite(v))
            fprintf(f, "%.16g", v);
        else
            fputs("null", f);
        break;
    }
    default: {
        const char *t = (const char *)sqlite3_column_text(st, i);
        sp_ux_json_str(f, t ? t : "", (size_t)sqlite3_column_bytes(st, i), html_safe);
    }
    }
}

int sp_ux_valid_vat(const char *s)
{
    size_t n;

    if (!s || s[0] != 'v') return 0;
    n = strspn(s + 1, "0123456789");
    return n >= 1 && n <= 9 && s[1 + n] == '\0';
}
