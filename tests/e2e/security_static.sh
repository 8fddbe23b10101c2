#!/usr/bin/env bash
# security_static.sh - no input reaches SQL text, a format string or a shell: grep checks over the sources (with a reviewed list of exceptions) and a -Wformat-nonliteral/-Wformat-security compile of every file.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC"
DIRS="core ingest normalize sinks timeline pipeline kafka cli"
files=$(ls $(for d in $DIRS; do echo "$d/*.c $d/*.h"; done) 2>/dev/null)

# Reviewed exceptions: FILE<TAB>code that may appear on the line<TAB>why it is safe.
ALLOW=$(cat <<'LIST'
ingest/sp_swingstore.c	sqlite3_exec(s->db, "BEGIN"	constant SQL
ingest/sp_swingstore.c	sqlite3_exec(s->db, "ROLLBACK"	constant SQL
ingest/sp_swingstore.c	sqlite3_exec(s.db, "PRAGMA query_only = 1"	constant SQL
ingest/sp_swingstore.c	sqlite3_exec(s.db, "COMMIT"	constant SQL
sinks/sp_sink_sqlite.c	sqlite3_exec(s->db, "ROLLBACK"	constant SQL
sinks/sp_sink_sqlite.c	rc = fast ? sqlite3_exec(c->db, "PRAGMA synchronous=OFF"	constant SQL
sinks/sp_sink_sqlite.c	: sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL"	constant SQL
timeline/sp_analyze.c	sqlite3_exec(db, "SAVEPOINT sp_analyze"	constant SQL
timeline/sp_analyze.c	sqlite3_exec(db, "RELEASE sp_analyze"	constant SQL
timeline/sp_analyze.c	sqlite3_exec(db, "ROLLBACK TO sp_analyze; RELEASE sp_analyze"	constant SQL
timeline/sp_tl_replay.c	sqlite3_exec(db, "DROP TABLE IF EXISTS temp.tl_rsrc"	constant SQL
pipeline/sp_metrics.c	strcpy(host, "127.0.0.1")	constant into a buffer that held "localhost" (longer)
sinks/sp_sink_sqlite.c	"PRAGMA user_version=%lld", (long long)k + 1	SQL text from an integer (migration index)
sinks/sp_sink_sqlite.c	snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s; PRAGMA cache_size=-%d",	SQL text from constant choices (OFF/NORMAL) and an integer
timeline/sp_analyze.c	snprintf(sql, sizeof sql, "PRAGMA cache_size=%lld", (long long)v);	SQL text from an integer (the connection's own cache_size, restored after the analysis)
timeline/sp_analyze.c	sqlite3_exec(db, sql, NULL, NULL, NULL); /* a hint: failure changes nothing else */	that PRAGMA (built from an integer just above)
ingest/sp_swingstore.c	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);	prep helper; reviewed: every caller passes a string literal
sinks/sp_sink_sqlite.c	int rc = SQ(sqlite3_prepare_v2(s->db, sql, -1, &st, &tail), SQLITE_IOERR);	runs the embedded migrations (schemas/sqlite/*.sql compiled in)
sinks/sp_sink_sqlite.c	int rc = SQ(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_IOERR);	query_int helper; reviewed: callers pass literals
sinks/sp_sink_sqlite.c	rc = SQ(sqlite3_prepare_v3(s->db, stmt_defs[which].sql, -1, SQLITE_PREPARE_PERSISTENT,	constant statement table
timeline/sp_analyze.c	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK) {	tl_prep helper; reviewed: callers pass static const SQL (values bound as ?1..)
timeline/sp_tl_stream.c	if (sqlite3_prepare_v2(db, sql, -1, &t->lk[i].st, NULL) != SQLITE_OK) {	sp_tl_lookup: every lookup of the stage (its constant table q_sql) and of its parts; reviewed: callers pass static const strings (cached by address), values bound as ?1..
timeline/sp_tl_replay.c	if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) != SQLITE_OK) return sqlerr(r, "prepare");	prep helper of the replay; reviewed: callers pass string literals or static const SQL, the node bound as ?1
cli/sp_ux.c	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK) return 0;	sp_ux_prepare; callers pass literals, except `slogpipe query SQL` which runs the user's own SQL on their own DB by design
cli/cmd_query.c	sp_ux_prepare(	`slogpipe query` runs the SQL the user typed, read-only (by design)
cli/sp_ux_pg.c	sqlite3_exec(mem, sql.data, NULL, NULL, NULL) != SQLITE_OK) goto sqlfail; /* CREATE TABLE, quoted names */	in-memory copy of a PostgreSQL relation: our relation name and the server's column names, quoted by append_ident
cli/sp_ux_pg.c	sqlite3_prepare_v2(mem, sql.data, -1, &ins, NULL) != SQLITE_OK) goto sqlfail; /* INSERT, values bound */	the same copy's INSERT: quoted relation name, values bound as ?
cli/cmd_explain.c	sqlite3_exec(db, "CREATE TEMP TABLE costs	constant SQL (the result table of query costs)
cli/cmd_explain.c	int ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;	has_rel probe; its one caller passes a literal
cli/cmd_report.c	if (d->optional && sqlite3_prepare_v2(db, d->sql, -1, &st, NULL) != SQLITE_OK) {	the constant dataset table of the report
cli/sp_ux_pg.c	sqlite3_exec(mem, "BEGIN"	constant SQL
cli/sp_ux_pg.c	sqlite3_exec(mem, "COMMIT"	constant SQL
LIST
)
allowed() { # FILE LINE-TEXT -> 0 if listed
  local f=$1 text=$2 af code why
  while IFS=$'\t' read -r af code why; do
    [ "$af" = "$f" ] && [[ "$text" == *"$code"* ]] && return 0
  done <<<"$ALLOW"
  return 1
}
scan() { # DESCRIPTION ERE
  local desc=$1 re=$2 hits=0 f n text
  while IFS=: read -r f n text; do
    [ -z "$f" ] && continue
    case "$text" in *'/*'*|' *'*) [[ "$text" =~ ^[[:space:]]*(/\*|\*) ]] && continue ;; esac
    if allowed "$f" "$text"; then continue; fi
    hits=$((hits + 1)); echo "   $f:$n: $text"
  done < <(grep -nE "$re" $files | sed -E 's/^([^:]+):([0-9]+):/\1:\2:/')
  check "$desc" "$hits" 0
}

scan "no sprintf/vsprintf/strcpy/strcat/gets" '(^|[^a-z_n])(v?sprintf|strcpy|strcat|gets)\('
scan "no system/popen/exec*/shell" '(^|[^a-z_.>])(system|popen|execl|execlp|execv|execvp|execve)\('
scan "no sqlite3_mprintf/vmprintf/snprintf (SQL text from data)" 'sqlite3_(v?mprintf|snprintf)\('
scan "sqlite3_exec only with constant SQL" 'sqlite3_exec\('
scan "no SQL text built with printf" '(snprintf|sp_buf_printf)\(.*"[^"]*(SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE|DROP)'
scan "sqlite3_prepare only with literal SQL (or a reviewed helper)" 'sqlite3_prepare(_v2|_v3)?\([^,]+,[[:space:]]*[^"[:space:]]'

# printf-style functions carry the format attribute (so the compiler checks every caller)...
nofmt=0
for name in $(grep -hoE '[a-z_0-9]+\([^()]*const char \*fmt, \.\.\.\)' $files | sed 's/(.*//' | sort -u); do
  grep -hA1 -E "(^|[ *])$name\(" $files >"$T/decl" || true
  if ! grep -q 'format(printf' "$T/decl"; then
    nofmt=$((nofmt + 1)); echo "   $name: no __attribute__((format(printf)))"
  fi
done
check "every printf-style function is declared with __attribute__((format(printf)))" "$nofmt" 0

# ...and no format string that is not a literal: compile everything with the format checks as errors.
fails=0
for f in $(ls $(for d in $DIRS; do echo "$d/*.c"; done)); do
  if ! gcc -std=c11 -D_GNU_SOURCE -fsyntax-only -Wformat=2 -Werror=format-nonliteral -Werror=format-security \
       -I"$SRC" $(for d in $DIRS; do echo "-I$SRC/$d"; done) -I"$BUILD/sinks" $(pkg-config --cflags yajl rdkafka sqlite3 zlib 2>/dev/null) \
       "$f" 2>"$T/cc.err"; then
    if grep -q 'format' "$T/cc.err"; then fails=$((fails + 1)); grep -m3 'format' "$T/cc.err"; fi
  fi
done
check "no non-literal or unchecked format string (-Werror=format-nonliteral,format-security)" "$fails" 0
grep -q -- '-Wformat=2' "$SRC/CMakeLists.txt" && ok "the build itself uses -Wformat=2" || bad "CMakeLists.txt lost -Wformat=2"

echo "reviewed exceptions:"
while IFS=$'\t' read -r af code why; do echo "   $af: $code -- $why"; done <<<"$ALLOW"
finish
