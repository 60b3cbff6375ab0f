"""A SIGTERM ends a node within its grace even while clients hold connections open.

aiohttp's own cleanup waits up to 60 s for open connections, so a request whose body
never completes (or a keep-alive connection caught between requests) held a stopping
server until the launcher's SIGKILL. The nodes now give connections
``SHUTDOWN_GRACE_S`` per stage, so they exit by themselves, with exit code 0.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from cluster.common.http import SHUTDOWN_GRACE_S
from harness.infra.backends.local import STOP_GRACE
from tests.server_handover.cluster import HandoverCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@contextmanager
def _half_sent_request(url: str, path: str, auth: str) -> Iterator[socket.socket]:
    """A connection that sent a request's headers and 1 of its 1000 body bytes."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    try:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: {auth}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            ).encode()
        )
        yield sock
    finally:
        sock.close()


def _exit_code(cluster: HandoverCluster, node_id: str) -> int | None:
    proc = cluster.backend.backend._entry(node_id).proc
    return None if proc is None else proc.returncode


@pytest.mark.parametrize("node_id", ["s1", "a1"])
def test_sigterm_ends_a_node_holding_a_half_sent_request(
    handover_cluster: Callable[..., HandoverCluster], node_id: str
) -> None:
    cluster = handover_cluster(servers=1)
    path = "/_api/document/c" if node_id == "s1" else "/_api/agency/write"
    auth = cluster.root_auth if node_id == "s1" else cluster.super_auth
    with _half_sent_request(cluster.direct(node_id), path, auth):
        time.sleep(0.5)  # the handler is now waiting for the rest of the body
        started = time.monotonic()
        cluster.stop(node_id)
        took = time.monotonic() - started

    assert _exit_code(cluster, node_id) == 0, f"{node_id} was killed after {took:.1f} s"
    assert took < STOP_GRACE, took
    assert SHUTDOWN_GRACE_S * 3 < STOP_GRACE  # the grace leaves the node time to exit
