/* sp_tl_heap.h - what the stage's heap watch (sp_tl_heap.c) tells the metrics: the largest vat heaps. */
#ifndef SP_TL_HEAP_H
#define SP_TL_HEAP_H

#include <stdint.h>

struct sp_tl_stream;

/*
 * The k vats with the largest newest heap snapshot (heap-snapshot-save
 * uncompressedSize) among the nodes the stage holds, largest first (ties by
 * node, then vat): fn is called once per vat, at most k times, so a metric
 * built on it has at most k series whatever the number of vats.
 */
void sp_tl_heap_top(const struct sp_tl_stream *t, int k,
                    void (*fn)(void *arg, const char *node, const char *vat, int64_t bytes), void *arg);

#endif
