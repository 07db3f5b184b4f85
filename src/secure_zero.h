/* secure_zero.h: zeroing that the compiler may not drop as a dead store, for
 * every buffer that may hold a password (settings, their copies in
 * operations, batches and the model's records) before it is freed. */
#ifndef WSAPEER_SECURE_ZERO_H
#define WSAPEER_SECURE_ZERO_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#  include <windows.h>
#  define wsapeer_secure_zero(p, n) SecureZeroMemory((p), (n))
#else
/* Off Windows: no compiler there defines _MSC_VER (clang does only for
 * Windows targets), so no __inline branch is kept here for one. */
static inline void wsapeer_secure_zero(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--)
        *v++ = 0;
}
#endif

#endif
