# Type stub for the compiled cffi module built by build_ffi.py from the CDEF
# block of src/wsapeer.h. Pointers are cffi cdata objects (typed Any).
from typing import Any

ffi: Any

class _Lib:
    WSAPEER_OK: int
    WSAPEER_E_UNSUPPORTED: int
    WSAPEER_E_ARGUMENT: int
    WSAPEER_E_BUFFER: int
    WSAPEER_E_FORMAT: int
    WSAPEER_E_INTERNAL: int
    WSAPEER_PEER_NONE: int
    WSAPEER_PEER_IPV4: int
    WSAPEER_PEER_IPV6: int
    WSAPEER_PROTOCOL_DEFAULT: int
    WSAPEER_PROTOCOL_IPSEC: int
    WSAPEER_PROTOCOL_IPSEC2: int
    WSAPEER_PTN_HEADER_SIZE: int
    WSAPEER_MAX_NAME_UNITS: int
    WSAPEER_MODEL_SET_PEER_TARGET_NAME: int
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
    def wsapeer_set_peer_target_name(self, sock: int, ptn: Any, size: int) -> int: ...
    def wsapeer_strerror(self, status: int) -> Any: ...
    def wsapeer_model_enable(self, on: int) -> int: ...
    def wsapeer_model_enabled(self) -> int: ...
    def wsapeer_model_reset(self) -> None: ...
    def wsapeer_model_record_count(self) -> int: ...
    def wsapeer_model_record_get(self, index: int, out: Any, buf: Any, cap: int) -> int: ...
    def wsapeer_model_set_completion(self, mode: int) -> int: ...
    def wsapeer_model_complete_pending(self, max: int) -> int: ...
    def wsapeer_model_pending_count(self) -> int: ...
    def wsapeer_model_associate(self, sock: int, port: Any, key: int) -> int: ...

lib: _Lib
