/* sp_evtype.c - event type names and lookup (aliases of older kernels folded in). */
#include "sp_event.h"

#include <string.h>

static const char *const names[SP_EV__COUNT] = {
#define SP_X(e, s) s,
    SP_EVTYPES(SP_X)
#undef SP_X
};

const char *sp_evtype_name(enum sp_evtype t)
{
    return (unsigned)t < SP_EV__COUNT ? names[t] : "";
}

enum sp_evtype sp_evtype_lookup(const char *p, size_t n)
{
    /* Linear scan with a length pre-check: ~50 entries, hot path compares
     * lengths first so most candidates cost one integer compare. */
    for (int i = 1; i < SP_EV__COUNT; i++) {
        size_t m = strlen(names[i]);
        if (m == n && memcmp(names[i], p, n) == 0) return (enum sp_evtype)i;
    }
    if (n == 23 && memcmp(p, "replay-transcript-start", 23) == 0) return SP_EV_START_REPLAY;
    if (n == 24 && memcmp(p, "replay-transcript-finish", 24) == 0) return SP_EV_FINISH_REPLAY;
    return SP_EV_UNKNOWN;
}
