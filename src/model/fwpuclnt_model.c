/* fwpuclnt_model.c: the seam answered by the contract model, and the model's
 * on/off switch. Built only with WSAPEER_FWPUCLNT=model (the default off
 * Windows, where there is no Fwpuclnt to fail open from). Off, every call is
 * WSAPEER_E_UNSUPPORTED, as in a build without the model; only
 * wsapeer.testing.contract_model() turns it on, never the environment.
 */
#include "win_layout.h" /* first: it sets _WIN32_WINNT for the Windows headers */
#include "model.h"

#ifdef _WIN32
#  include <windows.h>
static volatile LONG model_on;
#  define SWITCH_LOAD() InterlockedCompareExchange(&model_on, 0, 0)
#  define SWITCH_SWAP(v) InterlockedExchange(&model_on, (v))
#elif defined(__GNUC__) || defined(__clang__)
static int model_on;
#  define SWITCH_LOAD() __atomic_load_n(&model_on, __ATOMIC_ACQUIRE)
#  define SWITCH_SWAP(v) __atomic_exchange_n(&model_on, (v), __ATOMIC_ACQ_REL)
#else
#  include <stdatomic.h>
static atomic_int model_on;
#  define SWITCH_LOAD() atomic_load(&model_on)
#  define SWITCH_SWAP(v) atomic_exchange(&model_on, (v))
#endif

int wsapeer_model_enable(int on)
{
    return SWITCH_SWAP(on ? 1 : 0) != 0;
}

int wsapeer_model_enabled(void)
{
    return SWITCH_LOAD() != 0;
}

int wsapeer_fw_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                    void *overlapped, void *routine)
{
    if (!wsapeer_model_enabled())
        return WSAPEER_E_UNSUPPORTED;
    return wsapeer_model_set_peer_target_name(sock, ptn, len, overlapped, routine);
}

int wsapeer_fw_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                   void *overlapped, void *routine)
{
    if (!wsapeer_model_enabled())
        return WSAPEER_E_UNSUPPORTED;
    return wsapeer_model_set_socket_security(sock, settings, len, overlapped, routine);
}

int wsapeer_fw_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                       void *overlapped, void *routine)
{
    if (!wsapeer_model_enabled())
        return WSAPEER_E_UNSUPPORTED;
    return wsapeer_model_delete_peer_target_name(sock, sockaddr, len, overlapped, routine);
}

int wsapeer_fw_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                     void *info, uint32_t *info_len, void *overlapped,
                                     void *routine)
{
    if (!wsapeer_model_enabled())
        return WSAPEER_E_UNSUPPORTED;
    return wsapeer_model_query_socket_security(sock, tmpl, tmpl_len, info, info_len, overlapped,
                                               routine);
}

int wsapeer_fw_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len)
{
    if (!wsapeer_model_enabled())
        return WSAPEER_E_UNSUPPORTED;
    return wsapeer_model_impersonate_socket_peer(sock, sockaddr, len);
}

int wsapeer_fw_revert_impersonation(void)
{
    if (!wsapeer_model_enabled())
        return WSAPEER_E_UNSUPPORTED;
    return wsapeer_model_revert_impersonation();
}

int wsapeer_fw_cancel(uint64_t sock, void *overlapped)
{
    (void)sock; /* the model finds its pending calls by OVERLAPPED alone */
    return wsapeer_model_cancel(overlapped);
}

int wsapeer_fw_close_token(uint64_t handle)
{
    /* By who issued the token, not by the switch: a SecurityInfo may outlive
     * the contract_model() block that made it. */
#ifdef _WIN32
    /* The model's tokens are real handles on Windows. */
    if (handle != (uint64_t)(uintptr_t)handle)
        return WSAPEER_E_ARGUMENT;
    return CloseHandle((HANDLE)(uintptr_t)handle) ? WSAPEER_OK : (int)GetLastError();
#else
    if (wsapeer_model_token_closes(handle) >= 0)
        return wsapeer_model_close_token(handle);
    return WSAPEER_E_UNSUPPORTED;
#endif
}

const char *wsapeer_fwpuclnt(void)
{
    return "model";
}
