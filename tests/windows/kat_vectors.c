/* kat_vectors.c: known-answer vectors for SOCKET_PEER_TARGET_NAME, written
 * with the real Windows SDK types (mingw-w64's mstcpip.h and ws2tcpip.h) and
 * Windows' own InetPtonA/htons/htonl, the way Microsoft's secure socket sample
 * fills the structure. It shares no code with wsapeer's marshalling: it is
 * the independent side of tests/test_vectors.py.
 *
 * Usage (under Wine): kat_vectors.exe OUT.json
 */
#define _WIN32_WINNT 0x0601
#define NTDDI_VERSION 0x06010000
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <mstcpip.h>
#include <ws2tcpip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct {
    const wchar_t *name;       /* NULL: LONG_NAME_UNITS copies of 'x' */
    SOCKET_SECURITY_PROTOCOL protocol;
    int family;                /* 0: no peer */
    const char *host;
    unsigned short port;
    unsigned long flowinfo;
    unsigned long scope_id;
} vector;

#define LONG_NAME_UNITS 32767  /* the most a UNICODE_STRING holds */

static const vector vectors[] = {
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

static void put_json_name(FILE *f, const wchar_t *name, size_t units)
{
    size_t i;
    fputc('"', f);
    for (i = 0; i < units; i++) {
        unsigned c = (unsigned short)name[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            fputc((int)c, f);
        else
            fprintf(f, "\\u%04x", c);
    }
    fputc('"', f);
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    FILE *f;
    size_t v;
    wchar_t *long_name;

    if (argc != 2) {
        fprintf(stderr, "usage: kat_vectors.exe OUT.json\n");
        return 2;
    }
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return 1;
    long_name = malloc(LONG_NAME_UNITS * sizeof(wchar_t));
    f = fopen(argv[1], "wb");
    if (long_name == NULL || f == NULL)
        return 1;
    wmemset(long_name, L'x', LONG_NAME_UNITS);

    fprintf(f, "{\n  \"generator\": \"tests/windows/kat_vectors.c, mingw-w64 SDK headers, run under Wine\",\n"
               "  \"sizeof_SOCKET_PEER_TARGET_NAME\": %u,\n  \"vectors\": [\n",
            (unsigned)sizeof(SOCKET_PEER_TARGET_NAME));
    for (v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
        const vector *t = &vectors[v];
        const wchar_t *name = t->name ? t->name : long_name;
        size_t units = t->name ? wcslen(t->name) : LONG_NAME_UNITS;
        size_t size = sizeof(SOCKET_PEER_TARGET_NAME) + units * sizeof(wchar_t);
        SOCKET_PEER_TARGET_NAME *p = calloc(1, size);
        const unsigned char *bytes = (const unsigned char *)p;
        size_t i;

        if (p == NULL)
            return 1;
        p->SecurityProtocol = t->protocol;
        if (t->family == AF_INET) {
            SOCKADDR_IN *sin = (SOCKADDR_IN *)&p->PeerAddress;
            sin->sin_family = AF_INET;
            sin->sin_port = htons(t->port);
            if (InetPtonA(AF_INET, t->host, &sin->sin_addr) != 1)
                return 1;
        } else if (t->family == AF_INET6) {
            SOCKADDR_IN6 *sin6 = (SOCKADDR_IN6 *)&p->PeerAddress;
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons(t->port);
            sin6->sin6_flowinfo = htonl(t->flowinfo);
            sin6->sin6_scope_id = t->scope_id;
            if (InetPtonA(AF_INET6, t->host, &sin6->sin6_addr) != 1)
                return 1;
        }
        /* Code units for DEFAULT/IPSEC (Microsoft's sample), bytes for IPSEC2. */
        p->PeerTargetNameStringLen = (ULONG)(t->protocol == SOCKET_SECURITY_PROTOCOL_IPSEC2
                                                 ? units * sizeof(wchar_t) : units);
        memcpy(p->AllStrings, name, units * sizeof(wchar_t));

        fprintf(f, "    {\"target_name\": ");
        put_json_name(f, name, units);
        fprintf(f, ", \"protocol\": %d, \"peer\": ", (int)t->protocol);
        if (t->family == AF_INET)
            fprintf(f, "[\"%s\", %u]", t->host, (unsigned)t->port);
        else if (t->family == AF_INET6)
            fprintf(f, "[\"%s\", %u, %lu, %lu]", t->host, (unsigned)t->port, t->flowinfo,
                    t->scope_id);
        else
            fprintf(f, "null");
        fprintf(f, ",\n     \"hex\": \"");
        for (i = 0; i < size; i++)
            fprintf(f, "%02x", bytes[i]);
        fprintf(f, "\"}%s\n", v + 1 < sizeof vectors / sizeof vectors[0] ? "," : "");
        free(p);
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
    free(long_name);
    WSACleanup();
    return 0;
}
