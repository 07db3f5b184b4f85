/* echo.c: the seam answered by a no-op that reads (copies) every byte it is
 * given and counts the calls: what every benchmark contender's call ends in,
 * so that the benchmarks time wsapeer's own work and nothing else.
 *
 * Built only with WSAPEER_FWPUCLNT=echo, into a temporary folder, by the
 * benchmarks. It succeeds without securing anything, so it is never
 * installed. Not thread-safe. Calls it does not echo are unsupported.
 */
#include "echo.h"

#include <string.h>

static uint8_t last[WSAPEER_PTN_HEADER_SIZE + 2 * WSAPEER_MAX_NAME_UNITS];
static size_t last_size;
static uint64_t calls;

static int echo(const void *buffer, size_t len, void *overlapped, void *routine)
{
    if (overlapped != NULL || routine != NULL)
        return WSAPEER_E_UNSUPPORTED; /* no OVERLAPPED to complete: refuse, never pretend */
    if (buffer == NULL)
        return WSAPEER_WSAEFAULT;
    if (len > sizeof last)
        return WSAPEER_WSAEMSGSIZE;
    memcpy(last, buffer, len);
    last_size = len;
    calls++;
    return WSAPEER_OK;
}

uint64_t wsapeer_echo_calls(void)
{
    return calls;
}

size_t wsapeer_echo_last(uint8_t *buf, size_t cap)
{
    if (buf != NULL)
        memcpy(buf, last, cap < last_size ? cap : last_size);
    return last_size;
}

int wsapeer_fw_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                    void *overlapped, void *routine)
{
    (void)sock;
    return echo(ptn, len, overlapped, routine);
}

int wsapeer_fw_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                   void *overlapped, void *routine)
{
    (void)sock;
    return echo(settings, len, overlapped, routine);
}

int wsapeer_fw_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                       void *overlapped, void *routine)
{
    (void)sock;
    return echo(sockaddr, len, overlapped, routine);
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
    return 0;
}

int wsapeer_fw_close_token(uint64_t handle)
{
    (void)handle;
    return WSAPEER_E_UNSUPPORTED;
}

const char *wsapeer_fwpuclnt(void)
{
    return "echo";
}
