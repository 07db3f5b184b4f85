/* model.c: a contract model of Fwpuclnt's secure socket calls.
 *
 * It does what the reference pages document, checks the real socket through
 * the platform's own socket API, and records what it accepted so that tests
 * can read back exactly what the shim sent. Built two ways from this source
 * (model.h): into the extension as the seam's model implementation, and as a
 * drop-in fwpuclnt.dll for Wine. It has no switch of its own: it answers
 * every call it gets.
 */
#include "win_layout.h" /* first: it sets _WIN32_WINNT for the Windows headers */
#include "model.h"
#include "byte_order.h"
#include "secure_zero.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <netinet/in.h>
#  include <pthread.h>
#  include <sys/socket.h>
#  include <sys/stat.h>
#endif

#define PTN_ADDRESS offsetof(wp_peer_target_name, PeerAddress)
#define PTN_NAME_LEN offsetof(wp_peer_target_name, PeerTargetNameStringLen)
#define PTN_HEADER sizeof(wp_peer_target_name)
#define ADDRESS_SIZE sizeof(wp_sockaddr_storage)

/* ---- locking ----------------------------------------------------------- */

#ifdef _WIN32
static SRWLOCK model_lock = SRWLOCK_INIT;
#  define LOCK() AcquireSRWLockExclusive(&model_lock)
#  define UNLOCK() ReleaseSRWLockExclusive(&model_lock)
#else
static pthread_mutex_t model_lock = PTHREAD_MUTEX_INITIALIZER;
#  define LOCK() pthread_mutex_lock(&model_lock)
#  define UNLOCK() pthread_mutex_unlock(&model_lock)
#endif

/* ---- records ---------------------------------------------------------- */

typedef struct {
    wsapeer_model_record head;
    uint8_t *bytes;
} record;

static record *records;
static size_t record_count, record_cap;
static uint64_t next_sequence = 1;

#define NO_KEY ((size_t)-1) /* never replaces: every call is kept, in order */

static uint64_t current_thread(void)
{
#ifdef _WIN32
    return (uint64_t)GetCurrentThreadId();
#else
    /* What Python's threading.get_ident() returns on POSIX. */
    pthread_t self = pthread_self();
    uint64_t id = 0;
    memcpy(&id, &self, sizeof self < sizeof id ? sizeof self : sizeof id);
    return id;
#endif
}

static int same_key(const record *r, int function, uint64_t sock, uint64_t ident,
                    const uint8_t *bytes, size_t size, size_t key_offset, size_t key_size)
{
    if (r->head.function != function || r->head.sock != sock || r->head.ident != ident)
        return 0;
    if (key_size == 0)
        return 1;
    return r->head.size >= key_offset + key_size && size >= key_offset + key_size &&
           memcmp(r->bytes + key_offset, bytes + key_offset, key_size) == 0;
}

/* Records may hold settings, passwords included: zeroed before they go. */
static void free_record_bytes(record *r)
{
    wsapeer_secure_zero(r->bytes, r->head.size);
    free(r->bytes);
}

static void drop_record(size_t i)
{
    free_record_bytes(&records[i]);
    memmove(&records[i], &records[i + 1], (record_count - i - 1) * sizeof *records);
    record_count--;
}

/* Stores a copy of what was accepted; a later call for the same socket,
 * function and key bytes replaces the earlier one. Lock held. */
static int remember(int function, uint64_t sock, uint64_t ident, const void *data, size_t size,
                    size_t key_offset, size_t key_size)
{
    const uint8_t *bytes = (const uint8_t *)data;
    uint8_t *copy = (uint8_t *)malloc(size ? size : 1);
    size_t i;

    if (copy == NULL)
        return -1;
    if (size)
        memcpy(copy, bytes, size);
    if (key_offset != NO_KEY) {
        for (i = 0; i < record_count; i++) {
            if (same_key(&records[i], function, sock, ident, bytes, size, key_offset, key_size)) {
                drop_record(i);
                break;
            }
        }
    }
    if (record_count == record_cap) {
        size_t cap = record_cap ? 2 * record_cap : 16;
        record *grown = (record *)realloc(records, cap * sizeof *grown);
        if (grown == NULL) {
            wsapeer_secure_zero(copy, size); /* it may hold settings, a password */
            free(copy);
            return -1;
        }
        records = grown;
        record_cap = cap;
    }
    records[record_count].head.sequence = next_sequence++;
    records[record_count].head.sock = sock;
    records[record_count].head.function = function;
    records[record_count].head.thread = current_thread();
    records[record_count].head.size = size;
    records[record_count].head.ident = ident;
    records[record_count].bytes = copy;
    record_count++;
    return 0;
}

static const record *find_record(int function, uint64_t sock, uint64_t ident)
{
    size_t i;
    for (i = 0; i < record_count; i++)
        if (records[i].head.function == function && records[i].head.sock == sock &&
            records[i].head.ident == ident)
            return &records[i];
    return NULL;
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
        if (buf != NULL)
            memcpy(buf, records[index].bytes, cap < out->size ? cap : out->size);
    }
    UNLOCK();
    return status;
}

/* ---- the real socket, through the platform's own API ------------------ */

typedef struct {
    int family; /* Windows' numbering: WP_AF_INET / WP_AF_INET6, else other */
    int stream; /* 1 stream, 0 datagram, -1 other */
    int connected;
    int bound;
    uint64_t ident;
} socket_facts;

static int inspect_socket(uint64_t sock, socket_facts *facts)
{
#ifdef _WIN32
    SOCKET s = (SOCKET)sock;
    WSAPROTOCOL_INFOW info;
    int len = (int)sizeof info;
    SOCKADDR_STORAGE name;
    int name_len = (int)sizeof name;

    if (sock != (uint64_t)s || s == INVALID_SOCKET)
        return WSAPEER_WSAENOTSOCK;
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0) {
        int err = WSAGetLastError();
        return err == WSANOTINITIALISED ? err : WSAPEER_WSAENOTSOCK;
    }
    facts->family = info.iAddressFamily;
    facts->stream = info.iSocketType == SOCK_STREAM ? 1 : info.iSocketType == SOCK_DGRAM ? 0 : -1;
    facts->connected = getpeername(s, (struct sockaddr *)&name, &name_len) == 0;
    name_len = (int)sizeof name;
    /* Winsock refuses getsockname on a socket that was never bound. */
    facts->bound = getsockname(s, (struct sockaddr *)&name, &name_len) == 0;
    facts->ident = 0; /* Windows gives a socket no identity beyond its handle */
#else
    int fd = (int)sock, type = 0;
    socklen_t len = sizeof type;
    struct sockaddr_storage name;
    socklen_t name_len = sizeof name;
    struct stat st;

    if (sock > 0x7FFFFFFF)
        return WSAPEER_WSAENOTSOCK;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return WSAPEER_WSAENOTSOCK; /* ENOTSOCK or EBADF: not a socket either way */
    memset(&name, 0, sizeof name);
    if (getsockname(fd, (struct sockaddr *)&name, &name_len) != 0)
        return WSAPEER_WSAENOTSOCK;
    facts->family = name.ss_family == AF_INET ? WP_AF_INET
                  : name.ss_family == AF_INET6 ? WP_AF_INET6 : -1;
    facts->stream = type == SOCK_STREAM ? 1 : type == SOCK_DGRAM ? 0 : -1;
    /* An unbound socket reports port 0; bind, even to port 0, assigns one. */
    facts->bound = (name.ss_family == AF_INET &&
                    ((struct sockaddr_in *)&name)->sin_port != 0) ||
                   (name.ss_family == AF_INET6 &&
                    ((struct sockaddr_in6 *)&name)->sin6_port != 0);
    name_len = sizeof name;
    facts->connected = getpeername(fd, (struct sockaddr *)&name, &name_len) == 0;
    /* Descriptors are reused at once; the inode is not while the socket lives. */
    facts->ident = fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
#endif
    return 0;
}

/* The local port of a socket in host order, 0 if unbound or unknown. */
static unsigned local_port(uint64_t sock)
{
#ifdef _WIN32
    SOCKADDR_STORAGE name;
    int len = (int)sizeof name;
    if (getsockname((SOCKET)sock, (struct sockaddr *)&name, &len) != 0)
        return 0;
#else
    struct sockaddr_storage name;
    socklen_t len = sizeof name;
    if (getsockname((int)sock, (struct sockaddr *)&name, &len) != 0)
        return 0;
#endif
    if (name.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&name)->sin_port);
    if (name.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&name)->sin6_port);
    return 0;
}

static void drop_record(size_t i);

/* Windows gives a socket no identity beyond its handle, which the next socket
 * may reuse. A secured socket carries SO_EXCLUSIVEADDRUSE; a handle with a
 * security record but without the option is a new socket, and the records
 * of the old one are dropped. */
static void forget_reused_handle(uint64_t sock)
{
#ifdef _WIN32
    BOOL exclusive = FALSE;
    int len = (int)sizeof exclusive;
    size_t i;
    int stale = 0;
    if (getsockopt((SOCKET)sock, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (char *)&exclusive, &len) != 0)
        return;
    LOCK();
    for (i = 0; i < record_count; i++)
        if (records[i].head.sock == sock &&
            records[i].head.function == WSAPEER_CALL_SET_SOCKET_SECURITY && !exclusive)
            stale = 1;
    for (i = record_count; stale && i-- > 0;)
        if (records[i].head.sock == sock)
            drop_record(i);
    UNLOCK();
#else
    (void)sock; /* the inode in socket_facts.ident tells sockets apart */
#endif
}

/* The checks every call of the family documents. */
static int check_socket(uint64_t sock, socket_facts *facts)
{
    int err = inspect_socket(sock, facts);
    if (err)
        return err;
    forget_reused_handle(sock);
    if (facts->family != WP_AF_INET && facts->family != WP_AF_INET6)
        return WSAPEER_WSAEAFNOSUPPORT;
    if (facts->stream < 0)
        return WSAPEER_WSAEINVAL;
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
    HANDLE event;  /* Windows' own reference to hEvent, taken at the call */
    ULONG_PTR bytes; /* what the call returns: InternalHigh at completion */
    uint64_t sock;
} operation;

static operation *pending;
static size_t pending_count, pending_cap;
static int completion_mode = WSAPEER_MODEL_IMMEDIATE;

typedef struct {
    LPWSAOVERLAPPED ov;
    LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
    DWORD error;
} apc_call;

static VOID CALLBACK run_completion_routine(ULONG_PTR param)
{
    apc_call call = *(apc_call *)param;
    free((void *)param);
    call.routine(call.error, 0, call.ov, 0);
}


/* What Winsock does when an overlapped operation completes with NTSTATUS
 * status and Winsock error error (0 and 0 for success). Lock not held. */
static void complete(const operation *op, HANDLE port, ULONG_PTR key, ULONG_PTR status,
                     DWORD error)
{
    ULONG_PTR event = (ULONG_PTR)op->ov->hEvent;

    /* As Windows: the byte count first, the status last and published, for a
     * reader that takes Internal != STATUS_PENDING to mean "done". */
    op->ov->InternalHigh = op->bytes;
    InterlockedExchangePointer((PVOID volatile *)&op->ov->Internal, (PVOID)status);
    if (op->routine != NULL) {
        apc_call *call = (apc_call *)malloc(sizeof *call);
        if (call != NULL) {
            call->ov = op->ov;
            call->routine = op->routine;
            call->error = error;
            if (!QueueUserAPC(run_completion_routine, op->thread, (ULONG_PTR)call))
                free(call);
        }
        return; /* with a completion routine, Winsock ignores hEvent */
    }
    if (port != NULL && (event & 1) == 0) {
        /* An event with its low bit set keeps the packet off the port. */
        PostQueuedCompletionStatus(port, 0, key, op->ov);
    }
    /* The event object Windows holds a reference to, never the caller's
     * handle value, which may be closed and reused by now. */
    if (op->event != NULL)
        SetEvent(op->event);
}

/* The handles an operation took at the call. */
static void release_handles(operation *op)
{
    if (op->thread)
        CloseHandle(op->thread);
    if (op->event)
        CloseHandle(op->event);
    op->thread = op->event = NULL;
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
static int finish_overlapped(uint64_t sock, void *overlapped, void *routine, size_t bytes)
{
    operation op;
    HANDLE port;
    ULONG_PTR key;
    HANDLE event;

    op.ov = (LPWSAOVERLAPPED)overlapped;
    op.routine = (LPWSAOVERLAPPED_COMPLETION_ROUTINE)routine;
    op.sock = sock;
    op.bytes = (ULONG_PTR)bytes;
    op.thread = op.event = NULL;
    event = (HANDLE)((ULONG_PTR)op.ov->hEvent & ~(ULONG_PTR)1);
    if ((routine != NULL &&
         !DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(),
                          &op.thread, 0, FALSE, DUPLICATE_SAME_ACCESS)) ||
        (routine == NULL && event != NULL &&
         !DuplicateHandle(GetCurrentProcess(), event, GetCurrentProcess(), &op.event, 0, FALSE,
                          DUPLICATE_SAME_ACCESS))) {
        UNLOCK();
        release_handles(&op);
        return WSAPEER_WSAEINVAL;
    }
    if (completion_mode == WSAPEER_MODEL_PEND) {
        if (pending_count == pending_cap) {
            size_t cap = pending_cap ? 2 * pending_cap : 16;
            operation *grown = (operation *)realloc(pending, cap * sizeof *grown);
            if (grown == NULL) {
                UNLOCK();
                release_handles(&op);
                return WSAPEER_WSAEINVAL;
            }
            pending = grown;
            pending_cap = cap;
        }
        op.ov->Internal = WSAPEER_STATUS_PENDING; /* as WSAGetOverlappedResult expects */
        pending[pending_count++] = op;
        UNLOCK();
        return WSAPEER_WSA_IO_PENDING;
    }
    find_port(sock, &port, &key);
    UNLOCK();
    complete(&op, port, key, WSAPEER_STATUS_SUCCESS, 0);
    release_handles(&op);
    return 0;
}

/* Takes the pending operation for overlapped out of the list. Lock held. */
static int take_pending(void *overlapped, operation *out)
{
    size_t i;
    for (i = 0; i < pending_count; i++) {
        if (pending[i].ov == (LPWSAOVERLAPPED)overlapped || overlapped == NULL) {
            *out = pending[i];
            memmove(&pending[i], &pending[i + 1], (pending_count - i - 1) * sizeof *pending);
            pending_count--;
            return 1;
        }
    }
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

#ifdef _WIN32
/* Completes up to max pended operations, oldest first, with this outcome. */
static size_t complete_oldest(size_t max, ULONG_PTR status, DWORD error)
{
    size_t done = 0;
    while (done < max) {
        operation op;
        HANDLE port;
        ULONG_PTR key;
        LOCK();
        if (!take_pending(NULL, &op)) {
            UNLOCK();
            break;
        }
        find_port(op.sock, &port, &key);
        UNLOCK();
        complete(&op, port, key, status, error);
        release_handles(&op);
        done++;
    }
    return done;
}
#endif /* _WIN32 */

size_t wsapeer_model_complete_pending(size_t max)
{
#ifdef _WIN32
    return complete_oldest(max, WSAPEER_STATUS_SUCCESS, 0);
#else
    (void)max;
    return 0;
#endif
}

size_t wsapeer_model_abort_pending(size_t max)
{
#ifdef _WIN32
    return complete_oldest(max, WSAPEER_STATUS_CANCELLED, WSAPEER_WSA_OPERATION_ABORTED);
#else
    (void)max;
    return 0;
#endif
}

int wsapeer_model_cancel(void *overlapped)
{
#ifdef _WIN32
    operation op;
    HANDLE port;
    ULONG_PTR key;
    if (overlapped == NULL)
        return 0;
    LOCK();
    if (!take_pending(overlapped, &op)) {
        UNLOCK();
        return 0; /* like CancelIoEx's ERROR_NOT_FOUND: nothing in flight */
    }
    find_port(op.sock, &port, &key);
    UNLOCK();
    complete(&op, port, key, WSAPEER_STATUS_CANCELLED, WSAPEER_WSA_OPERATION_ABORTED);
    release_handles(&op);
    return 1;
#else
    (void)overlapped;
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

/* ---- tokens, the pretended peer, impersonation ------------------------ */

/* The tokens the model hands out. On Windows they are real kernel handles
 * (events standing in for access tokens), so that the caller's CloseHandle is
 * real and a handle left open or closed twice shows. Elsewhere they are
 * numbers no Windows handle can be (3 mod 4: handles are multiples of 4),
 * closed through wsapeer_model_close_token, which counts. */
#define TOKEN_BASE 0x4D000003u

typedef struct {
    uint64_t value;
    int closes;
} token;

static token *tokens;
static size_t token_count, token_cap;

static struct {
    uint32_t flags;
    int issue_tokens;
    uint64_t mm_sa_id, qm_sa_id;
    uint32_t negotiation_winerror;
    uint8_t context[16];
} peer;

typedef struct {
    uint64_t thread;
    uint64_t sock;
} impersonation;

static impersonation *impersonations;
static size_t impersonation_count, impersonation_cap;

static uint64_t issue_token(void) /* lock held; 0 when out of memory */
{
    uint64_t value;
    if (token_count == token_cap) {
        size_t cap = token_cap ? 2 * token_cap : 16;
        token *grown = (token *)realloc(tokens, cap * sizeof *grown);
        if (grown == NULL)
            return 0;
        tokens = grown;
        token_cap = cap;
    }
#ifdef _WIN32
    {
        HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (h == NULL)
            return 0;
        value = (uint64_t)(uintptr_t)h;
    }
#else
    value = TOKEN_BASE + 4 * (uint64_t)token_count;
#endif
    tokens[token_count].value = value;
    tokens[token_count].closes = 0;
    token_count++;
    return value;
}

static token *find_token(uint64_t value) /* lock held */
{
    size_t i;
    for (i = 0; i < token_count; i++)
        if (tokens[i].value == value)
            return &tokens[i];
    return NULL;
}

/* Lock held. */
static int closes_of(token *t)
{
#ifdef _WIN32
    DWORD flags;
    /* A closed handle is invalid (until Windows reuses its value). */
    return GetHandleInformation((HANDLE)(uintptr_t)t->value, &flags) ? 0 : 1;
#else
    return t->closes;
#endif
}

int wsapeer_model_token_closes(uint64_t value)
{
    int closes;
    token *t;
    LOCK();
    t = find_token(value);
    closes = t ? closes_of(t) : -1;
    UNLOCK();
    return closes;
}

int wsapeer_model_close_token(uint64_t value)
{
    int status;
    token *t;
    LOCK();
    t = find_token(value);
    if (t == NULL) {
        status = WSAPEER_ERROR_INVALID_HANDLE;
    } else {
#ifdef _WIN32
        status = CloseHandle((HANDLE)(uintptr_t)value) ? 0 : WSAPEER_ERROR_INVALID_HANDLE;
#else
        status = t->closes ? WSAPEER_ERROR_INVALID_HANDLE : 0;
        t->closes++;
#endif
    }
    UNLOCK();
    return status;
}

size_t wsapeer_model_open_tokens(void)
{
    size_t i, open = 0;
    LOCK();
    for (i = 0; i < token_count; i++)
        open += closes_of(&tokens[i]) == 0;
    UNLOCK();
    return open;
}

int wsapeer_model_set_peer_security(uint32_t flags, int issue_tokens, uint64_t mm_sa_id,
                                    uint64_t qm_sa_id, uint32_t negotiation_winerror,
                                    const uint8_t *sa_lookup_context)
{
    LOCK();
    peer.flags = flags;
    peer.issue_tokens = issue_tokens != 0;
    peer.mm_sa_id = mm_sa_id;
    peer.qm_sa_id = qm_sa_id;
    peer.negotiation_winerror = negotiation_winerror;
    memset(peer.context, 0, sizeof peer.context);
    if (sa_lookup_context)
        memcpy(peer.context, sa_lookup_context, sizeof peer.context);
    UNLOCK();
    return WSAPEER_OK;
}

int wsapeer_model_impersonating(uint64_t *sock)
{
    uint64_t self = current_thread();
    size_t i;
    int found = 0;
    LOCK();
    for (i = 0; i < impersonation_count; i++) {
        if (impersonations[i].thread == self) {
            if (sock)
                *sock = impersonations[i].sock;
            found = 1;
        }
    }
    UNLOCK();
    return found;
}

void wsapeer_model_reset(void)
{
    size_t i;
    LOCK();
    for (i = 0; i < record_count; i++)
        free_record_bytes(&records[i]);
    free(records);
    records = NULL;
    record_count = record_cap = 0;
    next_sequence = 1;
    /* Tokens stay known (a SecurityInfo may outlive the block and close
     * later); only their count restarts when none is open. */
    for (i = 0; i < token_count && closes_of(&tokens[i]); i++)
        ;
    if (i == token_count) {
        free(tokens);
        tokens = NULL;
        token_count = token_cap = 0;
    }
    memset(&peer, 0, sizeof peer);
    free(impersonations);
    impersonations = NULL;
    impersonation_count = impersonation_cap = 0;
#ifdef _WIN32
    for (i = 0; i < pending_count; i++)
        release_handles(&pending[i]);
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

static int is_zero(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Address and port of a Windows sockaddr both zero (the documented UDP error). */
static int zero_peer(const uint8_t *addr)
{
    uint32_t family = get_le16(addr);
    if (family == WP_AF_INET)
        return is_zero(addr + offsetof(wp_sockaddr_in, sin_port), 2) &&
               is_zero(addr + offsetof(wp_sockaddr_in, sin_addr), 4);
    if (family == WP_AF_INET6)
        return is_zero(addr + offsetof(wp_sockaddr_in6, sin6_port), 2) &&
               is_zero(addr + offsetof(wp_sockaddr_in6, sin6_addr), 16);
    return 1;
}

/* A sockaddr argument: NULL → WSAEFAULT, short → WSAEMSGSIZE, other family →
 * WSAEAFNOSUPPORT (the three rows the reference pages share). */
static int check_sockaddr(const uint8_t *addr, size_t len)
{
    uint32_t family;
    if (addr == NULL)
        return WSAPEER_WSAEFAULT;
    if (len < 2)
        return WSAPEER_WSAEMSGSIZE;
    family = get_le16(addr);
    if (family == WP_AF_INET)
        return len < sizeof(wp_sockaddr_in) ? WSAPEER_WSAEMSGSIZE : 0;
    if (family == WP_AF_INET6)
        return len < sizeof(wp_sockaddr_in6) ? WSAPEER_WSAEMSGSIZE : 0;
    return WSAPEER_WSAEAFNOSUPPORT;
}

static size_t sockaddr_size(const uint8_t *addr)
{
    return get_le16(addr) == WP_AF_INET ? sizeof(wp_sockaddr_in) : sizeof(wp_sockaddr_in6);
}

/* Lock held on entry, released on return: completes an accepted call. */
static int accept_call(uint64_t sock, void *overlapped, void *completion_routine, size_t bytes)
{
#ifdef _WIN32
    if (overlapped != NULL)
        return finish_overlapped(sock, overlapped, completion_routine, bytes);
#else
    (void)sock;
    (void)overlapped;
    (void)completion_routine;
    (void)bytes;
#endif
    UNLOCK();
    return 0;
}

#ifdef _WIN32
#  define NO_OVERLAPPED_OFF_WINDOWS(ov, cr)
#else
#  define NO_OVERLAPPED_OFF_WINDOWS(ov, cr)                                   \
    if ((ov) != NULL || (cr) != NULL)                                         \
        return WSAPEER_WSAEINVAL
#endif

int wsapeer_model_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                       void *overlapped, void *completion_routine)
{
    const uint8_t *p = (const uint8_t *)ptn;
    socket_facts facts;
    uint32_t protocol, declared, family;
    uint64_t name_bytes; /* 2 x declared would overflow a 32-bit size_t */
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    NO_OVERLAPPED_OFF_WINDOWS(overlapped, completion_routine);
    if (p == NULL)
        return WSAPEER_WSAEFAULT;
    if (len < PTN_HEADER)
        return WSAPEER_WSAEMSGSIZE;
    protocol = get_le32(p + offsetof(wp_peer_target_name, SecurityProtocol));
    if (protocol > WSAPEER_PROTOCOL_IPSEC2)
        return WSAPEER_WSAEINVAL;
    declared = get_le32(p + PTN_NAME_LEN);
    /* Code units for DEFAULT/IPSEC, bytes for IPSEC2 (facts file). */
    name_bytes = protocol == WSAPEER_PROTOCOL_IPSEC2 ? (uint64_t)declared : 2 * (uint64_t)declared;
    if ((uint64_t)(len - offsetof(wp_peer_target_name, AllStrings)) < name_bytes)
        return WSAPEER_WSAEMSGSIZE;
    family = get_le16(p + PTN_ADDRESS);
    if (family != 0 && family != WP_AF_INET && family != WP_AF_INET6)
        return WSAPEER_WSAEAFNOSUPPORT;
    if (facts.connected)
        return WSAPEER_WSAEISCONN;
    if (!facts.stream && zero_peer(p + PTN_ADDRESS))
        return WSAPEER_WSAEINVAL;

    /* Undocumented: a name before WSASetSocketSecurity. Accepted; the order
     * shows in the records' sequence numbers. */
    LOCK();
    if (remember(WSAPEER_CALL_SET_PEER_TARGET_NAME, sock, facts.ident, p, len, PTN_ADDRESS,
                 ADDRESS_SIZE) != 0) {
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    return accept_call(sock, overlapped, completion_routine, 0);
}

#define SETI(field) offsetof(wp_security_settings_ipsec, field)

int wsapeer_model_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                      void *overlapped, void *completion_routine)
{
    const uint8_t *p = (const uint8_t *)settings;
    socket_facts facts;
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    NO_OVERLAPPED_OFF_WINDOWS(overlapped, completion_routine);
    if (facts.connected)
        return WSAPEER_WSAEISCONN;
    if (p != NULL) { /* NULL: Windows' default settings */
        uint32_t protocol;
        if (len < sizeof(wp_security_settings))
            return WSAPEER_WSAEMSGSIZE;
        protocol = get_le32(p + offsetof(wp_security_settings, SecurityProtocol));
        if (protocol > WSAPEER_PROTOCOL_IPSEC2 ||
            (get_le32(p + offsetof(wp_security_settings, SecurityFlags)) & ~0x3u))
            return WSAPEER_WSAEINVAL;
        if (protocol != WSAPEER_PROTOCOL_DEFAULT) {
            uint32_t user, domain, password;
            if (len < sizeof(wp_security_settings_ipsec))
                return WSAPEER_WSAEMSGSIZE;
            user = get_le32(p + SETI(UserNameStringLen));
            domain = get_le32(p + SETI(DomainNameStringLen));
            password = get_le32(p + SETI(PasswordStringLen));
            if ((get_le32(p + SETI(IpsecFlags)) & ~0xFu) || user % 2 || domain % 2 || password % 2)
                return WSAPEER_WSAEINVAL;
            if ((uint64_t)user + domain + password > len - SETI(AllStrings))
                return WSAPEER_WSAEMSGSIZE;
        }
    }
#ifdef _WIN32
    /* As Windows does ("WSASetSocketSecurity internally calls setsockopt with
     * SO_EXCLUSIVEADDRUSE"); the model also reads it back to tell this socket
     * from a later one that reuses its handle. */
    {
        BOOL on = TRUE;
        setsockopt((SOCKET)sock, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&on, sizeof on);
    }
#endif
    LOCK();
    /* "Can only be called once per socket", and before bind or connect. */
    if (find_record(WSAPEER_CALL_SET_SOCKET_SECURITY, sock, facts.ident) != NULL ||
        facts.bound) {
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    if (remember(WSAPEER_CALL_SET_SOCKET_SECURITY, sock, facts.ident, p, p ? len : 0, 0, 0)) {
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    return accept_call(sock, overlapped, completion_routine, 0);
}

int wsapeer_model_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                          void *overlapped, void *completion_routine)
{
    const uint8_t *addr = (const uint8_t *)sockaddr;
    socket_facts facts;
    size_t i, size;
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    NO_OVERLAPPED_OFF_WINDOWS(overlapped, completion_routine);
    err = check_sockaddr(addr, len);
    if (err)
        return err;
    size = sockaddr_size(addr);
    LOCK();
    for (i = 0; i < record_count; i++) {
        const record *r = &records[i];
        if (r->head.function == WSAPEER_CALL_SET_PEER_TARGET_NAME && r->head.sock == sock &&
            r->head.ident == facts.ident && memcmp(r->bytes + PTN_ADDRESS, addr, size) == 0 &&
            is_zero(r->bytes + PTN_ADDRESS + size, ADDRESS_SIZE - size))
            break;
    }
    if (i == record_count) {
        /* No name was set for this peer. The reference page documents no
         * "not found" code; WSAEINVAL is its code for an invalid parameter. */
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    drop_record(i);
    if (remember(WSAPEER_CALL_DELETE_PEER_TARGET_NAME, sock, facts.ident, addr, size, NO_KEY,
                 0)) {
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    return accept_call(sock, overlapped, completion_routine, 0);
}

/* An accepted TCP socket inherits its listener's security, as on Windows: a
 * secured listener, still open, bound to the same local port. Lock held. */
static int accepted_from_secured(uint64_t sock, const socket_facts *facts)
{
    unsigned port = local_port(sock);
    size_t i;
    if (port == 0)
        return 0;
    for (i = 0; i < record_count; i++) {
        const record *r = &records[i];
        socket_facts listener;
        if (r->head.function != WSAPEER_CALL_SET_SOCKET_SECURITY || r->head.sock == sock)
            continue;
        if (inspect_socket(r->head.sock, &listener) == 0 && listener.ident == r->head.ident &&
            listener.stream && !listener.connected && listener.family == facts->family &&
            local_port(r->head.sock) == port)
            return 1;
    }
    return 0;
}

#define QT(field) offsetof(wp_query_template_ipsec2, field)
#define QI(field) offsetof(wp_query_info_ipsec2, field)

int wsapeer_model_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                        void *info, uint32_t *info_len, void *overlapped,
                                        void *completion_routine)
{
    const uint8_t *t = (const uint8_t *)tmpl;
    uint8_t *out = (uint8_t *)info;
    socket_facts facts;
    uint32_t protocol = 0, access_mask = 0;
    int ipsec2 = 0, secured;
    size_t need;
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    NO_OVERLAPPED_OFF_WINDOWS(overlapped, completion_routine);
    if (info_len == NULL)
        return WSAPEER_WSAEFAULT;
    if (t == NULL || tmpl_len == 0) {
        /* Only TCP may leave the template out. */
        if (!facts.stream)
            return WSAPEER_WSAEMSGSIZE;
        t = NULL;
    } else {
        if (tmpl_len < sizeof(wp_query_template))
            return WSAPEER_WSAEMSGSIZE;
        protocol = get_le32(t + QT(SecurityProtocol));
        if (protocol > WSAPEER_PROTOCOL_IPSEC2)
            return WSAPEER_WSAEINVAL;
        if (!facts.stream) {
            uint32_t family = get_le16(t + QT(PeerAddress));
            if (family != WP_AF_INET && family != WP_AF_INET6)
                return WSAPEER_WSAEAFNOSUPPORT;
        }
        access_mask = get_le32(t + QT(PeerTokenAccessMask));
        ipsec2 = protocol == WSAPEER_PROTOCOL_IPSEC2 &&
                 tmpl_len >= sizeof(wp_query_template_ipsec2);
    }
    need = ipsec2 ? sizeof(wp_query_info_ipsec2) : sizeof(wp_query_info);
    if (out == NULL || *info_len < need) {
        *info_len = (uint32_t)need;
        /* WSAEFAULT for TCP as Microsoft's sample expects, WSAEMSGSIZE for
         * other sockets as the reference page's table says. */
        return facts.stream ? WSAPEER_WSAEFAULT : WSAPEER_WSAEMSGSIZE;
    }

    LOCK();
    secured = find_record(WSAPEER_CALL_SET_SOCKET_SECURITY, sock, facts.ident) != NULL ||
              (facts.stream && facts.connected && accepted_from_secured(sock, &facts));
    memset(out, 0, need);
    put_le32(out + QI(SecurityProtocol), protocol);
    /* The model negotiates nothing: a socket it never secured is in the clear. */
    put_le32(out + QI(Flags), secured ? peer.flags : 0);
    if (secured && peer.issue_tokens && access_mask != 0) {
        uint64_t app = issue_token(), machine = issue_token();
        put_le64(out + QI(PeerApplicationAccessTokenHandle), app);
        put_le64(out + QI(PeerMachineAccessTokenHandle), machine);
    }
    if (ipsec2 && secured) {
        put_le64(out + QI(MmSaId), peer.mm_sa_id);
        put_le64(out + QI(QmSaId), peer.qm_sa_id);
        put_le32(out + QI(NegotiationWinerr), peer.negotiation_winerror);
        memcpy(out + QI(SaLookupContext), peer.context, sizeof peer.context);
    }
    *info_len = (uint32_t)need;
    if (remember(WSAPEER_CALL_QUERY_SOCKET_SECURITY, sock, facts.ident, t, t ? tmpl_len : 0,
                 NO_KEY, 0)) {
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    return accept_call(sock, overlapped, completion_routine, need);
}

int wsapeer_model_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len)
{
    const uint8_t *addr = (const uint8_t *)sockaddr;
    socket_facts facts;
    uint64_t self = current_thread();
    size_t i;
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    if (facts.stream) {
        addr = NULL; /* "the connected socket uniquely identifies a peer" */
        len = 0;
    } else {
        err = check_sockaddr(addr, len);
        if (err)
            return err;
        len = sockaddr_size(addr);
    }
    LOCK();
    for (i = 0; i < impersonation_count && impersonations[i].thread != self; i++)
        ;
    if (i == impersonation_count) {
        if (impersonation_count == impersonation_cap) {
            size_t cap = impersonation_cap ? 2 * impersonation_cap : 8;
            impersonation *grown =
                (impersonation *)realloc(impersonations, cap * sizeof *grown);
            if (grown == NULL) {
                UNLOCK();
                return WSAPEER_WSAEINVAL;
            }
            impersonations = grown;
            impersonation_cap = cap;
        }
        impersonation_count++;
    }
    impersonations[i].thread = self;
    impersonations[i].sock = sock;
    if (remember(WSAPEER_CALL_IMPERSONATE_SOCKET_PEER, sock, facts.ident, addr, len, NO_KEY,
                 0)) {
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    UNLOCK();
    return 0;
}

int wsapeer_model_revert_impersonation(void)
{
    uint64_t self = current_thread();
    size_t i;
    LOCK();
    /* "If the thread is not currently impersonating a socket peer, no action
     * is taken": still a success, still recorded. */
    for (i = 0; i < impersonation_count; i++) {
        if (impersonations[i].thread == self) {
            impersonations[i] = impersonations[--impersonation_count];
            break;
        }
    }
    if (remember(WSAPEER_CALL_REVERT_IMPERSONATION, 0, 0, NULL, 0, NO_KEY, 0)) {
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    UNLOCK();
    return 0;
}
