/* _wsapeer.c: the C shim behind wsapeer.
 *
 * Marshalling is pure C compiled on every platform, so bytes(PeerTargetName)
 * and what Windows receives come from one function. Calls into Fwpuclnt exist
 * only on Windows; elsewhere they report WSAPEER_E_UNSUPPORTED, never success.
 * This file compiles on its own as a translation unit; it never includes
 * Python.h (cffi's generated module does that).
 */
#ifdef _WIN32
#  ifndef _WIN32_WINNT
#    define _WIN32_WINNT 0x0601
#  endif
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#endif

#include "wsapeer.h"
#include "model.h"
#include "win_layout.h"

#include <string.h>

/* A compile-time check that works in every C compiler the wheels meet. */
#define WP_ASSERT(cond, tag) typedef char wp_assert_##tag[(cond) ? 1 : -1]

#define OFF_PROTOCOL offsetof(wp_peer_target_name, SecurityProtocol)
#define OFF_ADDRESS offsetof(wp_peer_target_name, PeerAddress)
#define OFF_NAME_LEN offsetof(wp_peer_target_name, PeerTargetNameStringLen)
#define OFF_NAME offsetof(wp_peer_target_name, AllStrings)
#define OFF_FAMILY (OFF_ADDRESS + offsetof(wp_sockaddr_storage, ss_family))
#define OFF_IN(field) (OFF_ADDRESS + offsetof(wp_sockaddr_in, field))
#define OFF_IN6(field) (OFF_ADDRESS + offsetof(wp_sockaddr_in6, field))
#define SIZE_IN(field) sizeof(((wp_sockaddr_in *)0)->field)
#define SIZE_IN6(field) sizeof(((wp_sockaddr_in6 *)0)->field)

/* The layout Windows uses (facts measured against the SDK headers). */
WP_ASSERT(sizeof(wp_peer_target_name) == WSAPEER_PTN_HEADER_SIZE, ptn_size);
WP_ASSERT(OFF_PROTOCOL == 0, ptn_protocol);
WP_ASSERT(OFF_ADDRESS == 8, ptn_address);
WP_ASSERT(OFF_NAME_LEN == 136, ptn_name_len);
WP_ASSERT(OFF_NAME == 140, ptn_name);
WP_ASSERT(sizeof(wp_sockaddr_storage) == 128, storage_size);
WP_ASSERT(OFF_FAMILY == 8, storage_family);
WP_ASSERT(sizeof(wp_sockaddr_in) == 16, in_size);
WP_ASSERT(OFF_IN(sin_port) == 10 && OFF_IN(sin_addr) == 12, in_fields);
WP_ASSERT(sizeof(wp_sockaddr_in6) == 28, in6_size);
WP_ASSERT(OFF_IN6(sin6_port) == 10 && OFF_IN6(sin6_flowinfo) == 12, in6_head);
WP_ASSERT(OFF_IN6(sin6_addr) == 16 && OFF_IN6(sin6_scope_id) == 32, in6_tail);
WP_ASSERT(SIZE_IN(sin_addr) == 4 && SIZE_IN6(sin6_addr) == 16, addr_sizes);
WP_ASSERT(WP_AF_INET == 2 && WP_AF_INET6 == 23, families);

static void put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Ports and IPv6 flowinfo travel in network byte order. */
static void put_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t get_be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | (uint32_t)p[1];
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* The working code's convention (facts file): code units for DEFAULT and
 * IPSEC, bytes for IPSEC2, whatever the reference page says. */
static uint32_t name_length_field(uint32_t protocol, size_t units)
{
    return (uint32_t)(protocol == WSAPEER_PROTOCOL_IPSEC2 ? units * 2 : units);
}

size_t wsapeer_ptn_size(size_t name_units)
{
    if (name_units == 0 || name_units > WSAPEER_MAX_NAME_UNITS)
        return 0;
    return WSAPEER_PTN_HEADER_SIZE + 2 * name_units;
}

int wsapeer_ptn_marshal(void *out, size_t out_size, uint32_t protocol,
                        int peer_kind, const uint8_t *address, uint16_t port,
                        uint32_t flowinfo, uint32_t scope_id,
                        const uint8_t *name, size_t name_units)
{
    uint8_t *p = (uint8_t *)out;
    size_t need = wsapeer_ptn_size(name_units);

    if (p == NULL || name == NULL || need == 0 ||
        protocol > WSAPEER_PROTOCOL_IPSEC2)
        return WSAPEER_E_ARGUMENT;
    if (out_size < need)
        return WSAPEER_E_BUFFER;

    switch (peer_kind) {
    case WSAPEER_PEER_NONE:
        if (port != 0 || flowinfo != 0 || scope_id != 0)
            return WSAPEER_E_ARGUMENT;
        memset(p, 0, need);
        break;
    case WSAPEER_PEER_IPV4:
        if (address == NULL || flowinfo != 0 || scope_id != 0)
            return WSAPEER_E_ARGUMENT;
        memset(p, 0, need);
        put_le16(p + OFF_FAMILY, WP_AF_INET);
        put_be16(p + OFF_IN(sin_port), port);
        memcpy(p + OFF_IN(sin_addr), address, SIZE_IN(sin_addr));
        break;
    case WSAPEER_PEER_IPV6:
        if (address == NULL || flowinfo > 0xFFFFFu)
            return WSAPEER_E_ARGUMENT;
        memset(p, 0, need);
        put_le16(p + OFF_FAMILY, WP_AF_INET6);
        put_be16(p + OFF_IN6(sin6_port), port);
        put_be32(p + OFF_IN6(sin6_flowinfo), flowinfo);
        memcpy(p + OFF_IN6(sin6_addr), address, SIZE_IN6(sin6_addr));
        put_le32(p + OFF_IN6(sin6_scope_id), scope_id);
        break;
    default:
        return WSAPEER_E_ARGUMENT;
    }
    put_le32(p + OFF_PROTOCOL, protocol);
    put_le32(p + OFF_NAME_LEN, name_length_field(protocol, name_units));
    memcpy(p + OFF_NAME, name, 2 * name_units);
    return WSAPEER_OK;
}

int wsapeer_ptn_parse(const uint8_t *buf, size_t size, wsapeer_ptn_fields *out)
{
    uint32_t length;

    if (buf == NULL || out == NULL)
        return WSAPEER_E_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (size < WSAPEER_PTN_HEADER_SIZE)
        return WSAPEER_E_BUFFER;

    out->protocol = get_le32(buf + OFF_PROTOCOL);
    if (out->protocol > WSAPEER_PROTOCOL_IPSEC2)
        return WSAPEER_E_FORMAT;

    switch (get_le16(buf + OFF_FAMILY)) {
    case 0:
        out->peer_kind = WSAPEER_PEER_NONE;
        break;
    case WP_AF_INET:
        out->peer_kind = WSAPEER_PEER_IPV4;
        out->port = (uint16_t)get_be16(buf + OFF_IN(sin_port));
        memcpy(out->address, buf + OFF_IN(sin_addr), SIZE_IN(sin_addr));
        break;
    case WP_AF_INET6:
        out->peer_kind = WSAPEER_PEER_IPV6;
        out->port = (uint16_t)get_be16(buf + OFF_IN6(sin6_port));
        out->flowinfo = get_be32(buf + OFF_IN6(sin6_flowinfo));
        memcpy(out->address, buf + OFF_IN6(sin6_addr), SIZE_IN6(sin6_addr));
        out->scope_id = get_le32(buf + OFF_IN6(sin6_scope_id));
        break;
    default:
        return WSAPEER_E_FORMAT;
    }

    length = get_le32(buf + OFF_NAME_LEN);
    out->name_length_field = length;
    out->name_offset = OFF_NAME;
    if (out->protocol == WSAPEER_PROTOCOL_IPSEC2) {
        if (length % 2 != 0)
            return WSAPEER_E_FORMAT;
        out->name_units = length / 2;
    } else {
        out->name_units = length;
    }
    if (out->name_units == 0 || out->name_units > WSAPEER_MAX_NAME_UNITS)
        return WSAPEER_E_FORMAT;
    if (size != wsapeer_ptn_size(out->name_units))
        return WSAPEER_E_BUFFER;
    return WSAPEER_OK;
}

#define FIELD(n, off, sz) { n, (uint32_t)(off), (uint32_t)(sz) }

static const wsapeer_field layout_none[] = {
    FIELD("PeerAddress", OFF_ADDRESS, sizeof(wp_sockaddr_storage)),
};

static const wsapeer_field layout_ipv4[] = {
    FIELD("PeerAddress.sin_family", OFF_FAMILY, 2),
    FIELD("PeerAddress.sin_port", OFF_IN(sin_port), SIZE_IN(sin_port)),
    FIELD("PeerAddress.sin_addr", OFF_IN(sin_addr), SIZE_IN(sin_addr)),
    FIELD("PeerAddress.sin_zero", OFF_IN(sin_zero), SIZE_IN(sin_zero)),
    FIELD("(rest of SOCKADDR_STORAGE)", OFF_ADDRESS + sizeof(wp_sockaddr_in),
          sizeof(wp_sockaddr_storage) - sizeof(wp_sockaddr_in)),
};

static const wsapeer_field layout_ipv6[] = {
    FIELD("PeerAddress.sin6_family", OFF_FAMILY, 2),
    FIELD("PeerAddress.sin6_port", OFF_IN6(sin6_port), SIZE_IN6(sin6_port)),
    FIELD("PeerAddress.sin6_flowinfo", OFF_IN6(sin6_flowinfo),
          SIZE_IN6(sin6_flowinfo)),
    FIELD("PeerAddress.sin6_addr", OFF_IN6(sin6_addr), SIZE_IN6(sin6_addr)),
    FIELD("PeerAddress.sin6_scope_id", OFF_IN6(sin6_scope_id),
          SIZE_IN6(sin6_scope_id)),
    FIELD("(rest of SOCKADDR_STORAGE)", OFF_ADDRESS + sizeof(wp_sockaddr_in6),
          sizeof(wp_sockaddr_storage) - sizeof(wp_sockaddr_in6)),
};

static size_t add_fields(wsapeer_field *out, size_t n, size_t max,
                         const wsapeer_field *fields, size_t count)
{
    size_t i;
    for (i = 0; i < count && n < max; i++)
        out[n++] = fields[i];
    return n;
}

size_t wsapeer_ptn_layout(int peer_kind, wsapeer_field *out, size_t max)
{
    static const wsapeer_field head[] = {
        FIELD("SecurityProtocol", OFF_PROTOCOL, 4),
        FIELD("(padding)", OFF_PROTOCOL + 4, OFF_ADDRESS - OFF_PROTOCOL - 4),
    };
    static const wsapeer_field tail[] = {
        FIELD("PeerTargetNameStringLen", OFF_NAME_LEN, 4),
        FIELD("AllStrings", OFF_NAME, 0),
    };
    size_t n = 0;

    if (out == NULL)
        return 0;
    n = add_fields(out, n, max, head, sizeof head / sizeof head[0]);
    switch (peer_kind) {
    case WSAPEER_PEER_IPV4:
        n = add_fields(out, n, max, layout_ipv4, sizeof layout_ipv4 / sizeof layout_ipv4[0]);
        break;
    case WSAPEER_PEER_IPV6:
        n = add_fields(out, n, max, layout_ipv6, sizeof layout_ipv6 / sizeof layout_ipv6[0]);
        break;
    default:
        n = add_fields(out, n, max, layout_none, sizeof layout_none / sizeof layout_none[0]);
        break;
    }
    return add_fields(out, n, max, tail, sizeof tail / sizeof tail[0]);
}

int wsapeer_set_peer_target_name(uint64_t sock, const void *ptn, size_t size)
{
    /* The one backend switch: Python turns it on only in testing.contract_model(). */
    if (wsapeer_model_enabled())
        return wsapeer_model_set_peer_target_name(sock, ptn, size, NULL, NULL);
#ifdef _WIN32
    if (sock != (uint64_t)(SOCKET)sock || size > 0xFFFFFFFFu)
        return WSAPEER_E_ARGUMENT;
    if (WSASetSocketPeerTargetName((SOCKET)sock,
                                   (const SOCKET_PEER_TARGET_NAME *)ptn,
                                   (ULONG)size, NULL, NULL) == 0)
        return WSAPEER_OK;
    {
        int err = WSAGetLastError();
        /* A failure without a code must still read as a failure. */
        return err > 0 ? err : WSAPEER_E_INTERNAL;
    }
#else
    (void)sock;
    (void)ptn;
    (void)size;
    return WSAPEER_E_UNSUPPORTED;
#endif
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
    default:
        return "unknown status";
    }
}
