/* fwpuclnt_none.c: the seam where there is no Fwpuclnt and no model. Every
 * call reports WSAPEER_E_UNSUPPORTED, which Python raises as
 * UnsupportedPlatformError: never a success for a call nobody made.
 */
#include "fwpuclnt.h"

int wsapeer_fw_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                    void *overlapped, void *routine)
{
    (void)sock, (void)ptn, (void)len, (void)overlapped, (void)routine;
    return WSAPEER_E_UNSUPPORTED;
}

int wsapeer_fw_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                   void *overlapped, void *routine)
{
    (void)sock, (void)settings, (void)len, (void)overlapped, (void)routine;
    return WSAPEER_E_UNSUPPORTED;
}

int wsapeer_fw_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                       void *overlapped, void *routine)
{
    (void)sock, (void)sockaddr, (void)len, (void)overlapped, (void)routine;
    return WSAPEER_E_UNSUPPORTED;
}

int wsapeer_fw_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                     void *info, uint32_t *info_len, void *overlapped,
                                     void *routine)
{
    (void)sock, (void)tmpl, (void)tmpl_len, (void)info, (void)info_len, (void)overlapped,
        (void)routine;
    return WSAPEER_E_UNSUPPORTED;
}

int wsapeer_fw_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len)
{
    (void)sock, (void)sockaddr, (void)len;
    return WSAPEER_E_UNSUPPORTED;
}

int wsapeer_fw_revert_impersonation(void)
{
    return WSAPEER_E_UNSUPPORTED;
}

int wsapeer_fw_cancel(uint64_t sock, void *overlapped)
{
    (void)sock, (void)overlapped;
    return 0; /* nothing is ever in flight */
}

int wsapeer_fw_close_token(uint64_t handle)
{
    (void)handle; /* no query ever returned one */
    return WSAPEER_E_UNSUPPORTED;
}

const char *wsapeer_fwpuclnt(void)
{
    return "none";
}
