/* test_shim.c: the Wine suite. The shim as a Windows release build has it
 * (the sources build_ffi.py chooses for win32, compiled by mingw-w64 against
 * the real headers and linked against the real libfwpuclnt.a) runs on real
 * Wine sockets; the fwpuclnt.dll it loads is the contract model
 * (src/model/model.c + model_dll.c). Expected bytes come from
 * sdk_reference.h, never from the shim.
 *
 * The model exists once, in fwpuclnt.dll: model.h is included for its types
 * and constants only, and its controls are reached through GetProcAddress
 * (tests/windows/run checks that this program defines none of them).
 *
 * Prints one line per check and "N passed, N failed" last.
 */
#include "sdk_security.h"

#include "wsapeer.h"
#include "model.h"

#include <malloc.h>
#include <stdio.h>

#define WSAPEER_TEST_PORT_KEY 0x5eed

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

/* The model inside fwpuclnt.dll, reached the way a test harness would. */
static struct {
    void (*reset)(void);
    size_t (*record_count)(void);
    int (*record_get)(size_t, wsapeer_model_record *, uint8_t *, size_t);
    int (*set_completion)(int);
    size_t (*complete_pending)(size_t);
    size_t (*abort_pending)(size_t);
    size_t (*pending_count)(void);
    int (*associate)(uint64_t, void *, uintptr_t);
    int (*set_peer_security)(uint32_t, int, uint64_t, uint64_t, uint32_t, const uint8_t *);
    int (*token_closes)(uint64_t);
    int (*impersonating)(uint64_t *);
    int (*cancel)(void *);
} dll;

static int load_model_dll(void)
{
    HMODULE m = GetModuleHandleA("fwpuclnt.dll");
    if (m == NULL)
        return 0;
#define GET(field, name)                                                      \
    if ((*(FARPROC *)&dll.field = GetProcAddress(m, name)) == NULL)          \
        return 0;
    GET(reset, "wsapeer_model_reset");
    GET(record_count, "wsapeer_model_record_count");
    GET(record_get, "wsapeer_model_record_get");
    GET(set_completion, "wsapeer_model_set_completion");
    GET(complete_pending, "wsapeer_model_complete_pending");
    GET(abort_pending, "wsapeer_model_abort_pending");
    GET(pending_count, "wsapeer_model_pending_count");
    GET(associate, "wsapeer_model_associate");
    GET(set_peer_security, "wsapeer_model_set_peer_security");
    GET(token_closes, "wsapeer_model_token_closes");
    GET(impersonating, "wsapeer_model_impersonating");
    GET(cancel, "wsapeer_model_cancel");
#undef GET
    return 1;
}

/* Marshals vector t with the shim: returns a malloc'd buffer, size in *size. */
static uint8_t *shim_marshal(const sdk_vector *t, size_t *size)
{
    size_t units;
    const wchar_t *name = sdk_name(t, &units);
    uint8_t address[16] = {0};
    int kind = WSAPEER_PEER_NONE;
    uint8_t *out;

    if (t->family == AF_INET) {
        kind = WSAPEER_PEER_IPV4;
        InetPtonA(AF_INET, t->host, address);
    } else if (t->family == AF_INET6) {
        kind = WSAPEER_PEER_IPV6;
        InetPtonA(AF_INET6, t->host, address);
    }
    *size = wsapeer_ptn_size(units);
    out = malloc(*size + 16);
    if (out == NULL)
        return NULL;
    memset(out, 0xA5, *size + 16); /* the shim must write every byte */
    if (wsapeer_ptn_marshal(out, *size, (uint32_t)t->protocol, kind, address, t->port,
                            (uint32_t)t->flowinfo, (uint32_t)t->scope_id,
                            (const uint8_t *)name, units) != WSAPEER_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static void test_marshal_matches_sdk(void)
{
    size_t v;
    for (v = 0; v < SDK_VECTOR_COUNT; v++) {
        size_t sdk_size, shim_size, i;
        SOCKET_PEER_TARGET_NAME *sdk = sdk_fill(&sdk_vectors[v], &sdk_size);
        uint8_t *shim = shim_marshal(&sdk_vectors[v], &shim_size);
        CHECK(sdk && shim, "vector %u: marshal failed", (unsigned)v);
        if (sdk && shim) {
            CHECK(sdk_size == shim_size, "vector %u: size %u vs SDK %u", (unsigned)v,
                  (unsigned)shim_size, (unsigned)sdk_size);
            CHECK(memcmp(sdk, shim, sdk_size) == 0, "vector %u: bytes differ from the SDK's",
                  (unsigned)v);
            for (i = 0; i < 16; i++)
                if (shim[shim_size + i] != 0xA5)
                    break;
            CHECK(i == 16, "vector %u: the shim wrote past the buffer", (unsigned)v);
        }
        free(sdk);
        free(shim);
    }
    CHECK(wsapeer_ptn_size(0) == 0 && wsapeer_ptn_size(32768) == 0, "size limits");
}

static int record_equals_fn(size_t index, SOCKET s, const void *bytes, size_t size,
                           int function)
{
    wsapeer_model_record head;
    uint8_t *buf = malloc(size + 1);
    int same;
    if (buf == NULL || dll.record_get(index, &head, buf, size + 1) != WSAPEER_OK) {
        free(buf);
        return 0;
    }
    same = head.sock == (uint64_t)s && head.size == size &&
           head.function == function && memcmp(buf, bytes, size) == 0;
    free(buf);
    return same;
}

static int record_equals(size_t index, SOCKET s, const void *bytes, size_t size)
{
    return record_equals_fn(index, s, bytes, size, WSAPEER_CALL_SET_PEER_TARGET_NAME);
}

/* A vector's SDK bytes, handed to Windows through the shim's call path. */
static int shim_set(SOCKET s, const sdk_vector *t)
{
    size_t size;
    uint8_t *buf = shim_marshal(t, &size);
    int status = buf ? wsapeer_set_peer_target_name((uint64_t)s, buf, size) : -100;
    free(buf);
    return status;
}

static void test_tcp_before_connect(int family)
{
    SOCKET s = socket(family, SOCK_STREAM, IPPROTO_TCP);
    const sdk_vector *t = &sdk_vectors[0];
    size_t size;
    SOCKET_PEER_TARGET_NAME *sdk = sdk_fill(t, &size);

    dll.reset();
    CHECK(s != INVALID_SOCKET, "socket(%d, SOCK_STREAM)", family);
    CHECK(shim_set(s, t) == 0, "TCP family %d: set before connect", family);
    CHECK(dll.record_count() == 1 && record_equals(0, s, sdk, size),
          "TCP family %d: the model received the SDK's bytes", family);
    free(sdk);
    closesocket(s);
}

static void test_udp_several_peers(void)
{
    SOCKET s4 = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    SOCKET s6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    size_t v, expected = 0;

    dll.reset();
    for (v = 0; v < SDK_VECTOR_COUNT; v++) {
        const sdk_vector *t = &sdk_vectors[v];
        SOCKET s = t->family == AF_INET ? s4 : s6;
        size_t size;
        SOCKET_PEER_TARGET_NAME *sdk;
        if (t->family == 0)
            continue;
        sdk = sdk_fill(t, &size);
        CHECK(shim_set(s, t) == 0, "UDP vector %u accepted", (unsigned)v);
        /* 2001:db8::1 and 2001:db8::2 etc. are distinct peers: one record each. */
        CHECK(dll.record_count() == ++expected, "UDP vector %u: %u records", (unsigned)v,
              (unsigned)dll.record_count());
        CHECK(record_equals(expected - 1, s, sdk, size), "UDP vector %u: bytes received",
              (unsigned)v);
        free(sdk);
    }
    /* The same peer again replaces its record instead of adding one. */
    CHECK(shim_set(s4, &sdk_vectors[1]) == 0, "UDP repeat accepted");
    CHECK(dll.record_count() == expected, "UDP repeat for one peer replaced its record");
    closesocket(s4);
    closesocket(s6);
}

static SOCKET connected_pair(int type, SOCKET *server_side)
{
    SOCKET listener = socket(AF_INET, type, 0), client = socket(AF_INET, type, 0);
    struct sockaddr_in addr;
    int len = sizeof addr;

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener, (struct sockaddr *)&addr, sizeof addr);
    getsockname(listener, (struct sockaddr *)&addr, &len);
    if (type == SOCK_STREAM)
        listen(listener, 1);
    if (connect(client, (struct sockaddr *)&addr, sizeof addr) != 0) {
        closesocket(listener);
        closesocket(client);
        return INVALID_SOCKET;
    }
    if (type == SOCK_STREAM) {
        *server_side = accept(listener, NULL, NULL);
        closesocket(listener);
    } else {
        *server_side = listener;
    }
    return client;
}

static void test_documented_errors(void)
{
    const sdk_vector *tcp = &sdk_vectors[0], *udp = &sdk_vectors[1];
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), other, server;
    size_t size;
    uint8_t *buf = shim_marshal(tcp, &size);
    uint8_t *bad;
    sdk_vector zero = *udp;

    dll.reset();
    CHECK(wsapeer_set_peer_target_name((uint64_t)0x7ffc, buf, size) == WSAENOTSOCK,
          "a handle that is not a socket: WSAENOTSOCK");
    {
        HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
        CHECK(wsapeer_set_peer_target_name((uint64_t)(uintptr_t)event, buf, size) == WSAENOTSOCK,
              "an event handle: WSAENOTSOCK");
        CloseHandle(event);
    }
    CHECK(wsapeer_set_peer_target_name((uint64_t)s, NULL, size) == WSAEFAULT,
          "NULL PeerTargetName: WSAEFAULT");
    CHECK(wsapeer_set_peer_target_name((uint64_t)s, buf, 143) == WSAEMSGSIZE,
          "length shorter than the header: WSAEMSGSIZE");
    CHECK(wsapeer_set_peer_target_name((uint64_t)s, buf, size - 6) == WSAEMSGSIZE,
          "length shorter than the declared name: WSAEMSGSIZE");
    bad = malloc(size);
    memcpy(bad, buf, size);
    bad[0] = 3; /* SecurityProtocol past IPSEC2 */
    CHECK(wsapeer_set_peer_target_name((uint64_t)s, bad, size) == WSAEINVAL,
          "protocol out of range: WSAEINVAL");
    bad[0] = 0;
    ((SOCKET_PEER_TARGET_NAME *)bad)->PeerAddress.ss_family = AF_IPX;
    CHECK(wsapeer_set_peer_target_name((uint64_t)s, bad, size) == WSAEAFNOSUPPORT,
          "peer address family AF_IPX: WSAEAFNOSUPPORT");
    free(bad);

    zero.host = "0.0.0.0";
    zero.port = 0;
    other = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    CHECK(shim_set(other, &zero) == WSAEINVAL, "UDP with zero address and port: WSAEINVAL");
    CHECK(shim_set(other, tcp) == WSAEINVAL, "UDP with no peer at all: WSAEINVAL");
    zero.port = 500;
    CHECK(shim_set(other, &zero) == 0, "UDP with zero address but a port: accepted");
    closesocket(other);

    other = connected_pair(SOCK_STREAM, &server);
    CHECK(other != INVALID_SOCKET, "loopback TCP connection");
    CHECK(shim_set(other, tcp) == WSAEISCONN, "connected TCP socket: WSAEISCONN");
    CHECK(shim_set(server, tcp) == WSAEISCONN, "accepted TCP socket: WSAEISCONN");
    closesocket(other);
    closesocket(server);
    other = connected_pair(SOCK_DGRAM, &server);
    CHECK(other != INVALID_SOCKET, "connected UDP socket");
    CHECK(shim_set(other, udp) == WSAEISCONN, "connected UDP socket: WSAEISCONN");
    closesocket(other);
    closesocket(server);

    other = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (other == INVALID_SOCKET) {
        printf("skip SOCK_RAW: Wine could not create one (error %d)\n", WSAGetLastError());
    } else {
        CHECK(shim_set(other, udp) == WSAEINVAL, "SOCK_RAW socket: WSAEINVAL");
        closesocket(other);
    }
    other = socket(AF_UNIX, SOCK_STREAM, 0);
    if (other == INVALID_SOCKET) {
        printf("skip AF_UNIX: Wine could not create one (error %d)\n", WSAGetLastError());
    } else {
        CHECK(shim_set(other, tcp) == WSAEAFNOSUPPORT, "AF_UNIX socket: WSAEAFNOSUPPORT");
        closesocket(other);
    }
    CHECK(dll.record_count() == 1, "only the one valid call was recorded (%u)",
          (unsigned)dll.record_count());
    closesocket(s);
    free(buf);
}

/* The shim under test is what a release wheel has: no other implementation
 * of the seam can answer in it (run checks the linked image). */
static void test_release_build(void)
{
    const char *name = wsapeer_fwpuclnt();
    CHECK(name != NULL && strcmp(name, "windows") == 0,
          "the shim is the release build's: wsapeer_fwpuclnt() is \"%s\"", name ? name : "(null)");
}

static int routine_calls;
static LPWSAOVERLAPPED routine_ov;

static void CALLBACK on_complete(DWORD error, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags)
{
    (void)bytes;
    (void)flags;
    routine_calls += error == 0;
    routine_ov = ov;
}

/* Calls the model DLL directly, as Winsock's overlapped contract is its part. */
static int set_overlapped(SOCKET s, const sdk_vector *t, WSAOVERLAPPED *ov,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, SOCKET_PEER_TARGET_NAME **keep)
{
    size_t size;
    *keep = sdk_fill(t, &size);
    if (WSASetSocketPeerTargetName(s, *keep, (ULONG)size, ov, cr) == 0)
        return 0;
    return WSAGetLastError();
}

static void test_overlapped(void)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    WSAOVERLAPPED ov;
    SOCKET_PEER_TARGET_NAME *keep;
    DWORD bytes, flags;
    ULONG_PTR key;
    LPOVERLAPPED got;

    /* Immediate completion with an event: signalled, result readable. */
    dll.reset();
    memset(&ov, 0, sizeof ov);
    ov.hEvent = WSACreateEvent();
    CHECK(set_overlapped(s, &sdk_vectors[0], &ov, NULL, &keep) == 0, "overlapped: immediate success");
    CHECK(WaitForSingleObject(ov.hEvent, 0) == WAIT_OBJECT_0, "overlapped: event signalled");
    CHECK(WSAGetOverlappedResult(s, &ov, &bytes, FALSE, &flags), "overlapped: result is success");
    free(keep);

    /* Completion routine: runs only in an alertable wait, on this thread. */
    routine_calls = 0;
    memset(&ov, 0, sizeof ov);
    CHECK(set_overlapped(s, &sdk_vectors[0], &ov, on_complete, &keep) == 0, "routine: accepted");
    CHECK(routine_calls == 0, "routine: not run before an alertable wait");
    SleepEx(0, TRUE);
    CHECK(routine_calls == 1 && routine_ov == &ov, "routine: ran once with our OVERLAPPED");
    free(keep);

    /* A socket associated with a completion port gets a packet, unless the
     * event's low bit is set. */
    CHECK(CreateIoCompletionPort((HANDLE)s, port, WSAPEER_TEST_PORT_KEY, 0) == port,
          "associate with a completion port");
    dll.associate((uint64_t)s, port, WSAPEER_TEST_PORT_KEY);
    memset(&ov, 0, sizeof ov);
    CHECK(set_overlapped(s, &sdk_vectors[0], &ov, NULL, &keep) == 0, "port: accepted");
    CHECK(GetQueuedCompletionStatus(port, &bytes, &key, &got, 0) && got == (LPOVERLAPPED)&ov &&
              key == WSAPEER_TEST_PORT_KEY,
          "port: one packet for our OVERLAPPED");
    free(keep);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = (HANDLE)((ULONG_PTR)WSACreateEvent() | 1);
    CHECK(set_overlapped(s, &sdk_vectors[0], &ov, NULL, &keep) == 0, "low bit: accepted");
    CHECK(!GetQueuedCompletionStatus(port, &bytes, &key, &got, 0),
          "low bit: no packet reached the port");
    CHECK(WaitForSingleObject((HANDLE)((ULONG_PTR)ov.hEvent & ~(ULONG_PTR)1), 0) == WAIT_OBJECT_0,
          "low bit: the event is still signalled");
    free(keep);

    /* Pending: WSA_IO_PENDING, nothing signalled until the model completes it. */
    CHECK(dll.set_completion(WSAPEER_MODEL_PEND) == WSAPEER_OK, "switch the model to pend");
    memset(&ov, 0, sizeof ov);
    ov.hEvent = WSACreateEvent();
    CHECK(set_overlapped(s, &sdk_vectors[0], &ov, NULL, &keep) == WSA_IO_PENDING,
          "pend: WSA_IO_PENDING");
    CHECK(WaitForSingleObject(ov.hEvent, 0) == WAIT_TIMEOUT, "pend: event not yet signalled");
    CHECK(!WSAGetOverlappedResult(s, &ov, &bytes, FALSE, &flags) &&
              WSAGetLastError() == WSA_IO_INCOMPLETE,
          "pend: WSAGetOverlappedResult says incomplete");
    CHECK(dll.pending_count() == 1 && dll.complete_pending(10) == 1, "pend: one completed");
    CHECK(WaitForSingleObject(ov.hEvent, 0) == WAIT_OBJECT_0, "pend: event signalled after");
    CHECK(WSAGetOverlappedResult(s, &ov, &bytes, FALSE, &flags), "pend: success afterwards");
    CHECK(GetQueuedCompletionStatus(port, &bytes, &key, &got, 0) && got == (LPOVERLAPPED)&ov,
          "pend: packet posted at completion");
    free(keep);
    dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
    closesocket(s);
    CloseHandle(port);
}


/* ---- the rest of the family ------------------------------------------- */

static const uint8_t *guid_bytes(const GUID *g) { return (const uint8_t *)g; }

static uint8_t *shim_settings(const sdk_settings *t, size_t *size)
{
    size_t u = sdk_wlen(t->user) * 2, d = sdk_wlen(t->domain) * 2, p = sdk_wlen(t->password) * 2;
    uint8_t *out;
    *size = wsapeer_settings_size((uint32_t)t->protocol, u, d, p);
    out = malloc(*size + 16);
    if (out == NULL)
        return NULL;
    memset(out, 0xA5, *size + 16);
    if (wsapeer_settings_marshal(out, *size, (uint32_t)t->protocol, t->flags, t->ipsec_flags,
                                 t->mm ? guid_bytes(t->mm) : NULL, t->qm ? guid_bytes(t->qm) : NULL,
                                 (const uint8_t *)t->user, u, (const uint8_t *)t->domain, d,
                                 (const uint8_t *)t->password, p) != WSAPEER_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static uint8_t *shim_template(const sdk_template *t, size_t *size)
{
    uint8_t address[16] = {0};
    int kind = WSAPEER_PEER_NONE;
    uint8_t *out;
    if (t->peer.family == AF_INET) {
        kind = WSAPEER_PEER_IPV4;
        InetPtonA(AF_INET, t->peer.host, address);
    } else if (t->peer.family == AF_INET6) {
        kind = WSAPEER_PEER_IPV6;
        InetPtonA(AF_INET6, t->peer.host, address);
    }
    *size = t->ipsec2 ? WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE : WSAPEER_QUERY_TEMPLATE_SIZE;
    out = malloc(*size);
    if (out == NULL)
        return NULL;
    memset(out, 0xA5, *size);
    if (wsapeer_query_template_marshal(out, *size, (uint32_t)t->protocol, t->ipsec2, kind, address,
                                       t->peer.port, (uint32_t)t->peer.flowinfo,
                                       (uint32_t)t->peer.scope_id, t->access_mask, t->flags,
                                       t->field_mask) != WSAPEER_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static void test_security_structures_match_sdk(void)
{
    size_t v;
    for (v = 0; v < SDK_SETTINGS_COUNT; v++) {
        size_t sdk_size, shim_size;
        void *sdk = sdk_fill_settings(&sdk_settings_vectors[v], &sdk_size);
        uint8_t *shim = shim_settings(&sdk_settings_vectors[v], &shim_size);
        CHECK(sdk && shim && sdk_size == shim_size && memcmp(sdk, shim, sdk_size) == 0 &&
                  shim[shim_size] == 0xA5,
              "settings vector %u: the shim's bytes differ from the SDK's", (unsigned)v);
        free(sdk);
        free(shim);
    }
    for (v = 0; v < SDK_TEMPLATE_COUNT; v++) {
        size_t sdk_size, shim_size;
        void *sdk = sdk_fill_template(&sdk_template_vectors[v], &sdk_size);
        uint8_t *shim = shim_template(&sdk_template_vectors[v], &shim_size);
        CHECK(sdk && shim && sdk_size == shim_size && memcmp(sdk, shim, sdk_size) == 0,
              "template vector %u: the shim's bytes differ from the SDK's", (unsigned)v);
        free(sdk);
        free(shim);
    }
    for (v = 0; v < SDK_INFO_COUNT; v++) {
        const sdk_info *t = &sdk_info_vectors[v];
        size_t size;
        void *sdk = sdk_fill_info(t, &size);
        wsapeer_query_info info;
        CHECK(sdk && wsapeer_query_info_parse(sdk, size, &info) == WSAPEER_OK &&
                  info.protocol == (uint32_t)t->protocol && info.flags == t->flags &&
                  info.application_token == t->app && info.machine_token == t->machine &&
                  info.ipsec2 == t->ipsec2 &&
                  (!t->ipsec2 || (info.mm_sa_id == t->mm && info.qm_sa_id == t->qm &&
                                  info.negotiation_winerror == t->negotiation &&
                                  memcmp(info.sa_lookup_context, t->context, 16) == 0)),
              "info vector %u: parsed fields differ from the SDK's", (unsigned)v);
        free(sdk);
    }
}

static size_t find_record(int function, SOCKET s)
{
    size_t i, n = dll.record_count();
    wsapeer_model_record head;
    for (i = 0; i < n; i++)
        if (dll.record_get(i, &head, NULL, 0) == WSAPEER_OK && head.function == function &&
            head.sock == (uint64_t)s)
            return i;
    return (size_t)-1;
}

static void test_set_socket_security(void)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), other, server;
    const sdk_settings *ipsec = &sdk_settings_vectors[4];
    size_t size, sdk_size;
    uint8_t *buf = shim_settings(ipsec, &size);
    void *sdk = sdk_fill_settings(ipsec, &sdk_size);
    size_t at;

    dll.reset();
    CHECK(wsapeer_set_socket_security((uint64_t)s, buf, size) == 0, "IPsec settings accepted");
    at = find_record(WSAPEER_CALL_SET_SOCKET_SECURITY, s);
    CHECK(at != (size_t)-1 && record_equals_fn(at, s, sdk, sdk_size,
                                               WSAPEER_CALL_SET_SOCKET_SECURITY),
          "the model received the SDK's SOCKET_SECURITY_SETTINGS_IPSEC bytes");
    CHECK(wsapeer_set_socket_security((uint64_t)s, NULL, 0) == WSAEINVAL,
          "a second WSASetSocketSecurity on one socket: WSAEINVAL");
    closesocket(s);

    s = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    CHECK(wsapeer_set_socket_security((uint64_t)s, NULL, 0) == 0, "NULL settings: defaults");
    closesocket(s);
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CHECK(wsapeer_set_socket_security((uint64_t)s, buf, 7) == WSAEMSGSIZE,
          "settings shorter than SOCKET_SECURITY_SETTINGS: WSAEMSGSIZE");
    CHECK(wsapeer_set_socket_security((uint64_t)s, buf, 87) == WSAEMSGSIZE,
          "IPsec settings shorter than their header: WSAEMSGSIZE");
    /* The structure's 4 bytes of tail padding overlap AllStrings: 5 short is short. */
    CHECK(wsapeer_set_socket_security((uint64_t)s, buf, size - 5) == WSAEMSGSIZE,
          "IPsec settings shorter than their strings: WSAEMSGSIZE");
    buf[0] = 3;
    CHECK(wsapeer_set_socket_security((uint64_t)s, buf, size) == WSAEINVAL,
          "protocol out of range: WSAEINVAL");
    buf[0] = 1;
    CHECK(wsapeer_set_socket_security((uint64_t)0x7ffc, buf, size) == WSAENOTSOCK,
          "not a socket: WSAENOTSOCK");
    {
        struct sockaddr_in addr;
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(bind(s, (struct sockaddr *)&addr, sizeof addr) == 0, "bind");
        CHECK(wsapeer_set_socket_security((uint64_t)s, buf, size) == WSAEINVAL,
              "after bind: WSAEINVAL (security must come first)");
    }
    closesocket(s);
    other = connected_pair(SOCK_STREAM, &server);
    CHECK(wsapeer_set_socket_security((uint64_t)other, buf, size) == WSAEISCONN,
          "after connect: WSAEISCONN");
    closesocket(other);
    closesocket(server);
    free(buf);
    free(sdk);
}

static void test_delete_peer_target_name(void)
{
    SOCKET s = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    const sdk_vector *peer = &sdk_vectors[2]; /* 2001:db8::1 port 500 */
    uint8_t addr[32];
    int len;
    uint8_t address[16];

    dll.reset();
    InetPtonA(AF_INET6, peer->host, address);
    len = wsapeer_sockaddr_marshal(addr, sizeof addr, WSAPEER_PEER_IPV6, address, peer->port, 0, 0);
    CHECK(len == 28, "sockaddr_in6 is 28 bytes (%d)", len);
    CHECK(shim_set(s, peer) == 0 && shim_set(s, &sdk_vectors[6]) == 0, "two UDP peers named");
    CHECK(wsapeer_delete_peer_target_name((uint64_t)s, addr, (size_t)len) == 0, "delete accepted");
    CHECK(find_record(WSAPEER_CALL_SET_PEER_TARGET_NAME, s) != (size_t)-1 &&
              dll.record_count() == 2,
          "the other peer's name stays, the delete is recorded");
    CHECK(wsapeer_delete_peer_target_name((uint64_t)s, addr, (size_t)len) == WSAEINVAL,
          "delete of a peer without a name: WSAEINVAL");
    CHECK(wsapeer_delete_peer_target_name((uint64_t)s, NULL, 28) == WSAEFAULT,
          "NULL PeerAddr: WSAEFAULT");
    CHECK(wsapeer_delete_peer_target_name((uint64_t)s, addr, 27) == WSAEMSGSIZE,
          "short PeerAddr: WSAEMSGSIZE");
    addr[0] = AF_IPX;
    CHECK(wsapeer_delete_peer_target_name((uint64_t)s, addr, 28) == WSAEAFNOSUPPORT,
          "PeerAddr family AF_IPX: WSAEAFNOSUPPORT");
    closesocket(s);
}

static void test_query_socket_security(void)
{
    SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), client, server;
    SOCKET udp = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    struct sockaddr_in addr;
    int len = sizeof addr;
    wsapeer_query_info info;
    size_t size;
    uint8_t *tmpl;
    uint8_t context[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

    dll.reset();
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(wsapeer_set_socket_security((uint64_t)listener, NULL, 0) == 0, "secure the listener");
    bind(listener, (struct sockaddr *)&addr, sizeof addr);
    listen(listener, 1);
    getsockname(listener, (struct sockaddr *)&addr, &len);
    client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CHECK(connect(client, (struct sockaddr *)&addr, sizeof addr) == 0, "connect");
    server = accept(listener, NULL, NULL);

    CHECK(wsapeer_query_socket_security((uint64_t)client, NULL, 0, 0, &info) == 0 &&
              info.flags == 0,
          "a socket never secured reports no flags");
    CHECK(wsapeer_query_socket_security((uint64_t)server, NULL, 0, 0, &info) == 0 &&
              info.flags == 0 && info.application_token == 0,
          "a secured socket reports what the model pretends (nothing by default)");

    dll.set_peer_security(SOCKET_INFO_CONNECTION_SECURED | SOCKET_INFO_CONNECTION_ENCRYPTED, 1,
                          77, 78, 13801, context);
    tmpl = shim_template(&sdk_template_vectors[3], &size); /* IPSEC2, access mask 8 */
    /* Asked as if for a v1 answer: the model wants 64 bytes, says so with
     * WSAEFAULT (TCP), and the shim retries with what it asked for. */
    CHECK(wsapeer_query_socket_security((uint64_t)server, tmpl, size, 0, &info) == 0 &&
              info.ipsec2 && info.mm_sa_id == 77 && info.qm_sa_id == 78 &&
              info.negotiation_winerror == 13801 && memcmp(info.sa_lookup_context, context, 16) == 0,
          "size probe retried: IPSEC2 fields read");
    CHECK(info.flags == 3 && info.application_token && info.machine_token,
          "flags and two token handles");
    CHECK(dll.token_closes(info.application_token) == 0 &&
              dll.token_closes(info.machine_token) == 0,
          "tokens open until closed");
    CHECK(wsapeer_close_token(info.application_token) == 0 &&
              wsapeer_close_token(info.machine_token) == 0,
          "tokens closed with CloseHandle");
    CHECK(dll.token_closes(info.application_token) == 1 &&
              dll.token_closes(info.machine_token) == 1,
          "tokens are closed");
    CHECK(wsapeer_close_token(info.application_token) != 0, "a second close fails");
    free(tmpl);

    /* UDP: the template is required; the probe answers WSAEMSGSIZE. */
    CHECK(wsapeer_query_socket_security((uint64_t)udp, NULL, 0, 0, &info) == WSAEMSGSIZE,
          "UDP without a template: WSAEMSGSIZE");
    tmpl = shim_template(&sdk_template_vectors[1], &size); /* IPv4 peer, v1 */
    CHECK(wsapeer_query_socket_security((uint64_t)udp, tmpl, size, 0, &info) == 0 &&
              info.flags == 0,
          "UDP socket never secured: no flags");
    CHECK(wsapeer_query_socket_security((uint64_t)udp, tmpl, 100, 0, &info) == WSAEMSGSIZE,
          "UDP template shorter than the structure: WSAEMSGSIZE");
    free(tmpl);
    closesocket(client);
    closesocket(server);
    closesocket(listener);
    closesocket(udp);
}

static void test_impersonation(void)
{
    SOCKET client, server, udp = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    uint64_t who = 0;
    uint8_t addr[32], address[4] = {192, 0, 2, 1};
    int len = wsapeer_sockaddr_marshal(addr, sizeof addr, WSAPEER_PEER_IPV4, address, 500, 0, 0);

    dll.reset();
    client = connected_pair(SOCK_STREAM, &server);
    CHECK(wsapeer_impersonate_socket_peer((uint64_t)server, NULL, 0) == 0,
          "impersonate a connected TCP peer");
    CHECK(dll.impersonating(&who) == 1 && who == (uint64_t)server,
          "this thread impersonates that socket's peer");
    CHECK(wsapeer_revert_impersonation() == 0 && dll.impersonating(NULL) == 0, "reverted");
    CHECK(wsapeer_revert_impersonation() == 0, "revert without impersonation: no action, success");
    CHECK(wsapeer_impersonate_socket_peer((uint64_t)udp, NULL, 0) == WSAEFAULT,
          "UDP without PeerAddr: WSAEFAULT");
    CHECK(wsapeer_impersonate_socket_peer((uint64_t)udp, addr, 15) == WSAEMSGSIZE,
          "UDP with a short PeerAddr: WSAEMSGSIZE");
    CHECK(len == 16 && wsapeer_impersonate_socket_peer((uint64_t)udp, addr, 16) == 0,
          "UDP with a PeerAddr");
    wsapeer_revert_impersonation();
    closesocket(client);
    closesocket(server);
    closesocket(udp);
}


/* ---- overlapped operations and batches -------------------------------- */

/* Open handles in this process. GetProcessHandleCount answers 0 under Wine,
 * so count the handle values that are valid (Wine hands out small multiples
 * of 4, lowest free first). */
static DWORD handle_count(void)
{
    DWORD n = 0, flags;
    uintptr_t h;
    for (h = 4; h < 0x10000; h += 4)
        n += GetHandleInformation((HANDLE)h, &flags) != 0;
    return n;
}

/* A target for UDP peer 192.0.2.1:port, marshalled by the shim. */
static uint8_t *udp_target(unsigned short port, size_t *size)
{
    sdk_vector t = sdk_vectors[1];
    t.port = port;
    return shim_marshal(&t, size);
}

static volatile LONG completer_stop;
static size_t (*completer_outcome)(size_t);

/* Plays Windows finishing operations, from another thread, until told to
 * stop: completer_outcome says how they finish. */
static DWORD WINAPI completer(LPVOID delay_ms)
{
    Sleep((DWORD)(uintptr_t)delay_ms);
    while (!completer_stop) {
        completer_outcome(1000000);
        Sleep(1);
    }
    completer_outcome(1000000);
    return 0;
}

static HANDLE start_finisher(DWORD delay_ms, size_t (*outcome)(size_t))
{
    completer_stop = 0;
    completer_outcome = outcome;
    return CreateThread(NULL, 0, completer, (LPVOID)(uintptr_t)delay_ms, 0, NULL);
}

static HANDLE start_completer(DWORD delay_ms)
{
    return start_finisher(delay_ms, dll.complete_pending);
}

/* Wine's CancelIoEx cannot reach the operations fwpuclnt.dll pended, so the
 * cancellation Windows would deliver after the shim's CancelIoEx is played
 * by this thread: the operations complete as aborted. */
static HANDLE start_aborter(DWORD delay_ms)
{
    return start_finisher(delay_ms, dll.abort_pending);
}

static void stop_completer(HANDLE thread)
{
    InterlockedExchange(&completer_stop, 1);
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
}

static void test_op_event_pending(void)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    size_t size;
    uint8_t *buf = udp_target(500, &size);
    wsapeer_op *op;
    ULONGLONG t0;

    dll.reset();
    dll.set_completion(WSAPEER_MODEL_PEND);
    op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size,
                        WSAPEER_OP_EVENT);
    memset(buf, 0xEE, size); /* the op owns a copy: the caller's buffer is free to go */
    CHECK(op != NULL && wsapeer_op_start(op) == WSAPEER_WSA_IO_PENDING, "op: pending");
    CHECK(!wsapeer_op_done(op) && wsapeer_op_result(op) == WSAPEER_WSA_IO_INCOMPLETE,
          "op: not done, result incomplete");
    t0 = GetTickCount64();
    CHECK(wsapeer_op_wait(op, 50) == 0 && GetTickCount64() - t0 >= 40, "op: wait times out");
    CHECK(dll.complete_pending(10) == 1, "op: the model completes it");
    CHECK(wsapeer_op_wait(op, WSAPEER_INFINITE) == 1 && wsapeer_op_result(op) == 0,
          "op: done, success");
    {
        size_t sdk_size;
        SOCKET_PEER_TARGET_NAME *sdk;
        sdk_vector t = sdk_vectors[1];
        t.port = 500;
        sdk = sdk_fill(&t, &sdk_size);
        CHECK(record_equals(0, s, sdk, sdk_size), "op: the model received the SDK's bytes");
        free(sdk);
    }
    wsapeer_op_release(op);
    CHECK(wsapeer_op_live() == 0, "op: freed");
    dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
    free(buf);
    closesocket(s);
}

static DWORD WINAPI wait_from_other_thread(LPVOID op)
{
    return (DWORD)(wsapeer_op_wait((wsapeer_op *)op, 0) == WSAPEER_E_THREAD);
}

static void test_op_routine(void)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    size_t size;
    uint8_t *buf = udp_target(501, &size);
    wsapeer_op *op;
    HANDLE other;
    DWORD refused = 0;

    dll.reset();
    dll.set_completion(WSAPEER_MODEL_PEND);
    op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size,
                        WSAPEER_OP_ROUTINE);
    CHECK(op && wsapeer_op_start(op) == WSAPEER_WSA_IO_PENDING, "routine: pending");
    other = CreateThread(NULL, 0, wait_from_other_thread, op, 0, NULL);
    WaitForSingleObject(other, INFINITE);
    GetExitCodeThread(other, &refused);
    CloseHandle(other);
    CHECK(refused == 1, "routine: another thread may not wait for it");
    CHECK(dll.complete_pending(10) == 1, "routine: completed, APC queued");
    CHECK(!wsapeer_op_done(op), "routine: not done until this thread waits alertably");
    CHECK(wsapeer_op_wait(op, 1000) == 1 && wsapeer_op_result(op) == 0,
          "routine: the C routine ran in the wait and recorded success");
    wsapeer_op_release(op);

    /* Completed at once: the routine still runs only in an alertable wait. */
    dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
    op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size,
                        WSAPEER_OP_ROUTINE);
    CHECK(op && wsapeer_op_start(op) == 0 && !wsapeer_op_done(op),
          "routine: immediate success still waits for its APC");
    CHECK(wsapeer_op_wait(op, 1000) == 1 && wsapeer_op_result(op) == 0, "routine: then done");
    wsapeer_op_release(op);
    CHECK(wsapeer_op_live() == 0, "routine: freed");
    free(buf);
    closesocket(s);
}

static void test_op_no_stray_packets(void)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    size_t size;
    uint8_t *buf = udp_target(502, &size);
    DWORD bytes;
    ULONG_PTR key;
    LPOVERLAPPED got;
    int mode;

    dll.reset();
    CHECK(CreateIoCompletionPort((HANDLE)s, port, 7, 0) == port, "port: associated");
    dll.associate((uint64_t)s, port, 7);
    for (mode = WSAPEER_MODEL_IMMEDIATE; mode <= WSAPEER_MODEL_PEND; mode++) {
        wsapeer_op *op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size,
                                        WSAPEER_OP_EVENT);
        dll.set_completion(mode);
        wsapeer_op_start(op);
        dll.complete_pending(10);
        CHECK(wsapeer_op_wait(op, 1000) == 1 && wsapeer_op_result(op) == 0, "port: op done");
        CHECK(!GetQueuedCompletionStatus(port, &bytes, &key, &got, 0),
              "port: no packet for an operation that asked for none (%s)",
              mode ? "pended" : "immediate");
        wsapeer_op_release(op);
    }
    dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
    CloseHandle(port);
    free(buf);
    closesocket(s);
}

static DWORD WINAPI release_from_other_thread(LPVOID op)
{
    wsapeer_op_release((wsapeer_op *)op);
    return 0;
}

static void test_op_cancel_and_drop(void)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    size_t size;
    uint8_t *buf = udp_target(503, &size);
    wsapeer_op *op;
    HANDLE thread;
    ULONGLONG t0;
    int mode, found;

    dll.reset();
    dll.set_completion(WSAPEER_MODEL_PEND);
    for (mode = WSAPEER_OP_EVENT; mode <= WSAPEER_OP_ROUTINE; mode++) {
        /* The shim asks; only Windows' answer ends the operation. */
        op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size, mode);
        CHECK(op && wsapeer_op_start(op) == WSAPEER_WSA_IO_PENDING, "cancel: pending (mode %d)",
              mode);
        found = wsapeer_op_cancel(op);
        CHECK(!wsapeer_op_done(op) && dll.pending_count() == 1,
              "cancel: asking finishes nothing by itself (CancelIoEx found %d, mode %d)", found,
              mode);
        CHECK(dll.abort_pending(10) == 1, "cancel: the cancellation arrives (mode %d)", mode);
        if (mode == WSAPEER_OP_ROUTINE)
            CHECK(!wsapeer_op_done(op),
                  "cancel: a routine's cancellation waits for an alertable wait too");
        CHECK(wsapeer_op_wait(op, 1000) == 1 &&
                  wsapeer_op_result(op) == WSAPEER_WSA_OPERATION_ABORTED,
              "cancel: done with WSA_OPERATION_ABORTED (mode %d, result %d)", mode,
              wsapeer_op_result(op));
        CHECK(wsapeer_op_cancel(op) == 0, "cancel: nothing left to cancel (mode %d)", mode);
        wsapeer_op_release(op);
        CHECK(wsapeer_op_live() == 0, "cancel: freed (mode %d)", mode);

        /* The cancellation arriving from another thread while this one
         * waits: a routine's APC still runs here, in the wait. */
        op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size, mode);
        CHECK(op && wsapeer_op_start(op) == WSAPEER_WSA_IO_PENDING, "cancel: pending (mode %d)",
              mode);
        wsapeer_op_cancel(op);
        thread = start_aborter(50);
        CHECK(wsapeer_op_wait(op, 5000) == 1 &&
                  wsapeer_op_result(op) == WSAPEER_WSA_OPERATION_ABORTED,
              "cancel: delivered by another thread, done with WSA_OPERATION_ABORTED (mode %d)",
              mode);
        stop_completer(thread);
        wsapeer_op_release(op);

        /* Dropped mid-flight: freed only once the cancellation arrives. */
        op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size, mode);
        CHECK(op && wsapeer_op_start(op) == WSAPEER_WSA_IO_PENDING, "drop: pending (mode %d)",
              mode);
        thread = start_aborter(100);
        t0 = GetTickCount64();
        wsapeer_op_release(op);
        CHECK(wsapeer_op_live() == 0 && dll.pending_count() == 0 && GetTickCount64() - t0 >= 90,
              "drop: freed only after the cancellation arrived (mode %d)", mode);
        stop_completer(thread);
    }

    /* A routine-mode op dropped by another thread: nobody may wait for it
     * there, so it lives until its routine runs on the issuing thread. */
    op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size,
                        WSAPEER_OP_ROUTINE);
    CHECK(op && wsapeer_op_start(op) == WSAPEER_WSA_IO_PENDING, "drop elsewhere: pending");
    thread = CreateThread(NULL, 0, release_from_other_thread, op, 0, NULL);
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
    CHECK(wsapeer_op_live() == 1, "drop elsewhere: still alive while in flight");
    CHECK(dll.abort_pending(10) == 1 && wsapeer_op_live() == 1,
          "drop elsewhere: alive until the issuing thread waits alertably");
    SleepEx(0, TRUE);
    CHECK(wsapeer_op_live() == 0, "drop elsewhere: freed by its routine");

    /* Dropped, and Windows completes it after all: the same wait. */
    op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size,
                        WSAPEER_OP_EVENT);
    CHECK(wsapeer_op_start(op) == WSAPEER_WSA_IO_PENDING, "drop via dll: pending");
    thread = start_completer(100);
    t0 = GetTickCount64();
    wsapeer_op_release(op);
    CHECK(wsapeer_op_live() == 0 && GetTickCount64() - t0 >= 90,
          "drop via dll: freed only after the completion arrived");
    stop_completer(thread);
    dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
    free(buf);
    closesocket(s);
}

#define MANY 1000

/* One round of MANY concurrent pended operations; returns how many succeeded. */
static size_t thousand_ops_round(SOCKET s, DWORD *handles_during)
{
    static wsapeer_op *ops[MANY];
    size_t i, ok = 0, pending = 0;

    dll.reset();
    dll.set_completion(WSAPEER_MODEL_PEND);
    for (i = 0; i < MANY; i++) {
        size_t size;
        uint8_t *buf = udp_target((unsigned short)(1000 + i), &size);
        ops[i] = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, (uint64_t)s, buf, size,
                                WSAPEER_OP_EVENT);
        pending += wsapeer_op_start(ops[i]) == WSAPEER_WSA_IO_PENDING;
        free(buf);
    }
    *handles_during = handle_count();
    CHECK(pending == MANY && dll.pending_count() == MANY, "1000 ops in flight at once");
    CHECK(dll.complete_pending(MANY) == MANY, "1000 completed");
    for (i = 0; i < MANY; i++)
        ok += wsapeer_op_wait(ops[i], 5000) == 1 && wsapeer_op_result(ops[i]) == 0;
    CHECK(dll.record_count() == MANY, "1000 peers recorded");
    for (i = 0; i < MANY; i++)
        wsapeer_op_release(ops[i]);
    dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
    return ok;
}

/* Bytes in use in every heap of the process (Wine reports no PrivateUsage,
 * so walk the heaps: malloc and the shim's allocations live there). */
static SIZE_T private_bytes(void)
{
    HANDLE heaps[64];
    DWORD count = GetProcessHeaps(64, heaps), i;
    SIZE_T busy = 0;
    for (i = 0; i < count && i < 64; i++) {
        PROCESS_HEAP_ENTRY entry;
        entry.lpData = NULL;
        if (!HeapLock(heaps[i]))
            continue;
        while (HeapWalk(heaps[i], &entry))
            if (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY)
                busy += entry.cbData;
        HeapUnlock(heaps[i]);
    }
    return busy;
}

static void test_thousand_ops(void)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    DWORD before, during, after;
    SIZE_T memory_first, memory_last;
    int round;

    before = handle_count();
    CHECK(thousand_ops_round(s, &during) == MANY, "round 1: 1000 correct results");
    after = handle_count();
    memory_first = private_bytes();
    for (round = 2; round <= 5; round++)
        CHECK(thousand_ops_round(s, &during) == MANY, "round %d: 1000 correct results", round);
    memory_last = private_bytes();
    printf("info 1000 ops: handles %lu before, %lu in flight, %lu after; heap bytes in use "
           "%lu after round 1, %lu after round 5\n",
           (unsigned long)before, (unsigned long)during, (unsigned long)after,
           (unsigned long)memory_first, (unsigned long)memory_last);
    CHECK(after == before && handle_count() == before && wsapeer_op_live() == 0,
          "no handle or operation left behind (%lu -> %lu)", (unsigned long)before,
          (unsigned long)after);
    CHECK(memory_first && memory_last <= memory_first + 64 * 1024,
          "no memory growth over 4 more rounds (%lu -> %lu bytes)", (unsigned long)memory_first,
          (unsigned long)memory_last);
    closesocket(s);
}

/* A batch on a socket tied to a completion port (asyncio's proactor) must not
 * post packets either: the port's owner would take them for its own. */
static void test_batch_no_stray_packets(void)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    const int function = WSAPEER_CALL_SET_PEER_TARGET_NAME;
    const uint64_t sock = (uint64_t)s;
    wsapeer_buffer buffers[4];
    const wsapeer_buffer *inputs[4];
    int results[4], mode;
    DWORD bytes;
    ULONG_PTR key;
    LPOVERLAPPED got;
    size_t i;

    for (i = 0; i < 4; i++) {
        buffers[i].data = udp_target((unsigned short)(3000 + i), &buffers[i].size);
        inputs[i] = &buffers[i];
    }
    dll.reset();
    CHECK(CreateIoCompletionPort((HANDLE)s, port, 9, 0) == port, "batch port: associated");
    dll.associate(sock, port, 9);
    for (mode = WSAPEER_MODEL_IMMEDIATE; mode <= WSAPEER_MODEL_PEND; mode++) {
        HANDLE thread = NULL;
        dll.set_completion(mode);
        if (mode == WSAPEER_MODEL_PEND)
            thread = start_completer(20);
        CHECK(wsapeer_batch(4, &function, 1, &sock, 1, inputs, results, 5000) == 0 &&
                  results[0] == 0 && results[3] == 0,
              "batch port: done (%s)", mode ? "pended" : "immediate");
        if (thread)
            stop_completer(thread);
        CHECK(!GetQueuedCompletionStatus(port, &bytes, &key, &got, 0),
              "batch port: no packet for a batch that asked for none (%s)",
              mode ? "pended" : "immediate");
    }
    dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
    for (i = 0; i < 4; i++)
        free((void *)buffers[i].data);
    CloseHandle(port);
    closesocket(s);
}

static void test_batch(void)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    static int results[MANY];
    static uint64_t socks[MANY];
    static wsapeer_buffer buffers[MANY];
    static const wsapeer_buffer *inputs[MANY];
    const int function = WSAPEER_CALL_SET_PEER_TARGET_NAME;
    DWORD handles_before;
    HANDLE thread;
    ULONGLONG t0, elapsed;
    size_t i, ok = 0, aborted = 0, left;

    for (i = 0; i < MANY; i++) {
        buffers[i].data = udp_target((unsigned short)(2000 + i), &buffers[i].size);
        inputs[i] = &buffers[i];
        socks[i] = (uint64_t)s;
    }
    socks[7] = 0x7ffc; /* one bad item: its error, and nobody else's */
    dll.reset();
    dll.set_completion(WSAPEER_MODEL_PEND);
    handles_before = handle_count();
    thread = start_completer(20);
    CHECK(wsapeer_batch(MANY, &function, 1, socks, MANY, inputs, results, 10000) == 0,
          "batch of 1000 ran");
    stop_completer(thread);
    for (i = 0; i < MANY; i++)
        ok += results[i] == 0;
    CHECK(ok == MANY - 1 && results[7] == WSAENOTSOCK && dll.record_count() == MANY - 1,
          "batch: 999 successes, the bad item's WSAENOTSOCK (%u ok)", (unsigned)ok);
    CHECK(handle_count() == handles_before, "batch: no handle left behind");

    /* One socket shared by every item, as a UDP server sends. */
    dll.reset();
    CHECK(wsapeer_batch(MANY, &function, 1, socks, 1, inputs, results, 10000) == 0 &&
              dll.record_count() == MANY,
          "batch: one socket for all items");
    CHECK(wsapeer_batch(MANY, &function, 2, socks, 1, inputs, results, 10000) ==
              WSAPEER_E_ARGUMENT,
          "batch: a function array of neither 1 nor n entries is refused");

    /* Timeout: nothing completes in time, the batch cancels what is left,
     * and the cancellation arrives well after the timeout. */
    dll.reset();
    dll.set_completion(WSAPEER_MODEL_PEND);
    handles_before = handle_count();
    thread = start_aborter(200);
    t0 = GetTickCount64();
    CHECK(wsapeer_batch(10, &function, 1, socks, 10, inputs, results, 50) == 0, "batch: timeout");
    elapsed = GetTickCount64() - t0;
    left = dll.pending_count();
    stop_completer(thread);
    for (i = 0; i < 10; i++)
        aborted += results[i] == WSAPEER_WSA_OPERATION_ABORTED;
    CHECK(aborted == 9 && results[7] == WSAENOTSOCK,
          "batch: timed-out items cancelled, WSA_OPERATION_ABORTED (%u)", (unsigned)aborted);
    /* Returning before the cancellations arrived would have left Windows
     * owning the slots (and the event open): the batch waited for them. */
    CHECK(left == 0 && elapsed >= 190 && handle_count() == handles_before,
          "batch: returned once the cancellations arrived, nothing left pending "
          "(%u pending, %lu ms)",
          (unsigned)left, (unsigned long)elapsed);
    dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
    for (i = 0; i < MANY; i++)
        free((void *)buffers[i].data);
    closesocket(s);
}

static void test_op_query_tokens(void)
{
    SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), client, server;
    struct sockaddr_in addr;
    int len = sizeof addr;
    size_t size;
    uint8_t *tmpl = shim_template(&sdk_template_vectors[1], &size); /* access mask 8 */
    wsapeer_query_info info;
    wsapeer_op *op;

    dll.reset();
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    wsapeer_set_socket_security((uint64_t)listener, NULL, 0);
    bind(listener, (struct sockaddr *)&addr, sizeof addr);
    listen(listener, 1);
    getsockname(listener, (struct sockaddr *)&addr, &len);
    client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    connect(client, (struct sockaddr *)&addr, sizeof addr);
    server = accept(listener, NULL, NULL);
    dll.set_peer_security(SOCKET_INFO_CONNECTION_SECURED, 1, 0, 0, 0, NULL);

    op = wsapeer_op_new(WSAPEER_CALL_QUERY_SOCKET_SECURITY, (uint64_t)server, tmpl, size,
                        WSAPEER_OP_EVENT);
    CHECK(op && wsapeer_op_start(op) == 0 && wsapeer_op_wait(op, 1000) == 1,
          "query op: done");
    CHECK(wsapeer_op_query_info(op, &info) == 0 && info.flags == 1 && info.application_token,
          "query op: secured, with tokens");
    CHECK(wsapeer_op_query_info(op, &info) == 0 && info.application_token == 0,
          "query op: the tokens are handed over once");
    wsapeer_op_release(op);
    /* Taken tokens are the caller's to close. */
    {
        wsapeer_query_info again;
        op = wsapeer_op_new(WSAPEER_CALL_QUERY_SOCKET_SECURITY, (uint64_t)server, tmpl, size,
                            WSAPEER_OP_EVENT);
        wsapeer_op_start(op);
        wsapeer_op_wait(op, 1000);
        wsapeer_op_query_info(op, &again);
        wsapeer_op_release(op);
        CHECK(dll.token_closes(again.application_token) == 0, "query op: taken tokens stay open");
        wsapeer_close_token(again.application_token);
        wsapeer_close_token(again.machine_token);
    }
    wsapeer_close_token(info.machine_token);
    /* Nobody asked: the operation closes them when it is released. */
    op = wsapeer_op_new(WSAPEER_CALL_QUERY_SOCKET_SECURITY, (uint64_t)server, tmpl, size,
                        WSAPEER_OP_EVENT);
    wsapeer_op_start(op);
    wsapeer_op_wait(op, 1000);
    {
        /* peek without taking: the model's records hold nothing of tokens, so
         * read them through a second query's numbering: tokens are events. */
        DWORD before = handle_count();
        wsapeer_op_release(op);
        CHECK(handle_count() == before - 3, "query op: unclaimed tokens closed with the op "
                                            "(two tokens and the event: %lu -> %lu)",
              (unsigned long)before, (unsigned long)handle_count());
    }
    free(tmpl);
    closesocket(client);
    closesocket(server);
    closesocket(listener);
}

static void test_op_immediate_failure(void)
{
    size_t size;
    uint8_t *buf = udp_target(504, &size);
    wsapeer_op *op = wsapeer_op_new(WSAPEER_CALL_SET_PEER_TARGET_NAME, 0x7ffc, buf, size,
                                    WSAPEER_OP_EVENT);
    CHECK(op && wsapeer_op_start(op) == 0 && wsapeer_op_done(op) &&
              wsapeer_op_result(op) == WSAENOTSOCK,
          "op: immediate failure is done at once with its code");
    CHECK(wsapeer_op_start(op) == WSAPEER_E_ARGUMENT, "op: starts once");
    wsapeer_op_release(op);
    CHECK(wsapeer_op_new(99, 0, NULL, 0, WSAPEER_OP_EVENT) == NULL, "op: unknown function");
    free(buf);
}

/* ---- zeroing: nothing the shim frees still holds a password ------------ */

/* tests/windows/run links this program with -Wl,--wrap=free, so every free()
 * in the shim's objects (and this file's) comes here first. fwpuclnt.dll is a
 * module of its own with its own free(): the model's records are watched by
 * tests/test_zeroing.py on Linux instead. */
void __real_free(void *p);
void __wrap_free(void *p);

/* Random-looking, so that no unrelated memory holds it by chance. */
static const wchar_t watch_password[] = L"zW-3q9Xp.Lk7-vR2";
#define WATCH_BYTES (sizeof watch_password - sizeof(wchar_t)) /* no terminator */
/* Any 3 code units of the password left in a block count: a partly wiped copy
 * leaks too. (Shorter windows would start matching unrelated bytes.) */
#define WATCH_WINDOW 6

static volatile LONG watch_armed, watch_hits, watch_frees;
static volatile size_t watch_largest;

static int holds_password(const uint8_t *block, size_t size)
{
    const uint8_t *marker = (const uint8_t *)watch_password;
    size_t i, j;
    for (i = 0; i + WATCH_WINDOW <= size; i++)
        for (j = 0; j + WATCH_WINDOW <= WATCH_BYTES; j += 2)
            if (memcmp(block + i, marker + j, WATCH_WINDOW) == 0)
                return 1;
    return 0;
}

void __wrap_free(void *p)
{
    if (watch_armed && p != NULL) {
        size_t size = _msize(p);
        InterlockedIncrement(&watch_frees);
        if (size > watch_largest)
            watch_largest = size;
        if (holds_password((const uint8_t *)p, size))
            InterlockedIncrement(&watch_hits);
    }
    __real_free(p);
}

static void watch_arm(void)
{
    watch_hits = watch_frees = 0;
    watch_largest = 0;
    InterlockedExchange(&watch_armed, 1);
}

static void watch_disarm(void)
{
    InterlockedExchange(&watch_armed, 0);
}

/* SOCKET_SECURITY_SETTINGS_IPSEC holding watch_password, marshalled by the shim. */
static uint8_t *password_settings(size_t *size)
{
    static const wchar_t user[] = L"svc";
    size_t u = sizeof user - sizeof(wchar_t);
    uint8_t *out;
    *size = wsapeer_settings_size(WSAPEER_PROTOCOL_IPSEC, u, 0, WATCH_BYTES);
    out = malloc(*size);
    if (out != NULL &&
        wsapeer_settings_marshal(out, *size, WSAPEER_PROTOCOL_IPSEC, 0, 0, NULL, NULL,
                                 (const uint8_t *)user, u, NULL, 0,
                                 (const uint8_t *)watch_password, WATCH_BYTES) != WSAPEER_OK) {
        free(out);
        out = NULL;
    }
    return out;
}

/* This file's own copies are wiped before they go: only the shim's count. */
static void free_wiped(void *p, size_t size)
{
    if (p != NULL)
        SecureZeroMemory(p, size);
    free(p);
}

/* What the library must never do, seen; otherwise a zero below proves nothing. */
static void test_zeroing_controls(void)
{
    enum { NAME_UNITS = 600 }; /* over _wsapeer.c's 440-unit stack buffer: malloc'd */
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    wchar_t *name = malloc(NAME_UNITS * sizeof(wchar_t));
    uint8_t *copy = malloc(WATCH_BYTES);
    size_t i;

    dll.reset();
    watch_arm();
    memcpy(copy, watch_password, WATCH_BYTES);
    free(copy);
    copy = malloc(WATCH_BYTES);
    memcpy(copy, watch_password, WATCH_BYTES);
    memset(copy, 0, WATCH_BYTES - WATCH_WINDOW);
    free(copy);
    watch_disarm();
    CHECK(watch_hits == 2, "zeroing control: copies freed unwiped are seen, whole or partly "
                           "wiped (%ld of 2)", (long)watch_hits);

    for (i = 0; i < NAME_UNITS; i++)
        name[i] = watch_password[i % (WATCH_BYTES / 2)];
    watch_arm();
    /* The shim's marshalling buffer for a long name: freed unwiped, as
     * nothing requires of a target name. */
    CHECK(wsapeer_set_peer_target_name_direct((uint64_t)s, WSAPEER_PROTOCOL_DEFAULT,
                                              WSAPEER_PEER_NONE, NULL, 0, 0, 0,
                                              (const uint8_t *)name, NAME_UNITS) == 0,
          "zeroing control: long name set");
    watch_disarm();
    CHECK(watch_hits >= 1, "zeroing control: the shim's own free() is seen (%ld hits of %ld "
                           "frees)", (long)watch_hits, (long)watch_frees);
    free_wiped(name, NAME_UNITS * sizeof(wchar_t));
    dll.reset();
    closesocket(s);
}

/* An operation's copy of settings, freed by op_free whichever reference goes last. */
static void test_zeroing_ops(void)
{
    size_t size;
    uint8_t *settings = password_settings(&size);
    SOCKET s;
    wsapeer_op *op;
    HANDLE thread;
    int mode;

    CHECK(settings != NULL, "zeroing: settings with a password marshalled");
    if (settings == NULL)
        return;
    dll.reset();
    for (mode = WSAPEER_OP_EVENT; mode <= WSAPEER_OP_ROUTINE; mode++) {
        /* Completed at once: the caller's release frees it. */
        s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        watch_arm();
        op = wsapeer_op_new(WSAPEER_CALL_SET_SOCKET_SECURITY, (uint64_t)s, settings, size,
                            mode);
        CHECK(op && wsapeer_op_start(op) == 0 && wsapeer_op_wait(op, 1000) == 1 &&
                  wsapeer_op_result(op) == 0,
              "zeroing op: settings applied (mode %d)", mode);
        wsapeer_op_release(op);
        watch_disarm();
        CHECK(wsapeer_op_live() == 0 && watch_frees >= 2,
              "zeroing op: the op and its copy freed (mode %d, %ld frees)", mode,
              (long)watch_frees);
        CHECK(watch_hits == 0, "zeroing op: %ld freed block(s) held the password (mode %d)",
              (long)watch_hits, mode);
        closesocket(s);

        /* Dropped in flight: freed when the cancellation arrives. */
        s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        dll.set_completion(WSAPEER_MODEL_PEND);
        watch_arm();
        op = wsapeer_op_new(WSAPEER_CALL_SET_SOCKET_SECURITY, (uint64_t)s, settings, size,
                            mode);
        CHECK(op && wsapeer_op_start(op) == WSAPEER_WSA_IO_PENDING,
              "zeroing op: pending (mode %d)", mode);
        thread = start_aborter(20);
        wsapeer_op_release(op);
        stop_completer(thread);
        watch_disarm();
        dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
        CHECK(wsapeer_op_live() == 0 && watch_frees >= 2,
              "zeroing op: dropped in flight, freed after the cancellation (mode %d, %ld frees)",
              mode, (long)watch_frees);
        CHECK(watch_hits == 0,
              "zeroing op: dropped in flight, %ld freed block(s) held the password (mode %d)",
              (long)watch_hits, mode);
        closesocket(s);
    }
    free_wiped(settings, size);
}

/* wsapeer_batch's one block, holding a copy of every input. */
static void test_zeroing_batch(void)
{
    enum { N = 3 };
    const int function = WSAPEER_CALL_SET_SOCKET_SECURITY;
    size_t size, i, ok;
    uint8_t *settings = password_settings(&size);
    wsapeer_buffer buffer;
    const wsapeer_buffer *inputs[N];
    uint64_t socks[N];
    int results[N];
    HANDLE thread;
    int pend;

    if (settings == NULL)
        return;
    buffer.data = settings;
    buffer.size = size;
    for (pend = 0; pend <= 1; pend++) {
        dll.reset();
        for (i = 0; i < N; i++) {
            inputs[i] = &buffer;
            socks[i] = (uint64_t)socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        }
        thread = NULL;
        if (pend) {
            dll.set_completion(WSAPEER_MODEL_PEND);
            thread = start_completer(20);
        }
        watch_arm();
        CHECK(wsapeer_batch(N, &function, 1, socks, N, inputs, results, 10000) == 0,
              "zeroing batch: ran (%s)", pend ? "pended" : "immediate");
        watch_disarm();
        if (thread)
            stop_completer(thread);
        dll.set_completion(WSAPEER_MODEL_IMMEDIATE);
        for (ok = 0, i = 0; i < N; i++)
            ok += results[i] == 0;
        CHECK(ok == N && watch_largest >= N * size,
              "zeroing batch: %u applied, the block freed (%s, largest freed %lu bytes)",
              (unsigned)ok, pend ? "pended" : "immediate", (unsigned long)watch_largest);
        CHECK(watch_hits == 0, "zeroing batch: %ld freed block(s) held the password (%s)",
              (long)watch_hits, pend ? "pended" : "immediate");
        for (i = 0; i < N; i++)
            closesocket((SOCKET)socks[i]);
    }
    free_wiped(settings, size);
}

int main(void)
{
    WSADATA wsa;

    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0 || !load_model_dll()) {
        printf("FAIL fwpuclnt.dll is not the contract model (WINEDLLOVERRIDES=fwpuclnt=n?)\n");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    test_marshal_matches_sdk();
    test_tcp_before_connect(AF_INET);
    test_tcp_before_connect(AF_INET6);
    test_udp_several_peers();
    test_documented_errors();
    test_release_build();
    test_overlapped();
    test_security_structures_match_sdk();
    test_set_socket_security();
    test_delete_peer_target_name();
    test_query_socket_security();
    test_impersonation();
    test_op_event_pending();
    test_op_routine();
    test_op_no_stray_packets();
    test_batch_no_stray_packets();
    test_op_cancel_and_drop();
    test_thousand_ops();
    test_batch();
    test_op_query_tokens();
    test_op_immediate_failure();
    test_zeroing_ops();
    test_zeroing_batch();
    /* Last: the unwiped copies it frees could linger in blocks malloc hands out again. */
    test_zeroing_controls();
    WSACleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
