"""The hand-written rpc.Admin encoding against protoc's, and the client against a real gRPC server."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_client import (
    AdminClient,
    AdminError,
    TlsOptions,
    decode_check_paused_response,
    decode_fields,
    decode_pause_request,
    encode_check_paused_response,
    encode_pause_request,
)
from standins.scalar_admin import AdminNode, start_on_loopback, start_scalar_admin, stop_all

PROTO = """
syntax = "proto3";
package rpc;
import "google/protobuf/empty.proto";
service Admin {
  rpc Pause(PauseRequest) returns (google.protobuf.Empty) {}
  rpc Unpause(google.protobuf.Empty) returns (google.protobuf.Empty) {}
  rpc CheckPaused(google.protobuf.Empty) returns (CheckPausedResponse) {}
}
message PauseRequest {
  bool wait_outstanding = 1;
  optional int64 max_pause_wait_time = 2;
}
message CheckPausedResponse {
  bool paused = 1;
}
"""


@pytest.fixture(scope="module", name="compiled")
def compiled_fixture(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """scalar-admin's messages compiled by protoc (grpcio-tools) at test time."""
    from grpc_tools import protoc  # pylint: disable=import-outside-toplevel  # test-only dependency
    import grpc_tools  # pylint: disable=import-outside-toplevel

    out = tmp_path_factory.mktemp("proto")
    (out / "scalar_admin_test.proto").write_text(PROTO)
    include = Path(grpc_tools.__file__).parent / "_proto"
    assert protoc.main(["protoc", f"-I{out}", f"-I{include}", f"--python_out={out}", str(out / "scalar_admin_test.proto")]) == 0
    spec = importlib.util.spec_from_file_location("scalar_admin_test_pb2", out / "scalar_admin_test_pb2.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


WAIT_VALUES = [None, 0, 1, 127, 128, 30_000, 2**40, 2**63 - 1, -1, -(2**63)]


@pytest.mark.parametrize("wait_outstanding", [True, False])
@pytest.mark.parametrize("max_wait", WAIT_VALUES)
def test_pause_request_bytes_equal_protoc(compiled: Any, wait_outstanding: bool, max_wait: int | None) -> None:
    expected = compiled.PauseRequest(wait_outstanding=wait_outstanding)
    if max_wait is not None:
        expected.max_pause_wait_time = max_wait
    ours = encode_pause_request(wait_outstanding, max_wait)
    assert ours == expected.SerializeToString()
    parsed = compiled.PauseRequest.FromString(ours)
    assert parsed.wait_outstanding is wait_outstanding
    assert parsed.HasField("max_pause_wait_time") is (max_wait is not None)
    assert decode_pause_request(expected.SerializeToString()) == (wait_outstanding, max_wait)


@pytest.mark.parametrize("paused", [True, False])
def test_check_paused_response_matches_protoc(compiled: Any, paused: bool) -> None:
    wire = compiled.CheckPausedResponse(paused=paused).SerializeToString()
    assert decode_check_paused_response(wire) is paused
    assert encode_check_paused_response(paused) == wire


def test_unknown_fields_are_skipped_not_fatal() -> None:
    # field 3 (length-delimited "abc"), field 4 (fixed64), field 5 (fixed32), then paused=true
    wire = b"\x1a\x03abc" + b"\x21" + bytes(8) + b"\x2d" + bytes(4) + b"\x08\x01"
    assert decode_check_paused_response(wire) is True
    assert decode_fields(wire)[3] == b"abc"


@pytest.mark.parametrize("wire", [b"\x08", b"\x1a\x05ab", b"\x0b", b"\x08" + b"\xff" * 11])
def test_malformed_messages_raise(wire: bytes) -> None:
    with pytest.raises(ValueError):
        decode_fields(wire)


@pytest.fixture(name="node")
def node_fixture() -> Iterator[AdminNode]:
    nodes = start_on_loopback(0, 1)
    yield nodes[0]
    stop_all(nodes)


def test_client_pauses_checks_and_unpauses_a_real_server(node: AdminNode) -> None:
    with AdminClient(node.address, timeout=5) as client:
        assert client.check_paused() is False
        client.pause(wait_outstanding=True, max_pause_wait_ms=2500)
        assert node.paused and client.check_paused() is True
        client.unpause()
        assert not node.paused and client.check_paused() is False
    assert node.pause_requests == [(True, 2500)]


def test_refused_pause_names_node_and_status(node: AdminNode) -> None:
    node.behaviour.refuse_pause = True
    with AdminClient(node.address, timeout=5) as client, pytest.raises(AdminError) as err:
        client.pause()
    assert err.value.code == "FAILED_PRECONDITION" and err.value.address == node.address
    assert f"Pause on {node.address} failed: FAILED_PRECONDITION" in str(err.value)
    assert not node.paused


def test_deadline_and_unreachable_are_reported(node: AdminNode) -> None:
    node.behaviour.drain_seconds = 2
    with AdminClient(node.address) as client, pytest.raises(AdminError) as err:
        client.pause(max_pause_wait_ms=5000, timeout=0.3)
    assert err.value.code == "DEADLINE_EXCEEDED"
    with AdminClient("127.0.0.1:1", timeout=3) as client, pytest.raises(AdminError) as err:
        client.check_paused()
    assert err.value.code == "UNAVAILABLE" and "127.0.0.1:1" in str(err.value)


def test_tls_with_ca_and_override_authority(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("ledger.scalar.example")
    nodes = start_on_loopback(0, 1, tls=(cert.private_key_pem.bytes(), cert.cert_chain_pems[0].bytes()))
    try:
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        good = TlsOptions(ca_file=str(tmp_path / "ca.pem"), override_authority="ledger.scalar.example")
        with AdminClient(nodes[0].address, tls=good, timeout=5) as client:
            assert client.check_paused() is False
        # called by IP without the override, the certificate's name does not match
        with AdminClient(nodes[0].address, tls=TlsOptions(ca_file=str(tmp_path / "ca.pem")), timeout=5) as client:
            with pytest.raises(AdminError) as err:
                client.check_paused()
        assert err.value.code == "UNAVAILABLE"
    finally:
        stop_all(nodes)


def test_standin_process_serves_every_node(tmp_path: Path) -> None:
    """``python -m standins.scalar_admin`` (the spawn contract) serves rpc.Admin on each listed node."""
    running = start_scalar_admin(tmp_path, ["127.0.0.9:0"])
    try:
        assert running.url == f"grpc://{running.info['nodes'][0]}" and len(running.info["nodes"]) == 2
        for address in running.info["nodes"]:
            with AdminClient(address, timeout=5) as client:
                client.pause(max_pause_wait_ms=1000)
                assert client.check_paused() is True
                client.unpause()
                assert client.check_paused() is False
    finally:
        running.stop()
