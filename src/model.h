/* model.h: the contract model's calls, as the shim and the DLL wrapper use them.
 * The control functions (wsapeer_model_*) are declared in wsapeer.h.
 *
 * Each returns 0, a WSA error code, or WSA_IO_PENDING (997) when an
 * overlapped call was pended. overlapped is a WSAOVERLAPPED * and
 * completion_routine a LPWSAOVERLAPPED_COMPLETION_ROUTINE; both must be NULL
 * off Windows.
 */
#ifndef WSAPEER_MODEL_H
#define WSAPEER_MODEL_H

#include "wsapeer.h"

int wsapeer_model_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                       void *overlapped, void *completion_routine);
int wsapeer_model_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                      void *overlapped, void *completion_routine);
int wsapeer_model_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                          void *overlapped, void *completion_routine);
/* info may be NULL to probe; *info_len is in/out as WSAQuerySocketSecurity's. */
int wsapeer_model_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                        void *info, size_t *info_len, void *overlapped,
                                        void *completion_routine);
int wsapeer_model_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len);
int wsapeer_model_revert_impersonation(void);
/* Closes a token the model issued: WSAPEER_OK, or ERROR_INVALID_HANDLE (6)
 * when it was closed already (the close is counted either way). */
int wsapeer_model_close_token(uint64_t token);

#endif
