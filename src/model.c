/* model.c: a contract model of Fwpuclnt's secure socket calls.
 *
 * It does what the reference pages document, checks the real socket through
 * the platform's own socket API, and records what it accepted so that tests
 * can read back exactly what the shim sent. Built two ways from this source:
 * into the extension (used only after wsapeer_model_enable(1)), and, with
 * model_dll.c, as a drop-in fwpuclnt.dll for Wine.
 */
#ifdef _WIN32
#  ifndef _WIN32_WINNT
#    define _WIN32_WINNT 0x0601
#  endif
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#endif

#include "model.h"
#include "win_layout.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <errno.h>
#  include <pthread.h>
#  include <sys/socket.h>
#endif

/* Winsock's codes, the same numbers on every platform. */
enum {
    M_IO_PENDING = 997,
    M_EFAULT = 10014,
    M_EINVAL = 10022,
    M_ENOTSOCK = 10038,
    M_EMSGSIZE = 10040,
    M_EAFNOSUPPORT = 10047,
    M_EISCONN = 10056
};

#define PTN_ADDRESS offsetof(wp_peer_target_name, PeerAddress)
#define PTN_NAME_LEN offsetof(wp_peer_target_name, PeerTargetNameStringLen)
#define PTN_HEADER sizeof(wp_peer_target_name)
#define ADDRESS_SIZE sizeof(wp_sockaddr_storage)

/* ---- locking and the backend switch ---------------------------------- */

#ifdef _WIN32
static SRWLOCK model_lock = SRWLOCK_INIT;
#  define LOCK() AcquireSRWLockExclusive(&model_lock)
#  define UNLOCK() ReleaseSRWLockExclusive(&model_lock)
static volatile LONG model_on;
#  define SWITCH_LOAD() InterlockedCompareExchange(&model_on, 0, 0)
#  define SWITCH_SWAP(v) InterlockedExchange(&model_on, (v))
#else
static pthread_mutex_t model_lock = PTHREAD_MUTEX_INITIALIZER;
#  define LOCK() pthread_mutex_lock(&model_lock)
#  define UNLOCK() pthread_mutex_unlock(&model_lock)
#  if defined(__GNUC__) || defined(__clang__)
static int model_on;
#    define SWITCH_LOAD() __atomic_load_n(&model_on, __ATOMIC_ACQUIRE)
#    define SWITCH_SWAP(v) __atomic_exchange_n(&model_on, (v), __ATOMIC_ACQ_REL)
#  else
#    include <stdatomic.h>
static atomic_int model_on;
#    define SWITCH_LOAD() atomic_load(&model_on)
#    define SWITCH_SWAP(v) atomic_exchange(&model_on, (v))
#  endif
#endif

int wsapeer_model_enable(int on)
{
    return (int)SWITCH_SWAP(on ? 1 : 0);
}

int wsapeer_model_enabled(void)
{
    return (int)SWITCH_LOAD();
}

/* ---- records ---------------------------------------------------------- */

typedef struct {
    wsapeer_model_record head;
    uint8_t *bytes;
} record;

static record *records;
static size_t record_count, record_cap;
static uint64_t next_sequence = 1;

/* Stores a copy of what was accepted; a later call for the same socket, function
 * and peer address replaces the earlier one. Called with the lock held. */
static int remember(int function, uint64_t sock, const uint8_t *bytes, size_t size,
                    size_t key_offset, size_t key_size)
{
    size_t i;
    uint8_t *copy = (uint8_t *)malloc(size ? size : 1);

    if (copy == NULL)
        return -1;
    memcpy(copy, bytes, size);
    for (i = 0; i < record_count; i++) {
        record *r = &records[i];
        if (r->head.function == function && r->head.sock == sock &&
            r->head.size >= key_offset + key_size &&
            memcmp(r->bytes + key_offset, bytes + key_offset, key_size) == 0) {
            free(r->bytes);
            memmove(r, r + 1, (record_count - i - 1) * sizeof *r);
            record_count--;
            break;
        }
    }
    if (record_count == record_cap) {
        size_t cap = record_cap ? 2 * record_cap : 16;
        record *grown = (record *)realloc(records, cap * sizeof *grown);
        if (grown == NULL) {
            free(copy);
            return -1;
        }
        records = grown;
        record_cap = cap;
    }
    records[record_count].head.sequence = next_sequence++;
    records[record_count].head.sock = sock;
    records[record_count].head.function = function;
    records[record_count].head.size = size;
    records[record_count].bytes = copy;
    record_count++;
    return 0;
}

size_t wsapeer_model_record_count(void)
{
    size_t n;
    LOCK();
    n = record_count;
    UNLOCK();
    return n;
}

int wsapeer_model_record_get(size_t index, wsapeer_model_record *out, uint8_t *buf,
                             size_t cap)
{
    int status = WSAPEER_OK;

    if (out == NULL || (buf == NULL && cap != 0))
        return WSAPEER_E_ARGUMENT;
    LOCK();
    if (index >= record_count) {
        status = WSAPEER_E_ARGUMENT;
    } else {
        *out = records[index].head;
        memcpy(buf ? buf : (uint8_t *)out, records[index].bytes,
               buf ? (cap < out->size ? cap : out->size) : 0);
    }
    UNLOCK();
    return status;
}

/* ---- the real socket, through the platform's own API ------------------ */

typedef struct {
    int family; /* Windows' numbering: WP_AF_INET / WP_AF_INET6, else other */
    int stream; /* 1 stream, 0 datagram, -1 other */
    int connected;
} socket_facts;

static int inspect_socket(uint64_t sock, socket_facts *facts)
{
#ifdef _WIN32
    SOCKET s = (SOCKET)sock;
    WSAPROTOCOL_INFOW info;
    int len = (int)sizeof info;
    SOCKADDR_STORAGE peer;
    int peer_len = (int)sizeof peer;

    if (sock != (uint64_t)s || s == INVALID_SOCKET)
        return M_ENOTSOCK;
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0) {
        int err = WSAGetLastError();
        return err == WSANOTINITIALISED ? err : M_ENOTSOCK;
    }
    facts->family = info.iAddressFamily;
    facts->stream = info.iSocketType == SOCK_STREAM ? 1 : info.iSocketType == SOCK_DGRAM ? 0 : -1;
    facts->connected = getpeername(s, (struct sockaddr *)&peer, &peer_len) == 0;
#else
    int fd = (int)sock, type = 0;
    socklen_t len = sizeof type;
    struct sockaddr_storage name;
    socklen_t name_len = sizeof name;

    if (sock > 0x7FFFFFFF)
        return M_ENOTSOCK;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return M_ENOTSOCK; /* ENOTSOCK or EBADF: not a socket either way */
    memset(&name, 0, sizeof name);
    if (getsockname(fd, (struct sockaddr *)&name, &name_len) != 0)
        return M_ENOTSOCK;
    facts->family = name.ss_family == AF_INET ? WP_AF_INET
                  : name.ss_family == AF_INET6 ? WP_AF_INET6 : -1;
    facts->stream = type == SOCK_STREAM ? 1 : type == SOCK_DGRAM ? 0 : -1;
    name_len = sizeof name;
    facts->connected = getpeername(fd, (struct sockaddr *)&name, &name_len) == 0;
#endif
    return 0;
}

/* ---- completion of overlapped calls (Windows) ------------------------- */

#ifdef _WIN32
typedef struct {
    uint64_t sock;
    HANDLE port;
    ULONG_PTR key;
} association;

static association *associations;
static size_t association_count, association_cap;

typedef struct {
    LPWSAOVERLAPPED ov;
    LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
    HANDLE thread; /* the issuing thread, where the routine must run */
    uint64_t sock;
} operation;

static operation *pending;
static size_t pending_count, pending_cap;
static int completion_mode = WSAPEER_MODEL_IMMEDIATE;

typedef struct {
    LPWSAOVERLAPPED ov;
    LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
} apc_call;

static VOID CALLBACK run_completion_routine(ULONG_PTR param)
{
    apc_call call = *(apc_call *)param;
    free((void *)param);
    call.routine(0, 0, call.ov, 0);
}

/* What Winsock does when an overlapped operation succeeds. Lock not held. */
static void complete(const operation *op, HANDLE port, ULONG_PTR key)
{
    ULONG_PTR event = (ULONG_PTR)op->ov->hEvent;

    op->ov->Internal = 0; /* STATUS_SUCCESS */
    op->ov->InternalHigh = 0;
    if (op->routine != NULL) {
        apc_call *call = (apc_call *)malloc(sizeof *call);
        if (call != NULL) {
            call->ov = op->ov;
            call->routine = op->routine;
            if (!QueueUserAPC(run_completion_routine, op->thread, (ULONG_PTR)call))
                free(call);
        }
    } else if (port != NULL && (event & 1) == 0) {
        /* An event with its low bit set keeps the packet off the port. */
        PostQueuedCompletionStatus(port, 0, key, op->ov);
    }
    if ((event & ~(ULONG_PTR)1) != 0)
        SetEvent((HANDLE)(event & ~(ULONG_PTR)1));
}

static void find_port(uint64_t sock, HANDLE *port, ULONG_PTR *key)
{
    size_t i;
    *port = NULL;
    *key = 0;
    for (i = 0; i < association_count; i++) {
        if (associations[i].sock == sock) {
            *port = associations[i].port;
            *key = associations[i].key;
        }
    }
}

/* Lock held on entry; released before anything runs outside the model. */
static int finish_overlapped(uint64_t sock, void *overlapped, void *routine)
{
    operation op;
    HANDLE port;
    ULONG_PTR key;

    op.ov = (LPWSAOVERLAPPED)overlapped;
    op.routine = (LPWSAOVERLAPPED_COMPLETION_ROUTINE)routine;
    op.sock = sock;
    op.thread = NULL;
    if (routine != NULL &&
        !DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(),
                         &op.thread, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
        UNLOCK();
        return M_EINVAL;
    }
    if (completion_mode == WSAPEER_MODEL_PEND) {
        if (pending_count == pending_cap) {
            size_t cap = pending_cap ? 2 * pending_cap : 16;
            operation *grown = (operation *)realloc(pending, cap * sizeof *grown);
            if (grown == NULL) {
                UNLOCK();
                if (op.thread)
                    CloseHandle(op.thread);
                return M_EINVAL;
            }
            pending = grown;
            pending_cap = cap;
        }
        op.ov->Internal = 0x103; /* STATUS_PENDING, as WSAGetOverlappedResult expects */
        pending[pending_count++] = op;
        UNLOCK();
        return M_IO_PENDING;
    }
    find_port(sock, &port, &key);
    UNLOCK();
    complete(&op, port, key);
    if (op.thread)
        CloseHandle(op.thread);
    return 0;
}
#endif /* _WIN32 */

int wsapeer_model_set_completion(int mode)
{
#ifdef _WIN32
    if (mode != WSAPEER_MODEL_IMMEDIATE && mode != WSAPEER_MODEL_PEND)
        return WSAPEER_E_ARGUMENT;
    LOCK();
    completion_mode = mode;
    UNLOCK();
    return WSAPEER_OK;
#else
    return mode == WSAPEER_MODEL_IMMEDIATE ? WSAPEER_OK : WSAPEER_E_UNSUPPORTED;
#endif
}

size_t wsapeer_model_pending_count(void)
{
#ifdef _WIN32
    size_t n;
    LOCK();
    n = pending_count;
    UNLOCK();
    return n;
#else
    return 0;
#endif
}

size_t wsapeer_model_complete_pending(size_t max)
{
#ifdef _WIN32
    size_t done = 0;
    while (done < max) {
        operation op;
        HANDLE port;
        ULONG_PTR key;
        LOCK();
        if (pending_count == 0) {
            UNLOCK();
            break;
        }
        op = pending[0];
        memmove(pending, pending + 1, (pending_count - 1) * sizeof *pending);
        pending_count--;
        find_port(op.sock, &port, &key);
        UNLOCK();
        complete(&op, port, key);
        if (op.thread)
            CloseHandle(op.thread);
        done++;
    }
    return done;
#else
    (void)max;
    return 0;
#endif
}

int wsapeer_model_associate(uint64_t sock, void *port, uintptr_t key)
{
#ifdef _WIN32
    int status = WSAPEER_OK;
    LOCK();
    if (association_count == association_cap) {
        size_t cap = association_cap ? 2 * association_cap : 8;
        association *grown = (association *)realloc(associations, cap * sizeof *grown);
        if (grown == NULL) {
            UNLOCK();
            return WSAPEER_E_INTERNAL;
        }
        associations = grown;
        association_cap = cap;
    }
    associations[association_count].sock = sock;
    associations[association_count].port = (HANDLE)port;
    associations[association_count].key = (ULONG_PTR)key;
    association_count++;
    UNLOCK();
    return status;
#else
    (void)sock;
    (void)port;
    (void)key;
    return WSAPEER_E_UNSUPPORTED;
#endif
}

void wsapeer_model_reset(void)
{
    size_t i;
    LOCK();
    for (i = 0; i < record_count; i++)
        free(records[i].bytes);
    free(records);
    records = NULL;
    record_count = record_cap = 0;
    next_sequence = 1;
#ifdef _WIN32
    for (i = 0; i < pending_count; i++)
        if (pending[i].thread)
            CloseHandle(pending[i].thread);
    free(pending);
    pending = NULL;
    pending_count = pending_cap = 0;
    free(associations);
    associations = NULL;
    association_count = association_cap = 0;
    completion_mode = WSAPEER_MODEL_IMMEDIATE;
#endif
    UNLOCK();
}

/* ---- the calls -------------------------------------------------------- */

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int is_zero(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Address and port of a SOCKADDR_STORAGE both zero (the documented UDP error). */
static int zero_peer(const uint8_t *addr)
{
    uint32_t family = le16(addr);
    if (family == WP_AF_INET)
        return is_zero(addr + offsetof(wp_sockaddr_in, sin_port), 2) &&
               is_zero(addr + offsetof(wp_sockaddr_in, sin_addr), 4);
    if (family == WP_AF_INET6)
        return is_zero(addr + offsetof(wp_sockaddr_in6, sin6_port), 2) &&
               is_zero(addr + offsetof(wp_sockaddr_in6, sin6_addr), 16);
    return 1;
}

int wsapeer_model_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                       void *overlapped, void *completion_routine)
{
    const uint8_t *p = (const uint8_t *)ptn;
    socket_facts facts;
    uint32_t protocol, declared, family;
    size_t name_bytes;
    int err = inspect_socket(sock, &facts);

    if (err)
        return err;
    if (facts.family != WP_AF_INET && facts.family != WP_AF_INET6)
        return M_EAFNOSUPPORT;
    if (facts.stream < 0)
        return M_EINVAL;
    if (p == NULL)
        return M_EFAULT;
    if (len < PTN_HEADER)
        return M_EMSGSIZE;
    protocol = le32(p + offsetof(wp_peer_target_name, SecurityProtocol));
    if (protocol > WSAPEER_PROTOCOL_IPSEC2)
        return M_EINVAL;
    declared = le32(p + PTN_NAME_LEN);
    /* Code units for DEFAULT/IPSEC, bytes for IPSEC2 (facts file). */
    name_bytes = protocol == WSAPEER_PROTOCOL_IPSEC2 ? (size_t)declared : 2 * (size_t)declared;
    if (len - offsetof(wp_peer_target_name, AllStrings) < name_bytes)
        return M_EMSGSIZE;
    family = le16(p + PTN_ADDRESS);
    if (family != 0 && family != WP_AF_INET && family != WP_AF_INET6)
        return M_EAFNOSUPPORT;
    if (facts.connected)
        return M_EISCONN;
    if (!facts.stream && zero_peer(p + PTN_ADDRESS))
        return M_EINVAL;
#ifndef _WIN32
    if (overlapped != NULL || completion_routine != NULL)
        return M_EINVAL;
#endif

    LOCK();
    if (remember(WSAPEER_MODEL_SET_PEER_TARGET_NAME, sock, p, len, PTN_ADDRESS,
                 ADDRESS_SIZE) != 0) {
        UNLOCK();
        return M_EINVAL;
    }
#ifdef _WIN32
    if (overlapped != NULL)
        return finish_overlapped(sock, overlapped, completion_routine);
#endif
    UNLOCK();
    return 0;
}
