/* sp_schema.h - the DDL files (schemas/sqlite/NNN-*.sql, schemas/postgres/NNN-*.sql) embedded at build time. */
#ifndef SP_SCHEMA_H
#define SP_SCHEMA_H

struct sp_schema_file {
    const char *name; /* "001-core.sql" */
    const char *sql;  /* whole file text, NUL-terminated */
};

/* sp_schema_files[k] is migration k+1 (it sets PRAGMA user_version = k+1). */
extern const struct sp_schema_file sp_schema_files[];
extern const int sp_schema_count;

/* The same for schemas/postgres/NNN-*.sql (version k+1 in slogpipe_schema). */
extern const struct sp_schema_file sp_pg_schema_files[];
extern const int sp_pg_schema_count;

#endif
