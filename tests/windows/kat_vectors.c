/* kat_vectors.c: writes tests/data/peer_target_name_vectors.json from
 * sdk_reference.h and tests/data/security_vectors.json from sdk_security.h
 * (real SDK types, Windows' own conversions). Run under Wine:
 *   kat_vectors.exe PEER_TARGET_NAME.json SECURITY.json
 */
#include "sdk_security.h"

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

static void put_hex(FILE *f, const void *data, size_t size)
{
    const unsigned char *bytes = (const unsigned char *)data;
    size_t i;
    fputc('"', f);
    for (i = 0; i < size; i++)
        fprintf(f, "%02x", bytes[i]);
    fputc('"', f);
}

static void put_guid(FILE *f, const GUID *g)
{
    if (g == NULL) {
        fprintf(f, "null");
        return;
    }
    fprintf(f, "\"%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x\"", (unsigned long)g->Data1,
            g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4],
            g->Data4[5], g->Data4[6], g->Data4[7]);
}

static void put_optional_name(FILE *f, const wchar_t *s)
{
    if (s)
        put_json_name(f, s, wcslen(s));
    else
        fprintf(f, "null");
}

static void put_peer(FILE *f, const sdk_vector *t)
{
    if (t->family == AF_INET)
        fprintf(f, "[\"%s\", %u]", t->host, (unsigned)t->port);
    else if (t->family == AF_INET6)
        fprintf(f, "[\"%s\", %u, %lu, %lu]", t->host, (unsigned)t->port, t->flowinfo, t->scope_id);
    else
        fprintf(f, "null");
}

static int write_security(const char *path)
{
    FILE *f = fopen(path, "wb");
    size_t v, size;
    if (f == NULL)
        return 1;
    fprintf(f, "{\n  \"generator\": \"tests/windows/kat_vectors.c, mingw-w64 SDK headers, run under Wine\",\n");
    fprintf(f, "  \"sizeof\": {\"SOCKET_SECURITY_SETTINGS\": %u, \"SOCKET_SECURITY_SETTINGS_IPSEC\": %u, "
               "\"SOCKET_SECURITY_QUERY_TEMPLATE\": %u, \"SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2\": %u, "
               "\"SOCKET_SECURITY_QUERY_INFO\": %u, \"SOCKET_SECURITY_QUERY_INFO_IPSEC2\": %u},\n",
            (unsigned)sizeof(SOCKET_SECURITY_SETTINGS), (unsigned)sizeof(SOCKET_SECURITY_SETTINGS_IPSEC),
            (unsigned)sizeof(SOCKET_SECURITY_QUERY_TEMPLATE),
            (unsigned)sizeof(SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2),
            (unsigned)sizeof(SOCKET_SECURITY_QUERY_INFO), (unsigned)sizeof(SOCKET_SECURITY_QUERY_INFO_IPSEC2));
    fprintf(f, "  \"settings\": [\n");
    for (v = 0; v < SDK_SETTINGS_COUNT; v++) {
        const sdk_settings *t = &sdk_settings_vectors[v];
        void *p = sdk_fill_settings(t, &size);
        if (p == NULL)
            return 1;
        fprintf(f, "    {\"protocol\": %d, \"flags\": %lu, \"ipsec_flags\": %lu, \"mm_policy_key\": ",
                (int)t->protocol, t->flags, t->ipsec_flags);
        put_guid(f, t->mm);
        fprintf(f, ", \"qm_policy_key\": ");
        put_guid(f, t->qm);
        fprintf(f, ",\n     \"user_name\": ");
        put_optional_name(f, t->user);
        fprintf(f, ", \"domain_name\": ");
        put_optional_name(f, t->domain);
        fprintf(f, ", \"password\": ");
        put_optional_name(f, t->password);
        fprintf(f, ",\n     \"hex\": ");
        put_hex(f, p, size);
        fprintf(f, "}%s\n", v + 1 < SDK_SETTINGS_COUNT ? "," : "");
        free(p);
    }
    fprintf(f, "  ],\n  \"templates\": [\n");
    for (v = 0; v < SDK_TEMPLATE_COUNT; v++) {
        const sdk_template *t = &sdk_template_vectors[v];
        void *p = sdk_fill_template(t, &size);
        if (p == NULL)
            return 1;
        fprintf(f, "    {\"ipsec2\": %s, \"protocol\": %d, \"peer\": ", t->ipsec2 ? "true" : "false",
                (int)t->protocol);
        put_peer(f, &t->peer);
        fprintf(f, ", \"access_mask\": %lu, \"flags\": %lu, \"field_mask\": %lu,\n     \"hex\": ",
                t->access_mask, t->flags, t->field_mask);
        put_hex(f, p, size);
        fprintf(f, "}%s\n", v + 1 < SDK_TEMPLATE_COUNT ? "," : "");
        free(p);
    }
    fprintf(f, "  ],\n  \"infos\": [\n");
    for (v = 0; v < SDK_INFO_COUNT; v++) {
        const sdk_info *t = &sdk_info_vectors[v];
        void *p = sdk_fill_info(t, &size);
        if (p == NULL)
            return 1;
        fprintf(f, "    {\"ipsec2\": %s, \"protocol\": %d, \"flags\": %lu, \"application_token\": %llu, "
                   "\"machine_token\": %llu,\n     \"mm_sa_id\": %llu, \"qm_sa_id\": %llu, "
                   "\"negotiation_winerror\": %lu, \"sa_lookup_context\": ",
                t->ipsec2 ? "true" : "false", (int)t->protocol, t->flags,
                (unsigned long long)t->app, (unsigned long long)t->machine, (unsigned long long)t->mm,
                (unsigned long long)t->qm, (unsigned long)t->negotiation);
        put_guid(f, t->context);
        fprintf(f, ",\n     \"hex\": ");
        put_hex(f, p, size);
        fprintf(f, "}%s\n", v + 1 < SDK_INFO_COUNT ? "," : "");
        free(p);
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    FILE *f;
    size_t v;

    if (argc != 3) {
        fprintf(stderr, "usage: kat_vectors.exe PEER_TARGET_NAME.json SECURITY.json\n");
        return 2;
    }
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0 || write_security(argv[2]) != 0 ||
        (f = fopen(argv[1], "wb")) == NULL)
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
