/* sp_metrics.c - publish Prometheus text: atomic file rewrite and a loopback GET /metrics responder thread. */
#include "sp_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct sp_metrics {
    char *file;
    int fd;          /* listening socket, -1 if none */
    int port;
    pthread_t thread;
    int running;
    volatile int stop;
    pthread_mutex_t mu;
    struct sp_buf doc;
    int file_warned;
};

static void serve_one(struct sp_metrics *m, int c)
{
    char req[2048];
    ssize_t got = 0;
    struct pollfd pfd = {c, POLLIN, 0};
    struct sp_buf out;

    /* Read the request head (bounded, 1 s); only the method and path matter. */
    while ((size_t)got < sizeof(req) - 1 && poll(&pfd, 1, 1000) > 0) {
        ssize_t k = read(c, req + got, sizeof(req) - 1 - (size_t)got);
        if (k <= 0) break;
        got += k;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
    }
    if (got <= 0) return;
    req[got] = '\0';
    sp_buf_init(&out, 0);
    if (strncmp(req, "GET /metrics", 12) == 0 || strncmp(req, "GET / ", 6) == 0) {
        pthread_mutex_lock(&m->mu);
        sp_buf_printf(&out,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      m->doc.len);
        sp_buf_append(&out, m->doc.data ? m->doc.data : "", m->doc.len);
        pthread_mutex_unlock(&m->mu);
    } else {
        sp_buf_append_c(&out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    for (size_t off = 0; off < out.len;) {
        ssize_t k = write(c, out.data + off, out.len - off);
        if (k <= 0) break;
        off += (size_t)k;
    }
    sp_buf_free(&out);
}

static void *serve(void *arg)
{
    struct sp_metrics *m = arg;
    while (!m->stop) {
        struct pollfd pfd = {m->fd, POLLIN, 0};
        int c;
        if (poll(&pfd, 1, 200) <= 0) continue;
        c = accept(m->fd, NULL, NULL);
        if (c < 0) continue;
        serve_one(m, c);
        close(c);
    }
    return NULL;
}

static int parse_listen(const char *spec, struct sockaddr_in *sa, struct sp_err *err)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    char *end = NULL;
    long port;
    size_t hn;

    if (!colon || (hn = (size_t)(colon - spec)) == 0 || hn >= sizeof(host))
        return sp_err_set(err, SP_EUSAGE, "--metrics-listen %s: expected HOST:PORT", spec);
    memcpy(host, spec, hn);
    host[hn] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (!end || *end || port < 0 || port > 65535)
        return sp_err_set(err, SP_EUSAGE, "--metrics-listen %s: bad port", spec);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)port);
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return sp_err_set(err, SP_EUSAGE, "--metrics-listen %s: HOST must be an IPv4 address", spec);
    return SP_OK;
}

int sp_metrics_new(struct sp_metrics **out, const char *file, const char *listen_on, struct sp_err *err)
{
    struct sp_metrics *m;
    *out = NULL;
    if (!file && !listen_on) return SP_OK;
    m = sp_xcalloc(1, sizeof(*m));
    m->fd = -1;
    m->port = -1;
    pthread_mutex_init(&m->mu, NULL);
    sp_buf_init(&m->doc, 0);
    if (file) m->file = sp_xstrdup(file);
    if (listen_on) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof(sa);
        int one = 1, rc = parse_listen(listen_on, &sa, err);
        if (rc != SP_OK) goto fail;
        m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (m->fd < 0) goto sysfail;
        setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(m->fd, 16) != 0) goto sysfail;
        getsockname(m->fd, (struct sockaddr *)&sa, &sl);
        m->port = ntohs(sa.sin_port);
        if (pthread_create(&m->thread, NULL, serve, m) != 0) goto sysfail;
        m->running = 1;
    }
    *out = m;
    return SP_OK;
sysfail:
    sp_err_set(err, SP_EIO, "--metrics-listen %s: %s", listen_on, strerror(errno));
fail:
    sp_metrics_destroy(m);
    return err->rc;
}

void sp_metrics_publish(struct sp_metrics *m, const char *text, size_t n)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    sp_buf_reset(&m->doc);
    sp_buf_append(&m->doc, text, n);
    pthread_mutex_unlock(&m->mu);
    if (m->file) {
        char tmp[4200];
        FILE *f;
        snprintf(tmp, sizeof(tmp), "%s.tmp", m->file);
        f = fopen(tmp, "wb");
        if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0 || rename(tmp, m->file) != 0) {
            if (!m->file_warned++) sp_warn("--metrics-file %s: %s", m->file, strerror(errno));
        }
    }
}

int sp_metrics_port(const struct sp_metrics *m)
{
    return m ? m->port : -1;
}

void sp_metrics_destroy(struct sp_metrics *m)
{
    if (!m) return;
    m->stop = 1;
    if (m->running) pthread_join(m->thread, NULL);
    if (m->fd >= 0) close(m->fd);
    pthread_mutex_destroy(&m->mu);
    sp_buf_free(&m->doc);
    free(m->file);
    free(m);
}

/* ---- histograms ---------------------------------------------------------- */

void sp_hist_init(struct sp_hist *h, const double *le, int n)
{
    memset(h, 0, sizeof(*h));
    h->le = le;
    h->n = n < SP_HIST_MAX ? n : SP_HIST_MAX;
}

void sp_hist_observe(struct sp_hist *h, double v)
{
    if (!isfinite(v) || v < 0) return;
    for (int i = 0; i < h->n; i++)
        if (v <= h->le[i]) {
            h->bucket[i]++;
            break;
        }
    h->count++;
    h->sum += v;
}

void sp_hist_render(struct sp_buf *b, const char *name, const char *labels, const struct sp_hist *h)
{
    uint64_t cum = 0;
    const char *sep = labels && *labels ? "," : "";
    if (!labels) labels = "";
    for (int i = 0; i < h->n; i++) {
        cum += h->bucket[i];
        sp_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->le[i], (unsigned long long)cum);
    }
    sp_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)h->count);
    if (*labels) {
        sp_buf_printf(b, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, h->sum, name, labels,
                      (unsigned long long)h->count);
    } else {
        sp_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
    }
}
