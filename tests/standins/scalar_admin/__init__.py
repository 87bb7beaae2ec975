"""Scalar Admin stand-in: real gRPC servers implementing ``rpc.Admin``, one per fake Scalar node.

In-process (pytest): ``start_on_loopback(port, count)`` starts ``count`` ``AdminNode`` servers on
distinct loopback addresses (127.a.b.c: Linux routes all of 127/8 to ``lo``) that all listen on the
same ``port``, as the pods of one release do on their admin ``targetPort``. The test gives those
addresses to emulated pods as their pod IPs, and drives faults through ``node.behaviour``.

As a process (Molecule, demo): ``start_scalar_admin(state_dir, extra_nodes)`` runs
``python -m standins.scalar_admin --host H --port P --ready-file F [--node HOST:PORT ...]
[--drain-seconds S] [--refuse-pause]`` through ``standins._process.spawn``; the ready file holds
``url`` (``grpc://`` of the first node), ``pid`` and ``nodes`` (every node's ``host:port``).

Never imports the collection: it decodes with the protobuf runtime, so tests cross-check the
collection's hand-written encoder.
"""
from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

from standins._process import Running, spawn
from standins.scalar_admin.node import AdminNode, Behaviour, Event

__all__ = ["AdminNode", "Behaviour", "Event", "start_on_loopback", "start_scalar_admin", "stop_all"]


def start_on_loopback(port: int, count: int, tls: tuple[bytes, bytes] | None = None,
                      rng: random.Random | None = None, attempts: int = 50) -> list[AdminNode]:
    """``count`` nodes on random distinct 127.x.y.z addresses, all on ``port`` (0: an ephemeral port each)."""
    rng = rng or random.Random()
    nodes: list[AdminNode] = []
    used: set[str] = set()
    try:
        for _attempt in range(attempts * count):
            if len(nodes) == count:
                break
            host = f"127.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(2, 254)}"
            if host in used:
                continue
            used.add(host)
            try:  # taken by a parallel test run: try another address
                nodes.append(AdminNode(host, port, tls=tls).start())
            except OSError:
                continue
    except BaseException:
        stop_all(nodes)
        raise
    if len(nodes) == count:
        return nodes
    stop_all(nodes)
    raise OSError(f"could not bind {count} loopback addresses on port {port}")


def stop_all(nodes: Sequence[AdminNode]) -> None:
    for node in nodes:
        node.stop()


def start_scalar_admin(state_dir: str | os.PathLike[str], extra_nodes: Sequence[str] = (),
                       args: Sequence[str] = (), name: str = "scalar-admin") -> Running:
    """Spawn the stand-in process: one node on 127.0.0.1 (ephemeral port) plus ``extra_nodes`` (host:port)."""
    cmd: list[str] = []
    for node in extra_nodes:
        cmd += ["--node", node]
    return spawn(name, "standins.scalar_admin", Path(state_dir), [*cmd, *args])
