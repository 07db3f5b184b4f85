/* freewatch.c: an LD_PRELOAD free() watcher for tests/test_zeroing.py.
 *
 * While armed, every block handed to free() or realloc() is searched, before
 * the real call, for any 6 consecutive bytes of a marker (a password's UTF-16
 * encoding): a whole password and a partly wiped one, down to 3 code units
 * left, are both found (shorter windows would start matching unrelated binary
 * data). Blocks that still hold them are counted as hits, with the caller's
 * address for attribution. The test reaches the controls through
 * ctypes.CDLL(None).
 *
 * Nothing here may allocate: it runs inside free(). glibc only
 * (malloc_usable_size gives a block's size).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MARKER_MAX 512
#define WINDOW 6
#define CALLERS_MAX 64
#define FREED_MAX 65536

static void (*real_free)(void *);
static void *(*real_realloc)(void *, size_t);
static int resolving;

static unsigned char marker[MARKER_MAX];
static size_t marker_len;
static volatile int armed;
static long hits, scanned;
static void *callers[CALLERS_MAX];
/* Blocks freed while armed, so that a test can tell that the block it cares
 * about was freed at all: no hit from a block never freed proves nothing. */
static uintptr_t freed_start[FREED_MAX];
static size_t freed_size[FREED_MAX];
static long freed_count;

static void resolve(void)
{
    /* dlsym may free its error buffer through free(): resolving stops that
     * recursion, and such a block is leaked (see free below). */
    resolving = 1;
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    resolving = 0;
}

static int holds_marker(const unsigned char *block, size_t size)
{
    size_t j;
    if (marker_len < WINDOW)
        return memmem(block, size, marker, marker_len) != NULL;
    for (j = 0; j + WINDOW <= marker_len; j++)
        if (memmem(block, size, marker + j, WINDOW) != NULL)
            return 1;
    return 0;
}

static void watch(void *p, void *caller)
{
    size_t size;
    long n;
    if (!armed || p == NULL)
        return;
    size = malloc_usable_size(p);
    n = __atomic_fetch_add(&freed_count, 1, __ATOMIC_RELAXED);
    if (n < FREED_MAX) {
        freed_start[n] = (uintptr_t)p;
        freed_size[n] = size;
    }
    __atomic_fetch_add(&scanned, 1, __ATOMIC_RELAXED);
    if (holds_marker((const unsigned char *)p, size)) {
        n = __atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
        if (n < CALLERS_MAX)
            callers[n] = caller;
    }
}

void free(void *p)
{
    if (real_free == NULL) {
        if (resolving)
            return;
        resolve();
    }
    watch(p, __builtin_return_address(0));
    real_free(p);
}

/* realloc may move the block and free the old one unwiped: a secret that
 * goes through realloc at all is counted. */
void *realloc(void *p, size_t size)
{
    if (real_realloc == NULL) {
        if (resolving)
            return NULL;
        resolve();
    }
    watch(p, __builtin_return_address(0));
    return real_realloc(p, size);
}

/* Resolved before anything is armed, not inside some caller's free(). */
__attribute__((constructor)) static void freewatch_init(void)
{
    if (real_free == NULL)
        resolve();
}

/* ---- the controls, through ctypes ------------------------------------- */

int freewatch_arm(const void *bytes, size_t len)
{
    if (len == 0 || len > MARKER_MAX)
        return -1;
    armed = 0;
    memcpy(marker, bytes, len);
    marker_len = len;
    hits = scanned = freed_count = 0;
    memset(callers, 0, sizeof callers);
    __atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
    return 0;
}

void freewatch_disarm(void)
{
    __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
}

long freewatch_hits(void)
{
    return __atomic_load_n(&hits, __ATOMIC_RELAXED);
}

long freewatch_scanned(void)
{
    return __atomic_load_n(&scanned, __ATOMIC_RELAXED);
}

/* The file of the module that called free() for hit i (the frame above a
 * tail call, if the freeing function ended in one), or NULL. */
const char *freewatch_hit_module(long i)
{
    Dl_info info;
    if (i < 0 || i >= CALLERS_MAX || i >= freewatch_hits() || callers[i] == NULL)
        return NULL;
    if (!dladdr(callers[i], &info))
        return NULL;
    return info.dli_fname;
}

/* 1 if a block freed while armed contained address addr. */
int freewatch_was_freed(uintptr_t addr)
{
    long i, n = __atomic_load_n(&freed_count, __ATOMIC_RELAXED);
    if (n > FREED_MAX)
        n = FREED_MAX;
    for (i = 0; i < n; i++)
        if (addr >= freed_start[i] && addr < freed_start[i] + freed_size[i])
            return 1;
    return 0;
}
