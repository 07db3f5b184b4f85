/* model_dll.c: exports the contract model as fwpuclnt.dll, for Wine.
 *
 * Wine's own fwpuclnt.dll aborts in every secure socket call; this one,
 * placed beside a test program and selected with WINEDLLOVERRIDES=fwpuclnt=n,
 * answers with the model, so the shim is exercised exactly as linked on
 * Windows. Built from this file and model.c (tests/windows/run).
 */
#ifndef _WIN32_WINNT
#  define _WIN32_WINNT 0x0601
#endif
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h> /* not ws2tcpip.h: it declares these functions dllimport */

#include "model.h"

#define EXPORT __declspec(dllexport)

/* No switch and no other caller here: reset forgets at once. */
void wsapeer_model_reset(void)
{
    wsapeer_model_forget();
}

/* Winsock's convention: 0, or SOCKET_ERROR with the code in WSAGetLastError. */
static int winsock_result(int err)
{
    if (err == 0)
        return 0;
    WSASetLastError(err);
    return SOCKET_ERROR;
}

EXPORT int WSAAPI WSASetSocketPeerTargetName(SOCKET Socket, const void *PeerTargetName,
                                             ULONG PeerTargetNameLen,
                                             LPWSAOVERLAPPED Overlapped,
                                             LPWSAOVERLAPPED_COMPLETION_ROUTINE CompletionRoutine)
{
    return winsock_result(wsapeer_model_set_peer_target_name(
        (uint64_t)Socket, PeerTargetName, PeerTargetNameLen, (void *)Overlapped,
        (void *)CompletionRoutine));
}

EXPORT int WSAAPI WSASetSocketSecurity(SOCKET Socket, const void *SecuritySettings,
                                       ULONG SecuritySettingsLen, LPWSAOVERLAPPED Overlapped,
                                       LPWSAOVERLAPPED_COMPLETION_ROUTINE CompletionRoutine)
{
    return winsock_result(wsapeer_model_set_socket_security(
        (uint64_t)Socket, SecuritySettings, SecuritySettingsLen, (void *)Overlapped,
        (void *)CompletionRoutine));
}

EXPORT int WSAAPI WSADeleteSocketPeerTargetName(
    SOCKET Socket, const struct sockaddr *PeerAddr, ULONG PeerAddrLen,
    LPWSAOVERLAPPED Overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE CompletionRoutine)
{
    return winsock_result(wsapeer_model_delete_peer_target_name(
        (uint64_t)Socket, PeerAddr, PeerAddrLen, (void *)Overlapped,
        (void *)CompletionRoutine));
}

EXPORT int WSAAPI WSAQuerySocketSecurity(SOCKET Socket, const void *SecurityQueryTemplate,
                                         ULONG SecurityQueryTemplateLen,
                                         void *SecurityQueryInfo, ULONG *SecurityQueryInfoLen,
                                         LPWSAOVERLAPPED Overlapped,
                                         LPWSAOVERLAPPED_COMPLETION_ROUTINE CompletionRoutine)
{
    /* A copy is enough: the model writes the length before it returns, never
     * at a later completion. */
    uint32_t len = SecurityQueryInfoLen ? (uint32_t)*SecurityQueryInfoLen : 0;
    int err = wsapeer_model_query_socket_security(
        (uint64_t)Socket, SecurityQueryTemplate, SecurityQueryTemplateLen, SecurityQueryInfo,
        SecurityQueryInfoLen ? &len : NULL, (void *)Overlapped, (void *)CompletionRoutine);
    if (SecurityQueryInfoLen)
        *SecurityQueryInfoLen = len;
    return winsock_result(err);
}

EXPORT int WSAAPI WSAImpersonateSocketPeer(SOCKET Socket, const struct sockaddr *PeerAddr,
                                           ULONG PeerAddrLen)
{
    return winsock_result(
        wsapeer_model_impersonate_socket_peer((uint64_t)Socket, PeerAddr, PeerAddrLen));
}

EXPORT int WSAAPI WSARevertImpersonation(void)
{
    return winsock_result(wsapeer_model_revert_impersonation());
}
