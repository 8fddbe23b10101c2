/* sp_test.h - a tiny check harness for CTest unit programs: checks print both values and keep going. */
#ifndef SP_TEST_H
#define SP_TEST_H

#include <stdio.h>
#include <string.h>
#include <inttypes.h>

static int sp_test_failures;
static int sp_test_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        sp_test_checks++;                                                            \
        if (!(cond)) {                                                               \
            sp_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_INT(a, b)                                                                   \
    do {                                                                                  \
        long long va_ = (long long)(a), vb_ = (long long)(b);                             \
        sp_test_checks++;                                                                 \
        if (va_ != vb_) {                                                                 \
            sp_test_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_INT failed: %s == %lld, expected %s == %lld\n", \
                    __FILE__, __LINE__, #a, va_, #b, vb_);                                \
        }                                                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                                       \
    do {                                                                                      \
        const char *sa_ = (a), *sb_ = (b);                                                    \
        sp_test_checks++;                                                                     \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                          \
            sp_test_failures++;                                                               \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n",       \
                    __FILE__, __LINE__, #a, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");      \
        }                                                                                     \
    } while (0)

/* Compare an sp_str with a C string. */
#define CHECK_SLICE(s, cstr)                                                                  \
    do {                                                                                      \
        struct sp_str s_ = (s);                                                               \
        const char *c_ = (cstr);                                                              \
        sp_test_checks++;                                                                     \
        if (s_.n != strlen(c_) || (s_.n && memcmp(s_.p, c_, s_.n) != 0)) {                    \
            sp_test_failures++;                                                               \
            fprintf(stderr, "%s:%d: CHECK_SLICE failed: %s == \"%.*s\", expected \"%s\"\n",   \
                    __FILE__, __LINE__, #s, (int)(s_.n > 200 ? 200 : s_.n), s_.p ? s_.p : "", \
                    c_);                                                                      \
        }                                                                                     \
    } while (0)

/* Print the plain closing line and return the exit status for main(). */
#define TEST_DONE()                                                                       \
    (printf("%d passed, %d failed\n", sp_test_checks - sp_test_failures, sp_test_failures), \
     sp_test_failures ? 1 : 0)

#endif
