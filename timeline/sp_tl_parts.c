/* sp_tl_parts.c - the analyses plugged into the streaming timeline stage, in the order they see each record. */
#include "sp_tl_part.h"

const struct sp_tl_part *const sp_tl_parts[] = {
    NULL};
