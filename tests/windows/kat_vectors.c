/* kat_vectors.c: writes tests/data/peer_target_name_vectors.json from
 * sdk_reference.h (real SDK types, Windows' own conversions). Run under Wine:
 *   kat_vectors.exe OUT.json
 */
#include "sdk_reference.h"

#include <stdio.h>

static void put_json_name(FILE *f, const wchar_t *name, size_t units)
{
    size_t i;
    fputc('"', f);
    for (i = 0; i < units; i++) {
        unsigned c = (unsigned short)name[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            fputc((int)c, f);
        else
            fprintf(f, "\\u%04x", c);
    }
    fputc('"', f);
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    FILE *f;
    size_t v;

    if (argc != 2) {
        fprintf(stderr, "usage: kat_vectors.exe OUT.json\n");
        return 2;
    }
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0 || (f = fopen(argv[1], "wb")) == NULL)
        return 1;
    fprintf(f, "{\n  \"generator\": \"tests/windows/kat_vectors.c, mingw-w64 SDK headers, run under Wine\",\n"
               "  \"sizeof_SOCKET_PEER_TARGET_NAME\": %u,\n  \"vectors\": [\n",
            (unsigned)sizeof(SOCKET_PEER_TARGET_NAME));
    for (v = 0; v < SDK_VECTOR_COUNT; v++) {
        const sdk_vector *t = &sdk_vectors[v];
        size_t size, units, i;
        const wchar_t *name = sdk_name(t, &units);
        SOCKET_PEER_TARGET_NAME *p = sdk_fill(t, &size);
        const unsigned char *bytes = (const unsigned char *)p;

        if (p == NULL)
            return 1;
        fprintf(f, "    {\"target_name\": ");
        put_json_name(f, name, units);
        fprintf(f, ", \"protocol\": %d, \"peer\": ", (int)t->protocol);
        if (t->family == AF_INET)
            fprintf(f, "[\"%s\", %u]", t->host, (unsigned)t->port);
        else if (t->family == AF_INET6)
            fprintf(f, "[\"%s\", %u, %lu, %lu]", t->host, (unsigned)t->port, t->flowinfo,
                    t->scope_id);
        else
            fprintf(f, "null");
        fprintf(f, ",\n     \"hex\": \"");
        for (i = 0; i < size; i++)
            fprintf(f, "%02x", bytes[i]);
        fprintf(f, "\"}%s\n", v + 1 < SDK_VECTOR_COUNT ? "," : "");
        free(p);
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
    WSACleanup();
    return 0;
}
