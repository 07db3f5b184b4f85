/* model.h: the contract model's calls, as the shim and the DLL wrapper use them.
 * The control functions (wsapeer_model_*) are declared in wsapeer.h. */
#ifndef WSAPEER_MODEL_H
#define WSAPEER_MODEL_H

#include "wsapeer.h"

/* WSASetSocketPeerTargetName as Fwpuclnt documents it: returns 0, a WSA error
 * code, or WSA_IO_PENDING (997) when an overlapped call was pended.
 * overlapped is a WSAOVERLAPPED * and completion_routine a
 * LPWSAOVERLAPPED_COMPLETION_ROUTINE; both must be NULL off Windows. */
int wsapeer_model_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                       void *overlapped, void *completion_routine);

#endif
