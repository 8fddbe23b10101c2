/* sp_hash.c - SHA-256 via OpenSSL's libcrypto (Debian libssl-dev), never hand-written. */
#include "sp_hash.h"
#include "sp_core.h"

#include <string.h>
#include <openssl/evp.h>

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256(const void *p, size_t n, unsigned char md[32])
{
    unsigned int len = 32;
    if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL)) {
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
    if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
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
