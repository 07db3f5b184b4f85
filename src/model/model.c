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

static int is_zero_bytes(const void *p, size_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* ---- an index: open addressing, linear probing ------------------------- */

/* Records, sockets and tokens are found through these, so that a call costs
 * the same with 10^5 of them as with 10 (issue 14). */
typedef struct {
    uint64_t hash;
    void *item; /* NULL: empty */
} slot;

typedef struct {
    slot *slots;
    size_t cap, count; /* cap: 0 or a power of two */
} table;

typedef int (*matches_fn)(const void *item, const void *key);

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    size_t i;
    h ^= 0xcbf29ce484222325ULL;
    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return mix64(h);
}

static void *table_find(const table *t, uint64_t hash, matches_fn matches, const void *key)
{
    size_t mask, i;
    if (t->cap == 0)
        return NULL;
    mask = t->cap - 1;
    for (i = (size_t)hash & mask; t->slots[i].item != NULL; i = (i + 1) & mask)
        if (t->slots[i].hash == hash && matches(t->slots[i].item, key))
            return t->slots[i].item;
    return NULL;
}

static void put_slot(slot *slots, size_t cap, uint64_t hash, void *item)
{
    size_t i;
    for (i = (size_t)hash & (cap - 1); slots[i].item != NULL; i = (i + 1) & (cap - 1))
        ;
    slots[i].hash = hash;
    slots[i].item = item;
}

/* Adds item (never already in t): 0, or -1 out of memory. */
static int table_put(table *t, uint64_t hash, void *item)
{
    if (2 * (t->count + 1) > t->cap) { /* at most half full */
        size_t cap = t->cap ? 2 * t->cap : 16, i;
        slot *grown;
        if (cap > ((size_t)-1) / sizeof *grown / 2)
            return -1;
        grown = (slot *)calloc(cap, sizeof *grown);
        if (grown == NULL)
            return -1;
        for (i = 0; i < t->cap; i++)
            if (t->slots[i].item != NULL)
                put_slot(grown, cap, t->slots[i].hash, t->slots[i].item);
        free(t->slots);
        t->slots = grown;
        t->cap = cap;
    }
    put_slot(t->slots, t->cap, hash, item);
    t->count++;
    return 0;
}

/* Removes item, shifting back the entries after it so that no lookup stops
 * early at the hole. */
static void table_remove(table *t, uint64_t hash, const void *item)
{
    size_t mask, i, j;
    if (t->cap == 0)
        return;
    mask = t->cap - 1;
    for (i = (size_t)hash & mask; t->slots[i].item != item; i = (i + 1) & mask)
        if (t->slots[i].item == NULL)
            return;
    for (j = (i + 1) & mask; t->slots[j].item != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)t->slots[j].hash & mask;
        /* Moves j into the hole at i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].item = NULL;
    t->count--;
}

static void table_clear(table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}

/* ---- sockets, records -------------------------------------------------- */

/* What the model reads of a socket (inspect_socket). */
typedef struct {
    int family; /* Windows' numbering: WP_AF_INET / WP_AF_INET6, else other */
    int stream; /* 1 stream, 0 datagram, -1 other */
    int connected;
    int bound;
    uint64_t ident; /* the socket's identity, 0 where the model can read none */
    int exclusive; /* Windows: SO_EXCLUSIVEADDRUSE, which a secured socket has */
#ifdef _WIN32
    SOCKADDR_STORAGE local, peer;
#else
    struct sockaddr_storage local, peer;
#endif
} socket_facts;

/* What the model knows of one socket. A socket is its identity, shared by
 * every descriptor of it (POSIX: dup, fromfd, fork; Windows: duplicated
 * handles): the inode on POSIX, the file reference Windows reports for the
 * handle (Wine: the inode of its Unix socket). Where there is none, it is the
 * handle, and seen tells the socket from a later one given the same handle
 * (could_be_same). */
typedef struct sock_state {
    uint64_t handle, ident; /* the key: handle 0 when the identity is known */
    uint64_t sock;          /* the handle last used for it */
    socket_facts seen;      /* what the model read of it last */
    struct record *security; /* its WSASetSocketSecurity, or NULL */
    /* A connection first seen connected: whether the listener that accepted
     * it was secured, decided then and kept (issue 14). */
    int inherited;
    int listener_candidate;
} sock_state;

typedef struct record {
    wsapeer_model_record head;
    uint8_t *bytes;
    size_t slot;       /* where it sits in the log */
    sock_state *state; /* NULL for WSARevertImpersonation */
    int named;         /* a peer target name in the name index */
} record;

/* Every accepted call, oldest first; a dropped record leaves a NULL until the
 * log is compacted. */
static record **log_entries;
static size_t log_len, log_cap, log_dead;
static uint64_t next_sequence = 1;

static table states;        /* sock_state, by socket */
static table names;         /* record of a peer target name, by socket and peer */
static sock_state **candidates; /* secured stream sockets that may listen */
static size_t candidate_count, candidate_cap;

typedef struct {
    uint64_t handle, ident;
} state_key;

static uint64_t hash_state(uint64_t handle, uint64_t ident)
{
    return mix64(handle * 0x9e3779b97f4a7c15ULL ^ mix64(ident));
}

static int state_matches(const void *item, const void *key)
{
    const sock_state *s = (const sock_state *)item;
    const state_key *k = (const state_key *)key;
    return s->handle == k->handle && s->ident == k->ident;
}

typedef struct {
    const sock_state *state;
    const uint8_t *address; /* ADDRESS_SIZE bytes */
} name_key;

static uint64_t hash_name(const sock_state *state, const uint8_t *address)
{
    return hash_bytes(mix64((uint64_t)(uintptr_t)state), address, ADDRESS_SIZE);
}

static int name_matches(const void *item, const void *key)
{
    const record *r = (const record *)item;
    const name_key *k = (const name_key *)key;
    return r->state == k->state && memcmp(r->bytes + PTN_ADDRESS, k->address, ADDRESS_SIZE) == 0;
}

static record *find_name(const sock_state *state, const uint8_t *address)
{
    name_key key;
    key.state = state;
    key.address = address;
    return (record *)table_find(&names, hash_name(state, address), name_matches, &key);
}

static void compact_log(void)
{
    size_t i, j = 0;
    for (i = 0; i < log_len; i++) {
        if (log_entries[i] != NULL) {
            log_entries[j] = log_entries[i];
            log_entries[j]->slot = j;
            j++;
        }
    }
    log_len = j;
    log_dead = 0;
}

/* Records may hold settings, passwords included: zeroed before they go. */
static void free_record(record *r)
{
    wsapeer_secure_zero(r->bytes, r->head.size);
    free(r->bytes);
    free(r);
}

/* Lock held. */
static void drop_record(record *r)
{
    if (r->named)
        table_remove(&names, hash_name(r->state, r->bytes + PTN_ADDRESS), r);
    if (r->state != NULL && r->state->security == r)
        r->state->security = NULL;
    log_entries[r->slot] = NULL;
    log_dead++;
    free_record(r);
}

/* Appends a copy of what was accepted to the log. Lock held; NULL when out
 * of memory (nothing changed then). */
static record *remember(int function, uint64_t sock, sock_state *state, uint64_t ident,
                        const void *data, size_t size)
{
    record *r;
    if (log_dead > 64 && log_dead > log_len / 2)
        compact_log(); /* amortised: at most one pass per dropped half */
    if (log_len == log_cap) {
        size_t cap = log_cap ? 2 * log_cap : 64;
        record **grown;
        if (cap > ((size_t)-1) / sizeof *grown)
            return NULL;
        grown = (record **)realloc(log_entries, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        log_entries = grown;
        log_cap = cap;
    }
    r = (record *)calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->bytes = (uint8_t *)malloc(size ? size : 1);
    if (r->bytes == NULL) {
        free(r);
        return NULL;
    }
    if (size)
        memcpy(r->bytes, data, size);
    r->head.sequence = next_sequence++;
    r->head.sock = sock;
    r->head.function = function;
    r->head.thread = current_thread();
    r->head.size = size;
    r->head.ident = ident;
    r->state = state;
    r->slot = log_len;
    log_entries[log_len++] = r;
    return r;
}

size_t wsapeer_model_record_count(void)
{
    size_t n;
    LOCK();
    n = log_len - log_dead;
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
    if (log_dead)
        compact_log(); /* index counts live records only */
    if (index >= log_len) {
        status = WSAPEER_E_ARGUMENT;
    } else {
        *out = log_entries[index]->head;
        if (buf != NULL)
            memcpy(buf, log_entries[index]->bytes, cap < out->size ? cap : out->size);
    }
    UNLOCK();
    return status;
}

/* ---- the real socket, through the platform's own API ------------------ */

#ifdef _WIN32
/* Whether the model reads a socket's identity (wsapeer_model_set_socket_ids):
 * off, it knows sockets by handle and facts alone, as where Windows reports
 * none. */
static volatile LONG socket_ids = 1;

/* FILE_INTERNAL_INFORMATION, class 6 of NtQueryInformationFile (winternl.h
 * declares neither; their pages: "IndexNumber: the 8-byte file reference
 * number for the file"). */
typedef struct {
    void *status; /* IO_STATUS_BLOCK */
    ULONG_PTR information;
} io_status;
typedef LONG(WINAPI *query_file_fn)(HANDLE, io_status *, void *, ULONG, int);
#  define FILE_INTERNAL_INFORMATION_CLASS 6

/* The file reference number of the object behind a socket handle, the same
 * through every handle of it: 0 when Windows reports none. Assumed, not
 * documented for sockets: no page says what the AFD driver answers (a
 * failure or 0 leaves the model to its facts). Observation: under Wine 8 it
 * is the inode of the socket's Unix socket, a new one per socket. */
static uint64_t socket_identity(SOCKET s)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    query_file_fn query;
    io_status io;
    LARGE_INTEGER index;

    if (!socket_ids || ntdll == NULL)
        return 0;
    *(FARPROC *)&query = GetProcAddress(ntdll, "NtQueryInformationFile");
    if (query == NULL)
        return 0;
    index.QuadPart = 0;
    if (query((HANDLE)s, &io, &index, (ULONG)sizeof index, FILE_INTERNAL_INFORMATION_CLASS) < 0)
        return 0;
    return (uint64_t)index.QuadPart;
}
#endif

static int inspect_socket(uint64_t sock, socket_facts *facts)
{
#ifdef _WIN32
    SOCKET s = (SOCKET)sock;
    WSAPROTOCOL_INFOW info;
    int len = (int)sizeof info;
    int name_len = (int)sizeof facts->peer;
    BOOL exclusive = FALSE;

    if (sock != (uint64_t)s || s == INVALID_SOCKET)
        return WSAPEER_WSAENOTSOCK;
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0) {
        int err = WSAGetLastError();
        return err == WSANOTINITIALISED ? err : WSAPEER_WSAENOTSOCK;
    }
    facts->family = info.iAddressFamily;
    facts->stream = info.iSocketType == SOCK_STREAM ? 1 : info.iSocketType == SOCK_DGRAM ? 0 : -1;
    memset(&facts->peer, 0, sizeof facts->peer);
    facts->connected = getpeername(s, (struct sockaddr *)&facts->peer, &name_len) == 0;
    if (!facts->connected) /* no peer: all zeros, whatever a failed call wrote */
        memset(&facts->peer, 0, sizeof facts->peer);
    memset(&facts->local, 0, sizeof facts->local);
    name_len = (int)sizeof facts->local;
    /* Winsock refuses getsockname on a socket that was never bound. */
    facts->bound = getsockname(s, (struct sockaddr *)&facts->local, &name_len) == 0;
    facts->ident = socket_identity(s);
    len = (int)sizeof exclusive;
    facts->exclusive =
        getsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (char *)&exclusive, &len) == 0 &&
        exclusive;
#else
    int fd = (int)sock, type = 0;
    socklen_t len = sizeof type;
    socklen_t name_len = sizeof facts->local;
    struct stat st;

    if (sock > 0x7FFFFFFF)
        return WSAPEER_WSAENOTSOCK;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return WSAPEER_WSAENOTSOCK; /* ENOTSOCK or EBADF: not a socket either way */
    memset(&facts->local, 0, sizeof facts->local);
    if (getsockname(fd, (struct sockaddr *)&facts->local, &name_len) != 0)
        return WSAPEER_WSAENOTSOCK;
    facts->family = facts->local.ss_family == AF_INET    ? WP_AF_INET
                  : facts->local.ss_family == AF_INET6 ? WP_AF_INET6
                                                       : -1;
    facts->stream = type == SOCK_STREAM ? 1 : type == SOCK_DGRAM ? 0 : -1;
    /* An unbound socket reports port 0; bind, even to port 0, assigns one. */
    facts->bound = (facts->local.ss_family == AF_INET &&
                    ((struct sockaddr_in *)&facts->local)->sin_port != 0) ||
                   (facts->local.ss_family == AF_INET6 &&
                    ((struct sockaddr_in6 *)&facts->local)->sin6_port != 0);
    name_len = sizeof facts->peer;
    memset(&facts->peer, 0, sizeof facts->peer);
    facts->connected = getpeername(fd, (struct sockaddr *)&facts->peer, &name_len) == 0;
    if (!facts->connected)
        memset(&facts->peer, 0, sizeof facts->peer);
    /* Descriptors are reused at once; the inode is not while the socket lives,
     * and every descriptor of one socket shares it. */
    facts->ident = fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
    facts->exclusive = 0;
#endif
    return 0;
}

/* The checks every call of the family documents. Source: each function's
 * error table: WSAENOTSOCK ("The descriptor passed in the Socket parameter is
 * not a valid socket"), and WSAEINVAL "if the socket passed in the Socket
 * parameter was not created with an address family of the AF_INET or
 * AF_INET6 and a socket type of SOCK_DGRAM or SOCK_STREAM" (the pages of
 * WSASetSocketPeerTargetName, WSASetSocketSecurity and
 * WSADeleteSocketPeerTargetName; WSAImpersonateSocketPeer's says only "an
 * error will be returned": assumed the same). WSAEAFNOSUPPORT is left to the
 * address family a structure specifies: a peer of the other inet family than
 * the socket's is accepted (assumed, not documented; observation:
 * test_peer_of_the_other_family). */
static int check_socket(uint64_t sock, socket_facts *facts)
{
    int err = inspect_socket(sock, facts);
    if (err)
        return err;
    if ((facts->family != WP_AF_INET && facts->family != WP_AF_INET6) || facts->stream < 0)
        return WSAPEER_WSAEINVAL;
    return 0;
}

static void forget_state(sock_state *state);

/* Whether two sockaddrs name the same endpoint: family, port and address, an
 * address of all zeros (the wildcard) matching any when wildcard is set. */
static int same_endpoint(const void *x, const void *y, int wildcard)
{
    const struct sockaddr *a = (const struct sockaddr *)x;
    const struct sockaddr *b = (const struct sockaddr *)y;
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *p = (const struct sockaddr_in *)x;
        const struct sockaddr_in *q = (const struct sockaddr_in *)y;
        return p->sin_port == q->sin_port &&
               (memcmp(&p->sin_addr, &q->sin_addr, sizeof p->sin_addr) == 0 ||
                (wildcard && (is_zero_bytes(&p->sin_addr, sizeof p->sin_addr) ||
                              is_zero_bytes(&q->sin_addr, sizeof q->sin_addr))));
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)x;
        const struct sockaddr_in6 *q = (const struct sockaddr_in6 *)y;
        return p->sin6_port == q->sin6_port &&
               (memcmp(&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0 ||
                (wildcard && (is_zero_bytes(&p->sin6_addr, sizeof p->sin6_addr) ||
                              is_zero_bytes(&q->sin6_addr, sizeof q->sin6_addr))));
    }
    return 0;
}

/* Whether the socket now on a handle can be the one the model saw there (was)
 * when neither has an identity: none of the facts a socket never loses is
 * contradicted. Family and type are fixed at socket(); a bound socket stays
 * bound to its port (its wildcard address becomes a specific one when it
 * connects); a TCP connection keeps its peer (a UDP socket may connect
 * elsewhere); a socket the model secured keeps SO_EXCLUSIVEADDRUSE
 * (Windows: WSASetSocketSecurity sets it). Source: the bind, connect and
 * socket pages (a socket is bound once; "the socket is connected" until
 * closed); assumed: a TCP socket whose connection was reset may stop
 * reporting its peer, and is then taken for a new socket, which errs
 * towards unsecured. What no fact tells apart (a socket closed before it was
 * bound or connected, and a new one of its family and type) the model takes
 * for the same socket; docs/testing.rst says so. */
static int could_be_same(const socket_facts *was, const socket_facts *now, int secured_record)
{
    if (was->family != now->family || was->stream != now->stream)
        return 0;
    if (was->bound && (!now->bound || !same_endpoint(&was->local, &now->local, 1)))
        return 0;
    if (was->stream == 1 && was->connected &&
        (!now->connected || !same_endpoint(&was->peer, &now->peer, 0)))
        return 0;
#ifdef _WIN32
    if (secured_record && !now->exclusive)
        return 0;
#else
    (void)secured_record;
#endif
    return 1;
}

static int is_listening(uint64_t sock)
{
    int on = 0;
#ifdef _WIN32
    int len = (int)sizeof on;
    return getsockopt((SOCKET)sock, SOL_SOCKET, SO_ACCEPTCONN, (char *)&on, &len) == 0 && on;
#else
    socklen_t len = sizeof on;
    return getsockopt((int)sock, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
#endif
}

/* Whether another socket may share a listener's address (then which one
 * accepted a connection cannot be told from addresses). */
static int shares_its_port(uint64_t sock)
{
#if !defined(_WIN32) && defined(SO_REUSEPORT)
    int on = 0;
    socklen_t len = sizeof on;
    return getsockopt((int)sock, SOL_SOCKET, SO_REUSEPORT, &on, &len) == 0 && on;
#else
    (void)sock; /* Windows: a secured socket's port is exclusive (SO_EXCLUSIVEADDRUSE) */
    return 0;
#endif
}

/* Whether a listener bound to listener accepts on local: same family and
 * port, and the same address or the family's wildcard. */
static int address_match(const void *listener, const void *local)
{
    const struct sockaddr *a = (const struct sockaddr *)listener;
    const struct sockaddr *b = (const struct sockaddr *)local;
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)listener;
        const struct sockaddr_in *y = (const struct sockaddr_in *)local;
        if (x->sin_port != y->sin_port)
            return 0;
        return memcmp(&x->sin_addr, &y->sin_addr, sizeof x->sin_addr) == 0 ||
               is_zero_bytes(&x->sin_addr, sizeof x->sin_addr);
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)listener;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)local;
        if (x->sin6_port != y->sin6_port)
            return 0;
        return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 ||
               is_zero_bytes(&x->sin6_addr, sizeof x->sin6_addr);
    }
    return 0;
}

static void drop_candidate(size_t i)
{
    candidates[i]->listener_candidate = 0;
    candidates[i] = candidates[--candidate_count];
}

/* Whether the listener that accepted this connection was secured: the secured
 * listener still open on the connection's own local address, or on its
 * family's wildcard address with the same port. Source: assumed, not
 * documented: the reference pages say a server calls WSASetSocketSecurity
 * before bind and queries the accepted socket (Microsoft's securesocket
 * sample does exactly that), which implies the accepted socket inherits the
 * listener's security; no page says so. Windows makes a secured socket's
 * port exclusive, so one listener at most can match; where POSIX lets
 * several share it (SO_REUSEPORT) the model cannot tell which accepted, and
 * answers unsecured rather than guess. Observation:
 * test_accepted_socket_security[True|False], the same questions asked of the
 * accepted socket of a secured and an unsecured listener. Lock held. */
static int accepted_from_secured(const socket_facts *facts)
{
    int found = 0;
    size_t i = 0;
    while (i < candidate_count) {
        sock_state *c = candidates[i];
        socket_facts listener;
        int match;
        if (inspect_socket(c->sock, &listener) != 0 || listener.ident != c->ident ||
            (c->ident == 0 && !could_be_same(&c->seen, &listener, 1)) || listener.connected) {
            drop_candidate(i); /* closed, reused or connected: never a listener again */
            continue;
        }
        if (c->ident == 0)
            c->seen = listener; /* bound now, say: a later socket on its handle must be too */
        match = is_listening(c->sock) ? address_match(&listener.local, &facts->local) : 0;
        if (match && shares_its_port(c->sock))
            return 0;
        if (match)
            found = 1;
        i++;
    }
    return found;
}

/* The model's state of sock, made on first sight. Lock held; NULL when out of
 * memory. */
static sock_state *state_for(uint64_t sock, const socket_facts *facts)
{
    state_key key;
    uint64_t hash;
    sock_state *state;

    key.ident = facts->ident;
    key.handle = facts->ident ? 0 : sock;
    hash = hash_state(key.handle, key.ident);
    state = (sock_state *)table_find(&states, hash, state_matches, &key);
    /* Handles are reused at once. Known by its handle alone, a socket the
     * facts say is another one is a new socket: what the model knew of the
     * old one goes (its records with it), never taken for the new one's. */
    if (state != NULL && key.ident == 0 &&
        !could_be_same(&state->seen, facts, state->security != NULL)) {
        forget_state(state);
        state = NULL;
    }
    if (state != NULL) {
        state->sock = sock;
        state->seen = *facts;
        return state;
    }
    state = (sock_state *)calloc(1, sizeof *state);
    if (state == NULL)
        return NULL;
    state->handle = key.handle;
    state->ident = key.ident;
    state->sock = sock;
    state->seen = *facts;
    /* Accepted sockets are born connected: one first seen connected takes its
     * listener's security now, and keeps it when the listener closes. A socket
     * first seen unconnected was made by socket(), never by accept(). */
    state->inherited = facts->stream == 1 && facts->connected && accepted_from_secured(facts);
    if (table_put(&states, hash, state) != 0) {
        free(state);
        return NULL;
    }
    return state;
}

static int secured(const sock_state *state)
{
    return state->security != NULL || state->inherited;
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
static int watching; /* the thread that aborts operations of closed sockets runs */
static HANDLE watch_wake; /* set when an operation pends: the watcher looks again */

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
     * reader that takes Internal != STATUS_PENDING to mean "done". Source:
     * HasOverlappedIoCompleted reads Internal (its page); the order of the two
     * writes is assumed, as the kernel's I/O completion does it. */
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
        /* Source: WSAIoctl's page: "The completion routine is invoked only if
         * the thread is in an alertable state" (an APC on the issuing
         * thread), and with a routine hEvent is the application's to use. */
        return;
    }
    if (port != NULL && (event & 1) == 0) {
        /* Source: GetQueuedCompletionStatus's page: "A valid event handle
         * whose low-order bit is set keeps I/O completion from being queued
         * to the completion port". A packet on immediate success is implied
         * by SetFileCompletionNotificationModes ("when it would ordinarily do
         * so"), not stated. */
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

/* Whether the socket an operation was issued on is gone. Lock held. */
static int socket_gone(uint64_t sock)
{
    int type = 0, len = (int)sizeof type;
    return getsockopt((SOCKET)sock, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0;
}

/* Takes the pending operations whose socket closed out of the list, into out
 * (room for pending_count). Lock held. */
static size_t take_orphans(operation *out)
{
    size_t i = 0, n = 0;
    while (i < pending_count) {
        if (socket_gone(pending[i].sock)) {
            out[n++] = pending[i];
            memmove(&pending[i], &pending[i + 1], (pending_count - i - 1) * sizeof *pending);
            pending_count--;
        } else {
            i++;
        }
    }
    return n;
}

static void complete(const operation *op, HANDLE port, ULONG_PTR key, ULONG_PTR status,
                     DWORD error);
static void release_handles(operation *op);
static void find_port(uint64_t sock, HANDLE *port, ULONG_PTR *key);

/* Closing a socket aborts its pending operations with WSA_OPERATION_ABORTED.
 * Source: closesocket's reference page ("any pending overlapped send and
 * receive operations ... issued by any thread in this process are also
 * canceled"; the completion reports WSA_OPERATION_ABORTED). The model cannot
 * see closesocket, so while operations pend a thread looks every millisecond
 * for sockets that are gone. */
static DWORD WINAPI watch_thread(LPVOID unused)
{
    (void)unused;
    for (;;) { /* until the process ends */
        operation *orphans;
        size_t n, i;
        int idle;
        LOCK();
        idle = pending_count == 0;
        UNLOCK();
        /* Asleep while nothing pends (an operation that pends sets the
         * event, so no wake-up is lost between the look and the wait). */
        WaitForSingleObject(watch_wake, idle ? INFINITE : 1);
        LOCK();
        if (pending_count == 0) {
            UNLOCK();
            continue;
        }
        orphans = (operation *)malloc(pending_count * sizeof *orphans);
        n = orphans ? take_orphans(orphans) : 0;
        for (i = 0; i < n; i++) {
            HANDLE port;
            ULONG_PTR key;
            find_port(orphans[i].sock, &port, &key);
            UNLOCK();
            complete(&orphans[i], port, key, WSAPEER_STATUS_CANCELLED,
                     WSAPEER_WSA_OPERATION_ABORTED);
            release_handles(&orphans[i]);
            LOCK();
        }
        UNLOCK();
        free(orphans);
    }
    return 0; /* not reached */
}

/* Lock held. The watcher is made once and kept for the process's life, so
 * that the handles it holds (its thread, its event) are there before and
 * after any operation: a test counting the process's handles sees only the
 * operations' own. */
static void watch_closed_sockets(void)
{
    HANDLE thread;
    if (!watching) {
        watch_wake = CreateEventW(NULL, FALSE, FALSE, NULL);
        thread = watch_wake ? CreateThread(NULL, 0, watch_thread, NULL, 0, NULL) : NULL;
        if (thread == NULL) {
            if (watch_wake)
                CloseHandle(watch_wake);
            watch_wake = NULL;
            return;
        }
        CloseHandle(thread);
        watching = 1;
    }
    SetEvent(watch_wake);
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
    /* Whether these calls ever pend is not documented (the facts file): the
     * test chooses. Source for both answers: WSAIoctl's page ("If an
     * overlapped operation completes immediately, WSAIoctl returns a value of
     * zero ... will complete later, this function returns SOCKET_ERROR and
     * indicates error code WSA_IO_PENDING"). */
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
        watch_closed_sockets();
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
        ULONG_PTR key, outcome = status;
        DWORD outcome_error = error;
        LOCK();
        if (!take_pending(NULL, &op)) {
            UNLOCK();
            break;
        }
        find_port(op.sock, &port, &key);
        if (outcome == WSAPEER_STATUS_SUCCESS && socket_gone(op.sock)) {
            /* Closed before it completed: Windows aborted it at the close. */
            outcome = WSAPEER_STATUS_CANCELLED;
            outcome_error = WSAPEER_WSA_OPERATION_ABORTED;
        }
        UNLOCK();
        complete(&op, port, key, outcome, outcome_error);
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
    uint64_t sock;     /* the query that issued it: for strict mode's report */
    uint64_t sequence;
} token;

static token **tokens;
static size_t token_count, token_cap;
static table token_index;

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
    uint64_t sequence;
} impersonation;

static impersonation *impersonations;
static size_t impersonation_count, impersonation_cap;

/* What strict mode reports that the calls themselves leave no trace of. */
static wsapeer_model_violation *flagged;
static size_t flagged_count, flagged_cap;

static int token_matches(const void *item, const void *key)
{
    return ((const token *)item)->value == *(const uint64_t *)key;
}

static token *find_token(uint64_t value) /* lock held */
{
    return (token *)table_find(&token_index, mix64(value), token_matches, &value);
}

static uint64_t issue_token(uint64_t sock, uint64_t sequence) /* lock held; 0 out of memory */
{
    uint64_t value;
    token *t;
    if (token_count == token_cap) {
        size_t cap = token_cap ? 2 * token_cap : 16;
        token **grown;
        if (cap > ((size_t)-1) / sizeof *grown)
            return 0;
        grown = (token **)realloc(tokens, cap * sizeof *grown);
        if (grown == NULL)
            return 0;
        tokens = grown;
        token_cap = cap;
    }
    t = (token *)calloc(1, sizeof *t);
    if (t == NULL)
        return 0;
#ifdef _WIN32
    {
        HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (h == NULL) {
            free(t);
            return 0;
        }
        value = (uint64_t)(uintptr_t)h;
        /* Windows gives a closed handle's value to the next object at once:
         * a token listed with this value is closed (however it was), and the
         * value answers for the new token from now on. */
        {
            token *old = find_token(value);
            if (old != NULL) {
                table_remove(&token_index, mix64(value), old);
                if (old->closes == 0)
                    old->closes = 1;
            }
        }
    }
#else
    value = TOKEN_BASE + 4 * (uint64_t)token_count;
#endif
    t->value = value;
    t->sock = sock;
    t->sequence = sequence;
    if (table_put(&token_index, mix64(value), t) != 0) {
#ifdef _WIN32
        CloseHandle((HANDLE)(uintptr_t)value);
#endif
        free(t);
        return 0;
    }
    tokens[token_count++] = t;
    return value;
}

/* Lock held. */
static int closes_of(const token *t)
{
#ifdef _WIN32
    DWORD flags;
    if (t->closes)
        return t->closes; /* closed through the model, which counts */
    /* Closed with CloseHandle directly (a release build's shim, with the model
     * as fwpuclnt.dll): a closed handle is invalid, until Windows reuses its
     * value, which then reads as open. */
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
        /* Once closed, the value may be another object's: never closed again. */
        status = t->closes || !CloseHandle((HANDLE)(uintptr_t)value)
                     ? WSAPEER_ERROR_INVALID_HANDLE
                     : 0;
#else
        status = t->closes ? WSAPEER_ERROR_INVALID_HANDLE : 0;
#endif
        t->closes++;
    }
    UNLOCK();
    return status;
}

size_t wsapeer_model_open_tokens(void)
{
    size_t i, open = 0;
    LOCK();
    for (i = 0; i < token_count; i++)
        open += closes_of(tokens[i]) == 0;
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

/* Lock held; a violation lost to a full memory is a violation not reported,
 * never a call refused: strict mode must answer as the model does. */
static void flag(int rule, uint64_t sock, uint64_t sequence, int function)
{
    if (flagged_count == flagged_cap) {
        size_t cap = flagged_cap ? 2 * flagged_cap : 8;
        wsapeer_model_violation *grown;
        if (cap > ((size_t)-1) / sizeof *grown)
            return;
        grown = (wsapeer_model_violation *)realloc(flagged, cap * sizeof *grown);
        if (grown == NULL)
            return;
        flagged = grown;
        flagged_cap = cap;
    }
    flagged[flagged_count].rule = rule;
    flagged[flagged_count].sock = sock;
    flagged[flagged_count].sequence = sequence;
    flagged[flagged_count].function = function;
    flagged_count++;
}

static void add_violation(wsapeer_model_violation *out, size_t cap, size_t *n, int rule,
                          uint64_t sock, uint64_t sequence, int function)
{
    if (*n < cap) {
        out[*n].rule = rule;
        out[*n].sock = sock;
        out[*n].sequence = sequence;
        out[*n].function = function;
    }
    (*n)++;
}

size_t wsapeer_model_violations(wsapeer_model_violation *out, size_t cap)
{
    size_t n = 0, i;
    if (out == NULL)
        cap = 0;
    LOCK();
    /* "Call WSASetSocketSecurity ... before WSASetSocketPeerTargetName"
     * (the order of calls on WSASetSocketPeerTargetName's page and in
     * Microsoft's sample); Windows accepts the name on a socket that is never
     * secured, and the name then protects nothing. */
    for (i = 0; i < log_len; i++) {
        const record *r = log_entries[i];
        if (r != NULL && r->head.function == WSAPEER_CALL_SET_PEER_TARGET_NAME &&
            !secured(r->state))
            add_violation(out, cap, &n, WSAPEER_RULE_NAME_WITHOUT_SECURITY, r->head.sock,
                          r->head.sequence, r->head.function);
    }
    for (i = 0; i < flagged_count; i++)
        add_violation(out, cap, &n, flagged[i].rule, flagged[i].sock, flagged[i].sequence,
                      flagged[i].function);
    /* "The caller must close the handles" (WSAQuerySocketSecurity's page on
     * the peer token handles). */
    for (i = 0; i < token_count; i++)
        if (closes_of(tokens[i]) == 0)
            add_violation(out, cap, &n, WSAPEER_RULE_TOKEN_LEFT_OPEN, tokens[i]->sock,
                          tokens[i]->sequence, WSAPEER_CALL_QUERY_SOCKET_SECURITY);
    /* WSAImpersonateSocketPeer's page: the thread runs as the peer "until
     * WSARevertImpersonation is called". */
    for (i = 0; i < impersonation_count; i++)
        add_violation(out, cap, &n, WSAPEER_RULE_IMPERSONATION_LEFT_OPEN,
                      impersonations[i].sock, impersonations[i].sequence,
                      WSAPEER_CALL_IMPERSONATE_SOCKET_PEER);
    UNLOCK();
    return n;
}

/* Lock held: forgets one socket and every record of it (its handle was
 * reused). */
static void forget_state(sock_state *state)
{
    size_t i;
    for (i = 0; i < log_len; i++)
        if (log_entries[i] != NULL && log_entries[i]->state == state)
            drop_record(log_entries[i]);
    for (i = 0; i < candidate_count; i++)
        if (candidates[i] == state)
            drop_candidate(i);
    table_remove(&states, hash_state(state->handle, state->ident), state);
    free(state);
}

uint64_t wsapeer_model_socket_ident(uint64_t sock)
{
    socket_facts facts;
    state_key key;
    sock_state *state;
    if (inspect_socket(sock, &facts) != 0)
        return UINT64_MAX; /* no socket: its records are read by handle alone */
    if (facts.ident)
        return facts.ident;
    /* No identity: a state the facts say is another socket's goes now, so
     * that the records read by handle are this socket's alone. */
    key.handle = sock;
    key.ident = 0;
    LOCK();
    state = (sock_state *)table_find(&states, hash_state(sock, 0), state_matches, &key);
    if (state != NULL && !could_be_same(&state->seen, &facts, state->security != NULL))
        forget_state(state);
    UNLOCK();
    return 0;
}

int wsapeer_model_set_socket_ids(int on)
{
#ifdef _WIN32
    if (on != 0 && on != 1)
        return WSAPEER_E_ARGUMENT;
    InterlockedExchange(&socket_ids, on);
    return WSAPEER_OK;
#else
    return on == 1 ? WSAPEER_OK : WSAPEER_E_UNSUPPORTED;
#endif
}

/* Forgets everything but the tokens still open. Lock held. */
static void forget_all(void)
{
    size_t i;
    for (i = 0; i < log_len; i++)
        if (log_entries[i] != NULL)
            free_record(log_entries[i]);
    free(log_entries);
    log_entries = NULL;
    log_len = log_cap = log_dead = 0;
    next_sequence = 1;
    table_clear(&names);
    for (i = 0; i < states.cap; i++)
        free(states.slots[i].item);
    table_clear(&states);
    free(candidates);
    candidates = NULL;
    candidate_count = candidate_cap = 0;
    /* Tokens stay known (a SecurityInfo may outlive the block and close
     * later); only their count restarts when none is open. */
    for (i = 0; i < token_count && closes_of(tokens[i]); i++)
        ;
    if (i == token_count) {
        for (i = 0; i < token_count; i++)
            free(tokens[i]);
        free(tokens);
        tokens = NULL;
        token_count = token_cap = 0;
        table_clear(&token_index);
    }
    memset(&peer, 0, sizeof peer);
    free(impersonations);
    impersonations = NULL;
    impersonation_count = impersonation_cap = 0;
    free(flagged);
    flagged = NULL;
    flagged_count = flagged_cap = 0;
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
    InterlockedExchange(&socket_ids, 1);
#endif
}

void wsapeer_model_forget(void)
{
    LOCK();
    forget_all();
    UNLOCK();
}

#ifndef _WIN32
void wsapeer_model_fork_prepare(void)
{
    LOCK();
}

void wsapeer_model_fork_parent(void)
{
    UNLOCK();
}

/* The child has one thread, the one that forked; the lock was taken in
 * prepare, so the state is whole. Impersonation is per thread: the other
 * threads' end with them. */
void wsapeer_model_fork_child(void)
{
    uint64_t self = current_thread();
    size_t i = 0;
    while (i < impersonation_count) {
        if (impersonations[i].thread != self)
            impersonations[i] = impersonations[--impersonation_count];
        else
            i++;
    }
    /* Fresh, not unlocked: a mutex copied mid-handoff may not unlock cleanly. */
    pthread_mutex_init(&model_lock, NULL);
}
#endif

/* ---- the calls -------------------------------------------------------- */

/* Address and port of a Windows sockaddr both zero (the documented UDP error). */
static int zero_peer(const uint8_t *addr)
{
    uint32_t family = get_le16(addr);
    if (family == WP_AF_INET)
        return is_zero_bytes(addr + offsetof(wp_sockaddr_in, sin_port), 2) &&
               is_zero_bytes(addr + offsetof(wp_sockaddr_in, sin_addr), 4);
    if (family == WP_AF_INET6)
        return is_zero_bytes(addr + offsetof(wp_sockaddr_in6, sin6_port), 2) &&
               is_zero_bytes(addr + offsetof(wp_sockaddr_in6, sin6_addr), 16);
    return 1;
}

/* A sockaddr argument: NULL -> WSAEFAULT, short -> WSAEMSGSIZE, other family ->
 * WSAEAFNOSUPPORT. Source: the error tables of WSADeleteSocketPeerTargetName
 * and WSAImpersonateSocketPeer (rows WSAEFAULT, WSAEAFNOSUPPORT); a length
 * too short for the family: assumed WSAEMSGSIZE, the code the family's pages
 * use for a buffer too small. */
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

/* Lock held on entry, released on return: out of memory inside the model. */
static int out_of_memory(void)
{
    UNLOCK();
    return WSAPEER_WSAEINVAL;
}

/* Off Windows there is no OVERLAPPED: the seam never passes one there. */
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
    sock_state *state;
    record *r, *earlier;
    uint32_t protocol, declared, family;
    uint64_t name_bytes; /* 2 x declared would overflow a 32-bit size_t */
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    NO_OVERLAPPED_OFF_WINDOWS(overlapped, completion_routine);
    /* Source: WSASetSocketPeerTargetName's page, error table: WSAEFAULT for
     * a PeerTargetName that is not valid; a length too small for the
     * structure and its string: assumed WSAEMSGSIZE (the table names no code
     * for it; the family uses WSAEMSGSIZE for short buffers). */
    if (p == NULL)
        return WSAPEER_WSAEFAULT;
    if (len < PTN_HEADER)
        return WSAPEER_WSAEMSGSIZE;
    /* Source: the page's WSAEINVAL row ("a parameter was not valid"), for a
     * SecurityProtocol outside SOCKET_SECURITY_PROTOCOL. */
    protocol = get_le32(p + offsetof(wp_peer_target_name, SecurityProtocol));
    if (protocol > WSAPEER_PROTOCOL_IPSEC2)
        return WSAPEER_WSAEINVAL;
    declared = get_le32(p + PTN_NAME_LEN);
    /* Code units for DEFAULT/IPSEC, bytes for IPSEC2. Source: the page says
     * bytes; Microsoft's securesocket sample writes wcslen() (units) and
     * NtApiDotNet writes units, and bytes for IPSEC2: assumed from that
     * working code, not from the page. Observation to look at (wheels
     * workflow summary): test_string_length_unit[<protocol>-<tcp|udp>]
     * "verdict" and "readings consistent with the outcomes"; the probe fails
     * the run if Windows validates the other unit. */
    name_bytes = protocol == WSAPEER_PROTOCOL_IPSEC2 ? (uint64_t)declared : 2 * (uint64_t)declared;
    if ((uint64_t)(len - offsetof(wp_peer_target_name, AllStrings)) < name_bytes)
        return WSAPEER_WSAEMSGSIZE;
    /* Source: the page's WSAEAFNOSUPPORT row; family 0 is the TCP form with
     * no peer address (the connected peer is implied). */
    family = get_le16(p + PTN_ADDRESS);
    if (family != 0 && family != WP_AF_INET && family != WP_AF_INET6)
        return WSAPEER_WSAEAFNOSUPPORT;
    /* Source: the page's WSAEISCONN row ("called after the socket is
     * connected"): TCP before connect, UDP before connect as well. */
    if (facts.connected)
        return WSAPEER_WSAEISCONN;
    /* Source: the page's WSAEINVAL row for UDP with peer address and port
     * zero. */
    if (!facts.stream && zero_peer(p + PTN_ADDRESS))
        return WSAPEER_WSAEINVAL;

    LOCK();
    state = state_for(sock, &facts);
    if (state == NULL)
        return out_of_memory();
    /* A second name for the same socket and peer replaces the first. Assumed,
     * not documented: the page allows many calls for different UDP peers and
     * is silent on the same peer twice. Observation:
     * test_second_name_for_one_udp_peer "second name for the same peer". A
     * name before WSASetSocketSecurity: accepted (undocumented; observations:
     * test_name_before_security_is_recorded,
     * test_name_before_security_is_kept); strict mode reports it if the
     * socket is never secured. */
    earlier = find_name(state, p + PTN_ADDRESS);
    r = remember(WSAPEER_CALL_SET_PEER_TARGET_NAME, sock, state, facts.ident, p, len);
    if (r == NULL)
        return out_of_memory();
    if (table_put(&names, hash_name(state, p + PTN_ADDRESS), r) != 0) {
        drop_record(r);
        return out_of_memory();
    }
    r->named = 1;
    if (earlier != NULL)
        drop_record(earlier);
    return accept_call(sock, overlapped, completion_routine, 0);
}

#define SETI(field) offsetof(wp_security_settings_ipsec, field)

int wsapeer_model_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                      void *overlapped, void *completion_routine)
{
    const uint8_t *p = (const uint8_t *)settings;
    socket_facts facts;
    sock_state *state;
    record *r;
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    NO_OVERLAPPED_OFF_WINDOWS(overlapped, completion_routine);
    /* Source: WSASetSocketSecurity's page: a client calls it before connect
     * (WSAEISCONN after, as the family's pages use it). */
    if (facts.connected)
        return WSAPEER_WSAEISCONN;
    /* Source: the page: SecuritySettings NULL means the default settings.
     * Short or malformed settings: WSAEMSGSIZE / WSAEINVAL, the codes the
     * family uses for a short buffer and an invalid parameter (assumed: the
     * page's table has WSAEINVAL and WSAEMSGSIZE rows without detail). */
    if (p != NULL) {
        uint32_t protocol;
        if (len < sizeof(wp_security_settings))
            return WSAPEER_WSAEMSGSIZE;
        protocol = get_le32(p + offsetof(wp_security_settings, SecurityProtocol));
        /* Source: SOCKET_SECURITY_SETTINGS' page defines SecurityFlags 0x1
         * and 0x2 only; another bit is an invalid parameter (assumed
         * WSAEINVAL, as for a protocol out of range). */
        if (protocol > WSAPEER_PROTOCOL_IPSEC2 ||
            (get_le32(p + offsetof(wp_security_settings, SecurityFlags)) & ~0x3u))
            return WSAPEER_WSAEINVAL;
        /* DEFAULT is SOCKET_SECURITY_SETTINGS, whose size is its own (the
         * page: "most applications should use" it; IPsec settings take
         * protocol IPSEC or IPSEC2). More bytes than that would be an IPsec
         * body, credentials included, that DEFAULT ignores: assumed
         * WSAEINVAL, never a silent drop. */
        if (protocol == WSAPEER_PROTOCOL_DEFAULT && len != sizeof(wp_security_settings))
            return WSAPEER_WSAEINVAL;
        if (protocol != WSAPEER_PROTOCOL_DEFAULT) {
            uint32_t user, domain, password;
            uint64_t strings;
            if (len < sizeof(wp_security_settings_ipsec))
                return WSAPEER_WSAEMSGSIZE;
            user = get_le32(p + SETI(UserNameStringLen));
            domain = get_le32(p + SETI(DomainNameStringLen));
            password = get_le32(p + SETI(PasswordStringLen));
            strings = (uint64_t)user + domain + password;
            /* String lengths are bytes of UTF-16 (SOCKET_SECURITY_SETTINGS_IPSEC's
             * page): odd is malformed. IpsecFlags: the page's four bits
             * (0x1, and Windows 7's 0x2, 0x4, 0x8); Reserved and Reserved2
             * are "reserved for future use": nonzero assumed invalid. */
            if ((get_le32(p + SETI(IpsecFlags)) & ~0xFu) || user % 2 || domain % 2 ||
                password % 2 || !is_zero_bytes(p + SETI(Reserved), sizeof(wp_guid)) ||
                !is_zero_bytes(p + SETI(Reserved2), 8))
                return WSAPEER_WSAEINVAL;
            /* Strings past the buffer: short (WSAEMSGSIZE, as for a target
             * name). A buffer longer than the structure and the strings it
             * declares: a length that disagrees with what was sent (a
             * password counted in code units, say): assumed WSAEINVAL. The
             * structure's 4 bytes of tail padding may hold strings. */
            if (strings > len - SETI(AllStrings))
                return WSAPEER_WSAEMSGSIZE;
            if (len - sizeof(wp_security_settings_ipsec) > strings)
                return WSAPEER_WSAEINVAL;
        }
    }
#ifdef _WIN32
    /* As Windows does. Source: WSASetSocketSecurity's page ("internally calls
     * setsockopt with SO_EXCLUSIVEADDRUSE"); the model also reads it back to
     * tell this socket from a later one that reuses its handle. */
    {
        BOOL on = TRUE;
        /* facts.exclusive keeps what the socket had before: a handle with a
         * security record and no exclusivity is a new socket (state_for). */
        setsockopt((SOCKET)sock, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&on, sizeof on);
    }
#endif
    LOCK();
    state = state_for(sock, &facts);
    if (state == NULL)
        return out_of_memory();
    /* Source: the page: "can only be called once per socket", and before
     * bind (a server); WSAEINVAL otherwise (assumed: the page's invalid-call
     * code; observation: test_documented_errors "second WSASetSocketSecurity").
     * An accepted connection already carries its listener's. */
    if (secured(state) || facts.bound) {
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    if (facts.stream && !facts.connected && !state->listener_candidate) {
        if (candidate_count == candidate_cap) {
            size_t cap = candidate_cap ? 2 * candidate_cap : 8;
            sock_state **grown;
            if (cap > ((size_t)-1) / sizeof *grown)
                return out_of_memory();
            grown = (sock_state **)realloc(candidates, cap * sizeof *grown);
            if (grown == NULL)
                return out_of_memory();
            candidates = grown;
            candidate_cap = cap;
        }
    }
    r = remember(WSAPEER_CALL_SET_SOCKET_SECURITY, sock, state, facts.ident, p, p ? len : 0);
    if (r == NULL)
        return out_of_memory();
    state->security = r;
    if (facts.stream && !state->listener_candidate) {
        candidates[candidate_count++] = state; /* room made above */
        state->listener_candidate = 1;
    }
    return accept_call(sock, overlapped, completion_routine, 0);
}

int wsapeer_model_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                          void *overlapped, void *completion_routine)
{
    const uint8_t *addr = (const uint8_t *)sockaddr;
    uint8_t key[ADDRESS_SIZE];
    socket_facts facts;
    sock_state *state;
    record *name;
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    NO_OVERLAPPED_OFF_WINDOWS(overlapped, completion_routine);
    err = check_sockaddr(addr, len);
    if (err)
        return err;
    /* The name's PeerAddress is this sockaddr, zero-padded to its storage. */
    memset(key, 0, sizeof key);
    memcpy(key, addr, sockaddr_size(addr));
    LOCK();
    state = state_for(sock, &facts);
    if (state == NULL)
        return out_of_memory();
    name = find_name(state, key);
    if (name == NULL) {
        /* No name was set for this peer. Assumed, not documented: the page
         * has no "not found" code; WSAEINVAL is its invalid-parameter code.
         * Observation: test_udp_peers_then_delete "delete of a peer without
         * a name". */
        UNLOCK();
        return WSAPEER_WSAEINVAL;
    }
    if (remember(WSAPEER_CALL_DELETE_PEER_TARGET_NAME, sock, state, facts.ident, addr,
                 sockaddr_size(addr)) == NULL)
        return out_of_memory();
    drop_record(name);
    return accept_call(sock, overlapped, completion_routine, 0);
}

#define CONNECTION_SECURED 0x1u /* mstcpip.h's SOCKET_INFO_CONNECTION_SECURED */
#define QT(field) offsetof(wp_query_template_ipsec2, field)
#define QI(field) offsetof(wp_query_info_ipsec2, field)

int wsapeer_model_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                        void *info, uint32_t *info_len, void *overlapped,
                                        void *completion_routine)
{
    const uint8_t *t = (const uint8_t *)tmpl;
    uint8_t *out = (uint8_t *)info;
    socket_facts facts;
    sock_state *state;
    record *r;
    uint32_t protocol = 0, access_mask = 0, flags;
    int ipsec2 = 0, is_secured;
    size_t need;
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    NO_OVERLAPPED_OFF_WINDOWS(overlapped, completion_routine);
    if (info_len == NULL)
        return WSAPEER_WSAEFAULT;
    if (t == NULL || tmpl_len == 0) {
        /* Source: WSAQuerySocketSecurity's page: the template is optional
         * for TCP; UDP needs the peer address in it (WSAEMSGSIZE here is
         * assumed: the shim's template-less UDP call is a short buffer). */
        if (!facts.stream)
            return WSAPEER_WSAEMSGSIZE;
        t = NULL;
    } else {
        if (tmpl_len < sizeof(wp_query_template))
            return WSAPEER_WSAEMSGSIZE;
        protocol = get_le32(t + QT(SecurityProtocol));
        if (protocol > WSAPEER_PROTOCOL_IPSEC2)
            return WSAPEER_WSAEINVAL;
        /* Source: the page: for a socket that is not TCP, PeerAddress "must
         * specify an address family of AF_INET or AF_INET6"; the code for a
         * template that names no peer (family 0: wsapeer's peer=None with an
         * access mask or ipsec2) is assumed from its WSAEAFNOSUPPORT row.
         * Observation: test_udp_query_without_a_peer "status per template". */
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
        /* Source: WSAEFAULT for TCP, as Microsoft's securesocket sample's
         * size probe expects; WSAEMSGSIZE for other sockets, as the page's
         * table says. Observation: test_query_size_probe[<tcp|udp>-<template>]
         * "(status, length written back) per buffer size". */
        return facts.stream ? WSAPEER_WSAEFAULT : WSAPEER_WSAEMSGSIZE;
    }

    LOCK();
    state = state_for(sock, &facts);
    if (state == NULL)
        return out_of_memory();
    r = remember(WSAPEER_CALL_QUERY_SOCKET_SECURITY, sock, state, facts.ident, t,
                 t ? tmpl_len : 0);
    if (r == NULL)
        return out_of_memory();
    is_secured = secured(state);
    /* The model negotiates nothing: a socket it never secured is in the
     * clear, whatever pretend_peer() says. */
    flags = is_secured ? peer.flags : 0;
    memset(out, 0, need);
    put_le32(out + QI(SecurityProtocol), protocol);
    put_le32(out + QI(Flags), flags);
    /* Source: the page: token handles are returned when the template asks
     * with a PeerTokenAccessMask; SOCKET_SECURITY_QUERY_INFO: without
     * SOCKET_INFO_CONNECTION_SECURED "the traffic is flowing in the clear",
     * so there is no authenticated peer to hand tokens of, nor an SA
     * (assumed: no page says what those fields hold then; zero never reads
     * as a peer). Decided by the flags reported, not by the socket alone: a
     * pretended peer without SECURED is a negotiation that secured nothing. */
    if ((flags & CONNECTION_SECURED) && peer.issue_tokens && access_mask != 0) {
        uint64_t app = issue_token(sock, r->head.sequence);
        uint64_t machine = issue_token(sock, r->head.sequence);
        put_le64(out + QI(PeerApplicationAccessTokenHandle), app);
        put_le64(out + QI(PeerMachineAccessTokenHandle), machine);
    }
    if (ipsec2 && (flags & CONNECTION_SECURED)) {
        put_le64(out + QI(MmSaId), peer.mm_sa_id);
        put_le64(out + QI(QmSaId), peer.qm_sa_id);
        memcpy(out + QI(SaLookupContext), peer.context, sizeof peer.context);
    }
    /* Why a negotiation failed may be told on a socket that asked for
     * security; one never secured negotiated nothing. */
    if (ipsec2 && is_secured)
        put_le32(out + QI(NegotiationWinerr), peer.negotiation_winerror);
    *info_len = (uint32_t)need;
    return accept_call(sock, overlapped, completion_routine, need);
}

int wsapeer_model_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len)
{
    const uint8_t *addr = (const uint8_t *)sockaddr;
    socket_facts facts;
    sock_state *state;
    record *r;
    uint64_t self = current_thread();
    size_t i;
    int err = check_socket(sock, &facts);

    if (err)
        return err;
    if (facts.stream) {
        /* Source: WSAImpersonateSocketPeer's page: for TCP the address is
         * ignored, "the connected socket uniquely identifies a peer". */
        addr = NULL;
        len = 0;
    } else {
        err = check_sockaddr(addr, len);
        if (err)
            return err;
        len = sockaddr_size(addr);
    }
    LOCK();
    state = state_for(sock, &facts);
    if (state == NULL)
        return out_of_memory();
    for (i = 0; i < impersonation_count && impersonations[i].thread != self; i++)
        ;
    if (i == impersonation_count && impersonation_count == impersonation_cap) {
        size_t cap = impersonation_cap ? 2 * impersonation_cap : 8;
        impersonation *grown = (impersonation *)realloc(impersonations, cap * sizeof *grown);
        if (grown == NULL)
            return out_of_memory();
        impersonations = grown;
        impersonation_cap = cap;
    }
    r = remember(WSAPEER_CALL_IMPERSONATE_SOCKET_PEER, sock, state, facts.ident, addr, len);
    if (r == NULL)
        return out_of_memory();
    if (i == impersonation_count)
        impersonation_count++;
    impersonations[i].thread = self;
    impersonations[i].sock = sock;
    impersonations[i].sequence = r->head.sequence;
    /* Windows impersonates whatever the peer is; on a connection its query
     * reports unsecured, the "peer" is whoever connected (strict mode). */
    if (!secured(state))
        flag(WSAPEER_RULE_IMPERSONATED_UNSECURED, sock, r->head.sequence,
             WSAPEER_CALL_IMPERSONATE_SOCKET_PEER);
    UNLOCK();
    return 0;
}

int wsapeer_model_revert_impersonation(void)
{
    uint64_t self = current_thread();
    size_t i;
    LOCK();
    if (remember(WSAPEER_CALL_REVERT_IMPERSONATION, 0, NULL, 0, NULL, 0) == NULL)
        return out_of_memory();
    /* Source: WSARevertImpersonation's page: "If the thread is not currently
     * impersonating a socket peer, no action is taken": still a success,
     * still recorded. */
    for (i = 0; i < impersonation_count; i++) {
        if (impersonations[i].thread == self) {
            impersonations[i] = impersonations[--impersonation_count];
            break;
        }
    }
    UNLOCK();
    return 0;
}
