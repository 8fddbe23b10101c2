/* config.c - `-c FILE` config files: `key = value` lines turned into long options (flags given later override). */
#include "sp_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/sp_buf.h"

#define CONFIG_MAX_BYTES (1u << 20) /* a config file is small; refuse anything bigger */

static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
    if (la > 63 || lb > 63) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(size_t) * (lb + 1));
    }
    return prev[lb];
}

const char *sp_config_nearest(const char *key, const struct option *opts)
{
    const char *best = "input";
    size_t bd = levenshtein(key, "input");
    for (const struct option *o = opts; o->name; o++) {
        size_t d = levenshtein(key, o->name);
        if (d < bd) {
            bd = d;
            best = o->name;
        }
    }
    return best;
}

static char *trim(char *s)
{
    char *e;
    while (*s && isspace((unsigned char)*s)) s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static void push(struct sp_config *c, char *arg)
{
    c->args = sp_xrealloc(c->args, sizeof(char *) * (size_t)(c->nargs + 2));
    c->args[c->nargs++] = arg;
    c->args[c->nargs] = NULL;
}

static void push_input(struct sp_config *c, const char *path)
{
    c->inputs = sp_xrealloc(c->inputs, sizeof(char *) * (size_t)(c->ninputs + 2));
    c->inputs[c->ninputs++] = sp_xstrdup(path);
    c->inputs[c->ninputs] = NULL;
}

int sp_config_parse(struct sp_config *c, const char *path, const char *text, size_t n,
                     const struct option *opts, struct sp_err *err)
{
    char *copy = sp_xstrndup(text, n), *line, *next;
    int lineno = 0, rc = SP_OK;

    memset(c, 0, sizeof(*c));
    if (memchr(text, '\0', n)) {
        free(copy);
        return sp_err_set(err, SP_EUSAGE, "%s: NUL byte in config file", path);
    }
    for (line = copy; line && rc == SP_OK; line = next) {
        char *eq, *key, *val;
        const struct option *o;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        lineno++;
        key = trim(line);
        if (*key == '\0' || *key == '#' || *key == ';') continue;
        eq = strchr(key, '=');
        if (!eq) {
            rc = sp_err_set(err, SP_EUSAGE, "%s:%d: expected 'key = value'", path, lineno);
            break;
        }
        *eq = '\0';
        key = trim(key);
        val = trim(eq + 1);
        /* allow "quoted values" */
        if (val[0] == '"' && strlen(val) >= 2 && val[strlen(val) - 1] == '"') {
            val[strlen(val) - 1] = '\0';
            val++;
        }
        for (char *k = key; *k; k++)
            if (*k == '_') *k = '-';
        if (strcmp(key, "input") == 0) {
            push_input(c, val);
            continue;
        }
        for (o = opts; o->name; o++)
            if (strcmp(o->name, key) == 0) break;
        if (!o->name || strcmp(key, "help") == 0 || strcmp(key, "config") == 0) {
            rc = sp_err_set(err, SP_EUSAGE, "%s:%d: unknown key '%s' (did you mean '%s'?)", path,
                            lineno, key, sp_config_nearest(key, opts));
            break;
        }
        if (o->has_arg == no_argument) {
            if (strcmp(val, "true") == 0 || strcmp(val, "yes") == 0 || strcmp(val, "1") == 0) {
                struct sp_buf b;
                sp_buf_init(&b, 0);
                sp_buf_printf(&b, "--%s", key);
                push(c, b.data);
            } else if (strcmp(val, "false") != 0 && strcmp(val, "no") != 0 && strcmp(val, "0") != 0) {
                rc = sp_err_set(err, SP_EUSAGE, "%s:%d: '%s' takes true or false, not '%s'", path,
                                lineno, key, val);
            }
        } else {
            struct sp_buf b;
            sp_buf_init(&b, 0);
            sp_buf_printf(&b, "--%s=%s", key, val);
            push(c, b.data);
        }
    }
    free(copy);
    if (rc != SP_OK) sp_config_free(c);
    return rc;
}

int sp_config_load(struct sp_config *c, const char *path, const struct option *opts, struct sp_err *err)
{
    FILE *f = fopen(path, "rb");
    struct sp_buf b;
    char chunk[8192];
    size_t got;
    int rc;

    memset(c, 0, sizeof(*c));
    if (!f) return sp_err_set(err, SP_EUSAGE, "%s: %s", path, strerror(errno));
    sp_buf_init(&b, CONFIG_MAX_BYTES);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (sp_buf_append(&b, chunk, got) != SP_OK) {
            fclose(f);
            sp_buf_free(&b);
            return sp_err_set(err, SP_EUSAGE, "%s: larger than %u bytes", path, CONFIG_MAX_BYTES);
        }
    }
    if (ferror(f)) {
        fclose(f);
        sp_buf_free(&b);
        return sp_err_set(err, SP_EUSAGE, "%s: read error", path);
    }
    fclose(f);
    rc = sp_config_parse(c, path, b.data ? b.data : "", b.len, opts, err);
    sp_buf_free(&b);
    return rc;
}

void sp_config_free(struct sp_config *c)
{
    for (int i = 0; i < c->nargs; i++) free(c->args[i]);
    for (int i = 0; i < c->ninputs; i++) free(c->inputs[i]);
    free(c->args);
    free(c->inputs);
    memset(c, 0, sizeof(*c));
}
