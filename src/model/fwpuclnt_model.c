/* fwpuclnt_model.c: the seam answered by the contract model, and the model's
 * on/off switch. Built only with WSAPEER_FWPUCLNT=model (the default off
 * Windows, where there is no Fwpuclnt to fail open from). Off, every call is
 * WSAPEER_E_UNSUPPORTED, as in a build without the model; only
 * wsapeer.testing.contract_model() turns it on, never the environment.
 */
#include "win_layout.h" /* first: it sets _WIN32_WINNT for the Windows headers */
#include "model.h"

/* The switch, and a gate every call passes while it runs: enable, disable and
 * reset wait for the calls in progress and hold new ones back, so that a call
 * lands wholly in the block it was made in (issue 14). Hand-made rather than
 * a reader-writer lock: a steady stream of calls must not starve a toggle. */
#ifdef _WIN32
#  include <windows.h>
static SRWLOCK gate_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE gate_changed = CONDITION_VARIABLE_INIT;
#  define GATE_LOCK() AcquireSRWLockExclusive(&gate_lock)
#  define GATE_UNLOCK() ReleaseSRWLockExclusive(&gate_lock)
#  define GATE_WAIT() SleepConditionVariableSRW(&gate_changed, &gate_lock, INFINITE, 0)
#  define GATE_WAKE() WakeAllConditionVariable(&gate_changed)
#  define ONCE()
#else
#  include <pthread.h>
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_changed = PTHREAD_COND_INITIALIZER;
static pthread_once_t fork_handlers = PTHREAD_ONCE_INIT;
#  define GATE_LOCK() pthread_mutex_lock(&gate_lock)
#  define GATE_UNLOCK() pthread_mutex_unlock(&gate_lock)
#  define GATE_WAIT() pthread_cond_wait(&gate_changed, &gate_lock)
#  define GATE_WAKE() pthread_cond_broadcast(&gate_changed)
#  define ONCE() pthread_once(&fork_handlers, register_fork_handlers)
#endif

static int model_on;
static int gate_closed; /* a toggle, reset or fork is waiting or under way */
static size_t in_flight;

#ifndef _WIN32
/* fork() with another thread inside the model: prepare lets the calls in
 * progress finish and holds the gate and the model's lock, so that the child
 * starts with both free and the model's state whole. */
static void close_gate(void);
static void open_gate(void);

static void fork_prepare(void)
{
    close_gate();
    wsapeer_model_fork_prepare();
}

static void fork_parent(void)
{
    wsapeer_model_fork_parent();
    open_gate();
}

static void fork_child(void)
{
    wsapeer_model_fork_child();
    gate_closed--;
    /* Made afresh: the copies may record waiters, threads the child does not
     * have, which a broadcast or an unlock could wait for. */
    pthread_cond_init(&gate_changed, NULL);
    pthread_mutex_init(&gate_lock, NULL);
}

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
#endif

/* Whether a call may go to the model; when it returns 1 the call is counted
 * in flight and must end with leave(). */
static int enter(void)
{
    int on;
    ONCE();
    GATE_LOCK();
    while (gate_closed)
        GATE_WAIT();
    on = model_on;
    if (on)
        in_flight++;
    GATE_UNLOCK();
    return on;
}

static void leave(void)
{
    GATE_LOCK();
    if (--in_flight == 0)
        GATE_WAKE();
    GATE_UNLOCK();
}

/* Closes the gate and waits out the calls in progress; gate lock held after. */
static void close_gate(void)
{
    ONCE();
    GATE_LOCK();
    gate_closed++;
    while (in_flight)
        GATE_WAIT();
}

static void open_gate(void)
{
    gate_closed--;
    GATE_WAKE();
    GATE_UNLOCK();
}

int wsapeer_model_enable(int on)
{
    int was;
    close_gate();
    was = model_on;
    model_on = on ? 1 : 0;
    open_gate();
    return was;
}

int wsapeer_model_enabled(void)
{
    int on;
    GATE_LOCK();
    on = model_on;
    GATE_UNLOCK();
    return on;
}

void wsapeer_model_reset(void)
{
    close_gate();
    wsapeer_model_forget();
    open_gate();
}

#define CALL(expression)                                                      \
    do {                                                                      \
        int status_;                                                          \
        if (!enter())                                                         \
            return WSAPEER_E_UNSUPPORTED;                                     \
        status_ = (expression);                                               \
        leave();                                                              \
        return status_;                                                       \
    } while (0)

int wsapeer_fw_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                    void *overlapped, void *routine)
{
    CALL(wsapeer_model_set_peer_target_name(sock, ptn, len, overlapped, routine));
}

int wsapeer_fw_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                   void *overlapped, void *routine)
{
    CALL(wsapeer_model_set_socket_security(sock, settings, len, overlapped, routine));
}

int wsapeer_fw_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                       void *overlapped, void *routine)
{
    CALL(wsapeer_model_delete_peer_target_name(sock, sockaddr, len, overlapped, routine));
}

int wsapeer_fw_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                     void *info, uint32_t *info_len, void *overlapped,
                                     void *routine)
{
    CALL(wsapeer_model_query_socket_security(sock, tmpl, tmpl_len, info, info_len, overlapped,
                                             routine));
}

int wsapeer_fw_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len)
{
    CALL(wsapeer_model_impersonate_socket_peer(sock, sockaddr, len));
}

int wsapeer_fw_revert_impersonation(void)
{
    CALL(wsapeer_model_revert_impersonation());
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
    /* The model's tokens are real handles on Windows. While the model knows
     * one, it closes it and counts: Windows reuses a closed handle's value at
     * once, so a second close must not reach CloseHandle (it would close
     * whatever has the value now), and only the count tells it was closed. */
    if (handle != (uint64_t)(uintptr_t)handle)
        return WSAPEER_E_ARGUMENT;
    if (wsapeer_model_token_closes(handle) >= 0)
        return wsapeer_model_close_token(handle);
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
