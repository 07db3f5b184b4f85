/* _wsapeer.c: the calls behind wsapeer.
 *
 * One backend switch decides where every call goes: to Fwpuclnt.dll on
 * Windows, or to the contract model (model.c) when Python's
 * testing.contract_model() turned it on. Elsewhere, with the model off, the
 * calls report WSAPEER_E_UNSUPPORTED: never success. This file compiles on
 * its own as a translation unit; it never includes Python.h (cffi's
 * generated module does that).
 */
#include "wsapeer.h"
#include "model.h"
#include "win_layout.h"
#include "secure_zero.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
/* What a failed Winsock call left in WSAGetLastError, never 0. */
static int last_error(void)
{
    int err = WSAGetLastError();
    return err > 0 ? err : WSAPEER_E_INTERNAL;
}

/* SOCKET is 4 bytes on 32-bit Windows; lengths are ULONG. */
#  define CHECK_ARGS(sock, size)                                              \
    if ((sock) != (uint64_t)(SOCKET)(sock) || (size) > 0xFFFFFFFFu)          \
        return WSAPEER_E_ARGUMENT
#endif

/* The benchmarks' endpoint: what every contender's call ends in. */
static uint8_t endpoint_copy[WSAPEER_PTN_HEADER_SIZE + 2 * WSAPEER_MAX_NAME_UNITS];
static size_t endpoint_size;
static uint64_t endpoint_count;

static int endpoint(const void *ptn, size_t size)
{
    if (ptn == NULL)
        return 10014; /* WSAEFAULT */
    if (size > sizeof endpoint_copy)
        return 10040; /* WSAEMSGSIZE */
    memcpy(endpoint_copy, ptn, size);
    endpoint_size = size;
    endpoint_count++;
    return WSAPEER_OK;
}

size_t wsapeer_endpoint_last(uint8_t *buf, size_t cap)
{
    if (buf != NULL)
        memcpy(buf, endpoint_copy, cap < endpoint_size ? cap : endpoint_size);
    return endpoint_size;
}

uint64_t wsapeer_endpoint_calls(void)
{
    return endpoint_count;
}

int wsapeer_set_peer_target_name(uint64_t sock, const void *ptn, size_t size)
{
    int backend = wsapeer_backend(); /* one load decides, native stays one branch */
    if (backend == WSAPEER_BACKEND_MODEL)
        return wsapeer_model_set_peer_target_name(sock, ptn, size, NULL, NULL);
    if (backend == WSAPEER_BACKEND_ENDPOINT)
        return endpoint(ptn, size);
#ifdef _WIN32
    CHECK_ARGS(sock, size);
    if (WSASetSocketPeerTargetName((SOCKET)sock, (const SOCKET_PEER_TARGET_NAME *)ptn,
                                   (ULONG)size, NULL, NULL) == 0)
        return WSAPEER_OK;
    return last_error();
#else
    (void)sock;
    (void)ptn;
    (void)size;
    return WSAPEER_E_UNSUPPORTED;
#endif
}

/* Names up to this many code units are marshalled on the stack. */
#define DIRECT_STACK_UNITS 440

int wsapeer_set_peer_target_name_direct(uint64_t sock, uint32_t protocol, int peer_kind,
                                        const uint8_t *address, uint16_t port,
                                        uint32_t flowinfo, uint32_t scope_id,
                                        const uint8_t *name, size_t name_units)
{
    uint64_t stack[(WSAPEER_PTN_HEADER_SIZE + 2 * DIRECT_STACK_UNITS) / 8];
    size_t size = wsapeer_ptn_size(name_units);
    void *buffer = stack;
    int status;

    if (size == 0)
        return WSAPEER_E_ARGUMENT;
    if (size > sizeof stack && (buffer = malloc(size)) == NULL)
        return WSAPEER_E_NOMEM;
    status = wsapeer_ptn_marshal(buffer, size, protocol, peer_kind, address, port, flowinfo,
                                 scope_id, name, name_units);
    if (status == WSAPEER_OK)
        status = wsapeer_set_peer_target_name(sock, buffer, size);
    if (buffer != stack)
        free(buffer);
    return status;
}

int wsapeer_set_socket_security(uint64_t sock, const void *settings, size_t size)
{
    if (wsapeer_model_enabled())
        return wsapeer_model_set_socket_security(sock, settings, size, NULL, NULL);
#ifdef _WIN32
    CHECK_ARGS(sock, size);
    if (WSASetSocketSecurity((SOCKET)sock, (const SOCKET_SECURITY_SETTINGS *)settings,
                             (ULONG)size, NULL, NULL) == 0)
        return WSAPEER_OK;
    return last_error();
#else
    (void)sock;
    (void)settings;
    (void)size;
    return WSAPEER_E_UNSUPPORTED;
#endif
}

int wsapeer_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t size)
{
    if (wsapeer_model_enabled())
        return wsapeer_model_delete_peer_target_name(sock, sockaddr, size, NULL, NULL);
#ifdef _WIN32
    CHECK_ARGS(sock, size);
    if (WSADeleteSocketPeerTargetName((SOCKET)sock, (const struct sockaddr *)sockaddr,
                                      (ULONG)size, NULL, NULL) == 0)
        return WSAPEER_OK;
    return last_error();
#else
    (void)sock;
    (void)sockaddr;
    (void)size;
    return WSAPEER_E_UNSUPPORTED;
#endif
}

/* One WSAQuerySocketSecurity call: status, with *len updated as Windows does. */
static int query_once(uint64_t sock, const void *tmpl, size_t tmpl_size, uint8_t *info,
                      size_t *len)
{
    if (wsapeer_model_enabled())
        return wsapeer_model_query_socket_security(sock, tmpl, tmpl_size, info, len, NULL, NULL);
#ifdef _WIN32
    {
        ULONG ulen = (ULONG)*len;
        int status = WSAPEER_OK;
        CHECK_ARGS(sock, tmpl_size);
        if (WSAQuerySocketSecurity((SOCKET)sock, (const SOCKET_SECURITY_QUERY_TEMPLATE *)tmpl,
                                   (ULONG)tmpl_size, (SOCKET_SECURITY_QUERY_INFO *)info, &ulen,
                                   NULL, NULL) != 0)
            status = last_error();
        *len = ulen;
        return status;
    }
#else
    (void)sock;
    (void)tmpl;
    (void)tmpl_size;
    (void)info;
    (void)len;
    return WSAPEER_E_UNSUPPORTED;
#endif
}

/* The largest answer believed: far above the 64 bytes any SDK defines. */
#define QUERY_INFO_LIMIT 4096

int wsapeer_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_size, int ipsec2,
                                  wsapeer_query_info *out)
{
    uint64_t inline_buffer[WSAPEER_QUERY_INFO_IPSEC2_SIZE / 8];
    uint8_t *info = (uint8_t *)inline_buffer;
    size_t cap = ipsec2 ? WSAPEER_QUERY_INFO_IPSEC2_SIZE : WSAPEER_QUERY_INFO_SIZE;
    int attempt, status = WSAPEER_E_INTERNAL;

    if (out == NULL)
        return WSAPEER_E_ARGUMENT;
    memset(out, 0, sizeof *out);
    memset(inline_buffer, 0, sizeof inline_buffer);
    /* The size probe's error is WSAEMSGSIZE in the reference page's table and
     * WSAEFAULT in Microsoft's own sample: either, with a larger size written
     * back, means "retry with that size". */
    for (attempt = 0; attempt < 3; attempt++) {
        size_t len = cap;
        status = query_once(sock, tmpl, tmpl_size, info, &len);
        if (status == WSAPEER_OK) {
            status = wsapeer_query_info_parse(info, len <= cap ? len : cap, out);
            break;
        }
        if ((status != 10040 && status != 10014) || len <= cap || len > QUERY_INFO_LIMIT)
            break;
        if (info != (uint8_t *)inline_buffer)
            free(info);
        info = (uint8_t *)calloc(1, len);
        if (info == NULL)
            return WSAPEER_E_NOMEM;
        cap = len;
    }
    if (info != (uint8_t *)inline_buffer)
        free(info);
    return status;
}

int wsapeer_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t size)
{
    if (wsapeer_model_enabled())
        return wsapeer_model_impersonate_socket_peer(sock, sockaddr, size);
#ifdef _WIN32
    CHECK_ARGS(sock, size);
    if (WSAImpersonateSocketPeer((SOCKET)sock, (const struct sockaddr *)sockaddr,
                                 (ULONG)size) == 0)
        return WSAPEER_OK;
    return last_error();
#else
    (void)sock;
    (void)sockaddr;
    (void)size;
    return WSAPEER_E_UNSUPPORTED;
#endif
}

int wsapeer_revert_impersonation(void)
{
    if (wsapeer_model_enabled())
        return wsapeer_model_revert_impersonation();
#ifdef _WIN32
    if (WSARevertImpersonation() == 0)
        return WSAPEER_OK;
    return last_error();
#else
    return WSAPEER_E_UNSUPPORTED;
#endif
}

int wsapeer_close_token(uint64_t handle)
{
    if (handle == 0)
        return WSAPEER_OK;
#ifdef _WIN32
    /* Real handles, from Windows or from the model alike. */
    if (handle != (uint64_t)(uintptr_t)handle)
        return WSAPEER_E_ARGUMENT;
    return CloseHandle((HANDLE)(uintptr_t)handle) ? WSAPEER_OK : (int)GetLastError();
#else
    /* Only the model hands out tokens here; by who issued it, not by the
     * switch, since the block may have ended since. */
    if (wsapeer_model_token_closes(handle) >= 0)
        return wsapeer_model_close_token(handle);
    return WSAPEER_E_UNSUPPORTED;
#endif
}

void wsapeer_token_release(void *handle)
{
    (void)wsapeer_close_token((uint64_t)(uintptr_t)handle);
}

/* A size word in front of each secret buffer, so that free can zero it all. */
#define SECRET_HEADER 16

void *wsapeer_secret_alloc(size_t size)
{
    uint8_t *p;
    if (size > (size_t)-1 - SECRET_HEADER)
        return NULL;
    p = (uint8_t *)calloc(1, SECRET_HEADER + size);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof size);
    return p + SECRET_HEADER;
}

void wsapeer_secret_wipe(void *buffer)
{
    size_t size;
    if (buffer == NULL)
        return;
    memcpy(&size, (uint8_t *)buffer - SECRET_HEADER, sizeof size);
    wsapeer_secure_zero(buffer, size);
}

void wsapeer_secret_free(void *buffer)
{
    uint8_t *p;
    size_t size;
    if (buffer == NULL)
        return;
    p = (uint8_t *)buffer - SECRET_HEADER;
    memcpy(&size, p, sizeof size);
    wsapeer_secure_zero(p, SECRET_HEADER + size);
    free(p);
}

const char *wsapeer_strerror(int status)
{
    switch (status) {
    case WSAPEER_OK:
        return "success";
    case WSAPEER_E_UNSUPPORTED:
        return "the Winsock secure socket extensions exist only on Windows "
               "Vista / Windows Server 2008 or later";
    case WSAPEER_E_ARGUMENT:
        return "the shim refused an argument outside the range it accepts";
    case WSAPEER_E_BUFFER:
        return "the buffer's size does not match the structure it holds";
    case WSAPEER_E_FORMAT:
        return "a field holds a value that is not a valid protocol, "
               "address family or name length";
    case WSAPEER_E_INTERNAL:
        return "the call failed without reporting an error code";
    case WSAPEER_E_NOMEM:
        return "out of memory";
    default:
        return "unknown status";
    }
}
