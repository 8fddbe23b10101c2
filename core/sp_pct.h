/* sp_pct.h - exact percentiles (nearest rank) of a set of doubles, for the cost reports. */
#ifndef SP_PCT_H
#define SP_PCT_H

#include <stddef.h>

/*
 * Sort v[0..n) ascending in place (NaNs are the caller's to leave out).
 * Then sp_pct_sorted gives the exact nearest-rank p-th percentile,
 * 0 < p <= 100: the smallest value x of the set such that at least p % of
 * the values are <= x, i.e. v[ceil(p/100 * n) - 1] (p50 of {1,2,3,4} is 2,
 * p95 of 20 values is the 19th). n == 0 gives NaN. No allocation.
 */
void sp_pct_sort(double *v, size_t n);
double sp_pct_sorted(const double *v, size_t n, double p);

#endif
