/* sdk_security.h: known-answer inputs for the security structures, filled
 * with the SDK's own types the way an application would. Independent of
 * wsapeer's marshal.c: this side never calls it.
 */
#ifndef WSAPEER_SDK_SECURITY_H
#define WSAPEER_SDK_SECURITY_H

#include "sdk_reference.h"

/* mingw-w64 lacks the Windows 7 query types; these are the Windows SDK's
 * declarations (mstcpip.h, NTDDI_VERSION >= NTDDI_WIN7), copied field for
 * field on top of mingw-w64's own SOCKADDR_STORAGE and GUID. */
#ifndef SOCKET_QUERY_IPSEC2_ABORT_CONNECTION_ON_FIELD_CHANGE
#define SOCKET_QUERY_IPSEC2_ABORT_CONNECTION_ON_FIELD_CHANGE 0x1
#define SOCKET_QUERY_IPSEC2_FIELD_MASK_MM_SA_ID 0x1
#define SOCKET_QUERY_IPSEC2_FIELD_MASK_QM_SA_ID 0x2
#define SOCKET_SETTINGS_IPSEC_OPTIONAL_PEER_NAME_VERIFICATION 0x2
#define SOCKET_SETTINGS_IPSEC_ALLOW_FIRST_INBOUND_PKT_UNENCRYPTED 0x4
#define SOCKET_SETTINGS_IPSEC_PEER_NAME_IS_RAW_FORMAT 0x8
typedef struct _SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2 {
    SOCKET_SECURITY_PROTOCOL SecurityProtocol;
    SOCKADDR_STORAGE PeerAddress;
    ULONG PeerTokenAccessMask;
    ULONG Flags;
    ULONG FieldMask;
} SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2;
typedef struct _SOCKET_SECURITY_QUERY_INFO_IPSEC2 {
    SOCKET_SECURITY_PROTOCOL SecurityProtocol;
    ULONG Flags;
    UINT64 PeerApplicationAccessTokenHandle;
    UINT64 PeerMachineAccessTokenHandle;
    UINT64 MmSaId;
    UINT64 QmSaId;
    UINT32 NegotiationWinerr;
    GUID SaLookupContext;
} SOCKET_SECURITY_QUERY_INFO_IPSEC2;
#endif

static const GUID sdk_guid_a = {0x12345678, 0x9abc, 0xdef0, {1, 2, 3, 4, 5, 6, 7, 8}};
static const GUID sdk_guid_b = {0xfedcba98, 0x7654, 0x3210, {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87}};

typedef struct {
    SOCKET_SECURITY_PROTOCOL protocol;
    ULONG flags, ipsec_flags;
    const GUID *mm, *qm;
    const wchar_t *user, *domain, *password; /* NULL: absent */
} sdk_settings;

static const sdk_settings sdk_settings_vectors[] = {
    {SOCKET_SECURITY_PROTOCOL_DEFAULT, 0, 0, NULL, NULL, NULL, NULL, NULL},
    {SOCKET_SECURITY_PROTOCOL_DEFAULT, SOCKET_SETTINGS_ALLOW_INSECURE, 0, NULL, NULL, NULL, NULL, NULL},
    {SOCKET_SECURITY_PROTOCOL_DEFAULT, SOCKET_SETTINGS_GUARANTEE_ENCRYPTION, 0, NULL, NULL, NULL, NULL, NULL},
    {SOCKET_SECURITY_PROTOCOL_IPSEC, 0, 0, NULL, NULL, NULL, NULL, NULL},
    {SOCKET_SECURITY_PROTOCOL_IPSEC, SOCKET_SETTINGS_ALLOW_INSECURE,
     SOCKET_SETTINGS_IPSEC_SKIP_FILTER_INSTANTIATION, &sdk_guid_a, &sdk_guid_b,
     L"svc", L"EXAMPLE", L"p@ss w0rd"},
    {SOCKET_SECURITY_PROTOCOL_IPSEC2, SOCKET_SETTINGS_GUARANTEE_ENCRYPTION,
     SOCKET_SETTINGS_IPSEC_SKIP_FILTER_INSTANTIATION |
         SOCKET_SETTINGS_IPSEC_OPTIONAL_PEER_NAME_VERIFICATION |
         SOCKET_SETTINGS_IPSEC_ALLOW_FIRST_INBOUND_PKT_UNENCRYPTED |
         SOCKET_SETTINGS_IPSEC_PEER_NAME_IS_RAW_FORMAT,
     NULL, &sdk_guid_a, L"j\u00fcrgen", L"\u4f8b\u3048.example", L"p\u00e4ssw\u00f6rd\U0001F511"},
    {SOCKET_SECURITY_PROTOCOL_IPSEC2, 0, 0, &sdk_guid_b, NULL, NULL, NULL, L"only-a-password"},
    {SOCKET_SECURITY_PROTOCOL_IPSEC, 0, 0, NULL, NULL, L"user-only", NULL, NULL},
};
#define SDK_SETTINGS_COUNT (sizeof sdk_settings_vectors / sizeof sdk_settings_vectors[0])

static size_t sdk_wlen(const wchar_t *s) { return s ? wcslen(s) : 0; }

/* Returns a calloc'd SOCKET_SECURITY_SETTINGS(_IPSEC) and its size in *size. */
static void *sdk_fill_settings(const sdk_settings *t, size_t *size)
{
    if (t->protocol == SOCKET_SECURITY_PROTOCOL_DEFAULT) {
        SOCKET_SECURITY_SETTINGS *s = calloc(1, sizeof *s);
        *size = sizeof *s;
        if (s) {
            s->SecurityProtocol = t->protocol;
            s->SecurityFlags = t->flags;
        }
        return s;
    } else {
        size_t u = sdk_wlen(t->user) * sizeof(wchar_t), d = sdk_wlen(t->domain) * sizeof(wchar_t),
               p = sdk_wlen(t->password) * sizeof(wchar_t);
        SOCKET_SECURITY_SETTINGS_IPSEC *s;
        char *strings;
        *size = sizeof(SOCKET_SECURITY_SETTINGS_IPSEC) + u + d + p;
        s = calloc(1, *size);
        if (s == NULL)
            return NULL;
        s->SecurityProtocol = t->protocol;
        s->SecurityFlags = t->flags;
        s->IpsecFlags = t->ipsec_flags;
        if (t->mm)
            s->AuthipMMPolicyKey = *t->mm;
        if (t->qm)
            s->AuthipQMPolicyKey = *t->qm;
        /* In bytes: the reference page and working code agree here. */
        s->UserNameStringLen = (ULONG)u;
        s->DomainNameStringLen = (ULONG)d;
        s->PasswordStringLen = (ULONG)p;
        strings = (char *)s->AllStrings;
        if (u)
            memcpy(strings, t->user, u);
        if (d)
            memcpy(strings + u, t->domain, d);
        if (p)
            memcpy(strings + u + d, t->password, p);
        return s;
    }
}

typedef struct {
    int ipsec2;
    SOCKET_SECURITY_PROTOCOL protocol;
    sdk_vector peer; /* family/host/port/flowinfo/scope_id only */
    ULONG access_mask, flags, field_mask;
} sdk_template;

static const sdk_template sdk_template_vectors[] = {
    {0, SOCKET_SECURITY_PROTOCOL_DEFAULT, {NULL, 0, 0, NULL, 0, 0, 0}, 0, 0, 0},
    {0, SOCKET_SECURITY_PROTOCOL_IPSEC, {NULL, 0, AF_INET, "192.0.2.1", 500, 0, 0}, 0x8, 0, 0},
    {0, SOCKET_SECURITY_PROTOCOL_DEFAULT, {NULL, 0, AF_INET6, "fe80::1", 4500, 0x12345, 9},
     0x000F01FF, 0, 0},
    {1, SOCKET_SECURITY_PROTOCOL_IPSEC2, {NULL, 0, AF_INET6, "2001:db8::1", 500, 0, 0}, 0x8,
     SOCKET_QUERY_IPSEC2_ABORT_CONNECTION_ON_FIELD_CHANGE,
     SOCKET_QUERY_IPSEC2_FIELD_MASK_MM_SA_ID | SOCKET_QUERY_IPSEC2_FIELD_MASK_QM_SA_ID},
    {1, SOCKET_SECURITY_PROTOCOL_IPSEC2, {NULL, 0, 0, NULL, 0, 0, 0}, 0, 0,
     SOCKET_QUERY_IPSEC2_FIELD_MASK_MM_SA_ID},
};
#define SDK_TEMPLATE_COUNT (sizeof sdk_template_vectors / sizeof sdk_template_vectors[0])

static int sdk_fill_address(SOCKADDR_STORAGE *storage, const sdk_vector *t)
{
    if (t->family == AF_INET) {
        SOCKADDR_IN *sin = (SOCKADDR_IN *)storage;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(t->port);
        return InetPtonA(AF_INET, t->host, &sin->sin_addr) == 1;
    }
    if (t->family == AF_INET6) {
        SOCKADDR_IN6 *sin6 = (SOCKADDR_IN6 *)storage;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(t->port);
        sin6->sin6_flowinfo = htonl(t->flowinfo);
        sin6->sin6_scope_id = t->scope_id;
        return InetPtonA(AF_INET6, t->host, &sin6->sin6_addr) == 1;
    }
    return 1;
}

static void *sdk_fill_template(const sdk_template *t, size_t *size)
{
    if (t->ipsec2) {
        SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2 *q = calloc(1, sizeof *q);
        *size = sizeof *q;
        if (q == NULL || !sdk_fill_address(&q->PeerAddress, &t->peer))
            return NULL;
        q->SecurityProtocol = t->protocol;
        q->PeerTokenAccessMask = t->access_mask;
        q->Flags = t->flags;
        q->FieldMask = t->field_mask;
        return q;
    } else {
        SOCKET_SECURITY_QUERY_TEMPLATE *q = calloc(1, sizeof *q);
        *size = sizeof *q;
        if (q == NULL || !sdk_fill_address(&q->PeerAddress, &t->peer))
            return NULL;
        q->SecurityProtocol = t->protocol;
        q->PeerTokenAccessMask = t->access_mask;
        return q;
    }
}

typedef struct {
    int ipsec2;
    SOCKET_SECURITY_PROTOCOL protocol;
    ULONG flags;
    UINT64 app, machine, mm, qm;
    UINT32 negotiation;
    const GUID *context;
} sdk_info;

static const sdk_info sdk_info_vectors[] = {
    {0, SOCKET_SECURITY_PROTOCOL_IPSEC, SOCKET_INFO_CONNECTION_SECURED | SOCKET_INFO_CONNECTION_ENCRYPTED,
     0x1234, 0x5678, 0, 0, 0, NULL},
    {0, SOCKET_SECURITY_PROTOCOL_DEFAULT, 0, 0, 0, 0, 0, 0, NULL},
    {0, SOCKET_SECURITY_PROTOCOL_IPSEC, 0x80000000u | SOCKET_INFO_CONNECTION_SECURED,
     0xFFFFFFFF00000004ull, 0x8, 0, 0, 0, NULL},
    {1, SOCKET_SECURITY_PROTOCOL_IPSEC2,
     SOCKET_INFO_CONNECTION_SECURED | SOCKET_INFO_CONNECTION_ENCRYPTED | SOCKET_INFO_CONNECTION_IMPERSONATED,
     0x2C, 0x30, 0x1122334455667788ull, 42, 13801, &sdk_guid_a},
    {1, SOCKET_SECURITY_PROTOCOL_IPSEC2, SOCKET_INFO_CONNECTION_SECURED, 0, 0, 1, 0xFFFFFFFFFFFFFFFFull,
     0, &sdk_guid_b},
};
#define SDK_INFO_COUNT (sizeof sdk_info_vectors / sizeof sdk_info_vectors[0])

static void *sdk_fill_info(const sdk_info *t, size_t *size)
{
    if (t->ipsec2) {
        SOCKET_SECURITY_QUERY_INFO_IPSEC2 *q = calloc(1, sizeof *q);
        *size = sizeof *q;
        if (q == NULL)
            return NULL;
        q->SecurityProtocol = t->protocol;
        q->Flags = t->flags;
        q->PeerApplicationAccessTokenHandle = t->app;
        q->PeerMachineAccessTokenHandle = t->machine;
        q->MmSaId = t->mm;
        q->QmSaId = t->qm;
        q->NegotiationWinerr = t->negotiation;
        if (t->context)
            q->SaLookupContext = *t->context;
        return q;
    } else {
        SOCKET_SECURITY_QUERY_INFO *q = calloc(1, sizeof *q);
        *size = sizeof *q;
        if (q == NULL)
            return NULL;
        q->SecurityProtocol = t->protocol;
        q->Flags = t->flags;
        q->PeerApplicationAccessTokenHandle = t->app;
        q->PeerMachineAccessTokenHandle = t->machine;
        return q;
    }
}

#endif
