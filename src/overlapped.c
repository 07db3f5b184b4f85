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
 * cancels it but never frees what Windows may still write.
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

/* How long releasing an operation in flight waits for its cancellation. */
#define DRAIN_MS 5000

static volatile long live_ops;

#ifdef _WIN32
#  define ATOMIC_INC(p) InterlockedIncrement((volatile LONG *)(p))
#  define ATOMIC_DEC(p) InterlockedDecrement((volatile LONG *)(p))
#elif defined(__GNUC__) || defined(__clang__)
#  define ATOMIC_INC(p) __atomic_add_fetch((p), 1, __ATOMIC_ACQ_REL)
#  define ATOMIC_DEC(p) __atomic_sub_fetch((p), 1, __ATOMIC_ACQ_REL)
#else
#  error "wsapeer needs Interlocked* or GCC/Clang atomic builtins"
#endif

size_t wsapeer_op_live(void)
{
    return (size_t)live_ops;
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

/* Checks the shape of a batch: 0, or a negative status. */
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
        if (inputs[i] == NULL || inputs[i]->data == NULL || inputs[i]->size > 0xFFFFFFFFu)
            return WSAPEER_E_ARGUMENT;
    return WSAPEER_OK;
}

#ifdef _WIN32

struct wsapeer_op {
    WSAOVERLAPPED ov; /* first: the completion routine finds the op from it */
    HANDLE event;     /* manual reset, signalled at completion */
    SRWLOCK lock;     /* serializes observing the completion */
    volatile LONG refs;
    volatile LONG state;
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

/* Records the outcome once; the caller holds op->lock or owns the op. */
static void finish(wsapeer_op *op, int status)
{
    op->status = status;
    if (status == 0 && op->function == WSAPEER_CALL_QUERY_SOCKET_SECURITY &&
        wsapeer_query_info_parse((const uint8_t *)op->info_buffer,
                                 op->info_len < op->info_cap ? op->info_len : op->info_cap,
                                 &op->info) != 0)
        op->status = WSAPEER_E_INTERNAL;
    op->state = OP_DONE;
    SetEvent(op->event);
}

static void CALLBACK op_routine(DWORD error, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags)
{
    wsapeer_op *op = (wsapeer_op *)ov;
    (void)bytes;
    (void)flags;
    AcquireSRWLockExclusive(&op->lock);
    finish(op, (int)error);
    ReleaseSRWLockExclusive(&op->lock);
    op_unref(op); /* the I/O's reference */
}

/* One call through the seam with the op's OVERLAPPED: the seam's status. */
static int issue(wsapeer_op *op)
{
    void *routine = op->mode == WSAPEER_OP_ROUTINE ? (void *)op_routine : NULL;

    switch (op->function) {
    case WSAPEER_CALL_SET_PEER_TARGET_NAME:
        return wsapeer_fw_set_peer_target_name(op->sock, op->input, op->size, &op->ov, routine);
    case WSAPEER_CALL_SET_SOCKET_SECURITY:
        return wsapeer_fw_set_socket_security(op->sock, op->input, op->size, &op->ov, routine);
    case WSAPEER_CALL_DELETE_PEER_TARGET_NAME:
        return wsapeer_fw_delete_peer_target_name(op->sock, op->input, op->size, &op->ov,
                                                  routine);
    default:
        return wsapeer_fw_query_socket_security(op->sock, op->input, op->size, op->info_buffer,
                                                &op->info_len, &op->ov, routine);
    }
}

int wsapeer_op_start(wsapeer_op *op)
{
    int rc;
    if (op == NULL || op->state != OP_NEW)
        return WSAPEER_E_ARGUMENT;
    op->thread = GetCurrentThreadId();
    memset(&op->ov, 0, sizeof op->ov);
    op->ov.Internal = WSAPEER_STATUS_PENDING; /* until Windows writes the outcome */
    /* Event mode: the low bit keeps completion packets off any port. Routine
     * mode: Winsock ignores hEvent; op->event is set by op_routine alone. */
    if (op->mode == WSAPEER_OP_EVENT)
        op->ov.hEvent = (HANDLE)((ULONG_PTR)op->event | 1);
    InterlockedIncrement(&op->refs);                     /* the I/O's */
    op->state = OP_PENDING;
    rc = issue(op);
    if (rc == 0 || rc == WSAPEER_WSA_IO_PENDING)
        return rc; /* the completion will arrive */
    /* Failed at once: no event, no routine, no packet will ever come. */
    AcquireSRWLockExclusive(&op->lock);
    finish(op, rc);
    ReleaseSRWLockExclusive(&op->lock);
    op_unref(op);
    /* Nothing answers the call at all: said at once, as off Windows. */
    return rc == WSAPEER_E_UNSUPPORTED ? WSAPEER_E_UNSUPPORTED : 0;
}

/* Event mode: notices a signalled completion and takes the I/O's reference. */
static int observe(wsapeer_op *op)
{
    int done;
    AcquireSRWLockExclusive(&op->lock);
    if (op->state == OP_PENDING && op->mode == WSAPEER_OP_EVENT &&
        WaitForSingleObject(op->event, 0) == WAIT_OBJECT_0) {
        DWORD bytes = 0, flags = 0;
        int status = 0;
        if (!WSAGetOverlappedResult((SOCKET)op->sock, &op->ov, &bytes, FALSE, &flags)) {
            status = WSAGetLastError();
            if (status == WSAPEER_WSA_IO_INCOMPLETE) { /* signalled but not yet written */
                ReleaseSRWLockExclusive(&op->lock);
                return 0;
            }
        }
        finish(op, status);
        ReleaseSRWLockExclusive(&op->lock);
        op_unref(op); /* the I/O's; the caller still holds its own */
        return 1;
    }
    done = op->state == OP_DONE;
    ReleaseSRWLockExclusive(&op->lock);
    return done;
}

int wsapeer_op_done(wsapeer_op *op)
{
    return op != NULL && (op->state == OP_DONE || observe(op));
}

int wsapeer_op_wait(wsapeer_op *op, uint32_t timeout_ms)
{
    ULONGLONG start = GetTickCount64();
    if (op == NULL || op->state == OP_NEW)
        return WSAPEER_E_ARGUMENT;
    if (op->mode == WSAPEER_OP_ROUTINE && op->state != OP_DONE &&
        GetCurrentThreadId() != op->thread)
        return WSAPEER_E_THREAD;
    for (;;) {
        DWORD left = INFINITE, r;
        if (wsapeer_op_done(op))
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
    if (op == NULL || op->state != OP_PENDING || wsapeer_op_done(op))
        return 0;
    return wsapeer_fw_cancel(op->sock, &op->ov);
}

uintptr_t wsapeer_op_event(wsapeer_op *op)
{
    return op ? (uintptr_t)op->event : 0;
}

void wsapeer_op_release(wsapeer_op *op)
{
    if (op == NULL)
        return;
    if (op->state == OP_PENDING && !wsapeer_op_done(op)) {
        wsapeer_op_cancel(op);
        if (op->mode == WSAPEER_OP_EVENT) {
            if (WaitForSingleObject(op->event, DRAIN_MS) == WAIT_OBJECT_0)
                observe(op);
            /* Still in flight: the I/O's reference keeps the memory alive. */
        } else if (GetCurrentThreadId() == op->thread) {
            wsapeer_op_wait(op, DRAIN_MS);
        }
        /* Routine mode on another thread: the routine frees it when it runs. */
    }
    op_unref(op);
}

/* ---- batches ---------------------------------------------------------- */

typedef struct {
    WSAOVERLAPPED ov;
    int status;
    int done;
} batch_slot;

static int batch_issue(int function, uint64_t sock, const void *input, size_t size,
                       WSAOVERLAPPED *ov)
{
    switch (function) {
    case WSAPEER_CALL_SET_PEER_TARGET_NAME:
        return wsapeer_fw_set_peer_target_name(sock, input, size, ov, NULL);
    case WSAPEER_CALL_SET_SOCKET_SECURITY:
        return wsapeer_fw_set_socket_security(sock, input, size, ov, NULL);
    default:
        return wsapeer_fw_delete_peer_target_name(sock, input, size, ov, NULL);
    }
}

/* Collects finished slots; returns how many are still in flight. */
static size_t batch_collect(batch_slot *slots, size_t n, const uint64_t *socks, size_t n_socks,
                            int *results)
{
    size_t i, left = 0;
    for (i = 0; i < n; i++) {
        DWORD bytes, flags;
        if (slots[i].done)
            continue;
        if (slots[i].ov.Internal == WSAPEER_STATUS_PENDING) {
            left++;
            continue;
        }
        results[i] = WSAGetOverlappedResult((SOCKET)NTH(socks, n_socks, i), &slots[i].ov, &bytes,
                                            FALSE, &flags)
                         ? 0
                         : WSAGetLastError();
        if (results[i] == WSAPEER_WSA_IO_INCOMPLETE) {
            left++;
            continue;
        }
        slots[i].done = 1;
    }
    return left;
}

int wsapeer_batch(size_t n, const int *functions, size_t n_functions, const uint64_t *socks,
                  size_t n_socks, const wsapeer_buffer *const *inputs, int *results,
                  uint32_t timeout_ms)
{
    /* One block: the slots, then a copy of every input, 8-aligned. */
    size_t i, total = n * sizeof(batch_slot), left;
    uint8_t *block, *at;
    batch_slot *slots;
    HANDLE event;
    ULONGLONG start = GetTickCount64();
    int bad;
    if (n == 0)
        return WSAPEER_OK;
    bad = batch_arguments(n, functions, n_functions, socks, n_socks, inputs, results);
    if (bad)
        return bad;
    for (i = 0; i < n; i++)
        total += (inputs[i]->size + 7) & ~(size_t)7;
    block = (uint8_t *)calloc(1, total);
    event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (block == NULL || event == NULL) {
        free(block);
        if (event)
            CloseHandle(event);
        return WSAPEER_E_NOMEM;
    }
    slots = (batch_slot *)block;
    at = block + n * sizeof(batch_slot);
    left = 0;
    for (i = 0; i < n; i++) {
        int rc;
        size_t size = inputs[i]->size;
        memcpy(at, inputs[i]->data, size);
        /* One shared event, low bit set: no packets, one handle per batch. */
        slots[i].ov.hEvent = (HANDLE)((ULONG_PTR)event | 1);
        slots[i].ov.Internal = WSAPEER_STATUS_PENDING; /* until Windows writes the outcome */
        rc = batch_issue(NTH(functions, n_functions, i), NTH(socks, n_socks, i), at, size,
                         &slots[i].ov);
        at += (size + 7) & ~(size_t)7;
        if (i == 0 && rc == WSAPEER_E_UNSUPPORTED) {
            /* No Fwpuclnt answers: nothing was issued, and the caller hears
             * so once rather than per item. */
            CloseHandle(event);
            wsapeer_secure_zero(block, total); /* the copy may hold a password */
            free(block);
            return WSAPEER_E_UNSUPPORTED;
        }
        if (rc == WSAPEER_WSA_IO_PENDING) {
            left++;
        } else if (rc == 0) {
            slots[i].done = 1;
            results[i] = 0;
        } else {
            slots[i].done = 1;
            results[i] = rc;
        }
    }
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
        ULONGLONG drain_start;
        for (i = 0; i < n; i++)
            if (!slots[i].done)
                wsapeer_fw_cancel(NTH(socks, n_socks, i), &slots[i].ov);
        drain_start = GetTickCount64();
        while ((left = batch_collect(slots, n, socks, n_socks, results)) != 0 &&
               GetTickCount64() - drain_start < DRAIN_MS) {
            ResetEvent(event);
            if (batch_collect(slots, n, socks, n_socks, results) == 0)
                break;
            WaitForSingleObject(event, 50);
        }
        left = batch_collect(slots, n, socks, n_socks, results);
        if (left) {
            /* Windows still owns some slots: the block and event stay alive. */
            for (i = 0; i < n; i++)
                if (!slots[i].done)
                    results[i] = WSAPEER_WSA_OPERATION_ABORTED;
            return WSAPEER_OK;
        }
    }
    CloseHandle(event);
    wsapeer_secure_zero(block, total); /* copies of settings may hold passwords */
    free(block);
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
    switch (function) {
    case WSAPEER_CALL_SET_PEER_TARGET_NAME:
        return wsapeer_set_peer_target_name(sock, input, size);
    case WSAPEER_CALL_SET_SOCKET_SECURITY:
        return wsapeer_set_socket_security(sock, input, size);
    case WSAPEER_CALL_DELETE_PEER_TARGET_NAME:
        return wsapeer_delete_peer_target_name(sock, input, size);
    default:
        return wsapeer_query_socket_security(sock, input, size,
                                             size >= WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE, info);
    }
}

int wsapeer_op_start(wsapeer_op *op)
{
    if (op == NULL || op->state != OP_NEW)
        return WSAPEER_E_ARGUMENT;
    op->status = call(op->function, op->sock, op->input, op->size, &op->info);
    op->state = OP_DONE;
    /* The platform has no overlapped calls: nothing to report but failure. */
    return op->status == WSAPEER_E_UNSUPPORTED ? WSAPEER_E_UNSUPPORTED : 0;
}

int wsapeer_op_done(wsapeer_op *op)
{
    return op != NULL && op->state == OP_DONE;
}

int wsapeer_op_wait(wsapeer_op *op, uint32_t timeout_ms)
{
    (void)timeout_ms;
    if (op == NULL || op->state == OP_NEW)
        return WSAPEER_E_ARGUMENT;
    return 1;
}

int wsapeer_op_result(wsapeer_op *op)
{
    if (op == NULL)
        return WSAPEER_E_ARGUMENT;
    return op->state == OP_DONE ? op->status : WSAPEER_WSA_IO_INCOMPLETE;
}

int wsapeer_op_query_info(wsapeer_op *op, wsapeer_query_info *out)
{
    if (op == NULL || out == NULL || op->function != WSAPEER_CALL_QUERY_SOCKET_SECURITY)
        return WSAPEER_E_ARGUMENT;
    if (op->state != OP_DONE)
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
    for (i = 0; i < n; i++) {
        results[i] = call(NTH(functions, n_functions, i), NTH(socks, n_socks, i), inputs[i]->data,
                          inputs[i]->size, &unused);
        if (i == 0 && results[0] == WSAPEER_E_UNSUPPORTED)
            return WSAPEER_E_UNSUPPORTED; /* nothing answers: said once, not per item */
    }
    return WSAPEER_OK;
}

#endif /* _WIN32 */
