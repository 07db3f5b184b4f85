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

__declspec(dllexport) int WSAAPI WSASetSocketPeerTargetName(
    SOCKET Socket, const void *PeerTargetName, ULONG PeerTargetNameLen,
    LPWSAOVERLAPPED Overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE CompletionRoutine)
{
    int err = wsapeer_model_set_peer_target_name((uint64_t)Socket, PeerTargetName,
                                                 PeerTargetNameLen, (void *)Overlapped,
                                                 (void *)CompletionRoutine);
    if (err == 0)
        return 0;
    WSASetLastError(err);
    return SOCKET_ERROR;
}
