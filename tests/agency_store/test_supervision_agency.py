"""Supervision and observer callbacks in a real 3-agent agency, with the servers played by the test.

A background thread writes the servers' heartbeats and ``lastTick`` reports
over HTTP, as single servers would; the test then silences the leader and
watches the agency fail it over, across a ``kill -9`` of the agency leader.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.infra.probe import http_json
from tests.agency.agents import AgencyCluster, holds, start_agency

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

P = "/arango"
LEADER = f"{P}/Plan/AsyncReplication/Leader"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[AgencyCluster]:
    c = start_agency(tmp_path / "agency", size=3)
    try:
        yield c
    finally:
        c.close()


class Servers:
    """Heartbeats of fake single servers, written to whichever agent accepts them."""

    def __init__(self, c: AgencyCluster, ticks: dict[str, int]) -> None:
        self.c = c
        self.ticks = ticks
        self.silent: set[str] = set()
        self.stop = threading.Event()
        self.seq = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def write(self, txns: list[Any]) -> tuple[int, Any]:
        status, body = 0, None
        for ident in self.c.alive():
            status, body = http_json(
                self.c.url(ident) + "/_api/agency/write",
                txns,
                time_limit=2.0,
                headers=self.c.headers(),
            )
            if status in (200, 412):
                return status, body
        return status, body

    def _run(self) -> None:
        while not self.stop.wait(0.3):
            self.seq += 1
            updates: dict[str, Any] = {}
            for server, tick in self.ticks.items():
                if server in self.silent:
                    continue
                updates[f"{P}/Sync/ServerStates/{server}"] = {"time": 0, "seq": self.seq}
                report = {"leader": "s1", "lastTick": tick}
                updates[f"{P}/AsyncReplication/{server}"] = {"op": "set", "new": report, "ttl": 5}
            self.write([[updates]])

    def __enter__(self) -> Servers:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


class CallbackSink:
    """A local HTTP endpoint recording the agency's observer callbacks."""

    def __init__(self) -> None:
        bodies: list[Any] = []
        self.bodies = bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(check: Callable[[], Any], limit: float, what: str) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {limit}s")


def read(c: AgencyCluster, path: str) -> Any:
    leader = c.leader()
    status, body = c.read(leader, [[path]])
    if status != 200:
        return None
    node: Any = body[0]
    for segment in path.strip("/").split("/"):
        if not isinstance(node, dict) or segment not in node:
            return None
        node = node[segment]
    return node


def statuses(c: AgencyCluster) -> dict[str, str]:
    health = read(c, f"{P}/Supervision/Health") or {}
    return {server: record.get("Status") for server, record in health.items()}


def test_failover_across_an_agency_leader_kill(tmp_path: Path) -> None:
    with CallbackSink() as sink:
        # callbacks go only to members or allowed URLs: the sink is allowed
        c = start_agency(tmp_path / "agency", size=3, flags={"observer-allow": sink.url})
        try:
            _failover_across_an_agency_leader_kill(c, sink)
        finally:
            c.close()


def _failover_across_an_agency_leader_kill(c: AgencyCluster, sink: CallbackSink) -> None:
    agency_leader = c.leader()
    with Servers(c, {"s1": 0, "s2": 10, "s3": 20}) as servers:
        status, body = servers.write([[{LEADER: {"op": "observe", "url": sink.url}}]])
        assert status == 200, body
        race = {LEADER: {"oldEmpty": True}}
        first = servers.write([[{LEADER: "s1", f"{P}/Plan/AsyncReplication/Epoch": 1}, race]])
        second = servers.write([[{LEADER: "s2", f"{P}/Plan/AsyncReplication/Epoch": 1}, race]])
        assert first[0] == 200 and second[0] == 412
        all_good = {"s1": "GOOD", "s2": "GOOD", "s3": "GOOD"}
        wait_for(lambda: statuses(c) == all_good, 20, "all servers GOOD")

        # A new agency leader starts observing from scratch: nobody is failed for it.
        c.kill9(agency_leader)
        new_leader = c.leader(among=c.alive(), limit=20)
        assert new_leader != agency_leader
        holds(lambda: statuses(c) == all_good, 1.0, "every server GOOD for the new leader")

        servers.silent.add("s1")
        wait_for(lambda: read(c, LEADER) == "s3", 30, "failover to s3")
        jobs = read(c, f"{P}/Target/FailoverJobs")
        assert len(jobs) == 1
        assert (jobs[0]["old"], jobs[0]["new"], jobs[0]["epoch"]) == ("s1", "s3", 2)
        assert jobs[0]["candidates"]["s3"] == {"health": "GOOD", "lastTick": 20}
        assert read(c, f"{P}/Plan/AsyncReplication/Epoch") == 2
        assert statuses(c)["s1"] == "FAILED"
        assert read(c, f"{P}/Target/FailedServers/s1") is not None

        # The observer registered before the kill hears about the new leader.
        def leader_change_seen() -> bool:
            race_index = first[1]["results"][0]
            return any(
                LEADER in b.get("paths", []) and b.get("index", 0) > race_index
                for b in list(sink.bodies)
            )

        wait_for(leader_change_seen, 15, "observer callback for the leader change")
