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
#include <string.h>
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

static void fuzz_model(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    int status;
    memcpy(copy, data, size);
    status = wsapeer_model_set_peer_target_name((uint64_t)((size & 1) ? udp : tcp), copy, size,
                                                NULL, NULL);
    if (status == 0 && size < WSAPEER_PTN_HEADER_SIZE)
        fail();
    wsapeer_model_reset();
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (udp < 0) {
        udp = socket(AF_INET, SOCK_DGRAM, 0);
        tcp = socket(AF_INET6, SOCK_STREAM, 0);
    }
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_parse(data + 1, size - 1);
        break;
    case 1:
        fuzz_marshal(data + 1, size - 1);
        break;
    default:
        fuzz_model(data + 1, size - 1);
        break;
    }
    return 0;
}
