/* model.h: the contract model of Fwpuclnt (model.c).
 *
 * The model is built two ways: into the extension as the seam's "model"
 * implementation (fwpuclnt_model.c, answering only while
 * wsapeer.testing.contract_model() has it on), and, with model_dll.c, as the
 * fwpuclnt.dll that the Wine suite loads in place of Wine's. Never into a
 * Windows release build.
 *
 * The block between the CDEF markers joins the cffi cdef in model builds.
 */
#ifndef WSAPEER_MODEL_H
#define WSAPEER_MODEL_H

#include "fwpuclnt.h"

/* CDEF BEGIN */
/* ---- the contract model's controls (builds with WSAPEER_FWPUCLNT=model) ---- */
#define WSAPEER_MODEL_IMMEDIATE 0
#define WSAPEER_MODEL_PEND 1

/* One accepted call. function is a WSAPEER_CALL_* number; ident tells a
 * socket from a later one that reuses its handle: the inode on POSIX, the
 * file reference number Windows reports for the handle (Wine does), 0 where
 * there is none. */
typedef struct {
    uint64_t sequence;
    uint64_t sock;
    uint64_t ident;
    int function;
    uint64_t thread;
    size_t size;
} wsapeer_model_record;

/* Routes the seam to the model (1) or to "unsupported" (0); returns whether
 * it was on. Only wsapeer.testing.contract_model() calls it. */
int wsapeer_model_enable(int on);
int wsapeer_model_enabled(void);
/* Forgets every record, pending operation, setting and closed token, after
 * any call in progress has finished. */
void wsapeer_model_reset(void);
size_t wsapeer_model_record_count(void);
/* Copies record index (oldest first) into out and up to cap of its bytes into
 * buf (may be NULL when cap is 0). */
int wsapeer_model_record_get(size_t index, wsapeer_model_record *out,
                             uint8_t *buf, size_t cap);
/* What queries on sockets the model secured report: the peer the model
 * pretends to have negotiated with. Tokens are the model's own handles. */
int wsapeer_model_set_peer_security(uint32_t flags, int issue_tokens,
                                    uint64_t mm_sa_id, uint64_t qm_sa_id,
                                    uint32_t negotiation_winerror,
                                    const uint8_t *sa_lookup_context);
/* How often a model token was closed (0 while open), or -1 if it is not one. */
int wsapeer_model_token_closes(uint64_t token);
size_t wsapeer_model_open_tokens(void);
/* 1 and the socket if the calling thread impersonates a peer, else 0. */
int wsapeer_model_impersonating(uint64_t *sock);
/* IMMEDIATE or PEND for calls with an OVERLAPPED (Windows only). */
int wsapeer_model_set_completion(int mode);
/* Completes up to max pended operations, oldest first; returns how many. */
size_t wsapeer_model_complete_pending(size_t max);
/* Completes up to max pended operations, oldest first, as cancelled
 * (WSA_OPERATION_ABORTED), as Windows does when CancelIoEx reaches them or
 * the socket closes; returns how many (Windows only). */
size_t wsapeer_model_abort_pending(size_t max);
/* Completes the pended operation for this OVERLAPPED as cancelled (the
 * model's CancelIoEx); 1 if there was one (Windows only). */
int wsapeer_model_cancel(void *overlapped);
size_t wsapeer_model_pending_count(void);
/* Tells the model that sock is associated with completion port port (a
 * HANDLE) under key, as CreateIoCompletionPort does (Windows only). */
int wsapeer_model_associate(uint64_t sock, void *port, uintptr_t key);
/* The ident this socket's records carry (see wsapeer_model_record), 0 for
 * none, UINT64_MAX for a handle that is no socket (closed, say). With none, the model first forgets what it knew of
 * an earlier socket on this handle that the socket's facts contradict, so
 * that the records of the handle are this socket's. */
uint64_t wsapeer_model_socket_ident(uint64_t sock);
/* 1 (the default, restored by reset): the model reads a socket's identity
 * where Windows reports one; 0: handle and facts alone, as where it reports
 * none (Windows only; elsewhere 0 is WSAPEER_E_UNSUPPORTED). */
int wsapeer_model_set_socket_ids(int on);
/* What strict mode reports (wsapeer.testing.contract_model(strict=True)):
 * mistakes Windows accepts silently. */
#define WSAPEER_RULE_NAME_WITHOUT_SECURITY 1
#define WSAPEER_RULE_IMPERSONATED_UNSECURED 2
#define WSAPEER_RULE_TOKEN_LEFT_OPEN 3
#define WSAPEER_RULE_IMPERSONATION_LEFT_OPEN 4
typedef struct {
    int rule;
    uint64_t sock;     /* the handle the call was made with */
    uint64_t sequence; /* the record's sequence number: the call involved */
    int function;      /* a WSAPEER_CALL_* number */
} wsapeer_model_violation;
/* The violations as of now, oldest rule first: writes up to cap of them into
 * out (may be NULL when cap is 0) and returns how many there are. */
size_t wsapeer_model_violations(wsapeer_model_violation *out, size_t cap);
/* CDEF END */

/* Forgets everything at once; wsapeer_model_reset is this, after the calls in
 * progress (fwpuclnt_model.c) or directly (model_dll.c). */
void wsapeer_model_forget(void);
#ifndef _WIN32
/* fork(): prepare takes the model's lock so the child's copy is whole; the
 * child drops other threads' impersonations. */
void wsapeer_model_fork_prepare(void);
void wsapeer_model_fork_parent(void);
void wsapeer_model_fork_child(void);
#endif

/* The model's answers to the six calls, with the seam's signatures (as
 * fwpuclnt.h documents them); they answer whether or not the switch is on. */
int wsapeer_model_set_peer_target_name(uint64_t sock, const void *ptn, size_t len,
                                       void *overlapped, void *completion_routine);
int wsapeer_model_set_socket_security(uint64_t sock, const void *settings, size_t len,
                                      void *overlapped, void *completion_routine);
int wsapeer_model_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t len,
                                          void *overlapped, void *completion_routine);
/* info may be NULL to probe; *info_len is in/out as WSAQuerySocketSecurity's. */
int wsapeer_model_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_len,
                                        void *info, uint32_t *info_len, void *overlapped,
                                        void *completion_routine);
int wsapeer_model_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t len);
int wsapeer_model_revert_impersonation(void);
/* Closes a token the model issued: WSAPEER_OK, or ERROR_INVALID_HANDLE when
 * it was closed already (the close is counted either way). */
int wsapeer_model_close_token(uint64_t token);

#endif
