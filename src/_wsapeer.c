/* _wsapeer.c: the calls behind wsapeer.
 *
 * Each call goes through the one seam (fwpuclnt.h) to the implementation
 * build_ffi.py compiled in: Fwpuclnt.dll on Windows, the contract model or
 * "unsupported" elsewhere. This file neither knows nor asks which. It never
 * includes Python.h (cffi's generated module does that).
 */
#include "wsapeer.h"
#include "fwpuclnt.h"
#include "secure_zero.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *wsapeer_call_name(int call)
{
    switch (call) {
    case WSAPEER_CALL_SET_PEER_TARGET_NAME:
        return "WSASetSocketPeerTargetName";
    case WSAPEER_CALL_SET_SOCKET_SECURITY:
        return "WSASetSocketSecurity";
    case WSAPEER_CALL_DELETE_PEER_TARGET_NAME:
        return "WSADeleteSocketPeerTargetName";
    case WSAPEER_CALL_QUERY_SOCKET_SECURITY:
        return "WSAQuerySocketSecurity";
    case WSAPEER_CALL_IMPERSONATE_SOCKET_PEER:
        return "WSAImpersonateSocketPeer";
    case WSAPEER_CALL_REVERT_IMPERSONATION:
        return "WSARevertImpersonation";
    default:
        return NULL;
    }
}

uint64_t wsapeer_max_socket(void)
{
#ifdef _WIN32
    return (uint64_t)(uintptr_t)~(uintptr_t)0; /* SOCKET is a UINT_PTR */
#else
    return (uint64_t)INT_MAX;
#endif
}

int wsapeer_set_peer_target_name(uint64_t sock, const void *ptn, size_t size)
{
    return wsapeer_fw_set_peer_target_name(sock, ptn, size, NULL, NULL);
}

int wsapeer_set_peer_target_name_item(uint64_t sock, const wsapeer_buffer *item)
{
    if (item == NULL || item->data == NULL)
        return WSAPEER_E_ARGUMENT;
    return wsapeer_fw_set_peer_target_name(sock, item->data, item->size, NULL, NULL);
}

/* A dotted-quad IPv4 address, strictly: four parts of 1 to 3 decimal digits,
 * each at most 255, "0" the only part starting with 0. 0, or -1 when s is
 * anything else (the caller's full path then decides). */
static int parse_ipv4(const wchar_t *s, uint8_t out[4])
{
    int part;
    for (part = 0; part < 4; part++) {
        unsigned value = 0, digits = 0;
        while (*s >= L'0' && *s <= L'9' && digits < 4) {
            if (digits == 1 && value == 0)
                return -1; /* a leading zero */
            value = value * 10 + (unsigned)(*s++ - L'0');
            digits++;
        }
        if (digits == 0 || digits > 3 || value > 255)
            return -1;
        out[part] = (uint8_t)value;
        if (part < 3 && *s++ != L'.')
            return -1;
    }
    return *s == 0 ? 0 : -1;
}

/* Names up to this many code units are marshalled on the stack. */
#define DIRECT_STACK_UNITS 440

int wsapeer_set_peer_target_name_text(uint64_t sock, uint32_t protocol, const wchar_t *host,
                                      uint16_t port, const wchar_t *name)
{
    uint64_t stack[(WSAPEER_PTN_HEADER_SIZE + 2 * DIRECT_STACK_UNITS) / 8];
    uint8_t *units = (uint8_t *)stack + WSAPEER_PTN_NAME_OFFSET, *heap = NULL;
    uint8_t address[4];
    size_t length, bytes, size;
    int status;

    if (name == NULL || protocol > WSAPEER_PROTOCOL_IPSEC2)
        return WSAPEER_E_FORMAT;
    if (host != NULL && parse_ipv4(host, address) != 0)
        return WSAPEER_E_FORMAT;
    if (host == NULL)
        port = 0; /* no peer, no port: the structure's PeerAddress stays all zero */
    /* Bounded: a name of more wchar_t than UTF-16 units allowed is refused
     * without reading the rest. */
    for (length = 0; length <= WSAPEER_MAX_NAME_UNITS && name[length] != 0; length++)
        ;
    if (length == 0 || length > WSAPEER_MAX_NAME_UNITS)
        return WSAPEER_E_FORMAT;
    /* Written in place, after the header, when it fits on the stack; at most
     * two bytes per wchar_t, four for an astral character. */
    if (length > DIRECT_STACK_UNITS / 2) {
        heap = (uint8_t *)malloc(4 * length);
        if (heap == NULL)
            return WSAPEER_E_NOMEM;
        units = heap;
    }
    bytes = wsapeer_utf16le_from_wide(
        units, heap ? 4 * length : sizeof stack - WSAPEER_PTN_HEADER_SIZE, name, length);
    if (bytes == 0 || bytes / 2 > WSAPEER_MAX_NAME_UNITS) {
        free(heap);
        return WSAPEER_E_FORMAT; /* a lone surrogate, or too long once encoded */
    }
    if (heap == NULL) {
        /* The name is already where the structure wants it. */
        size = wsapeer_ptn_size(bytes / 2);
        status = wsapeer_ptn_header(stack, size, protocol,
                                    host ? WSAPEER_PEER_IPV4 : WSAPEER_PEER_NONE,
                                    host ? address : NULL, port, bytes / 2);
        if (status == WSAPEER_OK)
            status = wsapeer_fw_set_peer_target_name(sock, stack, size, NULL, NULL);
        return status;
    }
    status = wsapeer_set_peer_target_name_direct(sock, protocol,
                                                 host ? WSAPEER_PEER_IPV4 : WSAPEER_PEER_NONE,
                                                 host ? address : NULL, port, 0, 0, heap,
                                                 bytes / 2);
    free(heap);
    return status;
}

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
    return wsapeer_fw_set_socket_security(sock, settings, size, NULL, NULL);
}

int wsapeer_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t size)
{
    return wsapeer_fw_delete_peer_target_name(sock, sockaddr, size, NULL, NULL);
}

/* The largest answer believed: far above the 64 bytes any SDK defines. */
#define QUERY_INFO_LIMIT 4096

/* An answer Windows called a success but too short to parse: the buffer
 * (cap bytes) started zeroed, so tokens found in it anyway are Windows',
 * past the length it wrote back. Closed, never leaked. */
static void close_stray_tokens(const uint8_t *info, size_t cap)
{
    wsapeer_query_info stray;
    if (wsapeer_query_info_parse(info, cap, &stray) == WSAPEER_OK) {
        (void)wsapeer_close_token(stray.application_token);
        (void)wsapeer_close_token(stray.machine_token);
    }
}

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
        uint32_t len = (uint32_t)cap;
        status = wsapeer_fw_query_socket_security(sock, tmpl, tmpl_size, info, &len, NULL,
                                                  NULL);
        if (status == WSAPEER_OK) {
            status = wsapeer_query_info_parse(info, len <= cap ? len : cap, out);
            if (status != WSAPEER_OK)
                close_stray_tokens(info, cap);
            break;
        }
        if ((status != WSAPEER_WSAEMSGSIZE && status != WSAPEER_WSAEFAULT) || len <= cap ||
            len > QUERY_INFO_LIMIT)
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

int wsapeer_query_size_probe(uint64_t sock, const void *tmpl, size_t tmpl_size,
                             uint32_t info_cap, uint32_t *info_len)
{
    uint8_t *info = NULL;
    int status;

    if (info_len == NULL || info_cap > QUERY_INFO_LIMIT)
        return WSAPEER_E_ARGUMENT;
    if (info_cap != 0 && (info = (uint8_t *)calloc(1, info_cap)) == NULL)
        return WSAPEER_E_NOMEM;
    *info_len = info_cap;
    status = wsapeer_fw_query_socket_security(sock, tmpl, tmpl_size, info, info_len, NULL, NULL);
    if (status == WSAPEER_OK && info != NULL) {
        wsapeer_query_info answer;
        /* Windows may report a length above what it had room for: parse only
         * what the buffer holds. */
        if (wsapeer_query_info_parse(info, *info_len <= info_cap ? *info_len : info_cap,
                                     &answer) == WSAPEER_OK) {
            (void)wsapeer_close_token(answer.application_token);
            (void)wsapeer_close_token(answer.machine_token);
        } else {
            close_stray_tokens(info, info_cap);
        }
    }
    free(info);
    return status;
}

int wsapeer_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t size)
{
    return wsapeer_fw_impersonate_socket_peer(sock, sockaddr, size);
}

int wsapeer_revert_impersonation(void)
{
    return wsapeer_fw_revert_impersonation();
}

int wsapeer_close_token(uint64_t handle)
{
    return handle == 0 ? WSAPEER_OK : wsapeer_fw_close_token(handle);
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

size_t wsapeer_utf16le_from_wide(uint8_t *out, size_t cap, const wchar_t *s, size_t n)
{
    size_t i, at = 0;
    if (out == NULL || (s == NULL && n != 0))
        return 0;
    for (i = 0; i < n; i++) {
        uint32_t c = (uint32_t)s[i];
        if (sizeof(wchar_t) == 2 && c >= 0xD800 && c <= 0xDBFF && i + 1 < n &&
            (uint32_t)s[i + 1] >= 0xDC00 && (uint32_t)s[i + 1] <= 0xDFFF) {
            /* Windows: a surrogate pair is already UTF-16 */
            if (cap - at < 4)
                return 0;
            out[at] = (uint8_t)c, out[at + 1] = (uint8_t)(c >> 8);
            c = (uint32_t)s[++i];
            out[at + 2] = (uint8_t)c, out[at + 3] = (uint8_t)(c >> 8);
            at += 4;
            continue;
        }
        if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
            return 0;
        if (c >= 0x10000) {
            uint32_t high = 0xD800 + ((c - 0x10000) >> 10), low = 0xDC00 + (c & 0x3FF);
            if (cap - at < 4)
                return 0;
            out[at] = (uint8_t)high, out[at + 1] = (uint8_t)(high >> 8);
            out[at + 2] = (uint8_t)low, out[at + 3] = (uint8_t)(low >> 8);
            at += 4;
        } else {
            if (cap - at < 2)
                return 0;
            out[at] = (uint8_t)c, out[at + 1] = (uint8_t)(c >> 8);
            at += 2;
        }
    }
    return at;
}

int wsapeer_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = (const volatile uint8_t *)a;
    const volatile uint8_t *y = (const volatile uint8_t *)b;
    uint8_t diff = 0;
    size_t i;
    if (a == NULL || b == NULL)
        return a == b && n == 0;
    for (i = 0; i < n; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
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
