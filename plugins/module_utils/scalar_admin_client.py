# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A client of the Scalar Admin gRPC service ``rpc.Admin`` (Pause, Unpause, CheckPaused).

The three messages are tiny, so they are encoded by hand (proto3 wire format) instead of with
generated code: the collection then needs only ``grpcio`` on the controller, not ``protobuf`` and
not a generated module that must match its version. Every failure becomes an ``AdminError`` whose
message names the node (its address), the RPC and the gRPC status, so a playbook's error says which
pod to look at.
"""

from __future__ import annotations

from dataclasses import dataclass

try:
    import grpc

    HAS_GRPC = True
    GRPC_IMPORT_ERROR = None
except ImportError as _exc:  # the module reports it with missing_required_lib
    HAS_GRPC = False
    GRPC_IMPORT_ERROR = _exc

PAUSE = "/rpc.Admin/Pause"
UNPAUSE = "/rpc.Admin/Unpause"
CHECK_PAUSED = "/rpc.Admin/CheckPaused"

_WIRE_VARINT, _WIRE_I64, _WIRE_LEN, _WIRE_I32 = 0, 1, 2, 5
_U64 = 1 << 64


# ---- proto3 wire format: just what PauseRequest, Empty and CheckPausedResponse need ----------
def _varint(value: int) -> bytes:
    value &= _U64 - 1  # negative int64 values are sent as their 64-bit two's complement
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def decode_fields(data: bytes) -> dict[int, int | bytes]:
    """Field number -> last value (varints as int, others as raw bytes); unknown fields are kept, not fatal."""
    fields: dict[int, int | bytes] = {}
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == _WIRE_VARINT:
            fields[number], pos = _read_varint(data, pos)
            continue
        if wire == _WIRE_LEN:
            size, pos = _read_varint(data, pos)
        elif wire in (_WIRE_I64, _WIRE_I32):
            size = 8 if wire == _WIRE_I64 else 4
        else:
            raise ValueError(f"unsupported wire type {wire} for field {number}")
        if pos + size > len(data):
            raise ValueError(f"field {number} runs past the end of the message")
        fields[number], pos = data[pos:pos + size], pos + size
    return fields


def encode_pause_request(wait_outstanding: bool = True, max_pause_wait_time: int | None = None) -> bytes:
    """PauseRequest{bool wait_outstanding = 1; optional int64 max_pause_wait_time = 2 (ms)}."""
    out = b""
    if wait_outstanding:  # proto3 leaves default (false) scalars out
        out += b"\x08" + _varint(1)
    if max_pause_wait_time is not None:  # 'optional' has explicit presence: 0 is sent
        out += b"\x10" + _varint(int(max_pause_wait_time))
    return out


def decode_pause_request(data: bytes) -> tuple[bool, int | None]:
    fields = decode_fields(data)
    wait = bool(fields.get(1, 0))
    raw = fields.get(2)
    if raw is None:
        return wait, None
    value = int(raw)  # varint field
    return wait, value - _U64 if value >= 1 << 63 else value


def _as_is(data: bytes) -> bytes:
    return data


def encode_empty(_message: object = None) -> bytes:
    return b""


def decode_empty(data: bytes) -> dict[int, int | bytes]:
    # grpcio takes a None result for a failed deserialization, so Empty decodes to its (empty) fields.
    return decode_fields(data)


def encode_check_paused_response(paused: bool) -> bytes:
    return b"\x08\x01" if paused else b""


def decode_check_paused_response(data: bytes) -> bool:
    """CheckPausedResponse{bool paused = 1}."""
    return bool(decode_fields(data).get(1, 0))


# ---- the client ----------------------------------------------------------------------------
class AdminError(RuntimeError):
    """An rpc.Admin call failed; ``address``, ``rpc`` and ``code`` (gRPC status name) say where and how."""

    def __init__(self, address: str, rpc: str, code: str, details: str) -> None:
        self.address, self.rpc, self.code, self.details = address, rpc, code, details
        super().__init__(f"{rpc} on {address} failed: {code}: {details}{_hint(rpc, code)}")


def _hint(rpc: str, code: str) -> str:
    if code == "FAILED_PRECONDITION" and rpc == "Pause":
        return " (the node could not drain its outstanding requests within max_pause_wait_time and stayed unpaused)"
    if code == "UNAVAILABLE":
        return " (is the admin port reachable from here, and is TLS set the same way as on the server?)"
    if code == "DEADLINE_EXCEEDED":
        return " (no answer before the deadline; raise timeout or check the node)"
    if code == "UNIMPLEMENTED":
        return " (this port does not serve rpc.Admin; check the admin port)"
    return ""


@dataclass(frozen=True)
class TlsOptions:
    """TLS towards the admin port; paths are PEM files. ``override_authority`` is the name the
    server certificate is checked against (and the HTTP/2 authority), for servers called by IP."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    override_authority: str | None = None


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as handle:
        return handle.read()


class AdminClient:
    """One node's rpc.Admin. ``timeout`` (seconds) is the default deadline of each call."""

    def __init__(self, address: str, tls: TlsOptions | None = None, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout
        # Pod IPs are reached directly; an HTTP proxy from the environment would only get in the way.
        options: list[tuple[str, int | str]] = [("grpc.enable_http_proxy", 0)]
        if tls is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            if tls.override_authority:
                options += [("grpc.ssl_target_name_override", tls.override_authority),
                            ("grpc.default_authority", tls.override_authority)]
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(tls.ca_file), private_key=_read(tls.key_file),
                certificate_chain=_read(tls.cert_file),
            )
            self._channel = grpc.secure_channel(address, credentials, options=options)
        self._pause = self._channel.unary_unary(PAUSE, request_serializer=_as_is, response_deserializer=decode_empty)
        self._unpause = self._channel.unary_unary(UNPAUSE, request_serializer=encode_empty,
                                                  response_deserializer=decode_empty)
        self._check = self._channel.unary_unary(CHECK_PAUSED, request_serializer=encode_empty,
                                                response_deserializer=decode_check_paused_response)

    def _call(self, rpc: str, method, request, timeout: float | None):
        try:
            return method(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise AdminError(self.address, rpc, code.name if code is not None else "UNKNOWN", details or "") from None
        except ValueError as exc:  # an answer our decoder cannot read
            raise AdminError(self.address, rpc, "BAD_RESPONSE", str(exc)) from None

    def pause(self, wait_outstanding: bool = True, max_pause_wait_ms: int | None = None, timeout: float | None = None) -> None:
        """Pause the node. Draining may take up to ``max_pause_wait_ms``: the deadline must cover it."""
        if timeout is None:
            timeout = self.timeout + (max_pause_wait_ms or 30_000) / 1000.0
        self._call("Pause", self._pause, encode_pause_request(wait_outstanding, max_pause_wait_ms), timeout)

    def unpause(self, timeout: float | None = None) -> None:
        self._call("Unpause", self._unpause, None, timeout)

    def check_paused(self, timeout: float | None = None) -> bool:
        return self._call("CheckPaused", self._check, None, timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
