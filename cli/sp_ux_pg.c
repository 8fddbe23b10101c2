/* sp_ux_pg.c - read commands on a PostgreSQL store: the relations a command reads, copied into an in-memory SQLite database. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "../core/sp_buf.h"
#include "../sinks/sp_pg.h"
#include "sp_ux.h"

/* PostgreSQL type OIDs (pg_type.h) mapped to SQLite storage classes */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26, OID_FLOAT4 = 700,
       OID_FLOAT8 = 701, OID_NUMERIC = 1700 };

static const char *affinity(Oid t)
{
    switch (t) {
    case OID_BOOL:
    case OID_INT8:
    case OID_INT2:
    case OID_INT4:
    case OID_OID: return "INTEGER";
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC: return "REAL";
    default: return "TEXT";
    }
}

/* Append name as a quoted SQL identifier ("" inside doubled): the
 * relation names are our own, the column names the server's. */
static void append_ident(struct sp_buf *b, const char *name)
{
    sp_buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"') sp_buf_putc(b, '"');
        sp_buf_putc(b, *p);
    }
    sp_buf_putc(b, '"');
}

/* Copy relation rel (node = node when node is non-NULL) from c into table rel of mem. */
static int copy_rel(const char *cmd, const char *where, PGconn *c, sqlite3 *mem, const char *rel, const char *node)
{
    struct sp_buf sql;
    const char *vals[1] = {node};
    PGresult *r;
    sqlite3_stmt *ins = NULL;
    int nf, rc = 0;

    sp_buf_init(&sql, 0);
    /* rel is one of our own relation names; the node is a parameter */
    sp_buf_append_c(&sql, "SELECT * FROM ");
    append_ident(&sql, rel);
    if (node) sp_buf_append_c(&sql, " WHERE node = $1");
    r = PQexecParams(c, sql.data, node ? 1 : 0, NULL, vals, NULL, NULL, 0);
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        fprintf(stderr, "slogpipe %s: %s: read %s: %s", cmd, where, rel, PQerrorMessage(c));
        /* 42P01: no such table or view (not a slogpipe database, or an older one) */
        rc = st && strcmp(st, "42P01") == 0 ? EX_DATAERR : EX_SOFTWARE;
        goto out;
    }
    nf = PQnfields(r);
    sp_buf_reset(&sql);
    sp_buf_append_c(&sql, "CREATE TABLE ");
    append_ident(&sql, rel);
    for (int i = 0; i < nf; i++) {
        sp_buf_append_c(&sql, i ? ", " : " (");
        append_ident(&sql, PQfname(r, i));
        sp_buf_putc(&sql, ' ');
        sp_buf_append_c(&sql, affinity(PQftype(r, i)));
    }
    sp_buf_append_c(&sql, ")");
    if (sqlite3_exec(mem, sql.data, NULL, NULL, NULL) != SQLITE_OK) goto sqlfail; /* CREATE TABLE, quoted names */
    sp_buf_reset(&sql);
    sp_buf_append_c(&sql, "INSERT INTO ");
    append_ident(&sql, rel);
    sp_buf_append_c(&sql, " VALUES (");
    for (int i = 0; i < nf; i++) sp_buf_append_c(&sql, i ? ",?" : "?");
    sp_buf_append_c(&sql, ")");
    if (sqlite3_prepare_v2(mem, sql.data, -1, &ins, NULL) != SQLITE_OK) goto sqlfail; /* INSERT, values bound */
    sqlite3_exec(mem, "BEGIN", NULL, NULL, NULL);
    for (int row = 0; row < PQntuples(r); row++) {
        for (int i = 0; i < nf; i++) {
            const char *v = PQgetvalue(r, row, i);
            const char *aff = affinity(PQftype(r, i));
            if (PQgetisnull(r, row, i)) sqlite3_bind_null(ins, i + 1);
            else if (PQftype(r, i) == OID_BOOL) sqlite3_bind_int(ins, i + 1, v[0] == 't');
            else if (aff[0] == 'I') sqlite3_bind_int64(ins, i + 1, strtoll(v, NULL, 10));
            else if (aff[0] == 'R') sqlite3_bind_double(ins, i + 1, strtod(v, NULL));
            else sqlite3_bind_text(ins, i + 1, v, PQgetlength(r, row, i), SQLITE_STATIC);
        }
        if (sqlite3_step(ins) != SQLITE_DONE) goto sqlfail;
        sqlite3_reset(ins);
    }
    sqlite3_exec(mem, "COMMIT", NULL, NULL, NULL);
    goto out;
sqlfail:
    fprintf(stderr, "slogpipe %s: copy of %s: %s\n", cmd, rel, sqlite3_errmsg(mem));
    rc = EX_SOFTWARE;
out:
    sqlite3_finalize(ins);
    PQclear(r);
    sp_buf_free(&sql);
    return rc;
}

int sp_ux_open_store(const char *cmd, const char *db, const char *const *rels, const char *node, sqlite3 **out)
{
    char where[256];
    PGconn *c;
    sqlite3 *mem = NULL;
    int rc = 0;

    *out = NULL;
    if (!sp_store_is_pg(db)) return sp_ux_open_db(cmd, db, out);
    sp_pg_describe(db, where, sizeof(where));
    c = PQconnectdb(db);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "slogpipe %s: %s: connect: %s", cmd, where, c ? PQerrorMessage(c) : "out of memory\n");
        PQfinish(c);
        return EX_NOINPUT;
    }
    /* one snapshot for every relation read */
    PQclear(PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    if (sqlite3_open(":memory:", &mem) != SQLITE_OK) {
        fprintf(stderr, "slogpipe %s: in-memory database: %s\n", cmd, sqlite3_errmsg(mem));
        rc = EX_SOFTWARE;
    }
    for (int i = 0; rc == 0 && rels[i]; i++) rc = copy_rel(cmd, where, c, mem, rels[i], node);
    PQfinish(c);
    if (rc) {
        sqlite3_close(mem);
        return rc;
    }
    *out = mem;
    return 0;
}
