/* sdk_reference.h: the known-answer inputs, and SOCKET_PEER_TARGET_NAME filled
 * the way Microsoft's secure socket sample does it, with the real SDK types
 * (mingw-w64's mstcpip.h and ws2tcpip.h) and Windows' own InetPtonA, htons
 * and htonl. It shares no code with wsapeer's marshalling: it is the
 * independent side of every byte comparison.
 */
#ifndef WSAPEER_SDK_REFERENCE_H
#define WSAPEER_SDK_REFERENCE_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601
#endif
#define NTDDI_VERSION 0x06010000
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <mstcpip.h>
#include <ws2tcpip.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct {
    const wchar_t *name; /* NULL: LONG_NAME_UNITS copies of 'x' */
    SOCKET_SECURITY_PROTOCOL protocol;
    int family; /* 0: no peer */
    const char *host;
    unsigned short port;
    unsigned long flowinfo;
    unsigned long scope_id;
} sdk_vector;

#define LONG_NAME_UNITS 32767 /* the most a UNICODE_STRING holds */

static const sdk_vector sdk_vectors[] = {
    {L"host/server.example.com", SOCKET_SECURITY_PROTOCOL_DEFAULT, 0, NULL, 0, 0, 0},
    {L"host/peer.example.com", SOCKET_SECURITY_PROTOCOL_IPSEC, AF_INET, "192.0.2.1", 500, 0, 0},
    {L"host/peer.example.com", SOCKET_SECURITY_PROTOCOL_DEFAULT, AF_INET6, "2001:db8::1", 500, 0, 0},
    {L"cifs/fileserver.corp.example", SOCKET_SECURITY_PROTOCOL_IPSEC, AF_INET6,
     "fe80::1234:5678:9abc:def0", 4500, 0x12345, 7},
    {L"host/edge", SOCKET_SECURITY_PROTOCOL_IPSEC2, AF_INET6, "2001:db8:ffff::42", 65535,
     0xFFFFF, 0xFFFFFFFFul},
    {L"RestrictedKrbHost/server", SOCKET_SECURITY_PROTOCOL_IPSEC2, AF_INET, "203.0.113.77", 65535, 0, 0},
    {L"host/\U0001F600.example", SOCKET_SECURITY_PROTOCOL_IPSEC2, AF_INET6, "2001:db8::2", 500, 0, 0},
    {L"host/\U0001D518\U0001D52B\U0001D526\U0001D520\U0001D52C\U0001D521\U0001D522",
     SOCKET_SECURITY_PROTOCOL_DEFAULT, 0, NULL, 0, 0, 0},
    {L"host/caf\u00e9.\u4f8b\u3048", SOCKET_SECURITY_PROTOCOL_IPSEC, AF_INET, "198.51.100.255", 1, 0, 0},
    {L"a", SOCKET_SECURITY_PROTOCOL_DEFAULT, AF_INET, "10.0.0.1", 0, 0, 0},
    {L"host/mapped", SOCKET_SECURITY_PROTOCOL_DEFAULT, AF_INET6, "::ffff:192.0.2.1", 500, 0, 3},
    {L"host/any-port", SOCKET_SECURITY_PROTOCOL_DEFAULT, AF_INET, "0.0.0.0", 500, 0, 0},
    {NULL, SOCKET_SECURITY_PROTOCOL_DEFAULT, 0, NULL, 0, 0, 0},
    {NULL, SOCKET_SECURITY_PROTOCOL_IPSEC2, AF_INET, "192.0.2.9", 4500, 0, 0},
};

#define SDK_VECTOR_COUNT (sizeof sdk_vectors / sizeof sdk_vectors[0])

static const wchar_t *sdk_long_name(void)
{
    static wchar_t name[LONG_NAME_UNITS];
    wmemset(name, L'x', LONG_NAME_UNITS);
    return name;
}

static const wchar_t *sdk_name(const sdk_vector *t, size_t *units)
{
    *units = t->name ? wcslen(t->name) : LONG_NAME_UNITS;
    return t->name ? t->name : sdk_long_name();
}

/* Returns a calloc'd SOCKET_PEER_TARGET_NAME and its size in *size, or NULL. */
static SOCKET_PEER_TARGET_NAME *sdk_fill(const sdk_vector *t, size_t *size)
{
    size_t units;
    const wchar_t *name = sdk_name(t, &units);
    SOCKET_PEER_TARGET_NAME *p;

    *size = sizeof(SOCKET_PEER_TARGET_NAME) + units * sizeof(wchar_t);
    p = calloc(1, *size);
    if (p == NULL)
        return NULL;
    p->SecurityProtocol = t->protocol;
    if (t->family == AF_INET) {
        SOCKADDR_IN *sin = (SOCKADDR_IN *)&p->PeerAddress;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(t->port);
        if (InetPtonA(AF_INET, t->host, &sin->sin_addr) != 1) {
            free(p);
            return NULL;
        }
    } else if (t->family == AF_INET6) {
        SOCKADDR_IN6 *sin6 = (SOCKADDR_IN6 *)&p->PeerAddress;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(t->port);
        sin6->sin6_flowinfo = htonl(t->flowinfo);
        sin6->sin6_scope_id = t->scope_id;
        if (InetPtonA(AF_INET6, t->host, &sin6->sin6_addr) != 1) {
            free(p);
            return NULL;
        }
    }
    /* Code units for DEFAULT/IPSEC (Microsoft's sample), bytes for IPSEC2. */
    p->PeerTargetNameStringLen = (ULONG)(t->protocol == SOCKET_SECURITY_PROTOCOL_IPSEC2
                                             ? units * sizeof(wchar_t) : units);
    memcpy(p->AllStrings, name, units * sizeof(wchar_t));
    return p;
}

#endif
