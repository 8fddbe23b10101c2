/* sp_ux.h - the user-facing read commands (query, report, extract) and the helpers they share. */
#ifndef SP_UX_H
#define SP_UX_H

#include <stddef.h>
#include <stdio.h>
#include <sqlite3.h>

/*
 * Subcommand entry points (argv[0] = command name). Each parses its own
 * options with getopt_long, prints --help to stdout (exit 0), usage errors
 * to stderr (EX_USAGE), and returns a sysexits code: EX_NOINPUT when the
 * database is missing, EX_DATAERR when it is not a slogpipe database (or
 * predates the views), EX_CANTCREAT / EX_IOERR for output failures.
 * The database is always opened read-only.
 */
int sp_cmd_query(int argc, char **argv);
int sp_cmd_report(int argc, char **argv);
int sp_cmd_extract(int argc, char **argv);
/* slogpipe explain --db DB (--block H | --slowest N) (cli/cmd_explain.c). */
int sp_cmd_explain(int argc, char **argv);

/*
 * `query costs`: fill the temp table `costs` of db (period, node, grp,
 * count, seconds, p50_s, p95_s, max_s, computrons, p50_computrons,
 * p95_computrons, max_computrons, boyd_share, seq = output order) from the
 * live deliveries, grouped by `by` (vat, method, dispatch, trigger; NULL =
 * vat) per `period` (hour, day, Nblocks; NULL = day), percentiles exact
 * (core/sp_pct.h). Returns 0 or a sysexits code (message printed).
 */
int sp_ux_costs(sqlite3 *db, const char *node, const char *vat, const char *by, const char *period);

/* ---- helpers (cli/sp_ux.c) ---- */

/*
 * Open an existing slogpipe database read-only. On success *db is set
 * (caller closes with sqlite3_close) and 0 is returned; otherwise an
 * "slogpipe CMD: ..." message is printed and a sysexits code returned
 * (EX_NOINPUT: missing/unreadable, EX_DATAERR: not an SQLite database).
 */
int sp_ux_open_db(const char *cmd, const char *path, sqlite3 **db);

/*
 * Open the store named by db for reading: a SQLite file (sp_ux_open_db),
 * or a PostgreSQL URL / keyword string (sp_store_is_pg), whose relations
 * rels (NULL-terminated: tables or views of schemas/postgres) are read in
 * one snapshot, only the rows of `node` when node is non-NULL, into
 * tables of the same names in an in-memory SQLite database, so that the
 * command's SQLite SQL runs unchanged. Returns 0 with *db set (caller
 * closes) or a sysexits code with a message printed (EX_NOINPUT: cannot
 * connect; EX_DATAERR: a relation is missing, not a slogpipe database).
 */
int sp_ux_open_store(const char *cmd, const char *db, const char *const *rels, const char *node, sqlite3 **out);

/*
 * Prepare sql on db. 0 on success (*st set, caller finalizes); otherwise
 * prints a message naming the statement's purpose `what` and returns
 * EX_DATAERR when a table/view is missing (old or foreign database) or
 * EX_SOFTWARE for any other SQLite error.
 */
int sp_ux_prepare(const char *cmd, sqlite3 *db, const char *what, const char *sql, sqlite3_stmt **st);

/* Bind a C string or NULL (as SQL NULL) to parameter idx. */
void sp_ux_bind_text(sqlite3_stmt *st, int idx, const char *s);

/*
 * Write bytes p[0..n) as a JSON string literal (with quotes) to f.
 * Invalid UTF-8 bytes become U+FFFD; control chars, '"' and '\' are
 * escaped. html_safe additionally escapes '<', '>', '&', U+2028, U+2029
 * as \uXXXX so the literal can sit inside an HTML <script> element.
 */
void sp_ux_json_str(FILE *f, const char *p, size_t n, int html_safe);

/* Write bytes p[0..n) to f as valid UTF-8: each invalid byte becomes U+FFFD. */
void sp_ux_utf8_write(FILE *f, const char *p, size_t n);

/* Write column i of the current row of st as a JSON value (null, number
 * or string; non-finite reals as null). */
void sp_ux_json_col(FILE *f, sqlite3_stmt *st, int i, int html_safe);

/* 1 if s is a vat ID "v" followed by 1..9 decimal digits, else 0. */
int sp_ux_valid_vat(const char *s);

#endif
