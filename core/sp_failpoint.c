/* sp_failpoint.c - SLOGPIPE_FAILPOINT parsing and the Nth-hit kill/stop of the fault points (see sp_failpoint.h). */
#include "sp_failpoint.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FP_MAX 8

struct fp {
    char name[64];
    long n;    /* fire at this hit */
    int stop;  /* 1: SIGSTOP, 0: SIGKILL */
    long hits; /* atomic */
};

int sp_failpoint_state = -1;
static struct fp fps[FP_MAX];
static int nfps;
static pthread_once_t fp_once = PTHREAD_ONCE_INIT;

static int parse_one(const char *s, size_t len, struct fp *f)
{
    const char *c1 = memchr(s, ':', len), *c2;
    char num[24], *end;
    size_t nl, rest;

    if (!c1 || c1 == s || (size_t)(c1 - s) >= sizeof(f->name)) return -1;
    nl = (size_t)(c1 - s);
    rest = len - nl - 1;
    c2 = memchr(c1 + 1, ':', rest);
    if ((c2 ? (size_t)(c2 - c1 - 1) : rest) >= sizeof(num)) return -1;
    memcpy(num, c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : rest);
    num[c2 ? (size_t)(c2 - c1 - 1) : rest] = '\0';
    f->n = strtol(num, &end, 10);
    if (end == num || *end || f->n < 1) return -1;
    f->stop = 0;
    if (c2) {
        size_t al = len - (size_t)(c2 + 1 - s);
        if (al == 4 && memcmp(c2 + 1, "stop", 4) == 0) f->stop = 1;
        else if (!(al == 4 && memcmp(c2 + 1, "kill", 4) == 0)) return -1;
    }
    memcpy(f->name, s, nl);
    f->name[nl] = '\0';
    f->hits = 0;
    return 0;
}

static void fp_init(void)
{
    const char *env = getenv("SLOGPIPE_FAILPOINT");
    const char *p = env;

    while (p && *p && nfps < FP_MAX) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len && parse_one(p, len, &fps[nfps]) == 0) nfps++;
        else if (len) fprintf(stderr, "slogpipe: SLOGPIPE_FAILPOINT: ignoring '%.*s' (want NAME:N[:kill|stop])\n", (int)len, p);
        p = comma ? comma + 1 : NULL;
    }
    __atomic_store_n(&sp_failpoint_state, nfps > 0, __ATOMIC_RELEASE);
}

void sp_failpoint_hit(const char *name)
{
    pthread_once(&fp_once, fp_init);
    for (int i = 0; i < nfps; i++) {
        struct fp *f = &fps[i];
        char msg[160];
        int len;
        if (strcmp(f->name, name) != 0) continue;
        if (__atomic_add_fetch(&f->hits, 1, __ATOMIC_ACQ_REL) != f->n) continue;
        len = snprintf(msg, sizeof(msg), "slogpipe: failpoint %s:%ld: %s\n", name, f->n,
                       f->stop ? "stop" : "kill");
        if (len > 0) {
            ssize_t w = write(STDERR_FILENO, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
            (void)w;
        }
        raise(f->stop ? SIGSTOP : SIGKILL);
    }
}
