/* sp_pct.c - exact nearest-rank percentiles over a sorted array. */
#include "sp_pct.h"

#include <math.h>
#include <stdlib.h>

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void sp_pct_sort(double *v, size_t n)
{
    if (n > 1) qsort(v, n, sizeof(*v), cmp_dbl);
}

double sp_pct_sorted(const double *v, size_t n, double p)
{
    if (n == 0 || !(p > 0) || p > 100) return NAN;
    /* rank = ceil(p/100 * n) in exact integer arithmetic for p given in
     * hundredths (50, 95, 99.9 ...): avoid 0.95 * 20 = 18.999... */
    long long hp = llround(p * 100.0); /* p in 1/100 percent */
    unsigned long long num = (unsigned long long)hp * (unsigned long long)n;
    size_t rank = (size_t)((num + 9999) / 10000);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1];
}
