/* marshal.c: the Windows secure socket structures, written and read in C.
 *
 * Pure functions compiled on every platform, so bytes(obj) in Python and what
 * Windows receives come from the same code. Every field is written at the
 * offset of the real SDK type (win_layout.h) in the byte order Windows uses,
 * whatever the host's, and every padding byte is zero.
 */
#include "wsapeer.h"
#include "win_layout.h"
#include "byte_order.h"

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
WP_ASSERT(OFF_NAME == WSAPEER_PTN_NAME_OFFSET, ptn_name_offset);
WP_ASSERT(sizeof(wp_sockaddr_storage) == 128, storage_size);
WP_ASSERT(OFF_FAMILY == 8, storage_family);
WP_ASSERT(sizeof(wp_sockaddr_in) == 16, in_size);
WP_ASSERT(OFF_IN(sin_port) == 10 && OFF_IN(sin_addr) == 12, in_fields);
WP_ASSERT(sizeof(wp_sockaddr_in6) == 28, in6_size);
WP_ASSERT(OFF_IN6(sin6_port) == 10 && OFF_IN6(sin6_flowinfo) == 12, in6_head);
WP_ASSERT(OFF_IN6(sin6_addr) == 16 && OFF_IN6(sin6_scope_id) == 32, in6_tail);
WP_ASSERT(SIZE_IN(sin_addr) == 4 && SIZE_IN6(sin6_addr) == 16, addr_sizes);
WP_ASSERT(WP_AF_INET == 2 && WP_AF_INET6 == 23, families);

/* Writes a Windows SOCKADDR_IN/SOCKADDR_IN6 at dst, which the caller zeroed
 * (NONE leaves it all zero); returns the size written or a negative status. */
static int write_sockaddr(uint8_t *dst, int peer_kind, const uint8_t *address,
                          uint16_t port, uint32_t flowinfo, uint32_t scope_id)
{
    switch (peer_kind) {
    case WSAPEER_PEER_NONE:
        if (port != 0 || flowinfo != 0 || scope_id != 0)
            return WSAPEER_E_ARGUMENT;
        return 0;
    case WSAPEER_PEER_IPV4:
        if (address == NULL || flowinfo != 0 || scope_id != 0)
            return WSAPEER_E_ARGUMENT;
        put_le16(dst + offsetof(wp_sockaddr_in, sin_family), WP_AF_INET);
        put_be16(dst + offsetof(wp_sockaddr_in, sin_port), port);
        memcpy(dst + offsetof(wp_sockaddr_in, sin_addr), address, SIZE_IN(sin_addr));
        return (int)sizeof(wp_sockaddr_in);
    case WSAPEER_PEER_IPV6:
        if (address == NULL || flowinfo > 0xFFFFFu)
            return WSAPEER_E_ARGUMENT;
        put_le16(dst + offsetof(wp_sockaddr_in6, sin6_family), WP_AF_INET6);
        put_be16(dst + offsetof(wp_sockaddr_in6, sin6_port), port);
        put_be32(dst + offsetof(wp_sockaddr_in6, sin6_flowinfo), flowinfo);
        memcpy(dst + offsetof(wp_sockaddr_in6, sin6_addr), address, SIZE_IN6(sin6_addr));
        put_le32(dst + offsetof(wp_sockaddr_in6, sin6_scope_id), scope_id);
        return (int)sizeof(wp_sockaddr_in6);
    default:
        return WSAPEER_E_ARGUMENT;
    }
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
    int status;

    if (p == NULL || name == NULL || need == 0 ||
        protocol > WSAPEER_PROTOCOL_IPSEC2)
        return WSAPEER_E_ARGUMENT;
    if (out_size < need)
        return WSAPEER_E_BUFFER;

    memset(p, 0, need);
    status = write_sockaddr(p + OFF_ADDRESS, peer_kind, address, port, flowinfo, scope_id);
    if (status < 0)
        return status;
    put_le32(p + OFF_PROTOCOL, protocol);
    put_le32(p + OFF_NAME_LEN, name_length_field(protocol, name_units));
    memcpy(p + OFF_NAME, name, 2 * name_units);
    return WSAPEER_OK;
}

int wsapeer_ptn_header(void *out, size_t out_size, uint32_t protocol, int peer_kind,
                       const uint8_t *address, uint16_t port, size_t name_units)
{
    uint8_t *p = (uint8_t *)out;
    size_t need = wsapeer_ptn_size(name_units);
    int status;

    if (p == NULL || need == 0 || protocol > WSAPEER_PROTOCOL_IPSEC2)
        return WSAPEER_E_ARGUMENT;
    if (out_size < need)
        return WSAPEER_E_BUFFER;
    memset(p, 0, OFF_NAME);
    memset(p + OFF_NAME + 2 * name_units, 0, need - OFF_NAME - 2 * name_units);
    status = write_sockaddr(p + OFF_ADDRESS, peer_kind, address, port, 0, 0);
    if (status < 0)
        return status;
    put_le32(p + OFF_PROTOCOL, protocol);
    put_le32(p + OFF_NAME_LEN, name_length_field(protocol, name_units));
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


/* ---- SOCKET_SECURITY_SETTINGS(_IPSEC) ---------------------------------- */

#define OFF_SET(field) offsetof(wp_security_settings, field)
#define OFF_SETI(field) offsetof(wp_security_settings_ipsec, field)

WP_ASSERT(sizeof(wp_security_settings) == WSAPEER_SETTINGS_SIZE, settings_size);
WP_ASSERT(OFF_SET(SecurityProtocol) == 0 && OFF_SET(SecurityFlags) == 4, settings_fields);
WP_ASSERT(sizeof(wp_guid) == 16, guid_size);
WP_ASSERT(sizeof(wp_security_settings_ipsec) == WSAPEER_SETTINGS_IPSEC_SIZE, ipsec_size);
WP_ASSERT(OFF_SETI(IpsecFlags) == 8 && OFF_SETI(AuthipMMPolicyKey) == 12, ipsec_head);
WP_ASSERT(OFF_SETI(AuthipQMPolicyKey) == 28 && OFF_SETI(Reserved) == 44, ipsec_keys);
WP_ASSERT(OFF_SETI(Reserved2) == 64 && OFF_SETI(UserNameStringLen) == 72, ipsec_reserved);
WP_ASSERT(OFF_SETI(DomainNameStringLen) == 76 && OFF_SETI(PasswordStringLen) == 80, ipsec_lens);
WP_ASSERT(OFF_SETI(AllStrings) == 84, ipsec_strings);

size_t wsapeer_settings_size(uint32_t protocol, size_t user_bytes, size_t domain_bytes,
                             size_t password_bytes)
{
    if (protocol == WSAPEER_PROTOCOL_DEFAULT)
        return user_bytes || domain_bytes || password_bytes ? 0 : WSAPEER_SETTINGS_SIZE;
    if (protocol > WSAPEER_PROTOCOL_IPSEC2 || user_bytes > WSAPEER_MAX_STRING_BYTES ||
        domain_bytes > WSAPEER_MAX_STRING_BYTES || password_bytes > WSAPEER_MAX_STRING_BYTES ||
        user_bytes % 2 || domain_bytes % 2 || password_bytes % 2)
        return 0;
    return WSAPEER_SETTINGS_IPSEC_SIZE + user_bytes + domain_bytes + password_bytes;
}

int wsapeer_settings_marshal(void *out, size_t out_size, uint32_t protocol, uint32_t flags,
                             uint32_t ipsec_flags, const uint8_t *mm_policy_key,
                             const uint8_t *qm_policy_key, const uint8_t *user,
                             size_t user_bytes, const uint8_t *domain, size_t domain_bytes,
                             const uint8_t *password, size_t password_bytes)
{
    uint8_t *p = (uint8_t *)out;
    size_t need = wsapeer_settings_size(protocol, user_bytes, domain_bytes, password_bytes);
    size_t at;

    if (p == NULL || need == 0 || (user_bytes && !user) || (domain_bytes && !domain) ||
        (password_bytes && !password))
        return WSAPEER_E_ARGUMENT;
    if (out_size < need)
        return WSAPEER_E_BUFFER;
    if (protocol == WSAPEER_PROTOCOL_DEFAULT &&
        (ipsec_flags || mm_policy_key || qm_policy_key))
        return WSAPEER_E_ARGUMENT;
    memset(p, 0, need);
    put_le32(p + OFF_SET(SecurityProtocol), protocol);
    put_le32(p + OFF_SET(SecurityFlags), flags);
    if (protocol == WSAPEER_PROTOCOL_DEFAULT)
        return WSAPEER_OK;
    put_le32(p + OFF_SETI(IpsecFlags), ipsec_flags);
    if (mm_policy_key)
        memcpy(p + OFF_SETI(AuthipMMPolicyKey), mm_policy_key, sizeof(wp_guid));
    if (qm_policy_key)
        memcpy(p + OFF_SETI(AuthipQMPolicyKey), qm_policy_key, sizeof(wp_guid));
    /* Lengths in bytes here (the documentation and working code agree). */
    put_le32(p + OFF_SETI(UserNameStringLen), (uint32_t)user_bytes);
    put_le32(p + OFF_SETI(DomainNameStringLen), (uint32_t)domain_bytes);
    put_le32(p + OFF_SETI(PasswordStringLen), (uint32_t)password_bytes);
    at = OFF_SETI(AllStrings);
    if (user_bytes)
        memcpy(p + at, user, user_bytes);
    at += user_bytes;
    if (domain_bytes)
        memcpy(p + at, domain, domain_bytes);
    at += domain_bytes;
    if (password_bytes)
        memcpy(p + at, password, password_bytes);
    return WSAPEER_OK;
}

/* ---- sockaddr, query template, query info ----------------------------- */

int wsapeer_sockaddr_marshal(void *out, size_t out_size, int peer_kind, const uint8_t *address,
                             uint16_t port, uint32_t flowinfo, uint32_t scope_id)
{
    size_t need = peer_kind == WSAPEER_PEER_IPV4 ? sizeof(wp_sockaddr_in)
                : peer_kind == WSAPEER_PEER_IPV6 ? sizeof(wp_sockaddr_in6) : 0;
    if (out == NULL || need == 0)
        return WSAPEER_E_ARGUMENT;
    if (out_size < need)
        return WSAPEER_E_BUFFER;
    memset(out, 0, need);
    return write_sockaddr((uint8_t *)out, peer_kind, address, port, flowinfo, scope_id);
}

#define OFF_QT(field) offsetof(wp_query_template_ipsec2, field)
#define OFF_QI(field) offsetof(wp_query_info_ipsec2, field)

WP_ASSERT(sizeof(wp_query_template) == WSAPEER_QUERY_TEMPLATE_SIZE, template_size);
WP_ASSERT(sizeof(wp_query_template_ipsec2) == WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE, template2_size);
WP_ASSERT(offsetof(wp_query_template, PeerAddress) == OFF_QT(PeerAddress) &&
          offsetof(wp_query_template, PeerTokenAccessMask) == OFF_QT(PeerTokenAccessMask),
          template_prefix);
WP_ASSERT(OFF_QT(PeerAddress) == 8 && OFF_QT(PeerTokenAccessMask) == 136, template_fields);
WP_ASSERT(OFF_QT(Flags) == 140 && OFF_QT(FieldMask) == 144, template2_fields);
WP_ASSERT(sizeof(wp_query_info) == WSAPEER_QUERY_INFO_SIZE, info_size);
WP_ASSERT(sizeof(wp_query_info_ipsec2) == WSAPEER_QUERY_INFO_IPSEC2_SIZE, info2_size);
WP_ASSERT(offsetof(wp_query_info, PeerMachineAccessTokenHandle) ==
              OFF_QI(PeerMachineAccessTokenHandle), info_prefix);
WP_ASSERT(OFF_QI(Flags) == 4 && OFF_QI(PeerApplicationAccessTokenHandle) == 8, info_head);
WP_ASSERT(OFF_QI(PeerMachineAccessTokenHandle) == 16 && OFF_QI(MmSaId) == 24, info_tokens);
WP_ASSERT(OFF_QI(QmSaId) == 32 && OFF_QI(NegotiationWinerr) == 40, info_sa);
WP_ASSERT(OFF_QI(SaLookupContext) == 44, info_context);

int wsapeer_query_template_marshal(void *out, size_t out_size, uint32_t protocol, int ipsec2,
                                   int peer_kind, const uint8_t *address, uint16_t port,
                                   uint32_t flowinfo, uint32_t scope_id, uint32_t access_mask,
                                   uint32_t flags, uint32_t field_mask)
{
    uint8_t *p = (uint8_t *)out;
    size_t need = ipsec2 ? sizeof(wp_query_template_ipsec2) : sizeof(wp_query_template);
    int status;

    if (p == NULL || protocol > WSAPEER_PROTOCOL_IPSEC2 || (!ipsec2 && (flags || field_mask)))
        return WSAPEER_E_ARGUMENT;
    if (out_size < need)
        return WSAPEER_E_BUFFER;
    memset(p, 0, need);
    status = write_sockaddr(p + OFF_QT(PeerAddress), peer_kind, address, port, flowinfo,
                            scope_id);
    if (status < 0)
        return status;
    put_le32(p + OFF_QT(SecurityProtocol), protocol);
    put_le32(p + OFF_QT(PeerTokenAccessMask), access_mask);
    if (ipsec2) {
        put_le32(p + OFF_QT(Flags), flags);
        put_le32(p + OFF_QT(FieldMask), field_mask);
    }
    return WSAPEER_OK;
}

int wsapeer_query_info_parse(const uint8_t *buf, size_t size, wsapeer_query_info *out)
{
    if (buf == NULL || out == NULL)
        return WSAPEER_E_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (size < sizeof(wp_query_info))
        return WSAPEER_E_BUFFER;
    out->protocol = get_le32(buf + OFF_QI(SecurityProtocol));
    out->flags = get_le32(buf + OFF_QI(Flags));
    out->application_token = get_le64(buf + OFF_QI(PeerApplicationAccessTokenHandle));
    out->machine_token = get_le64(buf + OFF_QI(PeerMachineAccessTokenHandle));
    if (size >= sizeof(wp_query_info_ipsec2)) {
        out->ipsec2 = 1;
        out->mm_sa_id = get_le64(buf + OFF_QI(MmSaId));
        out->qm_sa_id = get_le64(buf + OFF_QI(QmSaId));
        out->negotiation_winerror = get_le32(buf + OFF_QI(NegotiationWinerr));
        memcpy(out->sa_lookup_context, buf + OFF_QI(SaLookupContext), sizeof(wp_guid));
    }
    return WSAPEER_OK;
}
