/* sp_vd.h - what a delivery does, read from its vd: the method and target of a message, the resolutions of a notify. */
#ifndef SP_VD_H
#define SP_VD_H

#include <stddef.h>
#include <stdint.h>

/* Longest method name kept (longer names are cut at a UTF-8 boundary). */
#define SP_VD_METHOD_MAX 128
/* Longest target vref kept. */
#define SP_VD_TARGET_MAX 128

struct sp_vd_info {
    char method[SP_VD_METHOD_MAX + 1]; /* "" when absent */
    char target[SP_VD_TARGET_MAX + 1]; /* "" when absent */
    int has_method, has_target;
    int64_t resolutions;               /* notify: entries of vd[1]; -1 otherwise */
};

/*
 * Scan the raw JSON bytes of a deliver's vd (agoric-formats.md §1.2):
 *   ["message", target, {"methargs": {"body": "#[\"name\", ...]", ...}, ...}]
 *   ["message", target, {"method": "name", "args": ..., ...}]   (legacy)
 *   ["notify", [[vpid, isReject, capdata], ...]]
 * Never fails: whatever cannot be read is left absent (a body that is not
 * smallcaps, a symbol method such as "%@@asyncIterator" is kept as written).
 * No allocation; vd need not be NUL-terminated.
 */
void sp_vd_scan(const char *vd, size_t n, struct sp_vd_info *out);

#endif
