/* overlapped.c: overlapped operations and batches, kept in C.
 *
 * Rules this file keeps (facts file): the OVERLAPPED and the input buffer
 * stay valid until the operation completes; the event's low bit is set so
 * that a socket associated with a completion port (asyncio's proactor) gets
 * no packet for an operation it did not start; completion routines run only
 * in alertable waits on the issuing thread, and are C, never Python.
 *
 * Every operation has two references: the caller's and, while in flight, the
 * I/O's. Memory is freed when both are gone, so dropping an operation early
 * cancels it but never frees what Windows may still write. What says Windows
 * is done: the event it signals (event mode), the routine it runs (routine
 * mode) or, once the issuing thread has exited and its APCs with it,
 * OVERLAPPED.Internal. An operation released before then, and a batch that
 * returns before then, are left to a thread-pool wait that frees them when
 * it comes, however late: nothing is leaked for good either.
 */
#include "win_layout.h" /* first: it sets _WIN32_WINNT for the Windows headers */
#include "wsapeer.h"
#include "fwpuclnt.h"
#include "secure_zero.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#endif

enum { OP_NEW, OP_PENDING, OP_DONE };

/* How long releasing an operation in flight (or a batch at its timeout)
 * waits for the cancellation before leaving it to a thread-pool wait. */
#define DRAIN_MS 5000

static volatile long live_ops;

#ifdef _WIN32
#  define ATOMIC_INC(p) InterlockedIncrement((volatile LONG *)(p))
#  define ATOMIC_DEC(p) InterlockedDecrement((volatile LONG *)(p))
#  define STORE_RELEASE(p, v) InterlockedExchange((volatile LONG *)(p), (v))
#elif defined(__GNUC__) || defined(__clang__)
#  define ATOMIC_INC(p) __atomic_add_fetch((p), 1, __ATOMIC_ACQ_REL)
#  define ATOMIC_DEC(p) __atomic_sub_fetch((p), 1, __ATOMIC_ACQ_REL)
#  define STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#else
#  error "wsapeer needs Interlocked* or GCC/Clang atomic builtins"
#endif

/* Acquire loads, paired with STORE_RELEASE: what was written before the
 * store is seen after the load. A volatile read is not one where MSVC
 * compiles volatile with ISO semantics (/volatile:iso, ARM64's default). */
#if defined(__GNUC__) || defined(__clang__)
#  define LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#  define LOAD_ACQUIRE_PTR(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#else
static __inline LONG load_acquire(const volatile LONG *p)
{
    LONG v = *p;
    MemoryBarrier();
    return v;
}
static __inline ULONG_PTR load_acquire_ptr(const volatile ULONG_PTR *p)
{
    ULONG_PTR v = *p;
    MemoryBarrier();
    return v;
}
#  define LOAD_ACQUIRE(p) load_acquire((const volatile LONG *)(p))
#  define LOAD_ACQUIRE_PTR(p) load_acquire_ptr(p)
#endif

size_t wsapeer_op_live(void)
{
    return (size_t)LOAD_ACQUIRE(&live_ops);
}

static int known_function(int function)
{
    return function >= WSAPEER_CALL_SET_PEER_TARGET_NAME &&
           function <= WSAPEER_CALL_QUERY_SOCKET_SECURITY;
}

/* A query's token handles that nobody took: closed, never leaked. */
static void close_unclaimed(wsapeer_query_info *info)
{
    wsapeer_close_token(info->application_token);
    wsapeer_close_token(info->machine_token);
    info->application_token = info->machine_token = 0;
}

/* The i-th of an array that holds n entries or one shared by all. */
#define NTH(array, count, i) ((array)[(count) == 1 ? 0 : (i)])

/* Whether a batch refuses one input as it was read. */
static int input_refused(const void *data, size_t size)
{
    return data == NULL || size > 0xFFFFFFFFu;
}

/* Checks the shape of a batch, not yet its inputs' contents (each platform
 * checks them as it reads them): 0, or a negative status. A query is
 * refused: its answer has nowhere to go in a batch. */
static int batch_arguments(size_t n, const int *functions, size_t n_functions,
                           const uint64_t *socks, size_t n_socks,
                           const wsapeer_buffer *const *inputs, const int *results)
{
    size_t i;
    if (functions == NULL || socks == NULL || inputs == NULL || results == NULL ||
        (n_functions != 1 && n_functions != n) || (n_socks != 1 && n_socks != n))
        return WSAPEER_E_ARGUMENT;
    for (i = 0; i < n_functions; i++)
        if (functions[i] < WSAPEER_CALL_SET_PEER_TARGET_NAME ||
            functions[i] > WSAPEER_CALL_DELETE_PEER_TARGET_NAME)
            return WSAPEER_E_ARGUMENT;
    for (i = 0; i < n; i++)
        if (inputs[i] == NULL)
            return WSAPEER_E_ARGUMENT;
    return WSAPEER_OK;
}

/* The call an operation or a batch item makes, through the seam: info and
 * info_len only for a query, overlapped and routine NULL for a synchronous
 * call. One dispatch for every path. */
static int fw_call(int function, uint64_t sock, const void *input, size_t size, void *info,
                   uint32_t *info_len, void *overlapped, void *routine)
{
    switch (function) {
    case WSAPEER_CALL_SET_PEER_TARGET_NAME:
        return wsapeer_fw_set_peer_target_name(sock, input, size, overlapped, routine);
    case WSAPEER_CALL_SET_SOCKET_SECURITY:
        return wsapeer_fw_set_socket_security(sock, input, size, overlapped, routine);
    case WSAPEER_CALL_DELETE_PEER_TARGET_NAME:
        return wsapeer_fw_delete_peer_target_name(sock, input, size, overlapped, routine);
    default:
        return wsapeer_fw_query_socket_security(sock, input, size, info, info_len, overlapped,
                                                routine);
    }
}

#ifdef _WIN32

#include "batch_block.h"

/* How often an operation whose issuing thread has exited is looked at: its
 * routine can no longer run, and only OVERLAPPED.Internal says when Windows
 * is done with it. */
#define POLL_MS 50

static volatile LONG drain_ms = DRAIN_MS;

#ifdef WSAPEER_TEST_HOOKS
/* Test builds only (tests/windows/run defines WSAPEER_TEST_HOOKS for
 * test_shim.exe): a short drain lets the Wine suite see what follows it
 * without waiting 5 s each time. Release builds keep DRAIN_MS. */
void wsapeer_test_set_drain_ms(uint32_t ms);
void wsapeer_test_set_drain_ms(uint32_t ms)
{
    InterlockedExchange(&drain_ms, (LONG)ms);
}
#endif

/* A batch's inputs are copied to 8-aligned offsets of a block from calloc:
 * 8 must be enough for every structure copied there, and for the block's
 * own parts; the heap must align at least as much. */
typedef char inputs_fit_the_alignment[
    TYPE_ALIGNMENT(SOCKADDR_STORAGE) <= WSAPEER_BLOCK_ALIGN &&
            TYPE_ALIGNMENT(SOCKET_PEER_TARGET_NAME) <= WSAPEER_BLOCK_ALIGN &&
            TYPE_ALIGNMENT(SOCKET_SECURITY_SETTINGS_IPSEC) <= WSAPEER_BLOCK_ALIGN &&
            TYPE_ALIGNMENT(wsapeer_batch_slot) <= WSAPEER_BLOCK_ALIGN &&
            TYPE_ALIGNMENT(wsapeer_batch_head) <= WSAPEER_BLOCK_ALIGN &&
            MEMORY_ALLOCATION_ALIGNMENT >= WSAPEER_BLOCK_ALIGN
        ? 1
        : -1];

struct wsapeer_op {
    WSAOVERLAPPED ov;     /* first: the completion routine finds the op from it */
    HANDLE event;         /* manual reset; event mode: Windows' signal that it is done */
    HANDLE thread_handle; /* routine mode: the issuing thread, whose exit ends its APCs */
    HANDLE wait;          /* the pool wait holding a reference once released in flight */
    SRWLOCK lock;         /* serializes observing the completion */
    volatile LONG refs;
    volatile LONG state; /* stored with release, read with acquire: see finish() */
    volatile LONG io;    /* 1 while the I/O's reference is held */
    int function;
    int mode;
    uint64_t sock;
    DWORD thread;
    int status;
    int info_taken;
    uint32_t info_cap;          /* the answer's size: IPSEC2 or not, from the template */
    uint32_t info_len;          /* SecurityQueryInfoLen, which Windows may write late */
    uint64_t info_buffer[WSAPEER_QUERY_INFO_IPSEC2_SIZE / 8];
    wsapeer_query_info info;
    size_t size;
    uint8_t *input;
};

static void op_free(wsapeer_op *op)
{
    if (op->state == OP_DONE && op->status == 0 && !op->info_taken)
        close_unclaimed(&op->info);
    if (op->thread_handle)
        CloseHandle(op->thread_handle);
    if (op->event)
        CloseHandle(op->event);
    if (op->input) /* settings copied here may hold a password */
        wsapeer_secure_zero(op->input, op->size);
    free(op->input);
    free(op);
    ATOMIC_DEC(&live_ops);
}

static void op_unref(wsapeer_op *op)
{
    if (InterlockedDecrement(&op->refs) == 0)
        op_free(op);
}

/* Drops the I/O's reference, once, whoever sees first that Windows is done. */
static void end_io(wsapeer_op *op)
{
    if (InterlockedExchange(&op->io, 0) == 1)
        op_unref(op);
}

/* Takes the I/O's reference (lock held), for op_unref once the lock is
 * released: 1 if this caller now holds it. The completion that records DONE
 * takes it under the same lock, so that a release in between never sees DONE
 * with the I/O's reference still held and hands the op to a pool wait (in
 * routine mode one on the issuing thread's exit, which may be never). */
static int take_io(wsapeer_op *op)
{
    return InterlockedExchange(&op->io, 0) == 1;
}

wsapeer_op *wsapeer_op_new(int function, uint64_t sock, const void *input, size_t size, int mode)
{
    wsapeer_op *op;
    if (!known_function(function) || (mode != WSAPEER_OP_EVENT && mode != WSAPEER_OP_ROUTINE) ||
        sock != (uint64_t)(SOCKET)sock || size > 0xFFFFFFFFu)
        return NULL;
    op = (wsapeer_op *)calloc(1, sizeof *op);
    if (op == NULL)
        return NULL;
    op->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    op->input = size ? (uint8_t *)malloc(size) : NULL;
    if (op->event == NULL || (size && op->input == NULL)) {
        if (op->event)
            CloseHandle(op->event);
        free(op->input);
        free(op);
        return NULL;
    }
    if (size)
        memcpy(op->input, input, size);
    InitializeSRWLock(&op->lock);
    op->refs = 1;
    op->state = OP_NEW;
    op->function = function;
    op->mode = mode;
    op->sock = sock;
    op->size = size;
    /* As the one-shot query: an IPSEC2 template asks for the IPSEC2 answer. */
    op->info_cap = size >= WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE ? WSAPEER_QUERY_INFO_IPSEC2_SIZE
                                                            : WSAPEER_QUERY_INFO_SIZE;
    op->info_len = op->info_cap;
    ATOMIC_INC(&live_ops);
    return op;
}

/* How much of a query's answer to read: what the template asked for
 * (info_cap) at most, no more than SecurityQueryInfoLen says, and no more
 * than the completion's byte count when Windows reports one. */
static uint32_t answer_length(const wsapeer_op *op, DWORD bytes)
{
    uint32_t len = op->info_len < op->info_cap ? op->info_len : op->info_cap;
    if (bytes != 0 && bytes < len)
        len = (uint32_t)bytes;
    return len;
}

/* Records the outcome once; the caller holds op->lock or owns the op. The
 * status and the answer are written before the release store that says
 * DONE, so a thread that reads DONE without the lock (an acquire load)
 * reads them too, on ARM64 as on x86. */
static void finish(wsapeer_op *op, int status, DWORD bytes)
{
    op->status = status;
    if (status == 0 && op->function == WSAPEER_CALL_QUERY_SOCKET_SECURITY &&
        wsapeer_query_info_parse((const uint8_t *)op->info_buffer, answer_length(op, bytes),
                                 &op->info) != 0) {
        /* Too short to parse: an error, never a zeroed success. The buffer
         * started zeroed, so tokens found in it anyway are Windows' answer
         * past the length it wrote back: closed, never leaked. */
        wsapeer_query_info stray;
        op->status = WSAPEER_E_INTERNAL;
        if (wsapeer_query_info_parse((const uint8_t *)op->info_buffer, op->info_cap, &stray) ==
            0)
            close_unclaimed(&stray);
    }
    STORE_RELEASE(&op->state, OP_DONE);
    /* Routine mode: Windows never signals the event, so it wakes waiters
     * here. Event mode: the event is Windows' word that it is done with the
     * op; set by the shim, it would say nothing. */
    if (op->mode == WSAPEER_OP_ROUTINE)
        SetEvent(op->event);
}

/* A failed NTSTATUS as an error code, when Winsock no longer answers for
 * the socket: ntdll's own translation (ntdll is in every process), or
 * WSA_OPERATION_ABORTED when it has none. Never 0: a failure stays one. */
static int status_error(DWORD status)
{
    typedef ULONG(WINAPI * to_dos_error)(LONG);
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    void (*fn)(void) = NULL;
    ULONG error = 0;
    if ((LONG)status >= 0)
        return 0; /* NT_SUCCESS: what WSAGetOverlappedResult itself reports as success */
    if (ntdll != NULL)
        fn = (void (*)(void))GetProcAddress(ntdll, "RtlNtStatusToDosError");
    if (fn != NULL)
        error = ((to_dos_error)fn)((LONG)status);
    return error != 0 && error != ERROR_MR_MID_NOT_FOUND && error <= 0x7FFFFFFF
               ? (int)error
               : WSAPEER_WSA_OPERATION_ABORTED;
}

/* The outcome Windows wrote into ov, read from ov itself (Internal, the
 * NTSTATUS that HasOverlappedIoCompleted reads too), so that it stays the
 * same if the application has closed the socket since (WSAGetOverlappedResult
 * then answers WSAENOTSOCK, and a success would be lost with its tokens).
 * WSAPEER_WSA_IO_INCOMPLETE while in flight; *bytes the byte count. */
static int outcome(uint64_t sock, WSAOVERLAPPED *ov, DWORD *bytes)
{
    DWORD status = (DWORD)LOAD_ACQUIRE_PTR(&ov->Internal), flags = 0;
    int error;
    *bytes = 0;
    if (status == WSAPEER_STATUS_PENDING)
        return WSAPEER_WSA_IO_INCOMPLETE;
    *bytes = (DWORD)ov->InternalHigh; /* written before Internal */
    if (status == WSAPEER_STATUS_SUCCESS)
        return 0;
    if (status == WSAPEER_STATUS_CANCELLED)
        return WSAPEER_WSA_OPERATION_ABORTED;
    /* Other failures: Winsock's own code for them, while it knows the socket. */
    if (WSAGetOverlappedResult((SOCKET)sock, ov, bytes, FALSE, &flags))
        return 0;
    error = WSAGetLastError();
    if (error == WSAPEER_WSAENOTSOCK)
        return status_error(status);
    return error > 0 ? error : WSAPEER_E_INTERNAL;
}

/* The byte count of a call that returned 0: Windows' if it wrote the
 * OVERLAPPED, else none. */
static DWORD bytes_at_once(const WSAOVERLAPPED *ov)
{
    return (DWORD)LOAD_ACQUIRE_PTR(&ov->Internal) == WSAPEER_STATUS_PENDING
               ? 0
               : (DWORD)ov->InternalHigh;
}

/* Routine mode: whether the issuing thread has exited (its handle is
 * signalled), taking every APC still queued to it along. */
static int thread_exited(const wsapeer_op *op)
{
    return WaitForSingleObject(op->thread_handle, 0) == WAIT_OBJECT_0;
}

/* Whether Windows is done with op, judged now without waiting; records the
 * outcome if it has arrived. Lock and I/O reference held. grace_over: the
 * wait for a late signal of an operation done at once has run out. */
static int windows_done(wsapeer_op *op, int grace_over)
{
    DWORD bytes;
    int status;
    if (op->mode == WSAPEER_OP_EVENT) {
        if (WaitForSingleObject(op->event, 0) != WAIT_OBJECT_0)
            return op->state == OP_DONE && grace_over;
        if (op->state == OP_DONE)
            return 1;
        status = outcome(op->sock, &op->ov, &bytes);
        if (status == WSAPEER_WSA_IO_INCOMPLETE) {
            /* Signalled with Internal unwritten: not by Windows, which
             * writes it first. Reset, then look again, so that a completion
             * racing with the reset still signals after it. */
            ResetEvent(op->event);
            status = outcome(op->sock, &op->ov, &bytes);
            if (status == WSAPEER_WSA_IO_INCOMPLETE)
                return 0;
        }
        finish(op, status, bytes);
        return 1;
    }
    /* Routine mode: while the issuing thread lives, its routine may still
     * run, and only it ends the op. */
    if (!thread_exited(op))
        return 0;
    /* The thread is gone with its APCs: Internal alone tells. An op done at
     * once has nothing more to come. */
    if (op->state == OP_DONE)
        return 1;
    status = outcome(op->sock, &op->ov, &bytes);
    if (status == WSAPEER_WSA_IO_INCOMPLETE)
        return 0;
    finish(op, status, bytes);
    return 1;
}

static VOID CALLBACK orphan_wake(PVOID param, BOOLEAN timed_out);

/* Registers the pool wait that owns op until Windows is done with it (lock
 * held): on the event (event mode: Windows signals it at completion; an op
 * done at once, which Windows may never signal, waits one drain at most),
 * on the issuing thread (routine mode: until its exit, its routine ends the
 * op), or every POLL_MS once that thread is gone. 0 if no wait could be
 * registered: the op then stays allocated for good, never freed early. */
static int arm(wsapeer_op *op)
{
    HANDLE target = op->event;
    DWORD timeout = INFINITE;
    if (op->mode == WSAPEER_OP_EVENT) {
        if (op->state == OP_DONE)
            timeout = (DWORD)drain_ms;
    } else if (!thread_exited(op)) {
        target = op->thread_handle;
    } else {
        timeout = POLL_MS;
    }
    if (RegisterWaitForSingleObject(&op->wait, target, orphan_wake, op, timeout,
                                    WT_EXECUTEONLYONCE))
        return 1;
    op->wait = NULL;
    return 0;
}

/* The pool wait of a released op: frees it once Windows is done, or waits
 * again. The lock orders this after arm() stored the wait's handle. */
static VOID CALLBACK orphan_wake(PVOID param, BOOLEAN timed_out)
{
    wsapeer_op *op = (wsapeer_op *)param;
    HANDLE wait;
    int over;
    AcquireSRWLockExclusive(&op->lock);
    wait = op->wait;
    op->wait = NULL;
    over = !op->io || windows_done(op, timed_out);
    /* Not over and no new wait: the op stays Windows' for good. */
    if (!over)
        arm(op);
    ReleaseSRWLockExclusive(&op->lock);
    /* Fired once (WT_EXECUTEONLYONCE), this wait no longer uses its handle;
     * from its own callback it is unregistered without blocking. */
    if (wait != NULL)
        UnregisterWaitEx(wait, NULL);
    if (over) {
        end_io(op);
        op_unref(op); /* the wait's */
    }
}

/* The caller lets go while Windows may still write the op: the I/O's
 * reference passes to a pool wait, which frees the op however late Windows
 * finishes. Never freed before: its OVERLAPPED, input and answer are
 * Windows' until then. */
static void orphan(wsapeer_op *op)
{
    int ended = 0;
    AcquireSRWLockExclusive(&op->lock);
    if (op->io) {
        ended = windows_done(op, 0);
        if (!ended) {
            InterlockedIncrement(&op->refs); /* the wait's */
            if (!arm(op))
                InterlockedDecrement(&op->refs); /* not the last: the caller's and the I/O's */
        }
    }
    ReleaseSRWLockExclusive(&op->lock);
    if (ended)
        end_io(op);
}

static void CALLBACK op_routine(DWORD error, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags)
{
    wsapeer_op *op = (wsapeer_op *)ov;
    HANDLE wait;
    int io;
    (void)flags;
    AcquireSRWLockExclusive(&op->lock);
    if (op->state == OP_PENDING) /* else done at once: nothing new to record */
        finish(op, (int)error, bytes);
    io = take_io(op);
    wait = op->wait;
    op->wait = NULL;
    ReleaseSRWLockExclusive(&op->lock);
    if (wait != NULL) {
        /* Released in flight, the op was left to a pool wait on this very
         * thread's exit: it cannot be running (this thread runs), and once
         * unregistered it never will; its reference is dropped here. */
        UnregisterWaitEx(wait, INVALID_HANDLE_VALUE);
        op_unref(op);
    }
    if (io)
        op_unref(op);
}

/* One call through the seam with the op's OVERLAPPED: the seam's status. */
static int issue(wsapeer_op *op)
{
    void *routine = op->mode == WSAPEER_OP_ROUTINE ? (void *)op_routine : NULL;
    return fw_call(op->function, op->sock, op->input, op->size, op->info_buffer, &op->info_len,
                   &op->ov, routine);
}

int wsapeer_op_start(wsapeer_op *op)
{
    int rc, io;
    if (op == NULL || op->state != OP_NEW)
        return WSAPEER_E_ARGUMENT;
    /* Routine mode: the issuing thread's handle tells when its APCs, this
     * op's routine among them, can no longer run (it has exited). */
    if (op->mode == WSAPEER_OP_ROUTINE && op->thread_handle == NULL &&
        !DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(),
                         &op->thread_handle, SYNCHRONIZE, FALSE, 0)) {
        op->thread_handle = NULL;
        return WSAPEER_E_NOMEM;
    }
    op->thread = GetCurrentThreadId();
    memset(&op->ov, 0, sizeof op->ov);
    op->ov.Internal = WSAPEER_STATUS_PENDING; /* until Windows writes the outcome */
    /* Event mode: the low bit keeps completion packets off any port. Routine
     * mode: Winsock ignores hEvent; op->event is set by finish() alone. */
    if (op->mode == WSAPEER_OP_EVENT)
        op->ov.hEvent = (HANDLE)((ULONG_PTR)op->event | 1);
    InterlockedIncrement(&op->refs); /* the I/O's */
    op->io = 1;
    STORE_RELEASE(&op->state, OP_PENDING);
    rc = issue(op);
    if (rc == WSAPEER_WSA_IO_PENDING)
        return rc; /* the completion will arrive */
    AcquireSRWLockExclusive(&op->lock);
    finish(op, rc, rc == 0 ? bytes_at_once(&op->ov) : 0);
    /* Failed at once: no event, no routine, no packet will ever come. */
    io = rc != 0 && take_io(op);
    ReleaseSRWLockExclusive(&op->lock);
    if (rc == 0) {
        /* Done at once: the call said so, and the outcome is known whether
         * or not Windows signals the event (or queues the routine), which
         * its contract says it does. What is not known is whether it has
         * finished with the op: an I/O that completed at once wrote the
         * OVERLAPPED and signalled the event before (or, completed on
         * another processor, just after) the return; a call that needed no
         * I/O never touches them. So the I/O's reference stays until the
         * event is seen signalled (or the routine runs); a caller that
         * releases the op first leaves it to orphan(), which waits one
         * drain for a late signal, far longer than that window, before
         * freeing (event mode), or until the routine runs or its thread is
         * gone (routine mode: a queued APC may wait any time for an
         * alertable wait, so no delay makes freeing safe before). */
        if (op->mode == WSAPEER_OP_EVENT && WaitForSingleObject(op->event, 0) == WAIT_OBJECT_0)
            end_io(op);
        return 0;
    }
    if (op->mode == WSAPEER_OP_EVENT)
        SetEvent(op->event);
    if (io)
        op_unref(op);
    /* Nothing answers the call at all: said at once, as off Windows. */
    return rc == WSAPEER_E_UNSUPPORTED ? WSAPEER_E_UNSUPPORTED : 0;
}

/* Event mode: once Windows has signalled, records the outcome and ends the
 * I/O's reference. 1 if done. */
static int observe(wsapeer_op *op)
{
    int done, ended = 0;
    AcquireSRWLockExclusive(&op->lock);
    if (op->io)
        ended = windows_done(op, 0);
    done = op->state == OP_DONE;
    ReleaseSRWLockExclusive(&op->lock);
    if (ended)
        end_io(op);
    return done;
}

int wsapeer_op_done(wsapeer_op *op)
{
    LONG state;
    if (op == NULL)
        return 0;
    state = LOAD_ACQUIRE(&op->state);
    if (state == OP_DONE)
        return 1;
    if (state == OP_NEW)
        return 0;
    if (op->mode == WSAPEER_OP_EVENT)
        return observe(op);
    /* Routine mode: a poll on the issuing thread is an alertable wait with a
     * zero timeout, where the routines already queued (this one's among
     * them) run; a poll that never waited would never see it done. */
    if (GetCurrentThreadId() == op->thread)
        SleepEx(0, TRUE);
    return LOAD_ACQUIRE(&op->state) == OP_DONE;
}

int wsapeer_op_wait(wsapeer_op *op, uint32_t timeout_ms)
{
    ULONGLONG start = GetTickCount64();
    LONG state;
    if (op == NULL || (state = LOAD_ACQUIRE(&op->state)) == OP_NEW)
        return WSAPEER_E_ARGUMENT;
    if (op->mode == WSAPEER_OP_ROUTINE && state != OP_DONE &&
        GetCurrentThreadId() != op->thread)
        return WSAPEER_E_THREAD;
    for (;;) {
        DWORD left = INFINITE, r;
        if (wsapeer_op_done(op)) /* alertable, even with a zero timeout */
            return 1;
        if (timeout_ms != INFINITE) {
            ULONGLONG spent = GetTickCount64() - start;
            if (spent >= timeout_ms)
                return 0;
            left = (DWORD)(timeout_ms - spent);
        }
        /* Alertable, so that this thread's completion routines run. */
        r = WaitForSingleObjectEx(op->event, left, TRUE);
        if (r == WAIT_FAILED)
            return WSAPEER_E_INTERNAL;
    }
}

int wsapeer_op_result(wsapeer_op *op)
{
    if (op == NULL)
        return WSAPEER_E_ARGUMENT;
    return wsapeer_op_done(op) ? op->status : WSAPEER_WSA_IO_INCOMPLETE;
}

int wsapeer_op_query_info(wsapeer_op *op, wsapeer_query_info *out)
{
    if (op == NULL || out == NULL || op->function != WSAPEER_CALL_QUERY_SOCKET_SECURITY)
        return WSAPEER_E_ARGUMENT;
    if (!wsapeer_op_done(op))
        return WSAPEER_WSA_IO_INCOMPLETE;
    if (op->status != 0)
        return op->status;
    AcquireSRWLockExclusive(&op->lock);
    *out = op->info;
    if (op->info_taken)
        out->application_token = out->machine_token = 0;
    op->info_taken = 1;
    ReleaseSRWLockExclusive(&op->lock);
    return 0;
}

int wsapeer_op_cancel(wsapeer_op *op)
{
    if (op == NULL || LOAD_ACQUIRE(&op->state) != OP_PENDING || wsapeer_op_done(op))
        return 0;
    return wsapeer_fw_cancel(op->sock, &op->ov);
}

uintptr_t wsapeer_op_event(wsapeer_op *op)
{
    return op ? (uintptr_t)op->event : 0;
}

void wsapeer_op_release(wsapeer_op *op)
{
    DWORD drain;
    if (op == NULL)
        return;
    drain = (DWORD)drain_ms;
    if (LOAD_ACQUIRE(&op->state) == OP_PENDING && !wsapeer_op_done(op)) {
        wsapeer_op_cancel(op);
        if (op->mode == WSAPEER_OP_EVENT) {
            WaitForSingleObject(op->event, drain);
        } else if (GetCurrentThreadId() == op->thread) {
            wsapeer_op_wait(op, drain);
        } else if (thread_exited(op)) {
            /* Its APCs died with the thread: the drain looks at Internal,
             * the only sign left that Windows is done. */
            ULONGLONG t0 = GetTickCount64();
            while ((DWORD)LOAD_ACQUIRE_PTR(&op->ov.Internal) == WSAPEER_STATUS_PENDING &&
                   GetTickCount64() - t0 < drain)
                Sleep(5);
        }
        /* Routine mode while the issuing thread lives: only the routine ends it. */
    }
    /* Done at once on this thread: its routine, queued already, runs here. */
    if (op->mode == WSAPEER_OP_ROUTINE && GetCurrentThreadId() == op->thread &&
        LOAD_ACQUIRE(&op->io))
        SleepEx(0, TRUE);
    if (LOAD_ACQUIRE(&op->io))
        orphan(op);
    op_unref(op);
}

/* ---- batches ---------------------------------------------------------- */

typedef wsapeer_batch_head batch_head;
typedef wsapeer_batch_slot batch_slot;

/* One input as the batch read it, once: the size laid out is the size
 * copied and issued, whatever the caller's buffer says meanwhile (read
 * twice, a size grown in between would be copied past its place). */
typedef struct {
    const void *data;
    size_t size;
    size_t at; /* where its copy goes in the block */
} batch_input;

/* Lays out the block for these inputs (its head, n slots, then a copy of
 * every input, each part 8-aligned): its size, or 0 if it would not fit in
 * a size_t; *slots_at says where the slots start, in[i].at where each copy
 * goes. */
static size_t batch_layout(size_t n, batch_input *in, size_t *slots_at)
{
    wsapeer_layout layout;
    size_t i;
    wsapeer_layout_init(&layout, SIZE_MAX);
    wsapeer_layout_take(&layout, 1, sizeof(batch_head));
    *slots_at = wsapeer_layout_take(&layout, n, sizeof(batch_slot));
    for (i = 0; i < n; i++)
        in[i].at = wsapeer_layout_take(&layout, 1, in[i].size);
    return layout.overflow ? 0 : layout.used;
}

/* Whether a slot may still be written by Windows: in flight, or done at
 * once with its OVERLAPPED not yet written (an I/O that completed at once
 * may write it just after the call's return, as wsapeer_op_start says);
 * grace_over: the drain for those has run out. */
static int slot_windows(const batch_slot *slot, int grace_over)
{
    if ((DWORD)LOAD_ACQUIRE_PTR(&slot->ov.Internal) != WSAPEER_STATUS_PENDING)
        return 0;
    return !slot->done || (slot->at_once && !grace_over);
}

/* Collects finished slots; returns how many are still in flight. */
static size_t batch_collect(batch_slot *slots, size_t n, const uint64_t *socks, size_t n_socks,
                            int *results)
{
    size_t i, left = 0;
    for (i = 0; i < n; i++) {
        DWORD bytes;
        int status;
        if (slots[i].done)
            continue;
        status = outcome(NTH(socks, n_socks, i), &slots[i].ov, &bytes);
        if (status == WSAPEER_WSA_IO_INCOMPLETE) {
            left++;
            continue;
        }
        results[i] = status;
        slots[i].done = 1;
    }
    return left;
}

/* The pool wait of a batch that returned with slots in flight: frees the
 * block once no slot is Windows' any more, or waits again. */
static VOID CALLBACK batch_wake(PVOID param, BOOLEAN timed_out)
{
    batch_head *head = (batch_head *)param;
    batch_slot *slots = (batch_slot *)((uint8_t *)head + head->slots_at);
    HANDLE wait;
    size_t i, left = 0, in_flight = 0;
    AcquireSRWLockExclusive(&head->lock);
    wait = head->wait;
    head->wait = NULL;
    ResetEvent(head->event); /* then look: a completion after the reset signals again */
    for (i = 0; i < head->n; i++) {
        left += slot_windows(&slots[i], timed_out);
        in_flight += slot_windows(&slots[i], 1);
    }
    /* Slots left and no new wait: the block stays Windows' for good. Only
     * slots done at once left: one more drain for their late writes. */
    if (left && !RegisterWaitForSingleObject(&head->wait, head->event, batch_wake, head,
                                             in_flight ? INFINITE : (DWORD)drain_ms,
                                             WT_EXECUTEONLYONCE))
        head->wait = NULL;
    ReleaseSRWLockExclusive(&head->lock);
    if (wait != NULL)
        UnregisterWaitEx(wait, NULL); /* fired once: from its own callback, without blocking */
    if (!left) {
        /* Windows is done with every slot: freed as wsapeer_batch would have. */
        HANDLE event = head->event;
        wsapeer_secure_zero(head, head->total); /* the copies may hold passwords */
        free(head);
        CloseHandle(event);
    }
}

/* wsapeer_batch returns with slots Windows still owns: the block and its
 * event pass to a pool wait, which frees them when the last slot is done
 * (timeout: INFINITE with slots in flight, else one drain for slots done
 * at once, as orphan() gives an operation done at once). */
static void batch_orphan(batch_head *head, DWORD timeout)
{
    AcquireSRWLockExclusive(&head->lock);
    if (!RegisterWaitForSingleObject(&head->wait, head->event, batch_wake, head, timeout,
                                     WT_EXECUTEONLYONCE))
        head->wait = NULL; /* no pool wait: the block stays Windows' for good */
    ReleaseSRWLockExclusive(&head->lock);
}

int wsapeer_batch(size_t n, const int *functions, size_t n_functions, const uint64_t *socks,
                  size_t n_socks, const wsapeer_buffer *const *inputs, int *results,
                  uint32_t timeout_ms)
{
    size_t i, total, slots_at, left;
    batch_input *in;
    uint8_t *block;
    batch_head *head;
    batch_slot *slots;
    HANDLE event;
    ULONGLONG start = GetTickCount64();
    int bad;
    if (n == 0)
        return WSAPEER_OK;
    bad = batch_arguments(n, functions, n_functions, socks, n_socks, inputs, results);
    if (bad)
        return bad;
    if (n > SIZE_MAX / sizeof *in || (in = (batch_input *)malloc(n * sizeof *in)) == NULL)
        return WSAPEER_E_NOMEM;
    /* Each input read once, here: checked, laid out, copied and issued as read. */
    for (i = 0; i < n; i++) {
        in[i].data = inputs[i]->data;
        in[i].size = inputs[i]->size;
        if (input_refused(in[i].data, in[i].size)) {
            free(in);
            return WSAPEER_E_ARGUMENT;
        }
    }
    /* One block: a head, the slots, then a copy of every input. Its size is
     * checked before anything is issued: on i686 it could wrap. */
    total = batch_layout(n, in, &slots_at);
    block = total ? (uint8_t *)calloc(1, total) : NULL;
    event = block ? CreateEventW(NULL, TRUE, FALSE, NULL) : NULL;
    if (block == NULL || event == NULL) {
        free(block);
        free(in);
        return WSAPEER_E_NOMEM;
    }
    head = (batch_head *)block;
    head->event = event;
    head->n = n;
    head->slots_at = slots_at;
    head->total = total;
    InitializeSRWLock(&head->lock);
    slots = (batch_slot *)(block + slots_at);
    left = 0;
    for (i = 0; i < n; i++) {
        int rc;
        size_t size = in[i].size;
        uint8_t *at = block + in[i].at;
        memcpy(at, in[i].data, size);
        /* One shared event, low bit set: no packets, one handle per batch. */
        slots[i].ov.hEvent = (HANDLE)((ULONG_PTR)event | 1);
        slots[i].ov.Internal = WSAPEER_STATUS_PENDING; /* until Windows writes the outcome */
        rc = fw_call(NTH(functions, n_functions, i), NTH(socks, n_socks, i), at, size, NULL,
                     NULL, &slots[i].ov, NULL);
        if (i == 0 && rc == WSAPEER_E_UNSUPPORTED) {
            /* No Fwpuclnt answers: nothing was issued, and the caller hears
             * so once rather than per item. */
            CloseHandle(event);
            wsapeer_secure_zero(block, total); /* the copy may hold a password */
            free(block);
            free(in);
            return WSAPEER_E_UNSUPPORTED;
        }
        if (rc == WSAPEER_WSA_IO_PENDING) {
            left++;
        } else {
            /* Done at once: as for an operation, Windows may still write
             * the OVERLAPPED just after the return (see slot_windows). */
            slots[i].at_once = rc == 0;
            slots[i].done = 1;
            results[i] = rc;
        }
    }
    free(in); /* read once: nothing reads the caller's inputs again */
    while (left) {
        DWORD wait = INFINITE;
        ResetEvent(event); /* then scan: nothing completed before the reset is missed */
        left = batch_collect(slots, n, socks, n_socks, results);
        if (!left)
            break;
        if (timeout_ms != INFINITE) {
            ULONGLONG spent = GetTickCount64() - start;
            if (spent >= timeout_ms)
                break;
            wait = (DWORD)(timeout_ms - spent);
        }
        WaitForSingleObject(event, wait);
    }
    if (left) { /* timed out: cancel what is left, and wait for the cancellations */
        DWORD drain = (DWORD)drain_ms;
        ULONGLONG drain_start = GetTickCount64();
        for (i = 0; i < n; i++)
            if (!slots[i].done)
                wsapeer_fw_cancel(NTH(socks, n_socks, i), &slots[i].ov);
        for (;;) {
            ULONGLONG spent;
            ResetEvent(event);
            left = batch_collect(slots, n, socks, n_socks, results);
            spent = GetTickCount64() - drain_start;
            if (!left || spent >= drain)
                break;
            WaitForSingleObject(event, (DWORD)(drain - spent));
        }
        /* No cancellation reached these in time: Windows still owns
         * them, so they are in flight, not aborted. */
        for (i = 0; i < n; i++)
            if (!slots[i].done)
                results[i] = WSAPEER_WSA_IO_INCOMPLETE;
    }
    /* Slots Windows may still write (in flight, or done at once with the
     * OVERLAPPED unwritten): the block and its event are the pool's until
     * the last is done, one drain at most for those done at once. */
    for (i = 0; i < n; i++)
        if (slot_windows(&slots[i], 0)) {
            batch_orphan(head, left ? INFINITE : (DWORD)drain_ms);
            return WSAPEER_OK;
        }
    wsapeer_secure_zero(block, total); /* copies of settings may hold passwords */
    free(block);
    CloseHandle(event);
    return WSAPEER_OK;
}

#else /* !_WIN32: no overlapped I/O; the model answers at once */

struct wsapeer_op {
    int function;
    uint64_t sock;
    int state;
    int status;
    int info_taken;
    wsapeer_query_info info;
    size_t size;
    uint8_t *input;
};

wsapeer_op *wsapeer_op_new(int function, uint64_t sock, const void *input, size_t size, int mode)
{
    wsapeer_op *op;
    if (!known_function(function) || (mode != WSAPEER_OP_EVENT && mode != WSAPEER_OP_ROUTINE))
        return NULL;
    op = (wsapeer_op *)calloc(1, sizeof *op);
    if (op == NULL)
        return NULL;
    op->input = size ? (uint8_t *)malloc(size) : NULL;
    if (size && op->input == NULL) {
        free(op);
        return NULL;
    }
    if (size)
        memcpy(op->input, input, size);
    op->function = function;
    op->sock = sock;
    op->size = size;
    op->state = OP_NEW;
    ATOMIC_INC(&live_ops);
    return op;
}

static int call(int function, uint64_t sock, const void *input, size_t size,
                wsapeer_query_info *info)
{
    /* A query takes the one-shot path: it probes the size and parses the answer. */
    if (function == WSAPEER_CALL_QUERY_SOCKET_SECURITY)
        return wsapeer_query_socket_security(sock, input, size,
                                             size >= WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE, info);
    return fw_call(function, sock, input, size, NULL, NULL, NULL, NULL);
}

int wsapeer_op_start(wsapeer_op *op)
{
    if (op == NULL || op->state != OP_NEW)
        return WSAPEER_E_ARGUMENT;
    op->status = call(op->function, op->sock, op->input, op->size, &op->info);
    STORE_RELEASE(&op->state, OP_DONE); /* after the status and answer, for other threads */
    /* The platform has no overlapped calls: nothing to report but failure. */
    return op->status == WSAPEER_E_UNSUPPORTED ? WSAPEER_E_UNSUPPORTED : 0;
}

int wsapeer_op_done(wsapeer_op *op)
{
    return op != NULL && LOAD_ACQUIRE(&op->state) == OP_DONE;
}

int wsapeer_op_wait(wsapeer_op *op, uint32_t timeout_ms)
{
    (void)timeout_ms;
    if (op == NULL || LOAD_ACQUIRE(&op->state) == OP_NEW)
        return WSAPEER_E_ARGUMENT;
    return 1;
}

int wsapeer_op_result(wsapeer_op *op)
{
    if (op == NULL)
        return WSAPEER_E_ARGUMENT;
    return wsapeer_op_done(op) ? op->status : WSAPEER_WSA_IO_INCOMPLETE;
}

int wsapeer_op_query_info(wsapeer_op *op, wsapeer_query_info *out)
{
    if (op == NULL || out == NULL || op->function != WSAPEER_CALL_QUERY_SOCKET_SECURITY)
        return WSAPEER_E_ARGUMENT;
    if (!wsapeer_op_done(op))
        return WSAPEER_WSA_IO_INCOMPLETE;
    if (op->status != 0)
        return op->status;
    *out = op->info;
    if (op->info_taken)
        out->application_token = out->machine_token = 0;
    op->info_taken = 1;
    return 0;
}

int wsapeer_op_cancel(wsapeer_op *op)
{
    (void)op;
    return 0;
}

uintptr_t wsapeer_op_event(wsapeer_op *op)
{
    (void)op;
    return 0;
}

void wsapeer_op_release(wsapeer_op *op)
{
    if (op == NULL)
        return;
    if (op->state == OP_DONE && op->status == 0 && !op->info_taken)
        close_unclaimed(&op->info);
    if (op->input) /* settings copied here may hold a password */
        wsapeer_secure_zero(op->input, op->size);
    free(op->input);
    free(op);
    ATOMIC_DEC(&live_ops);
}

int wsapeer_batch(size_t n, const int *functions, size_t n_functions, const uint64_t *socks,
                  size_t n_socks, const wsapeer_buffer *const *inputs, int *results,
                  uint32_t timeout_ms)
{
    size_t i;
    wsapeer_query_info unused;
    int bad;
    (void)timeout_ms;
    if (n == 0)
        return WSAPEER_OK;
    bad = batch_arguments(n, functions, n_functions, socks, n_socks, inputs, results);
    if (bad)
        return bad;
    for (i = 0; i < n; i++)
        if (input_refused(inputs[i]->data, inputs[i]->size))
            return WSAPEER_E_ARGUMENT;
    for (i = 0; i < n; i++) {
        results[i] = call(NTH(functions, n_functions, i), NTH(socks, n_socks, i), inputs[i]->data,
                          inputs[i]->size, &unused);
        if (i == 0 && results[0] == WSAPEER_E_UNSUPPORTED)
            return WSAPEER_E_UNSUPPORTED; /* nothing answers: said once, not per item */
    }
    return WSAPEER_OK;
}

#endif /* _WIN32 */

/* Both platforms: built on the operation calls above. */
int wsapeer_op_run(int function, uint64_t sock, const void *input, size_t size,
                   wsapeer_op **pending)
{
    wsapeer_op *op;
    int status;

    if (pending == NULL || function == WSAPEER_CALL_QUERY_SOCKET_SECURITY)
        return WSAPEER_E_ARGUMENT; /* a query's answer lives in its operation */
    *pending = NULL;
    if (!known_function(function))
        return WSAPEER_E_ARGUMENT;
    op = wsapeer_op_new(function, sock, input, size, WSAPEER_OP_EVENT);
    if (op == NULL)
        return WSAPEER_E_NOMEM;
    status = wsapeer_op_start(op);
    if (status < 0) {
        wsapeer_op_release(op);
        return status;
    }
    if (!wsapeer_op_done(op)) {
        *pending = op;
        return WSAPEER_WSA_IO_PENDING;
    }
    status = wsapeer_op_result(op);
    /* Released as any operation is: on Windows kept until Windows has let go
     * of its OVERLAPPED and event, which a call done at once may still touch. */
    wsapeer_op_release(op);
    return status;
}
