/* sp_hash.h - SHA-256 helpers (OpenSSL libcrypto) and the swing-store span-hash chain. */
#ifndef SP_HASH_H
#define SP_HASH_H

#include <stddef.h>

#define SP_SHA256_HEX_LEN 64
#define SP_HASH_HEX_LEN 32 /* sp_hash: first 16 bytes of SHA-256, as hex */

/* out gets 64 lowercase hex chars + NUL. */
void sp_sha256_hex(const void *p, size_t n, char out[SP_SHA256_HEX_LEN + 1]);

/* Short content hash used to compare slog payloads with transcript items
 * (deliveries.vd_hash vs transcript_items.d_hash): 32 hex chars + NUL. */
void sp_hash_hex(const void *p, size_t n, char out[SP_HASH_HEX_LEN + 1]);

/* Incremental short hash over several pieces (e.g. all syscalls of a delivery). */
struct sp_hash_ctx {
    void *md; /* EVP_MD_CTX*, owned */
    int used;
};
void sp_hash_begin(struct sp_hash_ctx *h);
void sp_hash_update(struct sp_hash_ctx *h, const void *p, size_t n);
/* Finish into out (32 hex + NUL) and release; the ctx can be begun again. */
void sp_hash_end(struct sp_hash_ctx *h, char out[SP_HASH_HEX_LEN + 1]);
void sp_hash_abort(struct sp_hash_ctx *h);

/*
 * A hash over a SEQUENCE of byte pieces whose whole state is its 32-hex
 * value, so it can be saved in a checkpoint and resumed:
 *   h0 = sp_hash_hex("")        (also the value for zero pieces)
 *   h' = sp_hash_hex(h || sp_hash_hex(piece))
 * Piece boundaries matter. Used for deliveries.sc_hash /
 * transcript_items.sc_hash: pieces vsc_0, vsr_0, vsc_1, vsr_1, ... (slog) =
 * sc[0].s, sc[0].r, sc[1].s, ... (transcript), raw bytes; an absent one is "".
 */
struct sp_hash_chain {
    char hex[SP_HASH_HEX_LEN + 1];
};
void sp_hash_chain_init(struct sp_hash_chain *c);
void sp_hash_chain_add(struct sp_hash_chain *c, const void *piece, size_t n);
/* Resume from a saved value; returns 0 if `hex` is not 32 lowercase hex digits. */
int sp_hash_chain_resume(struct sp_hash_chain *c, const char *hex, size_t n);

/*
 * Transcript span hash (agoric-formats.md §1.6):
 *   h0 = sha256hex("start of transcript span")
 *   h' = sha256hex(h || sha256hex(item))
 */
struct sp_span_hash {
    char hex[SP_SHA256_HEX_LEN + 1];
};
void sp_span_hash_init(struct sp_span_hash *s);
void sp_span_hash_add(struct sp_span_hash *s, const void *item, size_t n);

#endif
