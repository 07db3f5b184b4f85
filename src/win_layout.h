/* win_layout.h: the Windows types the shim marshals, under one set of names.
 *
 * On Windows they are the SDK's own types; everywhere else a fixed-width copy
 * with the same layout. The asserts in _wsapeer.c hold both to the offsets
 * Windows uses, so neither can drift.
 */
#ifndef WSAPEER_WIN_LAYOUT_H
#define WSAPEER_WIN_LAYOUT_H

#ifdef _WIN32

/* The secure-socket prototypes need Vista; mstcpip.h before ws2tcpip.h, as
 * Microsoft's sample does. */
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0600
#error "wsapeer needs _WIN32_WINNT >= 0x0600 (define it before any include)"
#endif
#include <winsock2.h>
#include <mstcpip.h>
#include <ws2tcpip.h>

typedef SOCKET_PEER_TARGET_NAME wp_peer_target_name;
typedef SOCKADDR_STORAGE wp_sockaddr_storage;
typedef SOCKADDR_IN wp_sockaddr_in;
typedef SOCKADDR_IN6 wp_sockaddr_in6;
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
    int64_t ss_align;
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

#endif /* _WIN32 */
#endif /* WSAPEER_WIN_LAYOUT_H */
