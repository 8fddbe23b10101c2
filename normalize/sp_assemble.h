/* sp_assemble.h - per-stream context (block, crank, kernel epoch) and deliver/syscall/deliver-result pairing. */
#ifndef SP_ASSEMBLE_H
#define SP_ASSEMBLE_H

#include "../core/sp_buf.h"
#include "../core/sp_event.h"
#include "../sinks/sp_sink.h"

/* Deliveries open at the same time (one per vat); a new vat beyond this
 * completes the oldest pending delivery without its result. */
#define SP_ASM_MAX_PENDING 64

/* One per (node, source) stream. Heap object: sp_assembler_new /
 * sp_assembler_destroy (destroy accepts NULL). Never fails (OOM aborts). */
struct sp_assembler;

struct sp_assembler *sp_assembler_new(void);
void sp_assembler_destroy(struct sp_assembler *a);

/*
 * Update the stream context from ev and fill ev->ctx_block_height /
 * ctx_crank_num / ctx_epoch:
 *   block = the line's own blockHeight, else that of the last
 *           cosmic-swingset-begin-block (-1 before any);
 *   crank = the line's own crankNum, else that of the enclosing
 *           crank-start..crank-finish (-1 outside cranks);
 *   epoch = kernel process epoch: 0 at the start of the stream, +1 at each
 *           kernel-init-start that is not the stream's first line (so a
 *           slog that starts with kernel-init-start has epoch 0 until the
 *           second start; a flight-recorder tail starting mid-run is epoch 0
 *           until the first restart it shows).
 * Then pair deliveries (pending ones keyed by vatID): `deliver` opens one,
 * its `syscall`/`syscall-result` lines count and feed sc_hash (sp_hash over
 * vsc, '\n', vsr, '\n' per syscall in order), vd_hash = sp_hash_hex(vd),
 * and the `deliver-result` with the same vatID + deliveryNum completes it.
 * A deliver-result without its deliver (stream started mid-crank) yields a
 * record of its own (origin = the result line, syscalls -1, hashes "").
 * A deliver that replaces a pending one of the same vat completes the old
 * one without result (result_line -1, status absent).
 *
 * *done receives the delivery completed by this line, or NULL. It and its
 * slices are owned by the assembler and stay valid until the next call on
 * it. Returns SP_OK (bad pairing is not an error: it yields partial records).
 */
int sp_assembler_feed(struct sp_assembler *a, struct sp_event *ev, const struct sp_delivery **done,
                      struct sp_err *err);

/*
 * Epoch continuity across inputs of one node read in order (the members of a
 * block-slog directory, rotated files): sp_assembler_epoch gives the epoch
 * after the lines fed so far (-1 if none was fed); sp_assembler_continue_epoch,
 * on an assembler that was fed nothing, makes it go on from there: its lines
 * start at `epoch`, and a kernel-init-start as its first line is a restart
 * (+1), as if the lines followed in one stream.
 */
int64_t sp_assembler_epoch(const struct sp_assembler *a);
void sp_assembler_continue_epoch(struct sp_assembler *a, int64_t epoch);

/* 1 when no delivery is pending: a safe point to checkpoint after this line. */
int sp_assembler_idle(const struct sp_assembler *a);

/* End of input: complete pending deliveries without result (status absent,
 * result_line -1), oldest first; call repeatedly until NULL. The pointer
 * follows the same lifetime rule as sp_assembler_feed's *done. */
const struct sp_delivery *sp_assembler_flush(struct sp_assembler *a);

/*
 * Checkpoint: append to json a JSON object with the whole current state:
 * the context (block, crank, epoch) and every open delivery (its scalars,
 * strings, vd hash and the sc hash chain value, which is its whole state),
 * so a checkpoint can be taken after ANY line and a resumed stream goes on
 * exactly as if it had never stopped. Returns SP_OK.
 */
int sp_assembler_save(const struct sp_assembler *a, struct sp_buf *json);
/* Restore a state saved by sp_assembler_save (format v2, or v1 = context
 * only) into an assembler that has no pending deliveries. SP_EBADINPUT (err filled, a unchanged) if json is
 * not such an object. */
int sp_assembler_restore(struct sp_assembler *a, const char *json, size_t n, struct sp_err *err);

#endif
