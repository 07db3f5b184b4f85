# Type stub for the compiled cffi module built by build_ffi.py from the CDEF
# block of src/wsapeer.h (tests/test_stub.py keeps the two in step).
# Pointers and structs are cffi cdata objects, typed Any.
from typing import Any

ffi: Any

class _Lib:
    WSAPEER_OK: int
    WSAPEER_E_UNSUPPORTED: int
    WSAPEER_E_ARGUMENT: int
    WSAPEER_E_BUFFER: int
    WSAPEER_E_FORMAT: int
    WSAPEER_E_INTERNAL: int
    WSAPEER_E_NOMEM: int
    WSAPEER_PEER_NONE: int
    WSAPEER_PEER_IPV4: int
    WSAPEER_PEER_IPV6: int
    WSAPEER_PROTOCOL_DEFAULT: int
    WSAPEER_PROTOCOL_IPSEC: int
    WSAPEER_PROTOCOL_IPSEC2: int
    WSAPEER_PTN_HEADER_SIZE: int
    WSAPEER_SETTINGS_SIZE: int
    WSAPEER_SETTINGS_IPSEC_SIZE: int
    WSAPEER_QUERY_TEMPLATE_SIZE: int
    WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE: int
    WSAPEER_QUERY_INFO_SIZE: int
    WSAPEER_QUERY_INFO_IPSEC2_SIZE: int
    WSAPEER_SOCKADDR_IN_SIZE: int
    WSAPEER_SOCKADDR_IN6_SIZE: int
    WSAPEER_MAX_NAME_UNITS: int
    WSAPEER_MAX_STRING_BYTES: int
    WSAPEER_MODEL_SET_PEER_TARGET_NAME: int
    WSAPEER_MODEL_SET_SOCKET_SECURITY: int
    WSAPEER_MODEL_DELETE_PEER_TARGET_NAME: int
    WSAPEER_MODEL_QUERY_SOCKET_SECURITY: int
    WSAPEER_MODEL_IMPERSONATE_SOCKET_PEER: int
    WSAPEER_MODEL_REVERT_IMPERSONATION: int
    WSAPEER_MODEL_IMMEDIATE: int
    WSAPEER_MODEL_PEND: int
    def wsapeer_ptn_size(self, name_units: int) -> int: ...
    def wsapeer_ptn_marshal(
        self,
        out: Any,
        out_size: int,
        protocol: int,
        peer_kind: int,
        address: Any,
        port: int,
        flowinfo: int,
        scope_id: int,
        name: Any,
        name_units: int,
    ) -> int: ...
    def wsapeer_ptn_parse(self, buf: Any, size: int, out: Any) -> int: ...
    def wsapeer_ptn_layout(self, peer_kind: int, out: Any, max: int) -> int: ...
    def wsapeer_sockaddr_marshal(
        self,
        out: Any,
        out_size: int,
        peer_kind: int,
        address: Any,
        port: int,
        flowinfo: int,
        scope_id: int,
    ) -> int: ...
    def wsapeer_settings_size(
        self, protocol: int, user_bytes: int, domain_bytes: int, password_bytes: int
    ) -> int: ...
    def wsapeer_settings_marshal(
        self,
        out: Any,
        out_size: int,
        protocol: int,
        flags: int,
        ipsec_flags: int,
        mm_policy_key: Any,
        qm_policy_key: Any,
        user: Any,
        user_bytes: int,
        domain: Any,
        domain_bytes: int,
        password: Any,
        password_bytes: int,
    ) -> int: ...
    def wsapeer_query_template_marshal(
        self,
        out: Any,
        out_size: int,
        protocol: int,
        ipsec2: int,
        peer_kind: int,
        address: Any,
        port: int,
        flowinfo: int,
        scope_id: int,
        access_mask: int,
        flags: int,
        field_mask: int,
    ) -> int: ...
    def wsapeer_query_info_parse(self, buf: Any, size: int, out: Any) -> int: ...
    def wsapeer_secret_alloc(self, size: int) -> Any: ...
    def wsapeer_secret_wipe(self, buffer: Any) -> None: ...
    def wsapeer_secret_free(self, buffer: Any) -> None: ...
    def wsapeer_set_peer_target_name(self, sock: int, ptn: Any, size: int) -> int: ...
    def wsapeer_set_socket_security(self, sock: int, settings: Any, size: int) -> int: ...
    def wsapeer_delete_peer_target_name(self, sock: int, sockaddr: Any, size: int) -> int: ...
    def wsapeer_query_socket_security(
        self, sock: int, tmpl: Any, tmpl_size: int, ipsec2: int, out: Any
    ) -> int: ...
    def wsapeer_impersonate_socket_peer(self, sock: int, sockaddr: Any, size: int) -> int: ...
    def wsapeer_revert_impersonation(self) -> int: ...
    def wsapeer_close_token(self, handle: int) -> int: ...
    def wsapeer_token_release(self, handle: Any) -> None: ...
    def wsapeer_strerror(self, status: int) -> Any: ...
    def wsapeer_model_enable(self, on: int) -> int: ...
    def wsapeer_model_enabled(self) -> int: ...
    def wsapeer_model_reset(self) -> None: ...
    def wsapeer_model_record_count(self) -> int: ...
    def wsapeer_model_record_get(self, index: int, out: Any, buf: Any, cap: int) -> int: ...
    def wsapeer_model_set_peer_security(
        self,
        flags: int,
        issue_tokens: int,
        mm_sa_id: int,
        qm_sa_id: int,
        negotiation_winerror: int,
        sa_lookup_context: Any,
    ) -> int: ...
    def wsapeer_model_token_closes(self, token: int) -> int: ...
    def wsapeer_model_open_tokens(self) -> int: ...
    def wsapeer_model_impersonating(self, sock: Any) -> int: ...
    def wsapeer_model_set_completion(self, mode: int) -> int: ...
    def wsapeer_model_complete_pending(self, max: int) -> int: ...
    def wsapeer_model_pending_count(self) -> int: ...
    def wsapeer_model_associate(self, sock: int, port: Any, key: int) -> int: ...

lib: _Lib
