/* sp_hash.c - SHA-256 via OpenSSL's libcrypto (Debian libssl-dev), never hand-written. */
#include "sp_hash.h"
#include "sp_core.h"

#include <pthread.h>
#include <string.h>
#include <openssl/evp.h>

/* SHA-256 fetched from the default provider once: EVP_sha256() makes every
 * digest call look the algorithm up again under a global lock (OpenSSL 3's
 * implicit fetch), which cost ~10% of a whole ingest. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key; /* per-thread EVP_MD_CTX, freed at thread exit */

static void ctx_free(void *c)
{
    EVP_MD_CTX_free(c);
}

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (pthread_key_create(&ctx_key, ctx_free) != 0) sha256_md = NULL;
}

static const EVP_MD *md_sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md) {
        sp_error("EVP_MD_fetch(SHA256) failed");
        abort();
    }
    return sha256_md;
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* One-shot digests reuse a per-thread context: EVP_Digest would allocate,
 * initialise and free one per call (slogs hash every syscall four times). */
static void sha256(const void *p, size_t n, unsigned char md[32])
{
    unsigned int len = 32;
    const EVP_MD *m = md_sha256();
    EVP_MD_CTX *c = pthread_getspecific(ctx_key);
    if (!c) {
        if (!(c = EVP_MD_CTX_new()) || pthread_setspecific(ctx_key, c) != 0) {
            sp_error("EVP_MD_CTX_new failed");
            abort();
        }
    }
    if (!EVP_DigestInit_ex2(c, m, NULL) || !EVP_DigestUpdate(c, p, n) || !EVP_DigestFinal_ex(c, md, &len)) {
        sp_error("EVP_Digest(sha256) failed");
        abort();
    }
}

void sp_sha256_hex(const void *p, size_t n, char out[SP_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    sha256(p, n, md);
    to_hex(md, 32, out);
}

void sp_hash_hex(const void *p, size_t n, char out[SP_HASH_HEX_LEN + 1])
{
    unsigned char md[32];
    sha256(p, n, md);
    to_hex(md, 16, out);
}

void sp_hash_begin(struct sp_hash_ctx *h)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || !EVP_DigestInit_ex(c, md_sha256(), NULL)) {
        sp_error("EVP_DigestInit_ex(sha256) failed");
        abort();
    }
    h->md = c;
    h->used = 0;
}

void sp_hash_update(struct sp_hash_ctx *h, const void *p, size_t n)
{
    if (h->md && n) {
        EVP_DigestUpdate((EVP_MD_CTX *)h->md, p, n);
        h->used = 1;
    }
}

void sp_hash_end(struct sp_hash_ctx *h, char out[SP_HASH_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int len = 32;
    if (!h->md) {
        sp_hash_hex("", 0, out);
        return;
    }
    EVP_DigestFinal_ex((EVP_MD_CTX *)h->md, md, &len);
    EVP_MD_CTX_free((EVP_MD_CTX *)h->md);
    h->md = NULL;
    to_hex(md, 16, out);
}

void sp_hash_abort(struct sp_hash_ctx *h)
{
    if (h->md) EVP_MD_CTX_free((EVP_MD_CTX *)h->md);
    h->md = NULL;
}

void sp_span_hash_init(struct sp_span_hash *s)
{
    static const char seed[] = "start of transcript span";
    sp_sha256_hex(seed, sizeof(seed) - 1, s->hex);
}

void sp_span_hash_add(struct sp_span_hash *s, const void *item, size_t n)
{
    char buf[2 * SP_SHA256_HEX_LEN + 1]; /* + NUL written by sp_sha256_hex */
    memcpy(buf, s->hex, SP_SHA256_HEX_LEN);
    sp_sha256_hex(item, n, buf + SP_SHA256_HEX_LEN);
    sp_sha256_hex(buf, 2 * SP_SHA256_HEX_LEN, s->hex);
}

void sp_hash_chain_init(struct sp_hash_chain *c)
{
    sp_hash_hex("", 0, c->hex);
}

void sp_hash_chain_add(struct sp_hash_chain *c, const void *piece, size_t n)
{
    char buf[2 * SP_HASH_HEX_LEN + 1];
    memcpy(buf, c->hex, SP_HASH_HEX_LEN);
    sp_hash_hex(n ? piece : "", n, buf + SP_HASH_HEX_LEN);
    sp_hash_hex(buf, 2 * SP_HASH_HEX_LEN, c->hex);
}

int sp_hash_chain_resume(struct sp_hash_chain *c, const char *hex, size_t n)
{
    if (n != SP_HASH_HEX_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) return 0;
    memcpy(c->hex, hex, n);
    c->hex[n] = '\0';
    return 1;
}
