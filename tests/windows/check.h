/* check.h: the C tests' one assertion. CHECK counts a pass or prints a
 * failure with its file, line and message; a test program ends by printing
 * "N passed, N failed" from the two counters. */
#ifndef WSAPEER_TEST_CHECK_H
#define WSAPEER_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                      \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        }                                                                    \
    } while (0)

#endif
