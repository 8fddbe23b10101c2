/* test_pct.c - exact percentiles (core/sp_pct.c) against a brute-force count on random data; the vd scanner (normalize/sp_vd.c) on every vd shape. */
#include "sp_test.h"
#include "../../core/sp_pct.h"
#include "../../normalize/sp_vd.h"

#include <math.h>
#include <stdlib.h>

/* Brute force, from the definition: the smallest member x with at least p % of the values <= x. */
static double brute(const double *v, size_t n, double p)
{
    double best = NAN;
    for (size_t i = 0; i < n; i++) {
        size_t le = 0;
        for (size_t k = 0; k < n; k++) le += v[k] <= v[i];
        if (100.0 * (double)le >= p * (double)n - 1e-9 && (isnan(best) || v[i] < best)) best = v[i];
    }
    return best;
}

static void test_random(void)
{
    static const double ps[] = {1, 5, 25, 50, 75, 90, 95, 99, 99.9, 100};
    unsigned seed = 19;
    int bad = 0;
    for (int round = 0; round < 400; round++) {
        size_t n = 1 + (size_t)(rand_r(&seed) % 300);
        double *v = malloc(n * sizeof *v), *s = malloc(n * sizeof *s);
        int ties = round % 3 == 0; /* many equal values */
        for (size_t i = 0; i < n; i++) {
            v[i] = ties ? (double)(rand_r(&seed) % 7) : (double)rand_r(&seed) / RAND_MAX * 10.0;
            s[i] = v[i];
        }
        sp_pct_sort(s, n);
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            double want = brute(v, n, ps[k]), got = sp_pct_sorted(s, n, ps[k]);
            if (want != got) {
                if (bad++ < 5)
                    fprintf(stderr, "n=%zu p=%g: got %.17g, brute force %.17g\n", n, ps[k], got, want);
            }
        }
        free(v);
        free(s);
    }
    CHECK_INT(bad, 0);
}

static void test_edges(void)
{
    double v[20];
    for (int i = 0; i < 20; i++) v[i] = i + 1;
    CHECK(sp_pct_sorted(v, 20, 95) == 19); /* 0.95 * 20 = 19 exactly: the 19th, not the 20th */
    CHECK(sp_pct_sorted(v, 20, 50) == 10);
    CHECK(sp_pct_sorted(v, 4, 50) == 2);
    CHECK(sp_pct_sorted(v, 1, 1) == 1);
    CHECK(isnan(sp_pct_sorted(v, 0, 50)));
    CHECK(isnan(sp_pct_sorted(v, 20, 0)));
    CHECK(isnan(sp_pct_sorted(v, 20, 101)));
}

static void vd(const char *s, const char *method, const char *target, long long res)
{
    struct sp_vd_info vi;
    sp_vd_scan(s, strlen(s), &vi);
    CHECK_STR(vi.method, method);
    CHECK_INT(vi.has_method, *method != '\0');
    CHECK_STR(vi.target, target);
    CHECK_INT(vi.resolutions, res);
}

static void test_vd(void)
{
    vd("[\"message\",\"o+0\",{\"methargs\":{\"body\":\"#[\\\"bump\\\",[]]\",\"slots\":[]},\"result\":\"p-60\"}]", "bump",
       "o+0", -1);
    /* slots before body, whitespace, a symbol method, escapes inside the name */
    vd("[ \"message\" , \"o-5\" , { \"result\" : null , \"methargs\" : { \"slots\" : [\"o-1\"] , \"body\" : "
       "\"#[\\\"%@@asyncIterator\\\",[1,{\\\"a\\\":2}]]\" } } ]",
       "%@@asyncIterator", "o-5", -1);
    vd("[\"message\",\"o+d10/1\",{\"methargs\":{\"body\":\"#[\\\"say\\\\\\\"hi\\\",[]]\",\"slots\":[]}}]", "say\"hi",
       "o+d10/1", -1);
    /* legacy: msg.method */
    vd("[\"message\",\"o+4\",{\"method\":\"go\",\"args\":{\"body\":\"[]\",\"slots\":[]},\"result\":\"p-1\"}]", "go", "o+4",
       -1);
    /* a body that is not smallcaps: no method, the target still */
    vd("[\"message\",\"o+4\",{\"methargs\":{\"body\":\"[\\\"x\\\"]\",\"slots\":[]}}]", "", "o+4", -1);
    vd("[\"notify\",[[\"p-1\",false,{\"body\":\"#1\",\"slots\":[]}],[\"p-2\",true,{\"body\":\"#\\\"e\\\"\",\"slots\":[]}]]]",
       "", "", 2);
    vd("[\"notify\",[]]", "", "", 0);
    vd("[\"bringOutYourDead\"]", "", "", -1);
    vd("[\"message\"", "", "", -1);        /* cut short */
    vd("[\"message\",12,{\"method\":\"m\"}]", "m", "", -1); /* a non-string target */
    vd("", "", "", -1);
}

int main(void)
{
    test_edges();
    test_random();
    test_vd();
    return TEST_DONE();
}
