/* sp_event.h - the one normalized record type that flows from normalize/ to the sinks. */
#ifndef SP_EVENT_H
#define SP_EVENT_H

#include "sp_core.h"

/*
 * Provenance of every record. For files: source = path as given, line =
 * 1-based line number (flight recorder: record index), offset = byte
 * offset of the line start in the uncompressed stream. For Kafka: source =
 * "topic/partition", line = message offset, offset = line index inside the
 * message (0-based).
 */
struct sp_origin {
    struct sp_str node;
    struct sp_str source;
    int64_t line;
    int64_t offset;
};

/* Slog event types of agoric-formats.md §2.2-§2.4 (+ aliases folded in). */
#define SP_EVTYPES(X)                                                     \
    X(UNKNOWN, "")                                                        \
    X(KERNEL_INIT_START, "kernel-init-start")                             \
    X(KERNEL_INIT_FINISH, "kernel-init-finish")                           \
    X(BUNDLE_KERNEL_START, "bundle-kernel-start")                         \
    X(BUNDLE_KERNEL_FINISH, "bundle-kernel-finish")                       \
    X(IMPORT_KERNEL_START, "import-kernel-start")                         \
    X(IMPORT_KERNEL_FINISH, "import-kernel-finish")                       \
    X(CREATE_VAT, "create-vat")                                           \
    X(VAT_STARTUP_START, "vat-startup-start")                             \
    X(VAT_STARTUP_FINISH, "vat-startup-finish")                           \
    X(START_REPLAY, "start-replay")             /* alias replay-transcript-start */ \
    X(FINISH_REPLAY, "finish-replay")           /* alias replay-transcript-finish */ \
    X(START_REPLAY_DELIVERY, "start-replay-delivery")                     \
    X(FINISH_REPLAY_DELIVERY, "finish-replay-delivery")                   \
    X(DELIVER, "deliver")                                                 \
    X(DELIVER_RESULT, "deliver-result")                                   \
    X(SYSCALL, "syscall")                                                 \
    X(SYSCALL_RESULT, "syscall-result")                                   \
    X(CRANK_START, "crank-start")                                         \
    X(CRANK_FINISH, "crank-finish")                                       \
    X(CLIST, "clist")                                                     \
    X(TERMINATE, "terminate")                                             \
    X(VAT_CLEANUP, "vat-cleanup")                                         \
    X(VAT_CLEANUP_COMPLETE, "vat-cleanup-complete")                       \
    X(HEAP_SNAPSHOT_SAVE, "heap-snapshot-save")                           \
    X(HEAP_SNAPSHOT_LOAD, "heap-snapshot-load")                           \
    X(CONSOLE, "console")                                                 \
    X(SLOGGER_CONFUSED, "slogger-confused")                               \
    X(KERNEL_STATS, "kernel-stats")                                       \
    X(SLOG_RECORD_TOO_BIG, "slog-record-too-big")                         \
    X(CS_INIT, "cosmic-swingset-init")                                    \
    X(CS_BOOTSTRAP_BLOCK_START, "cosmic-swingset-bootstrap-block-start")  \
    X(CS_BOOTSTRAP_BLOCK_FINISH, "cosmic-swingset-bootstrap-block-finish") \
    X(CS_UPGRADE_START, "cosmic-swingset-upgrade-start")                  \
    X(CS_UPGRADE_FINISH, "cosmic-swingset-upgrade-finish")                \
    X(CS_BEGIN_BLOCK, "cosmic-swingset-begin-block")                      \
    X(CS_END_BLOCK_START, "cosmic-swingset-end-block-start")              \
    X(CS_END_BLOCK_FINISH, "cosmic-swingset-end-block-finish")            \
    X(CS_RUN_START, "cosmic-swingset-run-start")                          \
    X(CS_RUN_FINISH, "cosmic-swingset-run-finish")                        \
    X(CS_DELIVER_INBOUND, "cosmic-swingset-deliver-inbound")              \
    X(CS_BRIDGE_INBOUND, "cosmic-swingset-bridge-inbound")                \
    X(CS_INSTALL_BUNDLE, "cosmic-swingset-install-bundle")                \
    X(CS_TIMER_POLL, "cosmic-swingset-timer-poll")                        \
    X(CS_INJECT_KERNEL_UPGRADE_EVENTS, "cosmic-swingset-inject-kernel-upgrade-events") \
    X(CS_COMMIT_BLOCK_START, "cosmic-swingset-commit-block-start")        \
    X(CS_COMMIT_BLOCK_FINISH, "cosmic-swingset-commit-block-finish")      \
    X(CS_AFTER_COMMIT_STATS, "cosmic-swingset-after-commit-stats")        \
    X(CS_SNAPSHOT_START, "cosmic-swingset-snapshot-start")                \
    X(CS_SNAPSHOT_FINISH, "cosmic-swingset-snapshot-finish")

enum sp_evtype {
#define SP_X(e, s) SP_EV_##e,
    SP_EVTYPES(SP_X)
#undef SP_X
    SP_EV__COUNT
};

/* Canonical type name ("" for UNKNOWN). */
const char *sp_evtype_name(enum sp_evtype t);
/* Map a type string (aliases included) to the enum; SP_EV_UNKNOWN if none. */
enum sp_evtype sp_evtype_lookup(const char *p, size_t n);

/* Presence bits for optional scalar fields of struct sp_event. */
enum {
    SP_HAS_TIME = 1u << 0,
    SP_HAS_MONOTIME = 1u << 1,
    SP_HAS_SECONDS = 1u << 2,
    SP_HAS_CRANK_NUM = 1u << 3,
    SP_HAS_DELIVERY_NUM = 1u << 4,
    SP_HAS_SYSCALL_NUM = 1u << 5,
    SP_HAS_REPLAY = 1u << 6,
    SP_HAS_BLOCK_HEIGHT = 1u << 7,
    SP_HAS_BLOCK_TIME = 1u << 8,
    SP_HAS_COMPUTRONS = 1u << 9,
    SP_HAS_SNAP_POS = 1u << 10,
    SP_HAS_DELIVERIES = 1u << 11,
    SP_HAS_DYNAMIC = 1u << 12,
    SP_HAS_UNCOMPRESSED_SIZE = 1u << 13,
    SP_HAS_COMPRESSED_SIZE = 1u << 14,
    SP_HAS_SHOULD_REJECT = 1u << 15,
    SP_HAS_RESTART_WORKER = 1u << 16,
    SP_HAS_RUN_NUM = 1u << 17,
    SP_HAS_SAVE_SECONDS = 1u << 18,      /* dbSaveSeconds / rawSaveSeconds */
    SP_HAS_COMPRESS_SECONDS = 1u << 19,
    SP_HAS_SIZE_DELTA = 1u << 20,        /* uncompressedSizeDelta (non-null) */
    SP_HAS_USED_BEANS = 1u << 21
};

/*
 * A normalized slog event. Filled by sp_normalize_line(); every sp_str is a
 * slice into the raw line or into the normalizer's per-line arena and is
 * valid until the next sp_normalize_line() call on the same normalizer (or
 * until the caller copies it). Raw JSON fields (kd, vd, dr, ...) are the
 * exact bytes of the value in the input line. Absent strings are {NULL,0};
 * absent scalars have their SP_HAS_* bit clear.
 */
struct sp_event {
    struct sp_origin origin;
    enum sp_evtype type;
    struct sp_str type_name; /* as written in the input (aliases preserved) */
    struct sp_str raw;       /* the whole line as read (no trailing newline) */
    uint32_t has;            /* SP_HAS_* bits */

    double time, monotime, seconds;
    /* the same three as written in the line (JSON number syntax, checked by
     * the parser): the JSON sinks copy them instead of formatting the double
     * again; absent ({NULL,0}) when the value did not come from a line */
    struct sp_str time_text, monotime_text, seconds_text;
    struct sp_str vat_id;
    int64_t crank_num, delivery_num, syscall_num;
    int replay; /* valid if SP_HAS_REPLAY */
    int64_t block_height, block_time;

    /* deliver / deliver-result / syscall / syscall-result */
    struct sp_str dispatch;  /* `dispatch` (>=u20), else vd[0]; syscalls: `syscall` or vsc[0] */
    struct sp_str kd, vd;    /* raw JSON */
    struct sp_str dr;        /* raw JSON of deliver-result.dr */
    struct sp_str dr_status; /* dr[0]: "ok" / "error" */
    int64_t computrons;      /* dr[2].compute (SP_HAS_COMPUTRONS) */
    struct sp_str ksc, vsc, ksr, vsr; /* raw JSON */

    /* crank-start / crank-finish / clist */
    struct sp_str crank_type;   /* "delivery" | "routing" */
    struct sp_str message_type; /* messageType, else message.type */
    struct sp_str message;      /* raw JSON of crank-start.message */
    struct sp_str crankhash, activityhash;
    struct sp_str clist_mode, kobj, vobj;

    /* create-vat / terminate / vat-cleanup */
    struct sp_str name, description, manager_type;
    int dynamic;             /* SP_HAS_DYNAMIC */
    int should_reject;       /* SP_HAS_SHOULD_REJECT */
    struct sp_str info;      /* terminate.info raw JSON */
    struct sp_str work;      /* vat-cleanup.work raw JSON */
    size_t bundle_bytes;     /* size of create-vat.vatSourceBundle raw JSON (not kept) */

    /* heap-snapshot-save / -load */
    struct sp_str snapshot_id; /* snapshotID ?? hash */
    int64_t snap_pos;          /* endPosition ?? snapPos ?? endPos (SP_HAS_SNAP_POS) */
    int64_t uncompressed_size, compressed_size, size_delta;
    double save_seconds, compress_seconds;
    int restart_worker;        /* SP_HAS_RESTART_WORKER */

    /* start-replay */
    int64_t deliveries;        /* SP_HAS_DELIVERIES */

    /* console / slogger-confused */
    struct sp_str console_source, level, args; /* args: raw JSON */

    /* cosmic-swingset run-start/-finish, bridge/deliver-inbound */
    int64_t run_num;           /* SP_HAS_RUN_NUM */
    struct sp_str phase, inbound_num, inbound_source;
    int64_t used_beans;        /* SP_HAS_USED_BEANS */

    /* kernel-stats */
    struct sp_str stats;       /* raw JSON */

    /* Context filled by the pipeline (normalize/sp_context), not the line:
     * block being executed, crank being executed (for events without a
     * crankNum such as heap-snapshot-save), and the kernel process epoch
     * (0-based count of kernel-init-start seen on this node/source). */
    int64_t ctx_block_height; /* -1 before the first begin-block */
    int64_t ctx_crank_num;    /* -1 outside cranks */
    int64_t ctx_run_num;      /* runNum of the enclosing cosmic-swingset run, -1 outside one */
    int64_t ctx_epoch;
};

#endif
