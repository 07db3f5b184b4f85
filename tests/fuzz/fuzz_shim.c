/* fuzz_shim.c: libFuzzer target for the shim's C code under ASan/UBSan.
 *
 * Every buffer handed to the shim is an exact-size heap copy, so a read or
 * write one byte out of bounds is reported. Checks, besides "no crash":
 * whatever wsapeer_ptn_parse accepts re-marshals to a buffer that parses to
 * the same fields, and the model never accepts a buffer shorter than the name
 * it declares.
 */
#include "wsapeer.h"
#include "model.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <sys/socket.h>
#include <netinet/in.h>

static int udp = -1, tcp = -1;

static void fail(void)
{
    abort();
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    wsapeer_ptn_fields fields, again;
    uint8_t *out;

    memcpy(copy, data, size);
    if (wsapeer_ptn_parse(copy, size, &fields) == WSAPEER_OK) {
        if (size != wsapeer_ptn_size(fields.name_units))
            fail();
        out = malloc(size);
        if (wsapeer_ptn_marshal(out, size, fields.protocol, fields.peer_kind, fields.address,
                                fields.port,
                                fields.peer_kind == WSAPEER_PEER_IPV6 ? fields.flowinfo & 0xFFFFF : 0,
                                fields.peer_kind == WSAPEER_PEER_IPV6 ? fields.scope_id : 0,
                                copy + fields.name_offset, fields.name_units) != WSAPEER_OK)
            fail();
        if (wsapeer_ptn_parse(out, size, &again) != WSAPEER_OK ||
            again.protocol != fields.protocol || again.peer_kind != fields.peer_kind ||
            again.port != fields.port || again.name_units != fields.name_units ||
            memcmp(out + again.name_offset, copy + fields.name_offset, 2 * fields.name_units))
            fail();
        free(out);
    }
    free(copy);
}

static void fuzz_marshal(const uint8_t *data, size_t size)
{
    uint8_t address[16] = {0};
    size_t units, need;
    uint8_t *out, *name;

    if (size < 24)
        return;
    memcpy(address, data + 8, 16);
    units = size - 24 > 0 ? (size - 24) / 2 : 0;
    need = wsapeer_ptn_size(units);
    name = malloc(2 * units + 1);
    memcpy(name, data + 24, 2 * units);
    out = malloc(need ? need : 1);
    {
        uint32_t protocol = data[0] % 4;
        int kind = (int[]){WSAPEER_PEER_NONE, WSAPEER_PEER_IPV4, WSAPEER_PEER_IPV6, 5}[data[1] % 4];
        uint16_t port = (uint16_t)(data[2] | data[3] << 8);
        uint32_t flow = (uint32_t)data[4] << 16 | data[5];
        uint32_t scope = data[6];
        /* A buffer one byte short must be refused, never overrun. */
        size_t give = data[7] & 1 && need ? need - 1 : need;
        int status = wsapeer_ptn_marshal(out, give, protocol, kind, address, port, flow, scope,
                                         name, units);
        if (status == WSAPEER_OK && give != need)
            fail();
        if (status == WSAPEER_OK) {
            wsapeer_ptn_fields fields;
            if (wsapeer_ptn_parse(out, need, &fields) != WSAPEER_OK)
                fail();
        }
    }
    free(out);
    free(name);
}

/* Every model call on an exact-size copy of the input: the model must read
 * only what the length allows. */
static void fuzz_model(const uint8_t *data, size_t size)
{
    uint8_t *copy;
    uint64_t sock;
    int status;
    uint8_t info[64];
    uint32_t info_len;

    if (size == 0)
        return;
    sock = (uint64_t)((data[0] & 1) ? udp : tcp);
    copy = malloc(size);
    memcpy(copy, data + 1, size - 1);
    size--;
    switch ((data[0] >> 1) % 5) {
    case 0:
        status = wsapeer_model_set_peer_target_name(sock, copy, size, NULL, NULL);
        if (status == 0 && size < WSAPEER_PTN_HEADER_SIZE)
            fail();
        break;
    case 1:
        status = wsapeer_model_set_socket_security(sock, copy, size, NULL, NULL);
        if (status == 0 && size < WSAPEER_SETTINGS_SIZE)
            fail();
        break;
    case 2:
        (void)wsapeer_model_delete_peer_target_name(sock, copy, size, NULL, NULL);
        break;
    case 3:
        info_len = (uint32_t)((data[0] >> 4) * 4);
        status = wsapeer_model_query_socket_security(sock, copy, size, info, &info_len, NULL,
                                                     NULL);
        if (info_len > sizeof info)
            fail();
        break;
    default:
        (void)wsapeer_model_impersonate_socket_peer(sock, copy, size);
        (void)wsapeer_model_revert_impersonation();
        break;
    }
    wsapeer_model_reset();
    free(copy);
}

/* Settings and query templates: never write past what they were given. */
static void fuzz_security_marshal(const uint8_t *data, size_t size)
{
    size_t u, d, p, need;
    uint8_t *out, key[16] = {0}, address[16] = {0};
    if (size < 8)
        return;
    memcpy(key, data, size < 16 ? size : 16);
    memcpy(address, data, size < 16 ? size : 16);
    u = data[1] % 8 * 2;
    d = data[2] % 8 * 2;
    p = data[3] % 8 * 2;
    need = wsapeer_settings_size(data[0] % 4, u, d, p);
    out = malloc(need ? need : 1);
    if (need && u + d + p <= size) {
        if (wsapeer_settings_marshal(out, need, data[0] % 4, data[4], data[5], data[6] & 1 ? key : NULL,
                                     NULL, data, u, data, d, data, p) == WSAPEER_OK &&
            need < WSAPEER_SETTINGS_SIZE)
            fail();
    }
    free(out);
    need = data[7] & 1 ? WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE : WSAPEER_QUERY_TEMPLATE_SIZE;
    out = malloc(need);
    (void)wsapeer_query_template_marshal(out, need, data[0] % 4, data[7] & 1, data[6] % 8, address,
                                         data[1], data[2], data[3], data[4], data[5] & 1,
                                         data[5] & 2);
    free(out);
}

/* The one-shot call from text (issue 15): host and name as cffi passes a str
 * (wchar_t, NUL-terminated), in buffers of their exact size so that any read
 * past the terminator is AddressSanitizer's. Whatever it accepts, the model
 * recorded a structure that parses, whose address printed as a dotted quad
 * is the host exactly (only the canonical form is taken). */
static void fuzz_text(const uint8_t *data, size_t size)
{
    size_t split, host_len, name_len, i;
    wchar_t *host, *name;
    int status, with_host;

    if (size < 3)
        return;
    with_host = data[0] & 1;
    split = 3 + (size - 3) * data[1] / 256;
    host_len = split - 3;
    name_len = (size - split) / 2;
    host = (wchar_t *)malloc((host_len + 1) * sizeof *host);
    name = (wchar_t *)malloc((name_len + 1) * sizeof *name);
    if (host == NULL || name == NULL) {
        free(host);
        free(name);
        return;
    }
    for (i = 0; i < host_len; i++)
        host[i] = (wchar_t)(data[3 + i] % 16 < 11 ? L"0123456789."[data[3 + i] % 16 % 11]
                                                  : (wchar_t)data[3 + i]);
    host[host_len] = 0;
    for (i = 0; i < name_len; i++)
        name[i] = (wchar_t)(data[split + 2 * i] | (data[split + 2 * i + 1] << 8));
    name[name_len] = 0;
    wsapeer_model_reset();
    wsapeer_model_enable(1);
    status = wsapeer_set_peer_target_name_text((uint64_t)udp, data[2] % 4,
                                               with_host ? host : NULL, 500, name);
    if (status == WSAPEER_OK) {
        wsapeer_model_record head;
        wsapeer_ptn_fields fields;
        uint8_t *bytes;
        if (!with_host || wsapeer_model_record_get(0, &head, NULL, 0) != WSAPEER_OK)
            fail(); /* UDP without a peer is refused; an accepted call is recorded */
        bytes = (uint8_t *)malloc(head.size ? head.size : 1);
        if (bytes == NULL)
            fail();
        wsapeer_model_record_get(0, &head, bytes, head.size);
        if (wsapeer_ptn_parse(bytes, head.size, &fields) != WSAPEER_OK ||
            fields.peer_kind != WSAPEER_PEER_IPV4)
            fail();
        {
            char printed[16];
            wchar_t wide[16];
            int n = snprintf(printed, sizeof printed, "%u.%u.%u.%u", fields.address[0],
                             fields.address[1], fields.address[2], fields.address[3]);
            for (i = 0; i <= (size_t)n; i++)
                wide[i] = (wchar_t)(unsigned char)printed[i];
            if (wcscmp(wide, host) != 0)
                fail(); /* the parser took a host that is not its canonical form */
        }
        free(bytes);
    } else if (status != WSAPEER_E_FORMAT && status != WSAPEER_WSAEINVAL &&
               status != WSAPEER_E_NOMEM) {
        fprintf(stderr, "text: unexpected status %d\n", status);
        fail();
    }
    wsapeer_model_enable(0);
    free(host);
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (udp < 0) {
        udp = socket(AF_INET, SOCK_DGRAM, 0);
        tcp = socket(AF_INET6, SOCK_STREAM, 0);
    }
    if (size == 0)
        return 0;
    switch (data[0] % 5) {
    case 0:
        fuzz_parse(data + 1, size - 1);
        break;
    case 1:
        fuzz_marshal(data + 1, size - 1);
        break;
    case 2:
        fuzz_security_marshal(data + 1, size - 1);
        break;
    case 3:
        fuzz_text(data + 1, size - 1);
        break;
    default:
        fuzz_model(data + 1, size - 1);
        break;
    }
    return 0;
}
