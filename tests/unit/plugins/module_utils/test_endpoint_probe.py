"""Unit tests of the endpoint probe against real sockets on 127.0.0.1: a listener, a closed port, and a
name that cannot resolve (``.invalid`` is reserved and never resolves, RFC 2606)."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.endpoint_probe import probe


@pytest.fixture(name="listener")
def listener_fixture() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections (the backlog completes the handshake; nothing reads)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture(name="closed_port")
def closed_port_fixture() -> int:
    """A port on 127.0.0.1 nothing listens on (bound once to pick a free one, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as spare:
        spare.bind(("127.0.0.1", 0))
        return int(spare.getsockname()[1])


def test_a_listening_endpoint_resolves_and_is_reachable(listener: int) -> None:
    result = probe("127.0.0.1", listener, timeout=2.0)
    assert {key: result[key] for key in ("host", "port", "resolved", "addresses", "reachable", "error")} == {
        "host": "127.0.0.1", "port": listener, "resolved": True, "addresses": ["127.0.0.1"], "reachable": True, "error": None}
    assert result["seconds"] >= 0


def test_a_name_with_several_addresses_is_reachable_when_one_of_them_answers(listener: int) -> None:
    # localhost may resolve to ::1 as well, where nothing listens: the probe goes on to 127.0.0.1.
    result = probe("localhost", listener, timeout=2.0)
    assert result["resolved"] and "127.0.0.1" in result["addresses"]
    assert (result["reachable"], result["error"]) == (True, None)


def test_a_closed_port_resolves_but_is_not_reachable(closed_port: int) -> None:
    result = probe("127.0.0.1", closed_port, timeout=2.0)
    assert (result["resolved"], result["reachable"], result["addresses"]) == (True, False, ["127.0.0.1"])
    assert result["error"].startswith("no connection: 127.0.0.1: ")
    assert "refused" in result["error"].lower()


def test_an_unresolvable_name_is_reported_not_raised() -> None:
    result = probe("nonexistent.invalid", 5432, timeout=2.0)
    assert (result["host"], result["resolved"], result["reachable"], result["addresses"]) == ("nonexistent.invalid", False, False, [])
    assert result["error"].startswith("does not resolve: ")


@pytest.mark.parametrize("host", ["", "bad host name with spaces.invalid", "a" * 300 + ".invalid"])
def test_malformed_names_are_reported_as_not_resolving(host: str) -> None:
    result = probe(host, 5432, timeout=1.0)
    assert (result["resolved"], result["reachable"]) == (False, False)
    assert result["error"].startswith("does not resolve: ")
