/* wsapeer.h: the shim's interface, the same on every platform.
 *
 * The block between the CDEF markers is read verbatim by build_ffi.py as the
 * cffi cdef, so it stays plain declarations and integer #defines: no
 * preprocessor conditionals, no platform types.
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

/* What a SOCKET_PEER_TARGET_NAME's PeerAddress holds. */
#define WSAPEER_PEER_NONE 0
#define WSAPEER_PEER_IPV4 4
#define WSAPEER_PEER_IPV6 6

#define WSAPEER_PROTOCOL_DEFAULT 0
#define WSAPEER_PROTOCOL_IPSEC 1
#define WSAPEER_PROTOCOL_IPSEC2 2

/* sizeof(SOCKET_PEER_TARGET_NAME) and the largest name a UNICODE_STRING holds. */
#define WSAPEER_PTN_HEADER_SIZE 144
#define WSAPEER_MAX_NAME_UNITS 32767

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

/* One field of a layout, for display: offsets come from the real types. */
typedef struct {
    const char *name;
    uint32_t offset;
    uint32_t size;
} wsapeer_field;

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

/* Calls WSASetSocketPeerTargetName(sock, ptn, size, NULL, NULL): WSAPEER_OK, a
 * WSA error code, or WSAPEER_E_UNSUPPORTED where there is no Fwpuclnt. */
int wsapeer_set_peer_target_name(uint64_t sock, const void *ptn, size_t size);

/* A sentence for one of the shim's own (negative) status codes. */
const char *wsapeer_strerror(int status);

/* The contract model of Fwpuclnt (src/model.c). Off unless switched on:
 * wsapeer_model_enable(1) routes every call of this process to it. */
#define WSAPEER_MODEL_SET_PEER_TARGET_NAME 1
#define WSAPEER_MODEL_IMMEDIATE 0
#define WSAPEER_MODEL_PEND 1

typedef struct {
    uint64_t sequence;
    uint64_t sock;
    int function;
    size_t size;
} wsapeer_model_record;

/* Switches the backend; returns the previous setting. */
int wsapeer_model_enable(int on);
int wsapeer_model_enabled(void);
/* Forgets every record and pending operation; the sequence restarts at 1. */
void wsapeer_model_reset(void);
size_t wsapeer_model_record_count(void);
/* Copies record index (oldest first) into out and up to cap of its bytes into
 * buf (may be NULL when cap is 0). */
int wsapeer_model_record_get(size_t index, wsapeer_model_record *out,
                             uint8_t *buf, size_t cap);
/* IMMEDIATE or PEND for calls with an OVERLAPPED (Windows only). */
int wsapeer_model_set_completion(int mode);
/* Completes up to max pended operations, oldest first; returns how many. */
size_t wsapeer_model_complete_pending(size_t max);
size_t wsapeer_model_pending_count(void);
/* Tells the model that sock is associated with completion port port (a
 * HANDLE) under key, as CreateIoCompletionPort does (Windows only). */
int wsapeer_model_associate(uint64_t sock, void *port, uintptr_t key);
/* CDEF END */

#endif /* WSAPEER_H */
