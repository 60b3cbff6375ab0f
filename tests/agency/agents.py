"""Real agent processes for integration tests: start, kill, restart, query.

Agents reach each other either directly or (``relayed=True``) through one
:class:`Relay` per directed link, so a test can isolate an agent.
Per-agent local state is read with ``GET /_api/agency_priv/state?path=``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from harness.infra import procs
from tests.agency.relay import Relay

FAST = {
    "heartbeat-interval": "0.1",
    "election-timeout-min": "0.5",
    "election-timeout-max": "1.0",
    "log-level": "INFO",
}


class AgencyCluster:
    def __init__(
        self,
        root: Path,
        size: int = 3,
        flags: dict[str, str] | None = None,
        relayed: bool = False,
    ) -> None:
        self.root = root
        self.ids = [f"a{i + 1}" for i in range(size)]
        self.flags = {**FAST, **(flags or {})}
        taken: set[int] = set()
        self.ports = {i: procs.free_port(taken) for i in self.ids}
        self.relays: dict[tuple[str, str], Relay] = {}
        if relayed:
            for src in self.ids:
                for dst in self.ids:
                    if src != dst:
                        self.relays[(src, dst)] = Relay(self.ports[dst], taken)
        self.pids: dict[str, int] = {}

    def url(self, ident: str) -> str:
        return f"http://127.0.0.1:{self.ports[ident]}"

    def log_path(self, ident: str) -> str:
        return str(self.root / ident / "node.log")

    def _peer_url(self, src: str, dst: str) -> str:
        relay = self.relays.get((src, dst))
        return f"http://127.0.0.1:{relay.port}" if relay else self.url(dst)

    # -------------------------------------------------------------- processes
    def start(self, ident: str) -> None:
        peers = {p: self._peer_url(ident, p) for p in self.ids if p != ident}
        data_dir = str(self.root / ident / "data")
        cmd = procs.agent_command(ident, self.ports[ident], peers, data_dir, self.flags)
        self.pids[ident] = procs.spawn(cmd, self.log_path(ident))
        self.wait_answering(ident)

    def start_all(self) -> None:
        for ident in self.ids:
            peers = {p: self._peer_url(ident, p) for p in self.ids if p != ident}
            data_dir = str(self.root / ident / "data")
            cmd = procs.agent_command(ident, self.ports[ident], peers, data_dir, self.flags)
            self.pids[ident] = procs.spawn(cmd, self.log_path(ident))
        for ident in self.ids:
            self.wait_answering(ident)

    def wait_answering(self, ident: str, limit: float = 20.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not procs.alive(self.pids[ident]):
                raise AssertionError(f"{ident} died: {procs.tail(self.log_path(ident), 10)}")
            if self.config(ident) is not None:
                return
            time.sleep(0.05)
        raise AssertionError(f"{ident} does not answer: {procs.tail(self.log_path(ident), 10)}")

    def kill9(self, ident: str) -> None:
        procs.kill9(self.pids.pop(ident))

    def stop(self, ident: str) -> None:
        assert procs.stop(self.pids.pop(ident))

    def close(self) -> None:
        for pid in self.pids.values():
            procs.stop(pid, grace=3.0)
        self.pids.clear()
        for relay in self.relays.values():
            relay.close()

    def alive(self) -> list[str]:
        return [i for i, pid in self.pids.items() if procs.alive(pid)]

    # ---------------------------------------------------------------- network
    def isolate(self, ident: str) -> None:
        for (src, dst), relay in self.relays.items():
            if ident in (src, dst):
                relay.cut()

    def heal(self) -> None:
        for relay in self.relays.values():
            relay.heal()

    # ---------------------------------------------------------------- queries
    def config(self, ident: str) -> dict[str, Any] | None:
        status, body = procs.http_json(self.url(ident) + "/_api/agency/config", time_limit=5.0)
        return body if status == 200 and isinstance(body, dict) else None

    def leader(self, limit: float = 15.0, among: list[str] | None = None) -> str:
        """The id of the agent that is leader and recognised by a majority of ``among``."""
        among = among or self.alive()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            views = {i: self.config(i) for i in among}
            leaders = [i for i, c in views.items() if c and c.get("role") == "LEADER"]
            for cand in leaders:
                agree = [i for i, c in views.items() if c and c.get("leaderId") == cand]
                if len(agree) >= len(self.ids) // 2 + 1:
                    return cand
            time.sleep(0.05)
        raise AssertionError(f"no leader among {among} within {limit}s")

    def write(self, ident: str, txns: list[Any], limit: float = 10.0) -> tuple[int, Any]:
        return procs.http_json(self.url(ident) + "/_api/agency/write", txns, time_limit=limit)

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
        return procs.http_json(self.url(ident) + "/_api/agency/read", queries, time_limit=10.0)

    def local(self, ident: str, path: str) -> dict[str, Any]:
        status, body = procs.http_json(
            self.url(ident) + f"/_api/agency_priv/state?path={path}", time_limit=5.0
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


def data_exists(root: Path, ident: str) -> bool:
    return os.path.exists(root / ident / "data" / "raft.sqlite")
