/* sp_vd.c - method / target / resolution count of a delivery from its raw vd bytes (a small JSON walker, no tree). */
#include "sp_vd.h"

#include <string.h>

struct cur {
    const char *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(struct cur *c, char ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A JSON string at c (after ws): decoded into out (cap bytes incl. NUL, cut at a
 * UTF-8 boundary; \u escapes other than ASCII become '?'). Returns 1 if it was a string. */
static int str(struct cur *c, char *out, size_t cap)
{
    size_t k = 0;
    ws(c);
    if (c->p >= c->end || *c->p != '"') return 0;
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\' && c->p < c->end) {
            char e = *c->p++;
            switch (e) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'u': {
                unsigned v = 0;
                int i;
                for (i = 0; i < 4 && c->p < c->end; i++, c->p++) {
                    char h = *c->p;
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                                                  : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 0);
                }
                ch = v < 0x80 ? (char)v : '?';
                break;
            }
            default: ch = e; break; /* \" \\ \/ */
            }
        }
        if (out && k + 1 < cap) out[k++] = ch;
    }
    if (c->p >= c->end) return 0; /* unterminated */
    c->p++;
    if (out) {
        /* do not end inside a UTF-8 sequence */
        while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80) {
            size_t s = k - 1;
            while (s > 0 && ((unsigned char)out[s] & 0xC0) == 0x80) s--;
            unsigned char lead = (unsigned char)out[s];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (k - s >= need) break;
            k = s;
        }
        if (k > 0 && (unsigned char)out[k - 1] >= 0xC0) k--; /* a lone lead byte */
        out[k] = '\0';
    }
    return 1;
}

/* Skip one JSON value (any kind). Returns 1 on success. */
static int skip(struct cur *c)
{
    int depth = 0;
    ws(c);
    do {
        if (c->p >= c->end) return 0;
        char ch = *c->p;
        if (ch == '"') {
            if (!str(c, NULL, 0)) return 0;
        } else if (ch == '[' || ch == '{') {
            depth++;
            c->p++;
        } else if (ch == ']' || ch == '}') {
            if (--depth < 0) return 0;
            c->p++;
        } else if (ch == ',' || ch == ':') {
            if (depth == 0) return 0;
            c->p++;
        } else { /* number, true, false, null */
            while (c->p < c->end && !strchr(",:]}[{\" \t\r\n", *c->p)) c->p++;
        }
        ws(c);
    } while (depth > 0);
    return 1;
}

/* Object walk: calls on_key for each key with c positioned at its value; the
 * callback consumes the value (or leaves it for skip by returning 0). */
static void object(struct cur *c, int (*on_key)(struct cur *, const char *, void *), void *arg)
{
    char key[32];
    if (!eat(c, '{')) return;
    if (eat(c, '}')) return;
    for (;;) {
        if (!str(c, key, sizeof key) || !eat(c, ':')) return;
        if (!on_key(c, key, arg) && !skip(c)) return;
        if (eat(c, ',')) continue;
        return;
    }
}

/* The method of a smallcaps body "#[\"name\", args]" (already decoded once). */
static void body_method(const char *body, struct sp_vd_info *out)
{
    struct cur c = {body, body + strlen(body)};
    if (!eat(&c, '#') || !eat(&c, '[')) return;
    if (str(&c, out->method, sizeof out->method)) out->has_method = 1;
}

static int methargs_key(struct cur *c, const char *key, void *arg)
{
    struct sp_vd_info *out = arg;
    if (strcmp(key, "body") != 0) return 0;
    /* the body is a JSON text inside a string: decode it, then read its first element */
    char body[SP_VD_METHOD_MAX * 2 + 64];
    if (!str(c, body, sizeof body)) return 0;
    body_method(body, out);
    return 1;
}

static int msg_key(struct cur *c, const char *key, void *arg)
{
    struct sp_vd_info *out = arg;
    if (strcmp(key, "methargs") == 0) {
        ws(c);
        if (c->p < c->end && *c->p == '{') {
            object(c, methargs_key, out);
            return 1;
        }
        return 0;
    }
    if (strcmp(key, "method") == 0 && !out->has_method) {
        if (str(c, out->method, sizeof out->method)) {
            out->has_method = 1;
            return 1;
        }
        return 0;
    }
    return 0;
}

void sp_vd_scan(const char *vd, size_t n, struct sp_vd_info *out)
{
    struct cur c = {vd, vd + n};
    char d0[24];

    memset(out, 0, sizeof(*out));
    out->resolutions = -1;
    if (!vd || !eat(&c, '[') || !str(&c, d0, sizeof d0) || !eat(&c, ',')) return;
    if (strcmp(d0, "message") == 0) {
        if (str(&c, out->target, sizeof out->target)) out->has_target = 1;
        else if (!skip(&c)) return;
        if (!eat(&c, ',')) return;
        object(&c, msg_key, out);
    } else if (strcmp(d0, "notify") == 0) {
        int64_t k = 0;
        if (!eat(&c, '[')) return;
        if (eat(&c, ']')) {
            out->resolutions = 0;
            return;
        }
        for (;;) {
            if (!skip(&c)) return;
            k++;
            if (eat(&c, ',')) continue;
            if (eat(&c, ']')) out->resolutions = k;
            return;
        }
    }
}
