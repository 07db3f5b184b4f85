/* fwpuclnt.h: the one seam between the shim and whatever answers the secure
 * socket calls, and the Winsock and NTSTATUS codes the C code uses.
 *
 * Exactly one implementation of the seam is compiled into an extension,
 * chosen by build_ffi.py at build time (never at run time):
 *   fwpuclnt_windows.c      the SDK calls into Fwpuclnt.dll: the default on
 *                           Windows and the only one in release wheels
 *   fwpuclnt_none.c         no Fwpuclnt: every call is WSAPEER_E_UNSUPPORTED
 *   model/fwpuclnt_model.c  the contract model, answering only while
 *                           wsapeer.testing.contract_model() has it on: the
 *                           default elsewhere
 *   benchmarks/echo.c       the benchmarks' no-op, never installed
 * No other C file asks which one it is.
 *
 * The calls return 0, a Winsock code (WSAPEER_WSA_IO_PENDING when a call
 * with an OVERLAPPED was pended), or WSAPEER_E_UNSUPPORTED. overlapped is a
 * WSAOVERLAPPED * and routine a LPWSAOVERLAPPED_COMPLETION_ROUTINE, both NULL
 * for a synchronous call; off Windows they are always NULL.
 */
#ifndef WSAPEER_FWPUCLNT_H
#define WSAPEER_FWPUCLNT_H

#include "wsapeer.h"

/* CDEF BEGIN */
/* Winsock error codes (WSAGetLastError), the same numbers on every platform;
 * wsapeer/_errors.py gives each its documented meaning. */
#define WSAPEER_ERROR_INVALID_HANDLE 6
#define WSAPEER_WSA_OPERATION_ABORTED 995
#define WSAPEER_WSA_IO_INCOMPLETE 996
#define WSAPEER_WSA_IO_PENDING 997
#define WSAPEER_WSAEFAULT 10014
#define WSAPEER_WSAEINVAL 10022
#define WSAPEER_WSAENOTSOCK 10038
#define WSAPEER_WSAEMSGSIZE 10040
#define WSAPEER_WSAEAFNOSUPPORT 10047
#define WSAPEER_WSAEISCONN 10056
/* CDEF END */

/* NTSTATUS values Winsock writes into OVERLAPPED.Internal. */
#define WSAPEER_STATUS_SUCCESS 0x0u
#define WSAPEER_STATUS_PENDING 0x103u
#define WSAPEER_STATUS_CANCELLED 0xC0000120u

int wsapeer_fw_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                    void *overlapped, void *routine);
int wsapeer_fw_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                   void *overlapped, void *routine);
int wsapeer_fw_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                       void *overlapped, void *routine);
/* *info_len is in/out: WSAQuerySocketSecurity's SecurityQueryInfoLen itself
 * (a ULONG on Windows), handed to Windows as it is. With an OVERLAPPED it must
 * stay valid until the call completes, as info must. */
int wsapeer_fw_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                     void *info, uint32_t *info_len, void *overlapped,
                                     void *routine);
int wsapeer_fw_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len);
int wsapeer_fw_revert_impersonation(void);

/* Asks for the cancellation of the call issued with this OVERLAPPED on sock
 * (CancelIoEx): 1 if it was found in flight, else 0. */
int wsapeer_fw_cancel(uint64_t sock, void *overlapped);
/* Closes a peer token handle a query returned (never 0). */
int wsapeer_fw_close_token(uint64_t handle);

#endif /* WSAPEER_FWPUCLNT_H */
