/* fwpuclnt_windows.c: the seam on Windows, the SDK's own calls into
 * Fwpuclnt.dll. The only implementation in release wheels: nothing here can
 * be switched to anything else at run time.
 */
#include "win_layout.h" /* first: it sets _WIN32_WINNT for the Windows headers */
#include "fwpuclnt.h"

#ifndef _WIN32
#  error "fwpuclnt_windows.c is the Windows implementation; build_ffi.py picks it only there"
#endif

#include <windows.h>

/* SecurityQueryInfoLen is a ULONG that Windows may write when an overlapped
 * query completes: the caller's own uint32_t is passed, never a copy. */
typedef char ulong_is_uint32[sizeof(ULONG) == sizeof(uint32_t) ? 1 : -1];

/* SOCKET is 4 bytes on 32-bit Windows and lengths are ULONG: a value that
 * does not fit is refused, never truncated into another socket or size. */
static int fits(uint64_t sock, size_t len)
{
    return sock == (uint64_t)(SOCKET)sock && len <= 0xFFFFFFFFu;
}

/* Winsock's convention: 0, or SOCKET_ERROR with the code in WSAGetLastError. */
static int result(int rc)
{
    int err;
    if (rc == 0)
        return 0;
    err = WSAGetLastError();
    return err > 0 ? err : WSAPEER_E_INTERNAL;
}

int wsapeer_fw_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                    void *overlapped, void *routine)
{
    if (!fits(sock, len))
        return WSAPEER_E_ARGUMENT;
    return result(WSASetSocketPeerTargetName((SOCKET)sock, (const SOCKET_PEER_TARGET_NAME *)ptn,
                                             (ULONG)len, (LPWSAOVERLAPPED)overlapped,
                                             (LPWSAOVERLAPPED_COMPLETION_ROUTINE)routine));
}

int wsapeer_fw_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                   void *overlapped, void *routine)
{
    if (!fits(sock, len))
        return WSAPEER_E_ARGUMENT;
    return result(WSASetSocketSecurity((SOCKET)sock, (const SOCKET_SECURITY_SETTINGS *)settings,
                                       (ULONG)len, (LPWSAOVERLAPPED)overlapped,
                                       (LPWSAOVERLAPPED_COMPLETION_ROUTINE)routine));
}

int wsapeer_fw_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                       void *overlapped, void *routine)
{
    if (!fits(sock, len))
        return WSAPEER_E_ARGUMENT;
    return result(WSADeleteSocketPeerTargetName((SOCKET)sock, (const struct sockaddr *)sockaddr,
                                                (ULONG)len, (LPWSAOVERLAPPED)overlapped,
                                                (LPWSAOVERLAPPED_COMPLETION_ROUTINE)routine));
}

int wsapeer_fw_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                     void *info, uint32_t *info_len, void *overlapped,
                                     void *routine)
{
    if (!fits(sock, tmpl_len))
        return WSAPEER_E_ARGUMENT;
    return result(WSAQuerySocketSecurity(
        (SOCKET)sock, (const SOCKET_SECURITY_QUERY_TEMPLATE *)tmpl, (ULONG)tmpl_len,
        (SOCKET_SECURITY_QUERY_INFO *)info, (ULONG *)info_len, (LPWSAOVERLAPPED)overlapped,
        (LPWSAOVERLAPPED_COMPLETION_ROUTINE)routine));
}

int wsapeer_fw_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len)
{
    if (!fits(sock, len))
        return WSAPEER_E_ARGUMENT;
    return result(
        WSAImpersonateSocketPeer((SOCKET)sock, (const struct sockaddr *)sockaddr, (ULONG)len));
}

int wsapeer_fw_revert_impersonation(void)
{
    return result(WSARevertImpersonation());
}

int wsapeer_fw_cancel(uint64_t sock, void *overlapped)
{
    return CancelIoEx((HANDLE)(uintptr_t)sock, (LPOVERLAPPED)overlapped) ? 1 : 0;
}

int wsapeer_fw_close_token(uint64_t handle)
{
    if (handle != (uint64_t)(uintptr_t)handle)
        return WSAPEER_E_ARGUMENT;
    return CloseHandle((HANDLE)(uintptr_t)handle) ? WSAPEER_OK : (int)GetLastError();
}

const char *wsapeer_fwpuclnt(void)
{
    return "windows";
}
