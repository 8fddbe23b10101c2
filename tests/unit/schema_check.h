/* schema_check.h - a small JSON Schema checker for the sink tests (the subset record.schema.json uses). */
#ifndef SCHEMA_CHECK_H
#define SCHEMA_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "sp_test.h"

#define SCHEMA_PATH SP_TEST_DATA "/../../schemas/json/record.schema.json"

static yajl_val schema; /* parsed record.schema.json, loaded by the test's main */

/* ---- checker: type, required, properties,
 * additionalProperties:false, const, enum, minimum, maxLength, pattern
 * "^[0-9a-f]{32}$", and the top-level oneOf by "kind". ---- */

static yajl_val get(yajl_val o, const char *key)
{
    const char *path[] = {key, NULL};
    return o ? yajl_tree_get(o, path, yajl_t_any) : NULL;
}

/* String value, "" when v is not a string. */
static const char *str(yajl_val v)
{
    return YAJL_IS_STRING(v) ? v->u.string : "";
}

static int type_is(yajl_val v, const char *t)
{
    if (!strcmp(t, "string")) return YAJL_IS_STRING(v);
    if (!strcmp(t, "integer")) return YAJL_IS_INTEGER(v);
    if (!strcmp(t, "number")) return YAJL_IS_NUMBER(v);
    if (!strcmp(t, "boolean")) return YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v);
    if (!strcmp(t, "object")) return YAJL_IS_OBJECT(v);
    if (!strcmp(t, "array")) return YAJL_IS_ARRAY(v);
    if (!strcmp(t, "null")) return YAJL_IS_NULL(v);
    return 0;
}

static int is_hex32(const char *s)
{
    size_t n = strlen(s);
    if (n != 32) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* Count UTF-8 characters (the schema's maxLength unit). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* Validate v against schema node sch; print the first problem. */
static int validate(yajl_val v, yajl_val sch, const char *where)
{
    yajl_val t = get(sch, "type"), c = get(sch, "const"), en = get(sch, "enum");
    yajl_val req = get(sch, "required"), props = get(sch, "properties");
    yajl_val addl = get(sch, "additionalProperties"), min = get(sch, "minimum");
    yajl_val maxlen = get(sch, "maxLength"), pat = get(sch, "pattern");

    if (YAJL_IS_STRING(t) && !type_is(v, str(t))) {
        fprintf(stderr, "%s: not of type %s\n", where, str(t));
        return 0;
    }
    if (YAJL_IS_STRING(c) && !(YAJL_IS_STRING(v) && !strcmp(str(v), str(c)))) {
        fprintf(stderr, "%s: not the constant %s\n", where, str(c));
        return 0;
    }
    if (YAJL_IS_ARRAY(en)) {
        int found = 0;
        for (size_t i = 0; i < en->u.array.len; i++)
            if (YAJL_IS_STRING(v) && !strcmp(str(v), str(en->u.array.values[i])))
                found = 1;
        if (!found) {
            fprintf(stderr, "%s: not in enum\n", where);
            return 0;
        }
    }
    if (YAJL_IS_INTEGER(min) && YAJL_IS_NUMBER(v) && YAJL_GET_DOUBLE(v) < (double)YAJL_GET_INTEGER(min)) {
        fprintf(stderr, "%s: below minimum\n", where);
        return 0;
    }
    if (YAJL_IS_INTEGER(maxlen) && YAJL_IS_STRING(v) && utf8_chars(str(v)) > (size_t)YAJL_GET_INTEGER(maxlen)) {
        fprintf(stderr, "%s: longer than maxLength\n", where);
        return 0;
    }
    if (YAJL_IS_STRING(pat) && YAJL_IS_STRING(v)) {
        if (strcmp(str(pat), "^[0-9a-f]{32}$") != 0) {
            fprintf(stderr, "%s: test cannot check pattern %s\n", where, str(pat));
            return 0;
        }
        if (!is_hex32(str(v))) {
            fprintf(stderr, "%s: does not match %s\n", where, str(pat));
            return 0;
        }
    }
    if (YAJL_IS_ARRAY(req)) {
        for (size_t i = 0; i < req->u.array.len; i++)
            if (!get(v, str(req->u.array.values[i]))) {
                fprintf(stderr, "%s: required key %s missing\n", where, str(req->u.array.values[i]));
                return 0;
            }
    }
    if (YAJL_IS_OBJECT(v) && YAJL_IS_OBJECT(props)) {
        for (size_t i = 0; i < v->u.object.len; i++) {
            const char *k = v->u.object.keys[i];
            yajl_val ps = get(props, k);
            char sub[256];
            snprintf(sub, sizeof(sub), "%s.%s", where, k);
            if (!ps) {
                if (YAJL_IS_FALSE(addl)) {
                    fprintf(stderr, "%s: key not in the schema\n", sub);
                    return 0;
                }
                continue;
            }
            if (!validate(v->u.object.values[i], ps, sub)) return 0;
        }
    }
    return 1;
}

/* Validate one output line against the record schema; returns the parsed
 * value (caller frees) or NULL. */
static yajl_val check_line(const char *line)
{
    char ebuf[256];
    yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf)), kind, defs, def;
    char where[64];

    if (!v) {
        fprintf(stderr, "not JSON (%s): %.200s\n", ebuf, line);
        CHECK(0);
        return NULL;
    }
    kind = get(v, "kind");
    defs = get(schema, "$defs");
    def = YAJL_IS_STRING(kind) ? get(defs, str(kind)) : NULL;
    CHECK(def != NULL);
    snprintf(where, sizeof(where), "%s", YAJL_IS_STRING(kind) ? str(kind) : "?");
    if (!def || !validate(v, def, where)) {
        fprintf(stderr, "  line: %.300s\n", line);
        CHECK(0);
    }
    return v;
}

/* Load record.schema.json into `schema`; checks that it is draft 2020-12
 * and that its top-level oneOf refers to every record definition. */
static int schema_load(void)
{
    char ebuf[256], *text;
    FILE *f = fopen(SCHEMA_PATH, "rb");
    long n;
    yajl_val defs, one;

    CHECK(f != NULL);
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) n = -1;
    fclose(f);
    schema = n >= 0 ? yajl_tree_parse(text, ebuf, sizeof(ebuf)) : NULL;
    free(text);
    CHECK(schema != NULL);
    if (!schema) return 0;
    CHECK_STR(str(get(schema, "$schema")), "https://json-schema.org/draft/2020-12/schema");
    defs = get(schema, "$defs");
    one = get(schema, "oneOf");
    CHECK(YAJL_IS_OBJECT(defs) && YAJL_IS_ARRAY(one));
    if (!YAJL_IS_OBJECT(defs) || !YAJL_IS_ARRAY(one)) return 0;
    CHECK_INT(defs->u.object.len, 12);
    CHECK_INT(one->u.array.len, defs->u.object.len);
    for (size_t i = 0; i < defs->u.object.len; i++) {
        char ref[128];
        int found = 0;
        snprintf(ref, sizeof(ref), "#/$defs/%s", defs->u.object.keys[i]);
        for (size_t k = 0; k < one->u.array.len; k++)
            if (!strcmp(str(get(one->u.array.values[k], "$ref")), ref)) found = 1;
        CHECK(found);
        /* each definition pins its kind */
        CHECK_STR(str(get(get(get(defs->u.object.values[i], "properties"), "kind"), "const")),
                  defs->u.object.keys[i]);
    }
    return 1;
}

#endif
