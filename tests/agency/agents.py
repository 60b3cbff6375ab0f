"""Real agent processes for integration tests, on the harness's own local backend.

:class:`AgencyCluster` is a view of the agents of a started
:class:`~harness.infra.backends.blocking.BlockingBackend`: process control
(kill -9, graceful stop, restart on the same data, pause) goes through the
backend, link cuts through its Toxiproxy network (start with
``proxied=True``; every agent-to-agent link has its own proxy), and the
queries are plain HTTP to the agents' own addresses, with a member token signed
with the cluster's secret (:meth:`AgencyCluster.headers`). Per-agent local state
is read with ``GET /_api/agency_priv/state?path=``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.blocking import BlockingBackend
from harness.infra.probe import http_json

FAST = {
    "heartbeat-interval": "0.1",
    "election-timeout-min": "0.5",
    "election-timeout-max": "1.0",
    "log-level": "INFO",
}
START_TIMEOUT = 30.0


def start_agency(
    root: Path, size: int = 3, flags: dict[str, str] | None = None, proxied: bool = False
) -> AgencyCluster:
    """``size`` agents (no servers) with fast Raft timings, started and answering.

    On failure everything started is torn down and the error raised."""
    backend = BlockingBackend()
    spec = ClusterSpec(
        agents=size,
        servers=0,
        proxied=proxied,
        agency_flags={**FAST, **(flags or {})},
        state_dir=str(root),
        start_timeout=START_TIMEOUT,
    )
    try:
        backend.start(spec)
    except BaseException:
        backend.close()
        raise
    return AgencyCluster(backend)


def holds(check: Callable[[], bool], seconds: float, what: str, every: float = 0.05) -> None:
    """Assert that ``check()`` stays true for ``seconds`` (polled; fails at the first miss)."""
    deadline = time.monotonic() + seconds
    while True:
        assert check(), f"{what} stopped holding"
        if time.monotonic() >= deadline:
            return
        time.sleep(every)


def eventually(check: Callable[[], Any], limit: float, what: str, every: float = 0.05) -> Any:
    """Poll ``check()`` until it returns something truthy; that value."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {limit:g} s (last: {value!r})")
        time.sleep(every)


class AgencyCluster:
    """The agents of a started local cluster."""

    def __init__(self, backend: BlockingBackend) -> None:
        self.backend = backend
        self.ids = backend.ids("agent")

    def url(self, ident: str) -> str:
        return self.backend.node(ident).direct_url

    def headers(self) -> dict[str, str]:
        """What every agency request needs: a member token signed with the cluster secret."""
        return self.backend.credentials.agency_headers()

    def address(self, ident: str) -> tuple[str, int]:
        """(host, port) the agent listens on."""
        host, port = self.url(ident).removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def log_path(self, ident: str) -> str:
        return self.backend.node(ident).log_path

    def data_dir(self, ident: str) -> str:
        return self.backend.node(ident).data_dir

    # -------------------------------------------------------------- processes
    def start(self, ident: str) -> None:
        """Start a stopped or killed agent on its data; returns once it answers."""
        self.backend.start_node(ident)

    def start_all(self) -> None:
        """Start every agent that is not running, together."""
        self.backend.start_nodes([i for i in self.ids if not self.backend.is_running(i)])

    def kill9(self, ident: str) -> None:
        self.backend.kill(ident)

    def stop(self, ident: str) -> None:
        self.backend.stop(ident)
        assert not self.backend.is_running(ident)

    def pause(self, ident: str) -> None:
        self.backend.pause(ident)

    def resume(self, ident: str) -> None:
        self.backend.resume(ident)

    def close(self) -> None:
        self.backend.close()

    def alive(self) -> list[str]:
        """The agents whose processes run (paused ones included)."""
        return [i for i in self.ids if self.backend.is_running(i)]

    # ---------------------------------------------------------------- network
    def isolate(self, ident: str) -> None:
        """Cut every link between ``ident`` and the other nodes, both directions."""
        self.backend.isolate([ident])

    def heal(self) -> None:
        self.backend.heal()

    # ---------------------------------------------------------------- queries
    def config(self, ident: str) -> dict[str, Any] | None:
        status, body = http_json(
            self.url(ident) + "/_api/agency/config", time_limit=5.0, headers=self.headers()
        )
        return body if status == 200 and isinstance(body, dict) else None

    def cfg(self, ident: str) -> dict[str, Any]:
        """The agent's config, which it must answer."""
        config = self.config(ident)
        assert config is not None, f"{ident} does not answer /_api/agency/config"
        return config

    def leader(self, limit: float = 15.0, among: list[str] | None = None) -> str:
        """The id of the agent that is leader and recognised by a majority of ``among``."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            views = {i: self.config(i) for i in (among or self.alive())}
            leaders = [i for i, c in views.items() if c and c.get("role") == "LEADER"]
            for cand in leaders:
                agree = [i for i, c in views.items() if c and c.get("leaderId") == cand]
                if len(agree) >= len(self.ids) // 2 + 1:
                    return cand
            time.sleep(0.05)
        raise AssertionError(f"no leader among {among or self.alive()} within {limit}s")

    def write(self, ident: str, txns: list[Any], limit: float = 10.0) -> tuple[int, Any]:
        return http_json(
            self.url(ident) + "/_api/agency/write", txns, time_limit=limit, headers=self.headers()
        )

    def write_via_leader(self, txns: list[Any], limit: float = 20.0) -> tuple[str, Any]:
        """Write through whichever agent leads, retrying across a (spurious) election.

        Only for tests where who leads does not matter; returns (leader, body).
        """
        deadline = time.monotonic() + limit
        while True:
            leader = self.leader(limit=max(1.0, deadline - time.monotonic()))
            status, body = self.write(leader, txns)
            if status in (200, 412):
                return leader, body
            if time.monotonic() > deadline:
                raise AssertionError(f"write not committed within {limit}s: {status} {body}")
            time.sleep(0.05)

    def read(self, ident: str, queries: list[list[str]]) -> tuple[int, Any]:
        return http_json(
            self.url(ident) + "/_api/agency/read", queries, time_limit=10.0, headers=self.headers()
        )

    def local(self, ident: str, path: str) -> dict[str, Any]:
        status, body = http_json(
            self.url(ident) + f"/_api/agency_priv/state?path={path}",
            time_limit=5.0,
            headers=self.headers(),
        )
        assert status == 200, (ident, status, body)
        assert isinstance(body, dict)
        return body

    def wait_local(self, ident: str, path: str, value: Any, limit: float = 15.0) -> None:
        deadline = time.monotonic() + limit
        last: Any = None
        while time.monotonic() < deadline:
            last = self.local(ident, path)["value"]
            if last == value:
                return
            time.sleep(0.05)
        raise AssertionError(f"{ident}: {path} is {last!r}, expected {value!r}")
