/* wsapeer.h: the shim's interface, the same on every platform.
 *
 * The block between the CDEF markers is read verbatim by build_ffi.py as the
 * cffi cdef, so it stays plain declarations and integer #defines: no
 * preprocessor conditionals, no platform types.
 *
 * Layout: marshal.c writes and reads the Windows structures (every platform);
 * _wsapeer.c and overlapped.c make the calls, through the one seam declared in
 * fwpuclnt.h, whose implementation build_ffi.py chooses at build time.
 */
#ifndef WSAPEER_H
#define WSAPEER_H

#include <stddef.h>
#include <stdint.h>

/* CDEF BEGIN */
/* Status codes. Positive values are Winsock (WSA*) error codes; negative
 * values are the shim's own and never come from Windows. */
#define WSAPEER_OK 0
#define WSAPEER_E_UNSUPPORTED -1
#define WSAPEER_E_ARGUMENT -2
#define WSAPEER_E_BUFFER -3
#define WSAPEER_E_FORMAT -4
#define WSAPEER_E_INTERNAL -5
#define WSAPEER_E_NOMEM -6
#define WSAPEER_E_THREAD -7

/* The calls of the family, as operations, batches and the model's records
 * number them (1 to WSAPEER_CALLS). */
#define WSAPEER_CALL_SET_PEER_TARGET_NAME 1
#define WSAPEER_CALL_SET_SOCKET_SECURITY 2
#define WSAPEER_CALL_DELETE_PEER_TARGET_NAME 3
#define WSAPEER_CALL_QUERY_SOCKET_SECURITY 4
#define WSAPEER_CALL_IMPERSONATE_SOCKET_PEER 5
#define WSAPEER_CALL_REVERT_IMPERSONATION 6
#define WSAPEER_CALLS 6

/* What a PeerAddress holds. */
#define WSAPEER_PEER_NONE 0
#define WSAPEER_PEER_IPV4 4
#define WSAPEER_PEER_IPV6 6

#define WSAPEER_PROTOCOL_DEFAULT 0
#define WSAPEER_PROTOCOL_IPSEC 1
#define WSAPEER_PROTOCOL_IPSEC2 2

/* The SDK's sizeof for each structure (checked at compile time in marshal.c),
 * and the longest strings a UNICODE_STRING holds. */
#define WSAPEER_PTN_HEADER_SIZE 144
#define WSAPEER_SETTINGS_SIZE 8
#define WSAPEER_SETTINGS_IPSEC_SIZE 88
#define WSAPEER_QUERY_TEMPLATE_SIZE 144
#define WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE 152
#define WSAPEER_QUERY_INFO_SIZE 24
#define WSAPEER_QUERY_INFO_IPSEC2_SIZE 64
#define WSAPEER_SOCKADDR_IN_SIZE 16
#define WSAPEER_SOCKADDR_IN6_SIZE 28
#define WSAPEER_MAX_NAME_UNITS 32767
#define WSAPEER_MAX_STRING_BYTES 65534

/* The fields of a SOCKET_PEER_TARGET_NAME, decoded to host values. */
typedef struct {
    uint32_t protocol;
    int peer_kind;
    uint8_t address[16];
    uint16_t port;
    uint32_t flowinfo;
    uint32_t scope_id;
    uint32_t name_length_field;
    size_t name_units;
    size_t name_offset;
} wsapeer_ptn_fields;

/* A SOCKET_SECURITY_QUERY_INFO(_IPSEC2), decoded; ipsec2 says whether the
 * buffer was long enough to hold the IPSEC2 fields. */
typedef struct {
    uint32_t protocol;
    uint32_t flags;
    uint64_t application_token;
    uint64_t machine_token;
    int ipsec2;
    uint64_t mm_sa_id;
    uint64_t qm_sa_id;
    uint32_t negotiation_winerror;
    uint8_t sa_lookup_context[16];
} wsapeer_query_info;

/* One field of a layout, for display: offsets come from the real types. */
typedef struct {
    const char *name;
    uint32_t offset;
    uint32_t size;
} wsapeer_field;

/* ---- marshalling (marshal.c) ---- */

/* Size of the buffer for a name of name_units UTF-16 code units, or 0 if the
 * name is empty or longer than WSAPEER_MAX_NAME_UNITS. */
size_t wsapeer_ptn_size(size_t name_units);

/* Writes a complete SOCKET_PEER_TARGET_NAME (every padding byte zero) into out.
 * address is 4 bytes for IPv4, 16 for IPv6, ignored (may be NULL) for NONE;
 * name is UTF-16LE, name_units code units, no terminator. */
int wsapeer_ptn_marshal(void *out, size_t out_size, uint32_t protocol,
                        int peer_kind, const uint8_t *address, uint16_t port,
                        uint32_t flowinfo, uint32_t scope_id,
                        const uint8_t *name, size_t name_units);

/* Decodes buf; checks that its size is exactly what the length field says. */
int wsapeer_ptn_parse(const uint8_t *buf, size_t size, wsapeer_ptn_fields *out);

/* Fills up to max entries describing the layout for peer_kind; returns the count. */
size_t wsapeer_ptn_layout(int peer_kind, wsapeer_field *out, size_t max);

/* Writes a Windows SOCKADDR_IN or SOCKADDR_IN6; returns its size (16 or 28)
 * or a negative status. */
int wsapeer_sockaddr_marshal(void *out, size_t out_size, int peer_kind,
                             const uint8_t *address, uint16_t port,
                             uint32_t flowinfo, uint32_t scope_id);

/* SOCKET_SECURITY_SETTINGS for DEFAULT (8 bytes) or SOCKET_SECURITY_SETTINGS_IPSEC
 * for IPSEC/IPSEC2 (88 bytes + the strings, lengths in bytes); 0 if too long. */
size_t wsapeer_settings_size(uint32_t protocol, size_t user_bytes,
                             size_t domain_bytes, size_t password_bytes);

/* Policy keys are GUIDs as stored (uuid.UUID.bytes_le), NULL for zero; the
 * strings are UTF-16LE without terminators, NULL when their length is 0. */
int wsapeer_settings_marshal(void *out, size_t out_size, uint32_t protocol,
                             uint32_t flags, uint32_t ipsec_flags,
                             const uint8_t *mm_policy_key,
                             const uint8_t *qm_policy_key,
                             const uint8_t *user, size_t user_bytes,
                             const uint8_t *domain, size_t domain_bytes,
                             const uint8_t *password, size_t password_bytes);

/* SOCKET_SECURITY_QUERY_TEMPLATE (144) or _IPSEC2 (152). */
int wsapeer_query_template_marshal(void *out, size_t out_size, uint32_t protocol,
                                   int ipsec2, int peer_kind,
                                   const uint8_t *address, uint16_t port,
                                   uint32_t flowinfo, uint32_t scope_id,
                                   uint32_t access_mask, uint32_t flags,
                                   uint32_t field_mask);

/* Decodes a SOCKET_SECURITY_QUERY_INFO of at least 24 bytes (64 for IPSEC2 fields). */
int wsapeer_query_info_parse(const uint8_t *buf, size_t size, wsapeer_query_info *out);

/* Buffers that may hold a password: zeroed before they are freed. */
void *wsapeer_secret_alloc(size_t size);
/* Writes the n wchar_t at s (a Python str as cffi lays it out: UTF-16 on
 * Windows, UTF-32 elsewhere) into out as UTF-16LE, without a terminator, so
 * that a password goes from the caller's str to a wiped C buffer with no
 * Python copy on the way. Returns the bytes written, or 0 if they would not
 * fit in cap or s holds a lone surrogate or a value past U+10FFFF. */
size_t wsapeer_utf16le_from_wide(uint8_t *out, size_t cap, const wchar_t *s, size_t n);
/* 1 if the n bytes at a and b are equal, else 0, in a time that depends on n
 * alone: the buffers compared may hold a password. */
int wsapeer_equal(const void *a, const void *b, size_t n);
void wsapeer_secret_wipe(void *buffer);
void wsapeer_secret_free(void *buffer);

/* ---- calls (_wsapeer.c): WSAPEER_OK, a WSA error code, or
 * WSAPEER_E_UNSUPPORTED where nothing answers the calls ---- */

/* Which Fwpuclnt implementation this build has: "windows", "model", "none"
 * or "echo" (fwpuclnt.h). Fixed when the extension is built. */
const char *wsapeer_fwpuclnt(void);
/* The Winsock function a WSAPEER_CALL_* number stands for, NULL if none. */
const char *wsapeer_call_name(int call);
/* The largest handle this platform's sockets can have: what a SOCKET (a
 * pointer-sized integer) holds on Windows, 2^32 - 1 on 32-bit Windows; INT_MAX
 * elsewhere, where sockets are int descriptors. Python refuses larger handles
 * before any call, so that none is ever truncated into another socket. */
uint64_t wsapeer_max_socket(void);

int wsapeer_set_peer_target_name(uint64_t sock, const void *ptn, size_t size);
/* Marshals (as wsapeer_ptn_marshal) and calls in one step, with no buffer for
 * the caller to manage: the one-shot path. */
int wsapeer_set_peer_target_name_direct(uint64_t sock, uint32_t protocol, int peer_kind,
                                        const uint8_t *address, uint16_t port,
                                        uint32_t flowinfo, uint32_t scope_id,
                                        const uint8_t *name, size_t name_units);
/* settings may be NULL (size 0): Windows' default settings. */
int wsapeer_set_socket_security(uint64_t sock, const void *settings, size_t size);
int wsapeer_delete_peer_target_name(uint64_t sock, const void *sockaddr, size_t size);
/* tmpl may be NULL (size 0) for TCP. Probes the size Windows asks for and
 * retries; on success *out owns the token handles it holds. */
int wsapeer_query_socket_security(uint64_t sock, const void *tmpl, size_t tmpl_size,
                                  int ipsec2, wsapeer_query_info *out);
/* One WSAQuerySocketSecurity with an answer buffer of info_cap bytes (NULL
 * when 0), for tests/windows_real to see what Windows says to a short buffer:
 * the status, and in *info_len the length Windows wrote back (info_cap if it
 * wrote none). Token handles of an answer that fits are closed here, so the
 * probe owns nothing afterwards. Not used by the library itself. */
int wsapeer_query_size_probe(uint64_t sock, const void *tmpl, size_t tmpl_size,
                             uint32_t info_cap, uint32_t *info_len);
/* sockaddr may be NULL (size 0) for a connected socket. */
int wsapeer_impersonate_socket_peer(uint64_t sock, const void *sockaddr, size_t size);
int wsapeer_revert_impersonation(void);
/* Closes a token handle a query returned (CloseHandle on Windows). */
int wsapeer_close_token(uint64_t handle);
/* The same, as a cffi ffi.gc destructor: the handle travels as a pointer. */
void wsapeer_token_release(void *handle);

/* A sentence for one of the shim's own (negative) status codes. */
const char *wsapeer_strerror(int status);

/* ---- overlapped operations and batches (overlapped.c) ----
 * An operation owns its OVERLAPPED, its event and a copy of its input until
 * Windows is done with them. Off Windows it completes at once. Functions are
 * WSAPEER_CALL_SET_PEER_TARGET_NAME to WSAPEER_CALL_QUERY_SOCKET_SECURITY. */
#define WSAPEER_OP_EVENT 0
/* Routine mode: a completion routine (C, the shim's) records the outcome.
 * It runs only on the thread that started the operation, while that thread
 * waits alertably: wsapeer_op_wait, and wsapeer_op_done, wsapeer_op_result
 * and wsapeer_op_query_info there (a poll is a wait with a zero timeout).
 * If that thread exits with the operation in flight, the routine never runs;
 * released before or after the exit, from any thread, the operation is then
 * freed once Windows has written its outcome into the OVERLAPPED: nothing
 * leaks, and nothing Windows may still write is freed early. */
#define WSAPEER_OP_ROUTINE 1
#define WSAPEER_INFINITE 4294967295

typedef struct wsapeer_op wsapeer_op;

/* NULL when out of memory or for an unknown function / mode. */
wsapeer_op *wsapeer_op_new(int function, uint64_t sock, const void *input, size_t size,
                           int mode);
/* Issues the call: 0 (completed or failed at once: done now, see
 * wsapeer_op_result), WSAPEER_WSA_IO_PENDING, or a negative shim status.
 * Once per operation. */
int wsapeer_op_start(wsapeer_op *op);
/* 1 once done. A poll: alertable on the issuing thread of a routine-mode
 * operation, so polling alone completes it. */
int wsapeer_op_done(wsapeer_op *op);
/* Waits (alertably: completion routines run, even with a zero timeout) up to
 * timeout_ms or WSAPEER_INFINITE: 1 done, 0 timed out, WSAPEER_E_THREAD for a
 * routine-mode operation waited on by a thread other than the one that
 * started it. */
int wsapeer_op_wait(wsapeer_op *op, uint32_t timeout_ms);
/* The call's status once done (0 or a WSA code), WSAPEER_WSA_IO_INCOMPLETE before. */
int wsapeer_op_result(wsapeer_op *op);
/* A query's answer, once done with status 0; ownership of the token handles
 * passes to the caller (at most once: later calls see no tokens). */
int wsapeer_op_query_info(wsapeer_op *op, wsapeer_query_info *out);
/* Asks for cancellation: 1 if the operation was in flight. */
int wsapeer_op_cancel(wsapeer_op *op);
/* The event (a HANDLE) signalled at completion, 0 off Windows. An event-mode
 * operation done when wsapeer_op_start returned is signalled only if Windows
 * signalled it: ask wsapeer_op_done before waiting on it. */
uintptr_t wsapeer_op_event(wsapeer_op *op);
/* Drops the caller's reference. An operation still in flight is cancelled,
 * and the cancellation awaited for up to 5 s; its memory is freed only once
 * Windows has finished with it, by a thread-pool wait if that is later. */
void wsapeer_op_release(wsapeer_op *op);
/* Operations allocated and not yet freed, in this process. */
size_t wsapeer_op_live(void);
/* Issues one call (not a query) with an OVERLAPPED in event mode. Done at
 * once: returns its outcome (0 or the error) and releases the operation.
 * Pending: returns WSAPEER_WSA_IO_PENDING with the operation in *pending, the
 * caller's to wait for and release. A negative status: not issued. The
 * asyncio path, which most calls leave at once, with one C call. */
int wsapeer_op_run(int function, uint64_t sock, const void *input, size_t size,
                   wsapeer_op **pending);

/* One prepared input of a batch: a marshalled structure and its size. */
typedef struct {
    const void *data;
    size_t size;
} wsapeer_buffer;

/* The prepared call: a target's buffer and size, made once, passed as one
 * argument (the hot path of a server converts two arguments, not three). */
int wsapeer_set_peer_target_name_item(uint64_t sock, const wsapeer_buffer *item);
/* The one-shot call from text, as cffi passes a Python str (wchar_t, NUL-
 * terminated; the caller has made sure neither string holds a NUL): host NULL
 * for no peer (TCP), else an IPv4 address in dotted-quad form (four parts of
 * 1 to 3 digits, at most 255, no leading zero). Marshals on the stack and
 * calls. WSAPEER_E_FORMAT, before any call, when the name or host is not one
 * this path takes (empty, too long, a lone surrogate, another address form):
 * the caller then takes the full path, which says what is wrong. */
int wsapeer_set_peer_target_name_text(uint64_t sock, uint32_t protocol, const wchar_t *host,
                                      uint16_t port, const wchar_t *name);

/* Issues n calls in one loop (overlapped on Windows), then waits for all of
 * them up to timeout_ms; results[i] gets each status (0 or a WSA code). At
 * the timeout what is left is cancelled and the cancellations awaited for up
 * to 5 s: those cancelled report WSAPEER_WSA_OPERATION_ABORTED; those still
 * in flight after that report WSAPEER_WSA_IO_INCOMPLETE, their outcome never
 * known to the caller, and the batch's memory (with its copies of the inputs)
 * is freed only once Windows has finished with every item. functions and
 * socks hold either n entries or one, shared by every item (a UDP server:
 * one socket; a TCP server: one function). Inputs are copied on Windows.
 * Returns 0, or a negative shim status when nothing was issued
 * (WSAPEER_E_UNSUPPORTED when the first call found no Fwpuclnt to answer;
 * WSAPEER_E_NOMEM when the copies would not fit in memory, or in a size_t). */
int wsapeer_batch(size_t n, const int *functions, size_t n_functions, const uint64_t *socks,
                  size_t n_socks, const wsapeer_buffer *const *inputs, int *results,
                  uint32_t timeout_ms);
/* CDEF END */

/* Where AllStrings starts (the structure's 4 bytes of tail padding overlap
 * it); marshal.c asserts it against the SDK's layout. */
#define WSAPEER_PTN_NAME_OFFSET 140

/* Writes every field of a SOCKET_PEER_TARGET_NAME but the name, which the
 * caller has already put at AllStrings (name_units code units), and zeroes
 * the padding before and after it: marshalling a name in place. */
int wsapeer_ptn_header(void *out, size_t out_size, uint32_t protocol, int peer_kind,
                       const uint8_t *address, uint16_t port, size_t name_units);

#endif /* WSAPEER_H */
