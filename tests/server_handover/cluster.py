"""A real agency + servers on the local backend, with the cluster's own credentials.

:class:`HandoverCluster` starts the cluster, stops a server with SIGTERM (the
backend's graceful stop) and starts it again; :class:`Writer` inserts unique
keys from a thread, following ``X-Arango-Endpoint``, and records which were
acknowledged and by whom.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.blocking import BlockingBackend
from tests.agency.agents import FAST
from tests.server_failover.servers import Reply, http

START_TIMEOUT = 60.0


class HandoverCluster:
    def __init__(self, root: Path, servers: int, replication: str = "async") -> None:
        self.backend = BlockingBackend()
        self.spec = ClusterSpec(
            agents=1,
            servers=servers,
            replication="sync" if replication == "sync" else "async",
            agency_flags=dict(FAST),
            state_dir=str(root),
            start_timeout=START_TIMEOUT,
        )
        self.ids = [f"s{i + 1}" for i in range(servers)]
        self.backend.start(self.spec)
        creds = self.backend.backend.credentials
        self.root_auth = creds.server_headers()["Authorization"]
        self.super_auth = creds.agency_headers().get("Authorization", self.root_auth)

    def close(self) -> None:
        self.backend.close()

    def url(self, sid: str) -> str:
        return self.backend.node(sid).url

    def direct(self, sid: str) -> str:
        return self.backend.node(sid).direct_url

    def request(
        self, url: str, method: str = "GET", body: Any = None, superuser: bool = False, **kw: Any
    ) -> Reply:
        return http(url, method, body, auth=self.super_auth if superuser else self.root_auth, **kw)

    def stop(self, sid: str) -> None:
        """SIGTERM, then wait for the exit (SIGKILL after the backend's grace period)."""
        self.backend.stop(sid)

    def start(self, sid: str) -> None:
        self.backend.start_node(sid)

    def role(self, sid: str) -> dict[str, Any] | None:
        reply = self.request(self.direct(sid) + "/_admin/server/role", time_limit=2.0)
        return reply.body if reply.status == 200 and isinstance(reply.body, dict) else None

    def leader(self, limit: float = 20.0, exclude: str | None = None) -> str:
        deadline = time.monotonic() + limit
        roles: dict[str, Any] = {}
        while time.monotonic() < deadline:
            running = [s for s in self.ids if s != exclude and self.backend.is_running(s)]
            roles = {s: self.role(s) for s in running}
            leaders = [
                s
                for s, r in roles.items()
                if r and r["afRole"] == "leader" and r["details"]["leaseValid"]
            ]
            if len(leaders) == 1:
                return leaders[0]
            time.sleep(0.05)
        raise AssertionError(f"no single leader within {limit}s: {roles}")

    def wait_role(self, sid: str, role: str, limit: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            last = self.role(sid)
            if last and last["afRole"] == role:
                return last
            time.sleep(0.05)
        raise AssertionError(f"{sid} is not {role} within {limit}s: {last}")

    def wait_synced(self, sid: str, leader: str, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        mine: Any = None
        while time.monotonic() < deadline:
            mine, theirs = self.role(sid), self.role(leader)
            applier = (mine or {}).get("details", {}).get("applier", {})
            if (
                mine
                and theirs
                and applier.get("phase") == "tailing"
                and applier.get("leader") == leader
                and mine["lastTick"] >= theirs["lastTick"]
            ):
                return
            time.sleep(0.05)
        raise AssertionError(f"{sid} did not catch up with {leader} within {limit}s: {mine}")

    def agency_value(self, path: str) -> Any:
        agency = self.backend.node("a1").direct_url
        headers = self.backend.backend.credentials.agency_headers()
        reply = http(f"{agency}/_api/agency/read", "POST", [[path]], auth=headers["Authorization"])
        assert reply.status == 200, reply
        node: Any = reply.body[0]
        for part in path.strip("/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def missing(self, sid: str, coll: str, keys: list[str]) -> list[str]:
        base = f"{self.direct(sid)}/_api/document/{coll}/"
        dirty = {"X-Arango-Allow-Dirty-Read": "true"}
        return [k for k in keys if self.request(base + k, headers=dirty).status != 200]

    def rolled_back_keys(self, sid: str) -> set[str]:
        base = f"{self.direct(sid)}/_api/replication/rollbacks"
        listing = self.request(base, superuser=True)
        assert listing.status == 200, listing
        keys: set[str] = set()
        for record in listing.body["rollbacks"]:
            entries = self.request(f"{base}/{record['name']}", superuser=True)
            keys |= {str(e.get("key")) for e in entries.body["entries"]}
        return keys


class Writer:
    """Inserts ``w1, w2, ...`` into ``collection`` until stopped."""

    def __init__(self, cluster: HandoverCluster, collection: str) -> None:
        self.cluster = cluster
        self.collection = collection
        self.acked_by: list[tuple[str, str]] = []  # (key, answering server)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def acked(self) -> list[str]:
        return [k for k, _ in self.acked_by]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "writer did not stop"

    def _run(self) -> None:
        urls = [self.cluster.url(s) for s in self.cluster.ids]
        url, n, turn = urls[0], 0, 0
        while not self._stop.is_set():
            n += 1
            reply = self.cluster.request(
                f"{url}/_api/document/{self.collection}", "POST", {"_key": f"w{n}"}, time_limit=10.0
            )
            if reply.status in (201, 202):
                self.acked_by.append((f"w{n}", reply.header("X-Arango-Server-Id") or "?"))
                continue
            endpoint = reply.header("X-Arango-Endpoint")
            if endpoint:
                url = endpoint
            else:
                turn += 1
                url = urls[turn % len(urls)]
            time.sleep(0.02)
