"""Real server processes (plus a real agency) for failover tests.

:class:`FailoverCluster` starts an agency of 1 or 3 agents and N document
servers with the harness's local backend, and offers kill -9, stop,
SIGSTOP/SIGCONT, restart on the same data, link cuts through Toxiproxy, and
small HTTP helpers that return status, headers and JSON. ``close()`` stops
every process it started.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.blocking import BlockingBackend
from harness.infra.procs import log_tail
from tests.agency.agents import FAST, AgencyCluster

SECRET = "failover-test-secret-0123456789"
START_TIMEOUT = 60.0


def superuser_token(secret: str = SECRET) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    # a day ahead: every token must carry exp (a test session is far shorter)
    claims = {"server_id": "test", "iss": "arangodb", "exp": int(time.time()) + 86_400}
    payload = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(sig)}"


ROOT_AUTH = "Basic " + base64.b64encode(b"root:").decode()
SUPER_AUTH = "bearer " + superuser_token()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def http(
    url: str,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
    time_limit: float = 5.0,
    auth: str = ROOT_AUTH,
) -> Reply:
    """One request; status 0 when the server cannot be reached."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", auth)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=time_limit) as resp:
            raw, status, hdrs = resp.read(), resp.status, resp.headers
    except urllib.error.HTTPError as err:
        raw, status, hdrs = err.read(), err.code, err.headers
    except (urllib.error.URLError, OSError, TimeoutError):
        return Reply(0, {}, None)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(status, {k.lower(): v for k, v in hdrs.items()}, parsed)


class FailoverCluster:
    """An agency plus document servers on the harness's local backend (real processes).

    Process control goes through the backend; with ``proxied=True`` every link
    runs through its own Toxiproxy proxy and :meth:`cut_from_agency` cuts a
    server's links to the agents (clients and the other servers still reach it).
    """

    def __init__(
        self,
        root: Path,
        servers: int = 2,
        agents: int = 1,
        replication: str = "async",
        flags: dict[str, str] | None = None,
        proxied: bool = False,
    ) -> None:
        self.root = root
        self.replication = replication
        self.backend = BlockingBackend()
        self.spec = ClusterSpec(
            agents=agents,
            servers=servers,
            replication="sync" if replication == "sync" else "async",
            proxied=proxied,
            agency_flags=dict(FAST),
            server_flags=dict(flags or {}),
            state_dir=str(root),
            secret=SECRET,
            root_password="",
            start_timeout=START_TIMEOUT,
        )
        self.ids = [f"s{i + 1}" for i in range(servers)]

    def start_all(self) -> None:
        """Start the agency, then the servers; returns once one server leads."""
        self.backend.start(self.spec)

    @property
    def agency(self) -> AgencyCluster:
        return AgencyCluster(self.backend)

    # ---------------------------------------------------------------- processes
    def url(self, ident: str) -> str:
        """Where clients reach the server (its client proxy when proxied): its advertised URL."""
        return self.backend.node(ident).url

    def data_dir(self, ident: str) -> str:
        return self.backend.node(ident).data_dir

    def log_path(self, ident: str) -> str:
        return self.backend.node(ident).log_path

    def cut_from_agency(self, ident: str) -> None:
        self.backend.cut([(ident, a) for a in self.agency.ids])

    def heal(self) -> None:
        self.backend.heal()

    def start(self, ident: str) -> None:
        """Start a stopped or killed server on its data dir; returns once it answers."""
        self.backend.start_node(ident)

    def kill9(self, ident: str) -> None:
        self.backend.kill(ident)

    def stop(self, ident: str) -> None:
        self.backend.stop(ident)

    def pause(self, ident: str) -> None:
        self.backend.pause(ident)

    def resume(self, ident: str) -> None:
        self.backend.resume(ident)

    def running(self) -> list[str]:
        """Servers whose processes run and are not paused."""
        return [i for i in self.ids if self.backend.is_running(i) and not self.backend.is_paused(i)]

    def close(self) -> None:
        self.backend.close()

    # ------------------------------------------------------------------ queries
    def direct(self, ident: str) -> str:
        """The server's own address (past Toxiproxy), for the test's observations."""
        return self.backend.node(ident).direct_url

    def role(self, ident: str) -> dict[str, Any] | None:
        reply = http(self.direct(ident) + "/_admin/server/role", time_limit=2.0)
        return reply.body if reply.status == 200 and isinstance(reply.body, dict) else None

    def leader(self, limit: float = 20.0, among: list[str] | None = None) -> str:
        """The one server that leads with a valid lease (and, in sync mode, a sync follower)."""
        deadline = time.monotonic() + limit
        roles: dict[str, Any] = {}
        while time.monotonic() < deadline:
            ids = among or self.running()
            roles = {i: self.role(i) for i in ids}
            leaders = [
                i
                for i, r in roles.items()
                if r
                and r["afRole"] == "leader"
                and r["details"]["leaseValid"]
                and (self.replication == "async" or r["details"]["syncFollower"] not in (None, i))
            ]
            if len(leaders) == 1:
                return leaders[0]
            time.sleep(0.05)
        raise AssertionError(f"no single leader within {limit}s: {roles}")

    def wait_role(self, ident: str, role: str, limit: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            last = self.role(ident)
            if last and last["afRole"] == role:
                return last
            time.sleep(0.05)
        raise AssertionError(f"{ident} is not {role} within {limit}s: {last}")

    def wait_tick(self, ident: str, tick: int, limit: float = 20.0) -> None:
        deadline = time.monotonic() + limit
        last: Any = None
        while time.monotonic() < deadline:
            last = self.role(ident)
            if last and last["lastTick"] >= tick:
                return
            time.sleep(0.05)
        raise AssertionError(f"{ident} did not reach tick {tick} within {limit}s: {last}")

    def wait_synced(self, ident: str, leader: str, limit: float = 30.0) -> None:
        """Wait until ``ident`` tails ``leader`` and holds at least the leader's last tick."""
        deadline = time.monotonic() + limit
        mine: Any = None
        while time.monotonic() < deadline:
            mine, theirs = self.role(ident), self.role(leader)
            if (
                mine
                and theirs
                and mine["afRole"] == "follower"
                and mine["details"]["applier"]["phase"] == "tailing"
                and mine["details"]["applier"]["leader"] == leader
                and mine["lastTick"] >= theirs["lastTick"]
            ):
                return
            time.sleep(0.05)
        raise AssertionError(f"{ident} did not catch up with {leader} within {limit}s: {mine}")

    def wait_endpoints(self, ident: str, limit: float = 10.0) -> list[str]:
        """``ident``'s endpoint list, once it names every server."""
        deadline = time.monotonic() + limit
        urls: list[str] = []
        while time.monotonic() < deadline:
            reply = http(f"{self.url(ident)}/_api/cluster/endpoints")
            # 503: it knows no leader yet (a list must start with the leader)
            assert reply.status in (200, 503), reply
            urls = [e["endpoint"] for e in reply.body["endpoints"]] if reply.status == 200 else []
            if len(urls) == len(self.ids):
                return urls
            time.sleep(0.05)
        raise AssertionError(f"{ident} does not list every server: {urls}")

    def insert(self, ident: str, coll: str, doc: dict[str, Any], time_limit: float = 10.0) -> Reply:
        return http(f"{self.url(ident)}/_api/document/{coll}", "POST", doc, time_limit=time_limit)

    def create_collection(self, ident: str, name: str) -> Reply:
        return http(f"{self.url(ident)}/_api/collection", "POST", {"name": name})

    def rollbacks(self, ident: str) -> list[dict[str, Any]]:
        reply = http(f"{self.url(ident)}/_api/replication/rollbacks", auth=SUPER_AUTH)
        assert reply.status == 200, reply
        return list(reply.body["rollbacks"])

    def rollback_entries(self, ident: str, name: str) -> list[dict[str, Any]]:
        reply = http(f"{self.url(ident)}/_api/replication/rollbacks/{name}", auth=SUPER_AUTH)
        assert reply.status == 200, reply
        return list(reply.body["entries"])

    def logs(self) -> str:
        return "\n".join(f"{i}: {log_tail(self.log_path(i), 15)}" for i in self.ids)


def rollback_dir(cluster: FailoverCluster, ident: str) -> str:
    return os.path.join(cluster.data_dir(ident), "rollback")
