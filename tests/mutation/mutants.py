"""The standing list of mutants: small, plausible bugs that would weaken
security or correctness without crashing. Each must be killed by a suite.

A change that adds a security-relevant check adds its mutant here. Each
mutant replaces `before` (which must occur exactly once in `path`) with
`after`; `suites` says what can reach it ("pytest" runs `tests` on a model
build of the mutated tree, "wine" runs tests/windows/run on it in quick mode,
only the test_shim.c tests `wine_tests` names if it names any, "docs" runs
the Sphinx doctest builder on it, which every mutant of docs/ or README.md
runs whatever it names), so each runs only what can kill it, stopping at the
first failure. Each suite also runs once on the unmutated tree first: a kill
by a test that fails without the mutant is no kill.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple


class Mutant(NamedTuple):
    key: str
    path: str
    before: str
    after: str
    why: str
    suites: Tuple[str, ...] = ("pytest",)
    tests: Tuple[str, ...] = ("tests",)
    also: Tuple[Tuple[str, str, str], ...] = ()  # more (path, before, after) of the same bug
    wine_tests: Tuple[str, ...] = ()  # test_shim.c's tests that kill it (none: all of them)


ZEROING = ("tests/test_zeroing.py",)
FAITHFUL = ("tests/test_model_faithful.py",)
FAST = ("tests/test_fast_paths.py",)
HELPERS = ("tests/test_helpers.py",)
STRICT = ("tests/test_strict_model.py",)
EXACT = ("tests/test_exact_values.py",)
ATTACK = ("tests/test_attack_findings.py",)
HOSTILE = ("tests/test_hostile_arguments.py",)
DOCS = ("tests/test_docs.py",)
# A Wine test that counts handles, run alone, sees one more after its first
# overlapped operation than it does after the tests before it in a whole run:
# test_op_routine (milliseconds) goes first and takes that one.
WARM = ("test_op_routine",)

MUTANTS = [
    # ---- secrets: every free path zeroes what may hold a password ----------------
    Mutant(
        "secret-free-no-zero", "src/_wsapeer.c",
        "    wsapeer_secure_zero(p, SECRET_HEADER + size);\n",
        "    (void)size;\n",
        "IPsecSettings' C buffer freed with the password in it", tests=ZEROING,
    ),
    Mutant(
        "op-release-no-zero", "src/overlapped.c",
        "        close_unclaimed(&op->info);\n    if (op->input) /* settings copied here may hold"
        " a password */\n        wsapeer_secure_zero(op->input, op->size);",
        "        close_unclaimed(&op->info);",
        "an operation's copy of the settings freed with the password in it", tests=ZEROING,
    ),
    Mutant(
        "model-record-no-zero", "src/model/model.c",
        "    wsapeer_secure_zero(r->bytes, r->head.size);\n",
        "",
        "the model's records of settings freed with the password in them", tests=ZEROING,
    ),
    Mutant(
        "model-records-read-no-zero", "wsapeer/testing.py",
        "        view[:] = bytes(head.size)",
        "",
        "reading the model's records leaves the password in freed cffi memory", tests=ZEROING,
    ),
    Mutant(
        "windows-op-free-no-zero", "src/overlapped.c",
        "        CloseHandle(op->event);\n    if (op->input) /* settings copied here may hold a"
        " password */\n        wsapeer_secure_zero(op->input, op->size);",
        "        CloseHandle(op->event);",
        "Windows: an operation's copy of the settings freed unwiped", suites=("wine",),
        wine_tests=("test_zeroing_ops",),
    ),
    Mutant(
        "windows-batch-no-zero", "src/overlapped.c",
        "    wsapeer_secure_zero(block, total); /* copies of settings may hold passwords */",
        "",
        "Windows: a batch's copies of settings freed unwiped", suites=("wine",),
        wine_tests=("test_zeroing_batch",),
    ),
    Mutant(
        "windows-op-event-low-bit", "src/overlapped.c",
        "        op->ov.hEvent = (HANDLE)((ULONG_PTR)op->event | 1);",
        "        op->ov.hEvent = (HANDLE)(ULONG_PTR)op->event;",
        "Windows: an operation on a socket tied to a completion port posts a packet the "
        "port's owner never asked for", suites=("wine",), wine_tests=("test_op_no_stray_packets",),
    ),
    Mutant(
        "windows-batch-event-low-bit", "src/overlapped.c",
        "        slots[i].ov.hEvent = (HANDLE)((ULONG_PTR)event | 1);",
        "        slots[i].ov.hEvent = (HANDLE)(ULONG_PTR)event;",
        "Windows: a batch posts packets to the socket's completion port", suites=("wine",),
        wine_tests=("test_batch_no_stray_packets",),
    ),
    Mutant(
        "windows-wait-not-alertable", "src/overlapped.c",
        "        r = WaitForSingleObjectEx(op->event, left, TRUE);",
        "        r = WaitForSingleObjectEx(op->event, left, FALSE);",
        "Windows: a routine-mode operation never completes (its APC never runs)",
        suites=("wine",), wine_tests=("test_op_cancel_and_drop",),
    ),
    # ---- bounds: each length check off by one ---------------------------------------
    Mutant(
        "ptn-marshal-one-short", "src/marshal.c",
        "        protocol > WSAPEER_PROTOCOL_IPSEC2)\n        return WSAPEER_E_ARGUMENT;\n"
        "    if (out_size < need)",
        "        protocol > WSAPEER_PROTOCOL_IPSEC2)\n        return WSAPEER_E_ARGUMENT;\n"
        "    if (out_size + 1 < need)",
        "the target marshaller writes one byte past a buffer one byte short",
        tests=("tests/test_marshal_bounds.py",),
    ),
    Mutant(
        "settings-marshal-one-short", "src/marshal.c",
        "        (password_bytes && !password))\n        return WSAPEER_E_ARGUMENT;\n"
        "    if (out_size < need)",
        "        (password_bytes && !password))\n        return WSAPEER_E_ARGUMENT;\n"
        "    if (out_size + 1 < need)",
        "the settings marshaller writes past a buffer one byte short",
        tests=("tests/test_marshal_bounds.py",),
    ),
    Mutant(
        "sockaddr-marshal-one-short", "src/marshal.c",
        "    if (out == NULL || need == 0)\n        return WSAPEER_E_ARGUMENT;\n"
        "    if (out_size < need)",
        "    if (out == NULL || need == 0)\n        return WSAPEER_E_ARGUMENT;\n"
        "    if (out_size + 1 < need)",
        "the sockaddr marshaller writes past a buffer one byte short",
        tests=("tests/test_marshal_bounds.py",),
    ),
    Mutant(
        "template-marshal-one-short", "src/marshal.c",
        "(!ipsec2 && (flags || field_mask)))\n        return WSAPEER_E_ARGUMENT;\n"
        "    if (out_size < need)",
        "(!ipsec2 && (flags || field_mask)))\n        return WSAPEER_E_ARGUMENT;\n"
        "    if (out_size + 1 < need)",
        "the query template marshaller writes past a buffer one byte short",
        tests=("tests/test_marshal_bounds.py",),
    ),
    Mutant(
        "ptn-size-max-plus-one", "src/marshal.c",
        "    if (name_units == 0 || name_units > WSAPEER_MAX_NAME_UNITS)\n        return 0;",
        "    if (name_units == 0 || name_units > WSAPEER_MAX_NAME_UNITS + 1)\n        return 0;",
        "a name longer than a UNICODE_STRING holds is sized and marshalled",
        tests=("tests/test_marshal_bounds.py",),
    ),
    Mutant(
        "ptn-parse-size-loose", "src/marshal.c",
        "    if (size != wsapeer_ptn_size(out->name_units))",
        "    if (size < wsapeer_ptn_size(out->name_units))",
        "the parser accepts a buffer longer than its declared name",
        tests=("tests/test_marshal_bounds.py",),
    ),
    Mutant(
        "model-header-one-short", "src/model/model.c",
        "    if (len < PTN_HEADER)",
        "    if (len + 1 < PTN_HEADER)",
        "the model accepts a SOCKET_PEER_TARGET_NAME one byte shorter than its header",
        tests=("tests/test_query_info.py",),
    ),
    Mutant(
        "model-name-one-short", "src/model/model.c",
        "    if ((uint64_t)(len - offsetof(wp_peer_target_name, AllStrings)) < name_bytes)",
        "    if ((uint64_t)(len - offsetof(wp_peer_target_name, AllStrings)) + 2 < name_bytes)",
        "the model accepts a buffer one code unit shorter than the name it declares",
        tests=("tests/test_contract_model.py",),
    ),
    # ---- never a silent success ----------------------------------------------------
    Mutant(
        "model-off-succeeds", "src/model/fwpuclnt_model.c",
        "        if (!enter())                                                         \\\n"
        "            return WSAPEER_E_UNSUPPORTED;",
        "        if (!enter())                                                         \\\n"
        "            return WSAPEER_OK;",
        "with the model off, a peer target name 'succeeds' without anything answering",
        tests=("tests/test_unsupported.py",),
    ),
    Mutant(
        "none-security-succeeds", "src/fwpuclnt_none.c",
        "    (void)sock, (void)settings, (void)len, (void)overlapped, (void)routine;\n"
        "    return WSAPEER_E_UNSUPPORTED;",
        "    (void)sock, (void)settings, (void)len, (void)overlapped, (void)routine;\n"
        "    return WSAPEER_OK;",
        "a build without Fwpuclnt reports socket security as set",
        tests=("tests/test_unsupported.py",),
    ),
    Mutant(
        "op-start-hides-unsupported", "src/overlapped.c",
        "    return op->status == WSAPEER_E_UNSUPPORTED ? WSAPEER_E_UNSUPPORTED : 0;",
        "    return 0;",
        "an operation nobody answers is handed back as if it had been issued",
        tests=("tests/test_unsupported.py",),
    ),
    Mutant(
        "batch-hides-unsupported", "src/overlapped.c",
        "        if (i == 0 && results[0] == WSAPEER_E_UNSUPPORTED)\n"
        "            return WSAPEER_E_UNSUPPORTED;",
        "        if (0)\n            return WSAPEER_E_UNSUPPORTED;",
        "apply_many returns 'unsupported' in a list a caller may never read",
        tests=("tests/test_unsupported.py", "tests/test_overlapped.py"),
    ),
    Mutant(
        "windows-default-is-model", "build_ffi.py",
        '        return "windows" if platform == "win32" else "model"',
        '        return "model"',
        "Windows builds get the contract model instead of Fwpuclnt.dll",
        tests=("tests/test_build_ffi.py",),
    ),
    Mutant(
        "model-instead-of-windows", "build_ffi.py",
        '    "windows": Implementation(("src/fwpuclnt_windows.c",), (), (), ("fwpuclnt",)),',
        '    "windows": Implementation(("src/fwpuclnt_windows.c", "src/model/model.c"), (), '
        '("src/model",), ("fwpuclnt",)),',
        "the Windows release build compiles the model in",
        tests=("tests/test_build_ffi.py",),
    ),
    # ---- what a query reports -----------------------------------------------------
    Mutant(
        "secured-any-flag", "wsapeer/_query.py",
        "        return bool(self._flags & SecurityInfoFlags.SECURED)",
        "        return bool(self._flags)",
        "a connection reported secured because it is encrypted or impersonated",
        tests=("tests/test_query_info.py",),
    ),
    Mutant(
        "model-secured-unsecured", "src/model/model.c",
        "    flags = is_secured ? peer.flags : 0;",
        "    flags = peer.flags;",
        "the model reports a socket it never secured as secured",
        tests=FAITHFUL,
    ),
    Mutant(
        "model-tokens-unsecured", "src/model/model.c",
        "    if ((flags & CONNECTION_SECURED) && peer.issue_tokens && access_mask != 0) {",
        "    if (peer.issue_tokens && access_mask != 0) {",
        "the model hands out peer tokens for a connection it reports unsecured",
        tests=("tests/test_query_info.py",),
    ),
    Mutant(
        "model-sa-fields-unsecured", "src/model/model.c",
        "    if (ipsec2 && (flags & CONNECTION_SECURED)) {",
        "    if (ipsec2 && is_secured) {",
        "the model reports IPSEC2 SA ids and lookup context for a connection it reports "
        "unsecured",
        tests=("tests/test_query_info.py",),
    ),
    # ---- families, handles, types ---------------------------------------------------
    Mutant(
        "family-check-skipped", "wsapeer/_socket.py",
        "    if kind is None or kind == peer.kind:",
        "    if True:",
        "an IPv4 peer reaches Windows on an IPv6 socket",
        tests=("tests/test_aio_apply.py",),
    ),
    Mutant(
        "closed-socket-accepted", "wsapeer/_socket.py",
        "    if handle == -1:",
        "    if handle == -2:",
        "a closed socket's -1 passes as a handle",
        tests=ATTACK,
    ),
    Mutant(
        "bool-handle-accepted", "wsapeer/_socket.py",
        "        if type(sock) is not int:  # bool, or a subclass",
        "        if type(sock) not in (int, bool):  # bool, or a subclass",
        "True passes as socket handle 1",
        tests=HOSTILE,
    ),
    Mutant(
        "unknown-flag-bits-accepted", "wsapeer/_enums.py",
        "    if number < 0 or number & ~known:",
        "    if number < 0:",
        "flag bits no enumeration defines reach Windows",
        tests=("tests/test_cli.py",),
    ),
    # ---- what is checked is what is marshalled (issue 22, items 1 and 2) -------------
    Mutant(
        "flag-operator-takes-foreign-member", "wsapeer/_enums.py",
        "    if type(right) is type(left) or type(right) is int:",
        "    if isinstance(right, int):",
        "GUARANTEE_ENCRYPTION | IPsecFlags.OPTIONAL_PEER_NAME_VERIFICATION becomes "
        "GUARANTEE_ENCRYPTION | ALLOW_INSECURE", tests=EXACT,
    ),
    Mutant(
        "flag-operators-not-installed", "wsapeer/_enums.py",
        "        setattr(cls, name, base.__dict__[name])",
        "        pass",
        "Python 3.11's EnumType puts IntFlag's converting operators back on each class",
        tests=EXACT,
    ),
    Mutant(
        "protocol-combines-with-a-flag", "wsapeer/_enums.py",
        '        _refuse_operand(self, other, "|")',
        "        return int(self) | int(other)  # type: ignore[no-any-return]",
        "SecurityProtocol.IPSEC2 | GUARANTEE_ENCRYPTION is the flags value 3 (ALLOW_INSECURE)",
        tests=EXACT,
    ),
    Mutant(
        "enum-takes-int-subclass", "wsapeer/_enums.py",
        "    if type(value) is kind or type(value) is int:",
        "    if type(value) is kind or (\n"
        "        isinstance(value, int) and not isinstance(value, (bool, enum.Enum))\n    ):",
        "an int subclass whose __eq__ claims 2 is checked as 2 and marshalled as 0 (or the "
        "reverse: flags=ALLOW_INSECURE)", tests=EXACT,
    ),
    Mutant(
        "int-takes-subclass", "wsapeer/_checks.py",
        "    if type(value) is not int:\n        raise TypeError(f\"{what} must be an int",
        "    if isinstance(value, bool) or not isinstance(value, int):\n"
        "        raise TypeError(f\"{what} must be an int",
        "a port int subclass of 70000 whose comparisons say 5 reaches C", tests=EXACT,
    ),
    Mutant(
        "str-takes-subclass", "wsapeer/_checks.py",
        "    if type(value) is not str:",
        "    if not isinstance(value, str):",
        "a str subclass whose find() hides a NUL gets it into SOCKET_PEER_TARGET_NAME",
        tests=EXACT,
    ),
    Mutant(
        "handle-takes-int-subclass", "wsapeer/_socket.py",
        "        if type(sock) is not int:  # bool, or a subclass",
        "        if type(sock) is bool:  # bool, or a subclass",
        "an int subclass handle whose comparisons lie passes the range checks", tests=EXACT,
    ),
    Mutant(
        "subclass-redefines-what-c-receives", "wsapeer/_immutable.py",
        '                    if name in cls.__dict__ and name != "__weakref__":',
        "                    if False:",
        "a PeerTargetName subclass's _size property hands C a length its buffer lacks",
        tests=EXACT,
    ),
    # ---- the attack on the Python API (issue 22, items 7 to 16) ---------------------
    Mutant(
        "backlog-range-unchecked", "wsapeer/_helpers.py",
        '    exact_int(backlog, "backlog", 0, MAX_BACKLOG)',
        '    exact_int(backlog, "backlog", -(2**63), 2**63)',
        "create_server(backlog=2**40) makes and secures a socket, then OverflowError",
        tests=ATTACK,
    ),
    Mutant(
        "timeout-range-unchecked", "wsapeer/_helpers.py",
        "    if not 0 <= timeout <= MAX_SECONDS:  # NaN fails both",
        "    if not 0 <= timeout:  # NaN fails both",
        "create_connection(timeout=1e300) raises OverflowError after the socket exists",
        tests=ATTACK,
    ),
    Mutant(
        "aio-wait-takes-look-alikes", "wsapeer/aio.py",
        "    if type(operation) is not Operation:",
        '    if not callable(getattr(operation, "done", None)):',
        "aio.wait returns a duck-typed fake's result() as if Windows had answered",
        tests=ATTACK,
    ),
    Mutant(
        "cli-echoes-a-password", "wsapeer/__main__.py",
        '            message = message.replace(value, "<hidden>")',
        "            pass",
        "wsapeer inspect-settings --passwd X prints X in its error", tests=ATTACK,
    ),
    Mutant(
        "aio-server-swallows-query-failure", "wsapeer/_aio_streams.py",
        "            asyncio.get_running_loop().call_exception_handler(",
        "            (lambda context: None)(",
        "a connection whose security query failed is closed without a word", tests=ATTACK,
    ),
    Mutant(
        "windows-listener-port-shared", "wsapeer/_helpers.py",
        "socket.SO_EXCLUSIVEADDRUSE, 1)]",
        "socket.SO_REUSEADDR, 1)]",
        "on Windows another socket can bind a secured listener's port", tests=ATTACK,
    ),
    Mutant(
        "kept-target-skips-subclass-family", "wsapeer/_target.py",
        "                and type(sock) is not int\n",
        "                and type(sock) is SOCKET\n",
        "a target seen before is applied to a socket.socket subclass of the other family",
        tests=ATTACK,
    ),
    Mutant(
        "aio-apply-closed-socket-reaches-c", "wsapeer/aio.py",
        "    if handle < 0:",
        "    if handle < -1:",
        "aio.apply hands a closed socket's -1 to Windows", tests=ATTACK,
    ),
    Mutant(
        "impersonation-skips-family", "wsapeer/_impersonation.py",
        "    check_peer_family(sock, normalized)\n",
        "",
        "impersonating a UDP peer of the other family reaches Windows", tests=ATTACK,
    ),
    # ---- the standing hostile-argument suite (issue 22) ----------------------------
    Mutant(
        "access-mask-takes-enum-members", "wsapeer/_query.py",
        '    exact_int(access_mask, "access_mask", 0, 0xFFFFFFFF)',
        "    if not 0 <= access_mask <= 0xFFFFFFFF:\n        raise ValueError('access_mask')",
        "a query takes SecurityInfoFlags.SECURED, True or a lying int as its access mask",
        tests=HOSTILE,
    ),
    Mutant(
        "wait-timeout-takes-bool", "wsapeer/_overlapped.py",
        "    if type(timeout) is not int and type(timeout) is not float:",
        "    if not isinstance(timeout, (int, float)):",
        "Operation.wait(True) waits a millisecond; a float subclass's comparisons lie",
        tests=HOSTILE,
    ),
    Mutant(
        "token-closes-unchecked", "wsapeer/testing.py",
        '        _check_int(handle, "handle", 0, 2**64 - 1)\n',
        "",
        "ContractModel.token_closes hands a bool or an int subclass to C", tests=HOSTILE,
    ),
    # ---- layout: symmetric write+parse bugs, StringLen units ------------------------
    Mutant(
        "port-byte-order-both-ways", "src/byte_order.h",
        "WP_INLINE void put_be16(uint8_t *p, uint32_t v)\n{\n"
        "    p[0] = (uint8_t)(v >> 8);\n    p[1] = (uint8_t)v;\n}",
        "WP_INLINE void put_be16(uint8_t *p, uint32_t v)\n{\n"
        "    p[1] = (uint8_t)(v >> 8);\n    p[0] = (uint8_t)v;\n}",
        "ports written and read back little-endian: the library agrees with itself",
        also=(("src/byte_order.h", "    return (uint32_t)p[0] << 8 | (uint32_t)p[1];",
               "    return (uint32_t)p[1] << 8 | (uint32_t)p[0];"),),
        tests=("tests/test_aio_apply.py",),
    ),
    Mutant(
        "ipsec2-length-in-units", "src/marshal.c",
        "    return (uint32_t)(protocol == WSAPEER_PROTOCOL_IPSEC2 ? units * 2 : units);",
        "    return (uint32_t)units;",
        "IPSEC2 names' StringLen written in code units instead of bytes",
        tests=("tests/test_cli.py",),
    ),
    Mutant(
        "model-ipsec2-length-in-units", "src/model/model.c",
        "    name_bytes = protocol == WSAPEER_PROTOCOL_IPSEC2 ? (uint64_t)declared"
        " : 2 * (uint64_t)declared;",
        "    name_bytes = 2 * (uint64_t)declared;",
        "the model reads an IPSEC2 StringLen as code units",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "from-bytes-not-canonical", "wsapeer/_target.py",
        "        if canonical != raw:",
        "        if False:",
        "from_bytes accepts a buffer with nonzero padding as if it were canonical",
        tests=("tests/test_target.py",),
    ),
    Mutant(
        "cached-one-shot-sends-twice", "wsapeer/_target.py",
        "            status = _set_item(handle, known._item)",
        "            _set_item(handle, known._item)\n"
        "            status = _set_item(handle, known._item)",
        "a cached one-shot call makes the Winsock call twice",
        tests=("tests/test_fast_paths.py",),
    ),
    Mutant(
        "async-drops-routine", "wsapeer/_settings.py",
        "self._buffer, self._size, routine)",
        "self._buffer, self._size, False)",
        "set_socket_security_async ignores routine=True (and its type check)",
        tests=("tests/test_overlapped.py",),
    ),
    Mutant(
        "settings-strings-out-of-order", "src/marshal.c",
        "    if (user_bytes)\n        memcpy(p + at, user, user_bytes);\n    at += user_bytes;",
        "    if (password_bytes)\n        memcpy(p + at, password, password_bytes);\n"
        "    at += password_bytes;\n    password_bytes = 0;\n    (void)user;",
        "the password written where Windows reads the user name",
        tests=("tests/test_cli.py",),
    ),
    Mutant(
        "batch-sockets-compared-by-equality", "wsapeer/_batch.py",
        "        if all(map(operator.is_, socks, itertools.repeat(first))):",
        "        if socks.count(first) == len(socks):",
        "equal-but-distinct sockets in a batch all get the first one's handle",
        tests=("tests/test_strict_api.py",),
    ),
    Mutant(
        "batch-item-error-aborts-all", "wsapeer/_batch.py",
        "                results[index] = handle",
        "                raise handle",
        "one closed socket in a batch stops every other item from being issued",
        tests=("tests/test_overlapped.py",),
    ),
    Mutant(
        "handle-beyond-socket-range", "wsapeer/_socket.py",
        "    if handle > MAX_HANDLE:",
        "    if False:",
        "a handle no socket can have reaches C (truncated to another socket on 32-bit Windows)",
        tests=("tests/test_validation.py",),
    ),
    Mutant(
        "nomem-as-valueerror", "wsapeer/_errors.py",
        "    if status == lib.WSAPEER_E_NOMEM:\n        raise MemoryError",
        "    if False:\n        raise MemoryError",
        "out of memory reported as a bad argument",
        tests=("tests/test_validation.py",),
    ),
    Mutant(
        "foreign-enum-accepted", "wsapeer/_enums.py",
        "    if isinstance(value, enum.Enum) and not isinstance(value, kind):",
        "    if False:",
        "a flag of another enumeration silently becomes a different setting",
        tests=("tests/test_strict_api.py",),
    ),
    Mutant(
        "subclass-family-unchecked", "wsapeer/_target.py",
        "family = family_of(sock) if isinstance(sock, SOCKET) else 0",
        "family = family_of(sock) if type(sock) is SOCKET else 0",
        "an IPv4 peer reaches Windows on an IPv6 socket.socket subclass",
        tests=("tests/test_strict_api.py",),
    ),
    Mutant(
        "security-info-copyable", "wsapeer/_query.py",
        "    __copy__ = __deepcopy__ = __reduce__ = __reduce_ex__ = _not_copied",
        "",
        "a copy of a SecurityInfo closes the token handles the original still hands out",
        tests=("tests/test_strict_api.py",),
    ),
    Mutant(
        "with-op-swallows-error", "wsapeer/_overlapped.py",
        "        if exc_type is None:\n            self.result()",
        "        pass",
        "a with block over a failed operation leaves silently",
        tests=("tests/test_python_conventions.py",),
    ),
    Mutant(
        "secure-client-ignores-settings-protocol", "wsapeer/_settings.py",
        "chosen.protocol if protocol is None else protocol",
        "SecurityProtocol.DEFAULT if protocol is None else protocol",
        "secure_client names an IPSEC2 peer for protocol DEFAULT",
        tests=("tests/test_python_conventions.py",),
    ),
    Mutant(
        "aio-waits-for-routine", "wsapeer/aio.py",
        "    if operation.routine:",
        "    if False:",
        "an event loop waits forever for a routine whose APC never runs",
        tests=("tests/test_overlapped.py",),
    ),
    Mutant(
        "proactor-wait-cancelled-early", "wsapeer/aio.py",
        "        await asyncio.shield(waiting)",
        "        await waiting",
        "a cancelled task cancels the proactor's wait and frees the event it still waits on",
        tests=("tests/test_overlapped.py",),
    ),
    Mutant(
        "password-encoded-in-python", "wsapeer/_settings.py",
        "        secret = _password_buffer(password, units)",
        "        secret = _credential(password, 'password') or ffi.NULL",
        "the password encoded into a Python bytes object that outlives the settings unwiped",
        tests=("tests/test_password_memory.py",),
    ),
    Mutant(
        "astral-password-as-one-unit", "src/_wsapeer.c",
        "        if (c >= 0x10000) {",
        "        if (c >= 0x110000) {",
        "a password character beyond the BMP written as one truncated code unit",
        tests=("tests/test_marshal_bounds.py",),
    ),
    Mutant(
        "model-record-repr-shows-bytes", "wsapeer/testing.py",
        "data=<{len(self.data)} bytes>, ",
        "data={self.data!r}, ",
        "a model record's repr prints the settings it holds, password included",
        tests=("tests/test_password_memory.py",),
    ),
    Mutant(
        "impersonation-allowed-in-event-loop", "wsapeer/_impersonation.py",
        "    try:\n        asyncio.get_running_loop()\n    except RuntimeError:\n        return\n",
        "    return\n",
        "a task impersonating a peer lets every other task of the loop run as that peer",
        tests=("tests/test_python_conventions.py",),
    ),
    # ---- tokens ---------------------------------------------------------------------
    Mutant(
        "tokens-never-closed", "wsapeer/_query.py",
        "            tokens, self._tokens = self._tokens, None",
        "            tokens = ()",
        "close() leaves the peer's token handles open",
        tests=("tests/test_aio_streams.py",),
    ),
    Mutant(
        "token-close-status-ignored", "wsapeer/_query.py",
        "        status = lib.wsapeer_close_token(handle)\n        failure = failure or status",
        "        lib.wsapeer_close_token(handle)",
        "SecurityInfo.close() ignores a failed CloseHandle (a token closed twice)",
        tests=("tests/test_query_info.py",),
    ),
    Mutant(
        "token-close-stops-at-failure", "wsapeer/_query.py",
        "        status = lib.wsapeer_close_token(handle)\n        failure = failure or status",
        "        failure = lib.wsapeer_close_token(handle)\n        if failure:\n"
        "            break",
        "a failed close of one peer token leaves the other open",
        tests=("tests/test_query_info.py",),
    ),
    Mutant(
        "token-close-silent-when-collected", "wsapeer/_query.py",
        "weakref.finalize(self, _close_tokens, held)",
        "weakref.finalize(self, lambda h: [lib.wsapeer_close_token(t) for t in h], held)",
        "a SecurityInfo collected unclosed drops a failed CloseHandle silently",
        tests=("tests/test_query_info.py",),
    ),
    Mutant(
        "model-token-double-close-succeeds", "src/model/model.c",
        "        status = t->closes ? WSAPEER_ERROR_INVALID_HANDLE : 0;",
        "        status = 0;",
        "the model lets a token be closed twice without an error, as CloseHandle never does",
        tests=("tests/test_query_info.py",),
    ),
    Mutant(
        "unclaimed-tokens-leak", "src/overlapped.c",
        "    if (op->state == OP_DONE && op->status == 0 && !op->info_taken)\n"
        "        close_unclaimed(&op->info);\n    if (op->input)",
        "    if (op->input)",
        "a query operation nobody read leaks the token handles it got",
        tests=("tests/test_overlapped.py",),
    ),
    Mutant(
        "taken-tokens-closed-again", "src/overlapped.c",
        "        return;\n    if (op->state == OP_DONE && op->status == 0 && !op->info_taken)\n"
        "        close_unclaimed(&op->info);",
        "        return;\n    if (op->state == OP_DONE && op->status == 0)\n"
        "        close_unclaimed(&op->info);",
        "a query operation closes the token handles it already handed to a SecurityInfo, "
        "which closes them again (or a reused handle) later",
        tests=("tests/test_aio_streams.py",),
    ),
    # ---- batches: per-item results ---------------------------------------------------
    Mutant(
        "batch-error-on-wrong-item", "wsapeer/_batch.py",
        "                    results[index if positions is None else positions[index]] = exc",
        "                    results[0] = exc",
        "a failing item's error reported on another item, itself reported as success",
        tests=("tests/test_overlapped.py",),
    ),
    Mutant(
        "batch-shared-socket-by-equality", "wsapeer/_batch.py",
        "            handles = [handle_of(sock) for sock in socks]",
        "            handles = [handle_of(socks[0])] * len(socks)",
        "every item of a batch applied to the first item's socket",
        tests=("tests/test_overlapped.py",),
    ),
    # ---- the model's documented rules ------------------------------------------------
    Mutant(
        "model-security-twice", "src/model/model.c",
        "    if (secured(state) || facts.bound) {",
        "    if (facts.bound) {",
        "the model lets socket security be set twice ('once per socket')",
        tests=FAITHFUL,
    ),
    Mutant(
        "model-connected-accepted", "src/model/model.c",
        "        return WSAPEER_WSAEISCONN;\n    /* Source: the page's WSAEINVAL row for UDP",
        "        (void)0;\n    /* Source: the page's WSAEINVAL row for UDP",
        "the model accepts a target name on a connected socket",
        tests=("tests/test_aio_apply.py",),
    ),
    Mutant(
        "model-udp-zero-peer", "src/model/model.c",
        "    if (!facts.stream && zero_peer(p + PTN_ADDRESS))",
        "    if (0)",
        "the model accepts a UDP target name with no peer",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "model-udp-query-no-peer-accepted", "src/model/model.c",
        "            if (family != WP_AF_INET && family != WP_AF_INET6)\n"
        "                return WSAPEER_WSAEAFNOSUPPORT;",
        "            if (0)\n                return WSAPEER_WSAEAFNOSUPPORT;",
        "the model answers a UDP query whose template names no peer (an access mask or "
        "ipsec2 with peer=None) instead of refusing it",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "model-settings-unknown-flag", "src/model/model.c",
        "            (get_le32(p + offsetof(wp_security_settings, SecurityFlags)) & ~0x3u))",
        "            (get_le32(p + offsetof(wp_security_settings, SecurityFlags)) & ~0x7u))",
        "the model accepts a SecurityFlags bit no page defines",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "model-settings-unknown-ipsec-flag", "src/model/model.c",
        "            if ((get_le32(p + SETI(IpsecFlags)) & ~0xFu) || user % 2 || domain % 2 ||",
        "            if ((get_le32(p + SETI(IpsecFlags)) & ~0x1Fu) || user % 2 || domain % 2 ||",
        "the model accepts an IpsecFlags bit no page defines",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "model-settings-odd-password", "src/model/model.c",
        "                password % 2 || !is_zero_bytes(p + SETI(Reserved), sizeof(wp_guid)) ||",
        "                !is_zero_bytes(p + SETI(Reserved), sizeof(wp_guid)) ||",
        "the model accepts an odd PasswordStringLen, half a UTF-16 unit",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "model-settings-reserved-ignored", "src/model/model.c",
        "                !is_zero_bytes(p + SETI(Reserved2), 8))",
        "                0)",
        "the model accepts IPsec settings with Reserved2 set",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "model-settings-strings-past-buffer", "src/model/model.c",
        "            if (strings > len - SETI(AllStrings))\n"
        "                return WSAPEER_WSAEMSGSIZE;",
        "            if (0)\n                return WSAPEER_WSAEMSGSIZE;",
        "the model accepts IPsec settings whose strings run past the buffer",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "model-settings-trailing-bytes", "src/model/model.c",
        "            if (len - sizeof(wp_security_settings_ipsec) > strings)",
        "            if (0)",
        "the model accepts IPsec settings longer than their strings (a password length "
        "counted in code units: half the password)",
        tests=("tests/test_contract_model.py",),
    ),
    Mutant(
        "model-settings-default-any-size", "src/model/model.c",
        "        if (protocol == WSAPEER_PROTOCOL_DEFAULT && len != sizeof(wp_security_settings))",
        "        if (0)",
        "the model accepts DEFAULT settings carrying an IPsec body it then ignores",
        tests=("tests/test_contract_model.py",),
    ),
    # ---- impersonation ----------------------------------------------------------------
    Mutant(
        "impersonation-not-reverted", "wsapeer/_impersonation.py",
        "    finally:\n        revert_impersonation()",
        "    finally:\n        _impersonation.active = False",
        "impersonate_peer() leaves the thread running as the peer",
        tests=DOCS,
    ),
    Mutant(
        "model-revert-keeps-impersonating", "src/model/model.c",
        "        if (impersonations[i].thread == self) {\n"
        "            impersonations[i] = impersonations[--impersonation_count];\n"
        "            break;",
        "        if (impersonations[i].thread == self) {\n            break;",
        "the model keeps a thread impersonating after WSARevertImpersonation",
        tests=DOCS,
    ),
    # ---- the one-shot path in C takes only what PeerTargetName takes (issue 15) -------
    Mutant(
        "oneshot-host-nul-unchecked", "wsapeer/_target.py",
        '                elif 0 <= port <= 0xFFFF and "\\0" not in host:',
        "                elif 0 <= port <= 0xFFFF:",
        "a host with a NUL after a valid address: C reads up to the NUL and sends that address",
        tests=FAST,
    ),
    Mutant(
        "ipv4-leading-zero", "src/_wsapeer.c",
        "            if (digits == 1 && value == 0)\n"
        "                return -1; /* a leading zero */\n",
        "",
        "the C IPv4 parser takes 01.2.3.4, which PeerTargetName refuses",
        tests=FAST,
    ),
    Mutant(
        "ipv4-trailing-junk", "src/_wsapeer.c",
        "    return *s == 0 ? 0 : -1;",
        "    return 0;",
        "the C IPv4 parser takes an address followed by anything",
        tests=FAST,
    ),
    Mutant(
        "ipv4-part-over-255", "src/_wsapeer.c",
        "        if (digits == 0 || digits > 3 || value > 255)",
        "        if (digits == 0 || digits > 3)",
        "the C IPv4 parser takes 256.1.1.1 (and wraps it to 0.1.1.1)",
        tests=FAST,
    ),
    Mutant(
        "aio-family-unchecked", "wsapeer/aio.py",
        "        if target._family and isinstance(sock, SOCKET) and family_of(sock) != "
        "target._family:",
        "        if False:",
        "await aio.apply sends an IPv4 peer's name on an IPv6 socket",
        tests=("tests/test_aio_apply.py", "tests/test_fast_paths.py"),
    ),
    Mutant(
        "batch-closed-socket-unchecked", "wsapeer/_batch.py",
        "                if min(handles) < 0:\n"
        "                    return None  # a closed one: each item says which\n",
        "",
        "apply_many over many sockets: a closed one's -1 reaches C (or fails the whole batch)",
        tests=("tests/test_overlapped.py",),
    ),
    # ---- socket-shaped helpers (issue 16) ------------------------------------------
    Mutant(
        "helper-name-after-connect", "wsapeer/_helpers.py",
        "        target.apply(sock)\n        if source is not None:\n"
        "            sock.bind(source)\n        sock.connect(sockaddr)",
        "        if source is not None:\n            sock.bind(source)\n"
        "        sock.connect(sockaddr)\n        target.apply(sock)",
        "create_connection names the peer after connect, when it protects nothing",
        tests=HELPERS,
    ),
    Mutant(
        "helper-resolves-names", "wsapeer/_helpers.py",
        "        peer = normalize_peer(address)\n",
        "        address = (socket.getaddrinfo(address[0], None)[0][4][0], *address[1:])\n"
        "        peer = normalize_peer(address)\n",
        "the helpers take a host name (a DNS answer could be anybody's)",
        tests=HELPERS,
    ),
    Mutant(
        "server-security-after-bind", "wsapeer/_helpers.py",
        "        chosen.apply(sock)  # before bind, as Windows requires of a server",
        "        sock.bind(address)\n        chosen.apply(sock)",
        "create_server secures the listener after bind",
        tests=HELPERS,
    ),
    Mutant(
        "peer-security-tokens-left-open", "wsapeer/_helpers.py",
        "    with info:\n        yield info",
        "    yield info",
        "peer_security leaves the peer's token handles open",
        tests=HELPERS,
    ),
    Mutant(
        "aio-open-name-after-connect", "wsapeer/_aio_streams.py",
        "        await apply(sock, target)\n"
        "        await loop.sock_connect(sock, sockaddr)",
        "        await loop.sock_connect(sock, sockaddr)\n"
        "        await apply(sock, target)",
        "aio.open_connection names the peer after connect",
        tests=("tests/test_aio_streams.py",),
    ),
    Mutant(
        "aio-server-tokens-left-open", "wsapeer/_aio_streams.py",
        "        closer = asyncio.ensure_future(_close_when_closed(writer, info))\n",
        "        closer = asyncio.ensure_future(asyncio.sleep(0))\n",
        "aio.start_server never closes a connection's peer tokens",
        tests=("tests/test_aio_streams.py",),
    ),
    Mutant(
        "aio-server-backlog-ignored", "wsapeer/_aio_streams.py",
        "sock=listener, backlog=backlog, limit=limit)",
        "sock=listener, limit=limit)",
        "aio.start_server listens with asyncio's backlog, not the one asked for",
        tests=("tests/test_aio_streams.py",),
    ),
    Mutant(
        "revert-forgets-a-refused-revert", "wsapeer/_impersonation.py",
        "    if status == 0 or status == lib.WSAPEER_E_UNSUPPORTED:\n",
        "    if True:\n",
        "a refused WSARevertImpersonation counts the thread as reverted while it may still "
        "run as the peer",
        tests=("tests/test_security.py",),
    ),
    Mutant(
        "size-probe-leaks-tokens", "src/_wsapeer.c",
        "            (void)wsapeer_close_token(answer.application_token);\n"
        "            (void)wsapeer_close_token(answer.machine_token);\n",
        "            (void)answer;\n",
        "the query size probe leaves the peer token handles of a full answer open",
        tests=("tests/test_windows_probes.py",),
    ),
    # ---- the contract model tells the truth (issue 14) -------------------------------
    Mutant(
        "model-inherit-by-port", "src/model/model.c",
        "        return memcmp(&x->sin_addr, &y->sin_addr, sizeof x->sin_addr) == 0 ||\n",
        "        return 1 ||\n",
        "a connection inherits a secured listener's security by port, whatever its address",
        tests=FAITHFUL,
    ),
    Mutant(
        "model-inherit-recomputed", "src/model/model.c",
        "    is_secured = secured(state);",
        "    is_secured = state->security != NULL || (facts.stream && facts.connected &&\n"
        "                                             accepted_from_secured(&facts));",
        "a connection's inherited security is looked up at each query, not fixed when first "
        "seen: it changes when the listener closes",
        tests=FAITHFUL,
    ),
    Mutant(
        "model-reuseport-guessed", "src/model/model.c",
        "        if (match && shares_its_port(c->sock))\n            return 0;\n",
        "",
        "listeners sharing a port (SO_REUSEPORT): the model guesses the secured one accepted",
        tests=FAITHFUL,
    ),
    Mutant(
        "model-socket-by-descriptor", "src/model/model.c",
        "    key.handle = facts->ident ? 0 : sock;",
        "    key.handle = sock;",
        "a duplicate descriptor of a secured socket looks like an unconfigured socket",
        tests=FAITHFUL,
    ),
    Mutant(
        "model-gate-not-waiting", "src/model/fwpuclnt_model.c",
        "    gate_closed++;\n    while (in_flight)\n        GATE_WAIT();\n}\n\n"
        "static void open_gate",
        "    gate_closed++;\n}\n\nstatic void open_gate",
        "disable/reset do not wait for calls in progress: a call lands after its block froze",
        tests=FAITHFUL,
    ),
    Mutant(
        "model-no-fork-handlers", "src/model/fwpuclnt_model.c",
        "    pthread_atfork(fork_prepare, fork_parent, fork_child);",
        "    (void)fork_prepare;\n    (void)fork_parent;\n    (void)fork_child;",
        "fork() while another thread holds the model's lock: the child hangs",
        tests=FAITHFUL,
    ),
    Mutant(
        "model-index-remove-no-shift", "src/model/model.c",
        "            t->slots[i] = t->slots[j];\n            i = j;",
        "            (void)home;",
        "deleting from the model's index leaves a hole that hides the entries after it",
        tests=("tests/test_model_index.py",),
    ),
    Mutant(
        "model-close-does-not-abort", "src/model/model.c",
        "        watch_closed_sockets();\n",
        "        (void)watch_closed_sockets;\n",
        "Windows: closing a socket leaves its pending operations pending",
        suites=("wine",), wine_tests=("test_pending_aborted_by_close",),
    ),
    # ---- strict mode reports what Windows accepts silently ---------------------------
    Mutant(
        "strict-name-without-security", "src/model/model.c",
        "        if (r != NULL && r->head.function == WSAPEER_CALL_SET_PEER_TARGET_NAME &&\n"
        "            !secured(r->state))",
        "        if (r != NULL && r->head.function == WSAPEER_CALL_SET_PEER_TARGET_NAME &&\n"
        "            !secured(r->state) && 0)",
        "strict mode misses a peer target name on a socket never secured",
        tests=STRICT,
    ),
    Mutant(
        "strict-impersonated-unsecured", "src/model/model.c",
        "    if (!secured(state))\n        flag(",
        "    if (0)\n        flag(",
        "strict mode misses impersonating the peer of an unsecured connection",
        tests=STRICT,
    ),
    Mutant(
        "strict-token-left-open", "src/model/model.c",
        "        if (closes_of(tokens[i]) == 0)\n            add_violation(",
        "        if (0)\n            add_violation(",
        "strict mode misses a peer token left open",
        tests=STRICT,
    ),
    Mutant(
        "strict-impersonation-left-open", "src/model/model.c",
        "    for (i = 0; i < impersonation_count; i++)\n        add_violation(",
        "    for (i = 0; i < 0; i++)\n        add_violation(",
        "strict mode misses an impersonation left open",
        tests=STRICT,
    ),
    Mutant(
        "strict-operation-unobserved", "wsapeer/testing.py",
        "for s in seen if not s.observed",
        "for s in seen if not s.observed and False",
        "strict mode misses an overlapped operation nobody observed",
        tests=STRICT,
    ),
    Mutant(
        "strict-never-raises", "wsapeer/testing.py",
        "    if strict and model._frozen_violations:",
        "    if False:",
        "contract_model(strict=True) ends quietly with violations",
        tests=STRICT,
    ),
    # ---- Windows branch: sizes, lifetimes and outcomes (tests/windows/run) ------------
    Mutant(
        "batch-block-product-unchecked", "src/batch_block.h",
        "    if (size != 0 && count > room / size)\n        goto overflow;\n",
        "",
        "i686: n slots x 28 bytes wraps a 32-bit size_t and the batch block is overrun",
        suites=("wine",), wine_tests=("test_batch_block",),
    ),
    Mutant(
        "batch-block-padding-unchecked", "src/batch_block.h",
        "    if (pad > room - bytes)\n        goto overflow;\n",
        "",
        "i686: an input near 4 GiB, padded to 8, wraps the batch block's size",
        suites=("wine",), wine_tests=("test_batch_block",),
    ),
    Mutant(
        "batch-slots-unaligned", "src/batch_block.h",
        "    pad = (WSAPEER_BLOCK_ALIGN - (bytes % WSAPEER_BLOCK_ALIGN)) % WSAPEER_BLOCK_ALIGN;",
        "    pad = count == 1 ? (WSAPEER_BLOCK_ALIGN - (bytes % WSAPEER_BLOCK_ALIGN)) %"
        " WSAPEER_BLOCK_ALIGN : 0;",
        "i686: the batch's input copies start 4-aligned after 28-byte slots (SOCKADDR_STORAGE"
        " needs 8)",
        suites=("wine",), wine_tests=("test_batch_block",),
    ),
    Mutant(
        "windows-poll-not-alertable", "src/overlapped.c",
        "    if (GetCurrentThreadId() == op->thread)\n        SleepEx(0, TRUE);\n"
        "    return LOAD_ACQUIRE(&op->state) == OP_DONE;",
        "    return LOAD_ACQUIRE(&op->state) == OP_DONE;",
        "Windows: polling a routine-mode operation never runs its routine: never done",
        suites=("wine",), wine_tests=("test_op_routine_polled",),
    ),
    Mutant(
        "windows-orphan-leaked", "src/overlapped.c",
        "    if (over) {\n        end_io(op);\n        op_unref(op); /* the wait's */\n    }",
        "    (void)over;",
        "Windows: an operation released in flight is never freed when Windows completes it",
        suites=("wine",), wine_tests=(*WARM, "test_op_orphaned"),
    ),
    Mutant(
        "windows-orphan-freed-early", "src/overlapped.c",
        "        ended = windows_done(op, 0);\n        if (!ended) {",
        "        ended = 1;\n        if (!ended) {",
        "Windows: an operation released in flight is freed while Windows may still write it",
        suites=("wine",), wine_tests=("test_op_routine",),
    ),
    Mutant(
        "windows-batch-in-flight-as-aborted", "src/overlapped.c",
        "                results[i] = WSAPEER_WSA_IO_INCOMPLETE;",
        "                results[i] = WSAPEER_WSA_OPERATION_ABORTED;",
        "Windows: a batch reports items Windows still owns as cancelled",
        suites=("wine",), wine_tests=(*WARM, "test_batch_orphaned"),
    ),
    Mutant(
        "windows-batch-freed-in-flight", "src/overlapped.c",
        "            batch_orphan(head, left ? INFINITE : (DWORD)drain_ms);\n"
        "            return WSAPEER_OK;",
        "            (void)batch_orphan;",
        "Windows: a batch frees its block (the OVERLAPPEDs) while Windows still owns slots",
        suites=("wine",), wine_tests=(*WARM, "test_batch_orphaned"),
    ),
    Mutant(
        "windows-orphaned-batch-no-zero", "src/overlapped.c",
        "        wsapeer_secure_zero(head, head->total); /* the copies may hold passwords */\n",
        "",
        "Windows: a batch's copies of settings freed unwiped after a late completion",
        suites=("wine",), wine_tests=(*WARM, "test_batch_orphaned"),
    ),
    Mutant(
        "windows-outcome-from-socket", "src/overlapped.c",
        "    if (status == WSAPEER_STATUS_SUCCESS)\n        return 0;\n"
        "    if (status == WSAPEER_STATUS_CANCELLED)\n"
        "        return WSAPEER_WSA_OPERATION_ABORTED;\n",
        "",
        "Windows: a completed call read through the socket: after close() its success (and "
        "its tokens) are lost to WSAENOTSOCK",
        suites=("wine",),
        also=(("src/overlapped.c", "    if (error == WSAPEER_WSAENOTSOCK)\n"
               "        return status_error(status);\n", "    (void)status_error;\n"),),
        wine_tests=("test_pending_aborted_by_close",),
    ),
    Mutant(
        "windows-closed-socket-failure-as-success", "src/overlapped.c",
        "        return status_error(status);",
        "        return 0 * status_error(status);",
        "Windows: a failed call read after close() reports success",
        suites=("wine",), wine_tests=("test_outcome_after_close",),
    ),
    Mutant(
        "windows-query-byte-count-ignored", "src/overlapped.c",
        "    if (bytes != 0 && bytes < len)\n        len = (uint32_t)bytes;\n",
        "    (void)bytes;\n",
        "Windows: a query's answer read past the bytes Windows says it wrote",
        suites=("wine",), wine_tests=("test_op_query_length",),
    ),
    Mutant(
        "windows-at-once-no-grace", "src/overlapped.c",
        "            return op->state == OP_DONE && grace_over;",
        "            return op->state == OP_DONE || grace_over;",
        "Windows: an operation done at once, released before its event is signalled, is "
        "freed while a late signal may still come",
        suites=("wine",), wine_tests=("test_op_done_at_once",),
    ),
    Mutant(
        "windows-at-once-waits-for-signal", "src/overlapped.c",
        "    finish(op, rc, rc == 0 ? bytes_at_once(&op->ov) : 0);",
        "    if (rc != 0)\n        finish(op, rc, 0);\n    (void)bytes_at_once;",
        "Windows: a call that returned 0 is done only if Fwpuclnt signals its event",
        suites=("wine",), wine_tests=("test_op_no_stray_packets",),
    ),
    Mutant(
        "windows-thread-exit-ignored", "src/overlapped.c",
        "    if (!thread_exited(op))\n        return 0;",
        "    if (1)\n        return 0;",
        "Windows: a routine-mode operation whose thread exited is leaked",
        suites=("wine",), wine_tests=(*WARM, "test_op_routine_thread_exit"),
    ),
    # ---- docs: the examples run as doctests under the strict contract model ----------
    Mutant(
        "docs-client-name-without-security", "docs/client.rst",
        "   wsapeer.set_socket_security(s)                           # 1. security\n",
        "",
        "the client page's example sets a peer name on a socket without security, which "
        "Windows accepts and which protects nothing", suites=("docs",),
    ),
    Mutant(
        "docs-index-closes-secured", "docs/index.rst",
        "       if not info.secured:\n           conn.close()",
        "       if info.secured:\n           conn.close()",
        "the front page's server keeps serving a peer nobody authenticated (and drops the one "
        "IPsec did)", tests=DOCS,
    ),
    Mutant(
        "readme-closes-secured", "README.md",
        "    if not info.secured:\n        conn.close()",
        "    if info.secured:\n        conn.close()",
        "the README's server keeps serving a peer nobody authenticated", tests=DOCS,
    ),
    Mutant(
        "docs-server-impersonates-unsecured", "docs/server.rst",
        "       if info.secured:\n           with wsapeer.impersonate_peer(conn):",
        "       if not info.secured:\n           with wsapeer.impersonate_peer(conn):",
        "the server page impersonates exactly the peers IPsec did not authenticate",
        tests=DOCS,
    ),
    Mutant(
        "docs-client-name-before-security", "docs/client.rst",
        "   wsapeer.set_socket_security(s)                           # 1. security\n"
        "   wsapeer.set_peer_target_name(s, \"host/server.example.com\")  # 2. the peer's name\n",
        "   wsapeer.set_peer_target_name(s, \"host/server.example.com\")  # 2. the peer's name\n"
        "   wsapeer.set_socket_security(s)                           # 1. security\n",
        "the client page names the peer before the socket's security, the reverse of "
        "Microsoft's order (strict mode accepts it: the socket ends up secured)", tests=DOCS,
    ),
    Mutant(
        "windows-routine-io-after-unlock", "src/overlapped.c",
        "    io = take_io(op);\n    wait = op->wait;\n    op->wait = NULL;\n"
        "    ReleaseSRWLockExclusive(&op->lock);\n",
        "    wait = op->wait;\n    op->wait = NULL;\n    ReleaseSRWLockExclusive(&op->lock);\n"
        "    io = take_io(op);\n",
        "Windows: a routine-mode operation released on another thread as its routine ends "
        "stays allocated (with its copy of the settings) until the issuing thread exits",
        suites=("wine",), wine_tests=("test_op_routine_release_race",),
    ),
    # ---- issue 22: batches read once, done-at-once items, short answers ---------------
    Mutant(
        "windows-batch-rereads-size", "src/overlapped.c",
        "        size_t size = in[i].size;",
        "        size_t size = inputs[i]->size;",
        "Windows: a batch copies and issues an input at a size read again after the layout: "
        "one grown meanwhile is copied past its place (over the block's head)",
        suites=("wine",), wine_tests=("test_batch_reads_inputs_once",),
    ),
    Mutant(
        "windows-batch-at-once-freed", "src/overlapped.c",
        "            slots[i].at_once = rc == 0;",
        "            slots[i].at_once = 0;",
        "Windows: a batch frees the OVERLAPPED of an item done at once that Windows may write "
        "just after the return",
        suites=("wine",), wine_tests=(*WARM, "test_batch_done_at_once"),
    ),
    Mutant(
        "query-short-answer-leaks-tokens", "src/_wsapeer.c",
        "            if (status != WSAPEER_OK)\n                close_stray_tokens(info, cap);\n",
        "",
        "a query answered in fewer bytes than the structure leaks the tokens it handed out",
        suites=("wine",), wine_tests=("test_query_short_answer",),
    ),
    Mutant(
        "windows-op-short-answer-leaks-tokens", "src/overlapped.c",
        "            0)\n            close_unclaimed(&stray);",
        "            0)\n            (void)stray;",
        "Windows: an operation answered in fewer bytes than the structure leaks its tokens",
        suites=("wine",), wine_tests=("test_query_short_answer",),
    ),
    Mutant(
        "windows-op-short-answer-success", "src/overlapped.c",
        "        op->status = WSAPEER_E_INTERNAL;\n        if (wsapeer_query_info_parse(",
        "        if (wsapeer_query_info_parse(",
        "Windows: an operation's answer too short to parse is a zeroed success",
        suites=("wine",), wine_tests=("test_query_short_answer",),
    ),
    Mutant(
        "windows-no-code-is-success", "src/fwpuclnt_windows.c",
        "    return err > 0 ? err : WSAPEER_E_INTERNAL;",
        "    return err;",
        "Windows: a call that fails with WSAGetLastError() 0 becomes a success",
        suites=("wine",), wine_tests=("test_failure_without_code",),
    ),
    Mutant(
        "batch-takes-query", "src/overlapped.c",
        "            functions[i] > WSAPEER_CALL_DELETE_PEER_TARGET_NAME)",
        "            functions[i] > WSAPEER_CALL_QUERY_SOCKET_SECURITY)",
        "a batch issues a query whose answer (and tokens) have nowhere to go",
        suites=("wine",), wine_tests=("test_failure_without_code",),
    ),
    Mutant(
        "posix-op-tokens-twice", "src/overlapped.c",
        "        out->application_token = out->machine_token = 0;\n    op->info_taken = 1;\n"
        "    return 0;",
        "    op->info_taken = 1;\n    return 0;",
        "off Windows an operation hands the same tokens to two callers, each of whom closes them",
        tests=("tests/test_overlapped.py",),
    ),
    # ---- issue 23: what Windows CPython found --------------------------------
    Mutant(
        "surrogate-takes-text-path", "wsapeer/_target.py",
        "                and (target_name.isascii() or not has_surrogate(target_name))\n",
        "",
        "the one-shot call hands a name with lone surrogates to C, which Windows' 16-bit"
        " wchar_t shows as one valid pair (sent as U+1F600)",
        tests=("tests/test_target.py",),
    ),
    Mutant(
        "cli-windows-pipe-traceback", "wsapeer/__main__.py",
        "        if sys.platform == \"win32\" and error.errno == errno.EINVAL:",
        "        if False:",
        "on Windows a reader that goes away prints a traceback",
        tests=("tests/test_cli.py",),
    ),
    # ---- issue 23 item 2.3: a reused handle is never its old socket (Wine) --------
    Mutant(
        "model-windows-socket-id-ignored", "src/model/model.c",
        "    return (uint64_t)index.QuadPart;",
        "    return 0;",
        "Windows: the model ignores the socket's file reference number: a plain listener with"
        " SO_EXCLUSIVEADDRUSE on a secured listener's old handle passes its connections off as"
        " secured",
        suites=("wine",), wine_tests=("test_reused_handles",),
    ),
    Mutant(
        "model-reuse-type-ignored", "src/model/model.c",
        "    if (was->family != now->family || was->stream != now->stream)\n        return 0;\n",
        "",
        "a UDP socket on a closed TCP socket's handle is taken for it (its calls listed)",
        suites=("wine",), wine_tests=("test_reused_handles",),
    ),
    Mutant(
        "model-reuse-bound-ignored", "src/model/model.c",
        "    if (was->bound && (!now->bound || !same_endpoint(&was->local, &now->local, 1)))",
        "    if (was->bound && now->bound && !same_endpoint(&was->local, &now->local, 1))",
        "an unbound socket on a closed bound socket's handle is taken for it",
        suites=("wine",), wine_tests=("test_reused_handles",),
    ),
    Mutant(
        "model-reuse-peer-ignored", "src/model/model.c",
        "        (!now->connected || !same_endpoint(&was->peer, &now->peer, 0)))",
        "        !now->connected)",
        "a connection accepted onto a closed connection's handle is taken for it",
        suites=("wine",), wine_tests=("test_reused_handles",),
    ),
    Mutant(
        "model-reuse-secured-exclusivity-ignored", "src/model/model.c",
        "    if (secured_record && !now->exclusive)\n        return 0;\n",
        "    (void)secured_record;\n",
        "a fresh socket on a secured socket's handle is refused WSASetSocketSecurity (WSAEINVAL)",
        suites=("wine",), wine_tests=("test_reused_handles",),
    ),
    Mutant(
        "model-reuse-forgotten-only-on-call", "src/model/model.c",
        "    if (state != NULL && !could_be_same(&state->seen, &facts, state->security != NULL))\n"
        "        forget_state(state);\n    UNLOCK();",
        "        (void)state;\n    UNLOCK();",
        "calls(sock) lists a closed socket's calls for a new one on its handle until the new one"
        " makes a call",
        suites=("wine",), wine_tests=("test_reused_handles",),
    ),
    Mutant(
        "model-reuse-listener-unchecked", "src/model/model.c",
        "            (c->ident == 0 && !could_be_same(&c->seen, &listener, 1)) || ",
        "            ",
        "a plain listener on a closed secured listener's handle passes its connections off as"
        " secured",
        suites=("wine",), wine_tests=("test_reused_handles",),
    ),
    Mutant(
        "model-reuse-facts-not-kept", "src/model/model.c",
        "        state->sock = sock;\n        state->seen = *facts;\n        return state;",
        "        state->sock = sock;\n        return state;",
        "what the model saw first (an unbound socket) is all it knows: a socket bound later and"
        " closed is taken for the unbound one on its handle",
        suites=("wine",), wine_tests=("test_reused_handles",),
    ),
    Mutant(
        "model-windows-token-closed-twice", "src/model/model.c",
        "        status = t->closes || !CloseHandle((HANDLE)(uintptr_t)value)",
        "        status = !CloseHandle((HANDLE)(uintptr_t)value)",
        "Windows: a token closed twice through the model closes whatever object Windows gave"
        " its value to since",
        suites=("wine",), wine_tests=("test_query_socket_security",),
    ),
    # ---- MSVC's branches (issue 23): clang in MSVC mode, as cl.exe ---------------
    # The compiles in MSVC mode are not in the quick Wine run, and a failed
    # -Werror compile is a mutant that does not build, not a kill: the check
    # that the branches taken are cl.exe's is what a mutant here can fail.
    Mutant(
        "msvc-gets-gcc-atomics", "src/overlapped.c",
        "#if defined(__GNUC__) || defined(__clang__)\n#  define LOAD_ACQUIRE(p)",
        "#if defined(__GNUC__) || defined(__clang__) || defined(_MSC_VER)\n"
        "#  define LOAD_ACQUIRE(p)",
        "MSVC builds get GCC's __atomic builtins, which cl.exe has not: the Windows wheels no "
        "longer compile (clang in MSVC mode has the builtins: only the branch check sees it)",
        suites=("wine",), wine_tests=("test_batch_block",),
    ),
    Mutant(
        "model-windows-token-value-reuse-ignored", "src/model/model.c",
        "            if (old != NULL) {\n                table_remove(&token_index,",
        "            if (old != NULL && 0) {\n                table_remove(&token_index,",
        "Windows: a new token given a closed token's value is taken for the closed one: closing"
        " it through the model fails with ERROR_INVALID_HANDLE and leaves it open",
        suites=("wine",), wine_tests=("test_query_socket_security",),
    ),
    # ---- issue 23: the Windows CPython tier trusts nothing unverified ------------
    Mutant(
        "winpy-catalog-unsigned-hashes", "tests/windows_python/assemble.py",
        "    _octet_strings(data, content[1], content[2], strings)",
        "    _octet_strings(data, start, end, strings)",
        "a hash added to the catalog's unsigned attributes (no signature covers them) vouches"
        " for a file", tests=("tests/test_windows_python.py",),
    ),
    Mutant(
        "winpy-any-signer", "tests/windows_python/assemble.py",
        "    if result.returncode != 0 or not signer.rstrip().endswith(PSF) or",
        "    if result.returncode != 0 or",
        "any validly signed PE file is run as python.org's",
        tests=("tests/test_windows_python.py",),
    ),
    Mutant(
        "winpy-unlisted-copied", "tests/windows_python/assemble.py",
        "            refused.append(rel)",
        "            shutil.copy2(path, target)",
        "a Lib/ file the signed catalog does not list is run",
        tests=("tests/test_windows_python.py",),
    ),
    Mutant(
        "winpy-cache-unchecked", "tests/windows_python/assemble.py",
        "        if pins.get(name) != sha256(path):",
        "        if name not in pins:",
        "a cached download changed since pip checked it is unpacked and run",
        tests=("tests/test_windows_python.py",),
    ),
    Mutant(
        "winpy-zip-escapes", "tests/windows_python/assemble.py",
        "            if name.startswith(\"/\") or \"..\" in name.split(\"/\"):",
        "            if name.startswith(\"/\"):",
        "a data.zip entry writes outside the folder it is unpacked in",
        tests=("tests/test_windows_python.py",),
    ),
]  # fmt: skip
