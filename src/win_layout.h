/* win_layout.h: the Windows types the shim marshals, under one set of names.
 *
 * On Windows they are the SDK's own types; everywhere else a fixed-width copy
 * with the same layout. The asserts in _wsapeer.c hold both to the offsets
 * Windows uses, so neither can drift.
 */
#ifndef WSAPEER_WIN_LAYOUT_H
#define WSAPEER_WIN_LAYOUT_H

#ifdef _WIN32

/* The secure-socket prototypes need Vista (IPSEC2 names need 7); mstcpip.h
 * before ws2tcpip.h, as Microsoft's sample does. Include this header before
 * any Windows header. */
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601
#endif
#if _WIN32_WINNT < 0x0600
#error "wsapeer needs _WIN32_WINNT >= 0x0600"
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <mstcpip.h>
#include <ws2tcpip.h>

/* mingw-w64 lacks the Windows 7 query types; the SDK defines them together
 * with this flag, so its absence marks a header set without them. */
#ifndef SOCKET_QUERY_IPSEC2_ABORT_CONNECTION_ON_FIELD_CHANGE
#define SOCKET_QUERY_IPSEC2_ABORT_CONNECTION_ON_FIELD_CHANGE 0x1
#define SOCKET_QUERY_IPSEC2_FIELD_MASK_MM_SA_ID 0x1
#define SOCKET_QUERY_IPSEC2_FIELD_MASK_QM_SA_ID 0x2
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
    ULONG NegotiationWinerr;
    GUID SaLookupContext;
} SOCKET_SECURITY_QUERY_INFO_IPSEC2;
#endif

/* mingw-w64 declares every secure socket call but this one (its import
 * library exports it); MSVC's SDK declares it, and redeclaring a dllimport
 * function there warns (C4273), so only where it is missing: keyed on the
 * header set (_mingw.h's version macro), not on the compiler, since clang in
 * MSVC mode reads mingw-w64's headers in tests/windows/run. */
#ifdef __MINGW64_VERSION_MAJOR
WINSOCK_API_LINKAGE int WSAAPI WSADeleteSocketPeerTargetName(
    SOCKET Socket, const struct sockaddr *PeerAddr, ULONG PeerAddrLen,
    LPWSAOVERLAPPED Overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE CompletionRoutine);
#endif

typedef SOCKET_PEER_TARGET_NAME wp_peer_target_name;
typedef SOCKADDR_STORAGE wp_sockaddr_storage;
typedef SOCKADDR_IN wp_sockaddr_in;
typedef SOCKADDR_IN6 wp_sockaddr_in6;
typedef GUID wp_guid;
typedef SOCKET_SECURITY_SETTINGS wp_security_settings;
typedef SOCKET_SECURITY_SETTINGS_IPSEC wp_security_settings_ipsec;
typedef SOCKET_SECURITY_QUERY_TEMPLATE wp_query_template;
typedef SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2 wp_query_template_ipsec2;
typedef SOCKET_SECURITY_QUERY_INFO wp_query_info;
typedef SOCKET_SECURITY_QUERY_INFO_IPSEC2 wp_query_info_ipsec2;
#define WP_AF_INET AF_INET
#define WP_AF_INET6 AF_INET6

#else /* !_WIN32 */

#include <stdint.h>

/* Windows' values, not the host's: Linux's AF_INET6 is 10. */
#define WP_AF_INET 2
#define WP_AF_INET6 23

typedef struct {
    uint16_t ss_family;
    uint8_t ss_pad1[6];
    _Alignas(8) int64_t ss_align;
    uint8_t ss_pad2[112];
} wp_sockaddr_storage;

typedef struct {
    uint16_t sin_family;
    uint16_t sin_port;
    uint8_t sin_addr[4];
    uint8_t sin_zero[8];
} wp_sockaddr_in;

typedef struct {
    uint16_t sin6_family;
    uint16_t sin6_port;
    uint32_t sin6_flowinfo;
    uint8_t sin6_addr[16];
    uint32_t sin6_scope_id;
} wp_sockaddr_in6;

typedef struct {
    uint32_t SecurityProtocol;
    wp_sockaddr_storage PeerAddress;
    uint32_t PeerTargetNameStringLen;
    uint16_t AllStrings[];
} wp_peer_target_name;

typedef struct {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} wp_guid;

typedef struct {
    uint32_t SecurityProtocol;
    uint32_t SecurityFlags;
} wp_security_settings;

typedef struct {
    uint32_t SecurityProtocol;
    uint32_t SecurityFlags;
    uint32_t IpsecFlags;
    wp_guid AuthipMMPolicyKey;
    wp_guid AuthipQMPolicyKey;
    wp_guid Reserved;
    _Alignas(8) uint64_t Reserved2;
    uint32_t UserNameStringLen;
    uint32_t DomainNameStringLen;
    uint32_t PasswordStringLen;
    uint16_t AllStrings[];
} wp_security_settings_ipsec;

typedef struct {
    uint32_t SecurityProtocol;
    wp_sockaddr_storage PeerAddress;
    uint32_t PeerTokenAccessMask;
} wp_query_template;

typedef struct {
    uint32_t SecurityProtocol;
    wp_sockaddr_storage PeerAddress;
    uint32_t PeerTokenAccessMask;
    uint32_t Flags;
    uint32_t FieldMask;
} wp_query_template_ipsec2;

typedef struct {
    uint32_t SecurityProtocol;
    uint32_t Flags;
    _Alignas(8) uint64_t PeerApplicationAccessTokenHandle;
    uint64_t PeerMachineAccessTokenHandle;
} wp_query_info;

typedef struct {
    uint32_t SecurityProtocol;
    uint32_t Flags;
    _Alignas(8) uint64_t PeerApplicationAccessTokenHandle;
    uint64_t PeerMachineAccessTokenHandle;
    uint64_t MmSaId;
    uint64_t QmSaId;
    uint32_t NegotiationWinerr;
    wp_guid SaLookupContext;
} wp_query_info_ipsec2;

#endif /* _WIN32 */
#endif /* WSAPEER_WIN_LAYOUT_H */
