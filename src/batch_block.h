/* batch_block.h: the size arithmetic of wsapeer_batch's one block, apart
 * from the Windows calls so that a test can run it natively at the limits of
 * a 32-bit size_t (tests/unit_c/test_batch_block.c passes 2^32 - 1 as the
 * limit, and i686's slot size).
 *
 * On i686 size_t is 32 bits: n slots of 28 bytes plus n inputs of up to
 * 4 GiB each wrap around long before malloc could refuse them, and a block
 * allocated for the wrapped total would be overrun by the copies. Every sum
 * and product here is checked against the limit first.
 *
 * Every part starts at a multiple of 8: the inputs are Windows structures
 * (SOCKADDR_STORAGE, UINT64 fields) that need 8-byte alignment, and on i686
 * a slot is 28 bytes, so the slot area is padded as every input is.
 */
#ifndef WSAPEER_BATCH_BLOCK_H
#define WSAPEER_BATCH_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#if defined(_MSC_VER)
#  define WSAPEER_BLOCK_INLINE static __inline
#else
#  define WSAPEER_BLOCK_INLINE static inline
#endif

#define WSAPEER_BLOCK_ALIGN 8

/* A block being laid out: used grows part by part, never past limit; once
 * a part would not fit, overflow stays set and nothing more is placed. */
typedef struct {
    size_t used;
    size_t limit;
    int overflow;
} wsapeer_layout;

WSAPEER_BLOCK_INLINE void wsapeer_layout_init(wsapeer_layout *layout, size_t limit)
{
    layout->used = 0;
    layout->limit = limit;
    layout->overflow = 0;
}

/* Places count items of size bytes each, padded to WSAPEER_BLOCK_ALIGN:
 * returns their offset, or 0 with overflow set if the block would grow past
 * the limit. */
WSAPEER_BLOCK_INLINE size_t wsapeer_layout_take(wsapeer_layout *layout, size_t count,
                                                size_t size)
{
    size_t at = layout->used, room, bytes, pad;
    if (layout->overflow || at > layout->limit)
        goto overflow;
    room = layout->limit - at;
    if (size != 0 && count > room / size)
        goto overflow;
    bytes = count * size; /* at most room: no wrap */
    pad = (WSAPEER_BLOCK_ALIGN - (bytes % WSAPEER_BLOCK_ALIGN)) % WSAPEER_BLOCK_ALIGN;
    if (pad > room - bytes)
        goto overflow;
    layout->used = at + bytes + pad;
    return at;
overflow:
    layout->overflow = 1;
    return 0;
}

#ifdef _WIN32
/* The parts of the block (include the Windows headers first). The head lets
 * a thread-pool wait own the block when wsapeer_batch returns with slots
 * still Windows'; a slot is one item's OVERLAPPED and what became of it. */
typedef struct {
    HANDLE event;   /* shared by every slot, manual reset */
    HANDLE wait;    /* the pool wait that owns the block, once handed over */
    SRWLOCK lock;   /* orders the wait's registration before its callback */
    size_t n;
    size_t slots_at;
    size_t total;
} wsapeer_batch_head;

typedef struct {
    WSAOVERLAPPED ov;
    int at_once; /* the call returned 0: done by its word, the OVERLAPPED maybe not yet written */
    int done;
} wsapeer_batch_slot;
#endif

#endif /* WSAPEER_BATCH_BLOCK_H */
