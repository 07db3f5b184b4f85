/* test_batch_block.c: wsapeer_batch's block arithmetic (src/batch_block.h)
 * at the limits of a 32-bit size_t.
 *
 * No 32-bit Windows runs here, so the test plays i686 natively: the limit it
 * passes is 2^32 - 1 (i686's SIZE_MAX) and the head and slot sizes are
 * i686's. An independent 64-bit oracle says what each layout must give.
 * tests/windows/run compiles it with gcc (and runs it), with
 * x86_64-w64-mingw32-gcc (and runs it under Wine, with the real sizes too)
 * and with i686-w64-mingw32-gcc, where the static assertions below hold the
 * emulated sizes to the real ones.
 *
 * Prints a line per failed check and "N passed, N failed" last.
 */
#ifdef _WIN32
#  include "win_layout.h" /* first: the Windows headers the block's types need */
#endif
#include "batch_block.h"

#include <stdint.h>
#include <stdio.h>

#define LIMIT32 ((size_t)0xFFFFFFFFu) /* SIZE_MAX on i686 */
#define I686_HEAD 24                  /* sizeof(wsapeer_batch_head) on i686 */
#define I686_SLOT 28                  /* sizeof(wsapeer_batch_slot) on i686: not a multiple of 8 */
#define X64_HEAD 48
#define X64_SLOT 40

#if defined(_WIN32) && !defined(_WIN64)
_Static_assert(sizeof(wsapeer_batch_slot) == I686_SLOT, "the slot size this test plays is i686's");
_Static_assert(sizeof(wsapeer_batch_head) == I686_HEAD, "the head size this test plays is i686's");
_Static_assert(sizeof(size_t) == 4 && SIZE_MAX == LIMIT32, "i686's size_t is 32 bits");
#elif defined(_WIN64)
_Static_assert(sizeof(wsapeer_batch_slot) == X64_SLOT, "the slot size this test plays is x64's");
_Static_assert(sizeof(wsapeer_batch_head) == X64_HEAD, "the head size this test plays is x64's");
#endif

#include "check.h"

/* One part of a block: count items of size bytes. */
typedef struct {
    uint64_t count;
    uint64_t size;
} part;

/* The oracle, in 64-bit arithmetic (every count and size here is below
 * 2^32, so no product wraps): the block's size, or UINT64_MAX if it does
 * not fit in limit. */
static uint64_t oracle(const part *parts, size_t n, uint64_t limit)
{
    uint64_t used = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t bytes = parts[i].count * parts[i].size;
        bytes = (bytes + 7) / 8 * 8;
        if (bytes > limit || used + bytes > limit)
            return UINT64_MAX;
        used += bytes;
    }
    return used;
}

/* Lays the parts out with the shim's arithmetic; checks it against the
 * oracle, and that every part is 8-aligned and none overlaps the next. */
static void check_layout(const char *what, const part *parts, size_t n, size_t limit)
{
    wsapeer_layout layout;
    uint64_t expect = oracle(parts, n, limit), end = 0;
    size_t i, at;
    int aligned = 1, ordered = 1;

    wsapeer_layout_init(&layout, limit);
    for (i = 0; i < n; i++) {
        at = wsapeer_layout_take(&layout, (size_t)parts[i].count, (size_t)parts[i].size);
        if (layout.overflow)
            break;
        aligned &= at % 8 == 0;
        ordered &= at >= end;
        end = (uint64_t)at + parts[i].count * parts[i].size;
    }
    if (expect == UINT64_MAX) {
        CHECK(layout.overflow, "%s: the block does not fit in %llu bytes, yet %llu were laid out",
              what, (unsigned long long)limit, (unsigned long long)layout.used);
    } else {
        CHECK(!layout.overflow && layout.used == expect,
              "%s: %llu bytes expected, got %llu (overflow %d)", what,
              (unsigned long long)expect, (unsigned long long)layout.used, layout.overflow);
        CHECK(aligned && ordered && layout.used >= end,
              "%s: parts misaligned or overlapping", what);
    }
}

/* A batch: a head, n slots, then n inputs of the same size. */
static void check_batch(const char *what, size_t head, size_t slot, uint64_t n, uint64_t input,
                        size_t limit)
{
    wsapeer_layout layout;
    uint64_t expect, i;
    part parts[2];
    size_t at;

    parts[0].count = 1;
    parts[0].size = head;
    parts[1].count = n;
    parts[1].size = slot;
    expect = oracle(parts, 2, limit);
    if (expect != UINT64_MAX) {
        uint64_t each = (input + 7) / 8 * 8;
        expect = each && n > (limit - expect) / each ? UINT64_MAX : expect + n * each;
    }
    wsapeer_layout_init(&layout, limit);
    wsapeer_layout_take(&layout, 1, head);
    wsapeer_layout_take(&layout, (size_t)n, slot);
    for (i = 0; i < n && !layout.overflow; i++) {
        at = wsapeer_layout_take(&layout, 1, (size_t)input);
        if (!layout.overflow && at % 8 != 0) {
            CHECK(0, "%s: input %llu at offset %llu, not 8-aligned", what, (unsigned long long)i,
                  (unsigned long long)at);
            return;
        }
    }
    if (expect == UINT64_MAX)
        CHECK(layout.overflow, "%s: %llu items of %llu bytes cannot fit in %llu bytes, yet "
                               "%llu were laid out",
              what, (unsigned long long)n, (unsigned long long)input, (unsigned long long)limit,
              (unsigned long long)layout.used);
    else
        CHECK(!layout.overflow && layout.used == expect, "%s: %llu bytes expected, got %llu",
              what, (unsigned long long)expect, (unsigned long long)layout.used);
}

/* The case that overran the heap on i686: 21834 IPsec settings whose three
 * strings are as long as they may be (88 + 3 x 65534 bytes each). */
static void test_i686_wrap(void)
{
    const uint64_t n = 21834, size = 88 + 3 * 65534;
    uint32_t wrapped = (uint32_t)(n * I686_SLOT + n * ((size + 7) / 8 * 8));
    printf("info i686: %llu items of %llu bytes, the unchecked 32-bit total wraps to %lu\n",
           (unsigned long long)n, (unsigned long long)size, (unsigned long)wrapped);
    check_batch("i686, the wrapping batch", I686_HEAD, I686_SLOT, n, size, LIMIT32);
    check_batch("x64 sizes under a 32-bit limit", X64_HEAD, X64_SLOT, n, size, LIMIT32);
    check_batch("i686, 21832 such items: the most that fit", I686_HEAD, I686_SLOT, 21832, size,
                LIMIT32);
    check_batch("i686, 21833 such items: one too many", I686_HEAD, I686_SLOT, 21833, size,
                LIMIT32);
}

/* Each sum and product at the edge of the limit, one byte either side. */
static void test_edges(void)
{
    const size_t slot_max = (LIMIT32 - I686_HEAD) / I686_SLOT;
    static const size_t sizes[] = {0, 1, 7, 8, 9, 0xFFFFFFF0u, 0xFFFFFFF1u, 0xFFFFFFF7u,
                                   0xFFFFFFF8u, 0xFFFFFFF9u, 0xFFFFFFFFu};
    size_t i, j;
    part parts[3];

    for (i = 0; i < 3; i++) {
        char what[96];
        snprintf(what, sizeof what, "i686: %llu slots (the most that fit %+d)",
                 (unsigned long long)(slot_max + i - 1), (int)i - 1);
        parts[0].count = 1;
        parts[0].size = I686_HEAD;
        parts[1].count = slot_max + i - 1;
        parts[1].size = I686_SLOT;
        check_layout(what, parts, 2, LIMIT32);
    }
    /* One input after a head and a slot, of every size near 2^32: a size
     * rounded up to 8 wraps to 0 there. */
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "i686: one input of %#llx bytes",
                 (unsigned long long)sizes[i]);
        parts[0].count = 1;
        parts[0].size = I686_HEAD;
        parts[1].count = 1;
        parts[1].size = I686_SLOT;
        parts[2].count = 1;
        parts[2].size = sizes[i];
        check_layout(what, parts, 3, LIMIT32);
        /* The same input alone: the rounding itself at the limit. */
        check_layout(what, &parts[2], 1, LIMIT32);
    }
    /* Products: count x size just over the limit, both ways round. */
    for (i = 1; i < sizeof sizes / sizeof sizes[0]; i++)
        for (j = 1; j < 5; j++) {
            char what[96];
            snprintf(what, sizeof what, "i686: %llu x %#llx bytes", (unsigned long long)j,
                     (unsigned long long)sizes[i]);
            parts[0].count = j;
            parts[0].size = sizes[i];
            check_layout(what, parts, 1, LIMIT32);
            parts[0].count = sizes[i];
            parts[0].size = j;
            check_layout(what, parts, 1, LIMIT32);
        }
}

/* Every input copy starts 8-aligned, whatever the slot size and count. */
static void test_alignment(void)
{
    static const size_t slots[] = {I686_SLOT, X64_SLOT, 20, 1};
    size_t s, n, size, i;
    int bad = 0;

    for (s = 0; s < sizeof slots / sizeof slots[0]; s++)
        for (n = 1; n <= 17; n++)
            for (size = 0; size <= 17; size++) {
                wsapeer_layout layout;
                wsapeer_layout_init(&layout, LIMIT32);
                bad += wsapeer_layout_take(&layout, 1, I686_HEAD) % 8 != 0;
                bad += wsapeer_layout_take(&layout, n, slots[s]) % 8 != 0;
                for (i = 0; i < n; i++)
                    bad += wsapeer_layout_take(&layout, 1, size + i) % 8 != 0;
                bad += layout.overflow;
            }
    CHECK(bad == 0, "%d parts laid out at offsets that are not multiples of 8", bad);
#ifdef _WIN32
    {
        /* The real sizes of this compiler's target. */
        wsapeer_layout layout;
        size_t at;
        wsapeer_layout_init(&layout, SIZE_MAX);
        wsapeer_layout_take(&layout, 1, sizeof(wsapeer_batch_head));
        wsapeer_layout_take(&layout, 3, sizeof(wsapeer_batch_slot));
        at = wsapeer_layout_take(&layout, 1, 1);
        CHECK(at % 8 == 0, "the first input after 3 real slots is at %lu",
              (unsigned long)at);
    }
#endif
}

/* Nothing is placed once the block has overflowed, and the native limit
 * (SIZE_MAX) is checked as the emulated one is. */
static void test_sticky_and_native(void)
{
    wsapeer_layout layout;
    size_t at;

    wsapeer_layout_init(&layout, LIMIT32);
    wsapeer_layout_take(&layout, 1, LIMIT32);
    at = wsapeer_layout_take(&layout, 1, 8);
    CHECK(layout.overflow && at == 0, "overflow is sticky");
    wsapeer_layout_init(&layout, SIZE_MAX);
    wsapeer_layout_take(&layout, SIZE_MAX / I686_SLOT + 1, I686_SLOT);
    CHECK(layout.overflow, "SIZE_MAX: the slot product checked");
    wsapeer_layout_init(&layout, SIZE_MAX);
    wsapeer_layout_take(&layout, 1, 8);
    wsapeer_layout_take(&layout, 1, SIZE_MAX - 7);
    CHECK(layout.overflow, "SIZE_MAX: a sum one past it refused");
    wsapeer_layout_init(&layout, SIZE_MAX);
    wsapeer_layout_take(&layout, 1, SIZE_MAX - 6);
    CHECK(layout.overflow, "SIZE_MAX: a size whose padding would wrap refused");
}

int main(void)
{
    test_i686_wrap();
    test_edges();
    test_alignment();
    test_sticky_and_native();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
