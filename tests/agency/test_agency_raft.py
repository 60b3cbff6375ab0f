"""Three real agent processes: election, replication, leader kill, restart, snapshots,
isolation with pre-vote, check-quorum, TTL expiry."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable

import pytest

from tests.agency.agents import AgencyCluster, eventually, holds

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

Factory = Callable[..., AgencyCluster]


def _set(key: str, value: object) -> list[object]:
    return [{key: {"op": "set", "new": value}}]


def test_leader_elected_and_writes_commit_on_all_three(agency: Factory) -> None:
    c = agency()
    leader = c.leader()
    views = [c.config(i) for i in c.ids]
    assert {v["leaderId"] for v in views if v} == {leader}
    leader, body = c.write_via_leader([_set(f"/k/{n}", n) for n in range(20)])
    assert len(body["results"]) == 20 and all(r > 0 for r in body["results"])
    for ident in c.ids:
        c.wait_local(ident, "/k/19", 19)
        assert c.local(ident, "/k")["value"] == {str(n): n for n in range(20)}
    status, body = c.read(leader, [["/k/3", "/k/4"]])
    assert status == 200 and body == [{"k": {"3": 3, "4": 4}}]


def test_leader_kill_loses_no_committed_write_and_old_leader_catches_up(
    agency: Factory,
) -> None:
    c = agency()
    acked = []
    for n in range(30):
        c.write_via_leader([_set(f"/w/{n}", n)])
        acked.append(n)
    old = c.leader()
    c.kill9(old)
    new = c.leader(among=[i for i in c.ids if i != old])
    assert new != old
    status, body = c.read(new, [["/w"]])
    assert status == 200
    assert body[0]["w"] == {str(n): n for n in acked}
    new, _ = c.write_via_leader([_set("/after", "kill")])
    c.start(old)  # same data dir: recovers from its log, then catches up
    c.wait_local(old, "/after", "kill")
    assert c.local(old, "/w")["value"] == {str(n): n for n in acked}
    assert c.cfg(old)["leaderId"] == c.leader()


def test_restarted_follower_catches_up_from_snapshot(agency: Factory) -> None:
    c = agency(flags={"snapshot-every": "25"})
    leader = c.leader()
    follower = next(i for i in c.ids if i != leader)
    c.kill9(follower)
    for n in range(120):
        leader, _ = c.write_via_leader([_set(f"/s/{n}", n)])
    assert c.cfg(leader)["snapshotIndex"] >= 100
    c.start(follower)
    c.wait_local(follower, "/s/119", 119)
    assert c.local(follower, "/s")["value"] == {str(n): n for n in range(120)}
    assert c.cfg(follower)["snapshotIndex"] >= 100
    # everyone restarts from snapshot + log
    for ident in c.alive():
        c.stop(ident)
    c.start_all()
    leader = c.leader()
    status, body = c.read(leader, [["/s/0", "/s/119"]])
    assert status == 200 and body == [{"s": {"0": 0, "119": 119}}]


def test_isolated_follower_rejoins_without_disturbing_the_leader(agency: Factory) -> None:
    c = agency(proxied=True)
    leader = c.leader()
    term = c.cfg(leader)["term"]
    follower = next(i for i in c.ids if i != leader)
    c.isolate(follower)  # every Raft link to and from it dropped (Toxiproxy)
    # pre-vote: through several election timeouts the isolated agent never bumps its term
    holds(lambda: c.cfg(follower)["term"] == term, 3.0, "isolated follower's term")
    status, body = c.write(leader, [_set("/during", 1)])
    assert status == 200, body
    c.heal()
    c.wait_local(follower, "/during", 1)

    def undisturbed() -> bool:
        views = [c.cfg(leader), c.cfg(follower)]
        return views[0]["role"] == "LEADER" and all(v["term"] == term for v in views)

    holds(undisturbed, 1.5, "the leader and term after the follower's return")
    assert c.leader() == leader


def test_isolated_leader_steps_down_and_majority_elects_another(agency: Factory) -> None:
    c = agency(proxied=True)
    leader = c.leader()
    c.isolate(leader)
    others = [i for i in c.ids if i != leader]
    new = c.leader(among=others)
    assert new != leader
    eventually(lambda: c.cfg(leader)["role"] != "LEADER", 10, "isolated leader steps down")
    status, _ = c.write(leader, [_set("/x", 1)])
    assert status == 503  # no leader known while cut off
    c.heal()
    c.wait_local(leader, "/x", None)
    status, body = c.write(new, [_set("/x", 2)])
    assert status == 200, body
    c.wait_local(leader, "/x", 2)


def test_ttl_key_expires_once_on_every_agent(agency: Factory) -> None:
    c = agency(flags={"supervision": "false"})
    leader = c.leader()
    status, body = c.write(leader, [[{"/t/ttl": {"op": "set", "new": "v", "ttl": 1}}]])
    assert status == 200, body
    written_at = body["results"][0]
    for ident in c.ids:
        c.wait_local(ident, "/t/ttl", "v")
    for ident in c.ids:
        c.wait_local(ident, "/t/ttl", None, limit=10)
    # exactly one expire entry was committed after the write, and no more follow
    holds(lambda: c.cfg(leader)["commitIndex"] == written_at + 1, 0.5, "one expire entry")
    status, body = c.write(leader, [_set("/t/ttl", "again")])
    assert status == 200
    for ident in c.ids:
        c.wait_local(ident, "/t/ttl", "again")
    # a plain set drops the old TTL: the key outlives it everywhere
    holds(
        lambda: all(c.local(i, "/t/ttl")["value"] == "again" for i in c.ids),
        1.5,
        "the overwritten key",
    )


def test_five_agents_keep_committing_with_two_killed(agency: Factory) -> None:
    c = agency(size=5)
    first = c.leader()
    c.write_via_leader([_set("/five", 1)])
    c.kill9(first)
    c.kill9(next(i for i in c.ids if i != first))
    leader, body = c.write_via_leader([_set("/five", 2)])
    assert leader != first and body["results"][0] > 0
    for ident in c.alive():
        c.wait_local(ident, "/five", 2)


def test_paused_leader_is_replaced_and_rejoins_as_follower(agency: Factory) -> None:
    c = agency()
    c.write_via_leader([_set("/p/before", 1)])
    old = c.leader()
    c.pause(old)  # SIGSTOP
    try:
        new = c.leader(among=[i for i in c.ids if i != old])
        c.write_via_leader([_set("/p/during", 2)])
    finally:
        c.resume(old)
    c.wait_local(old, "/p/during", 2)
    assert c.cfg(old)["role"] == "FOLLOWER"
    assert c.leader() == new
    status, body = c.read(new, [["/p"]])
    assert status == 200 and body == [{"p": {"before": 1, "during": 2}}]


def _paths(record: dict[str, object]) -> list[object]:
    paths = record.get("paths")
    return paths if isinstance(paths, list) else []


class _Observer(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        _Observer.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_observer_is_called_back_by_the_leader(agency: Factory) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Observer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cb"
        c = agency(flags={"observer-allow": url})  # callbacks go to members or allowed URLs
        c.write_via_leader([[{"/obs": {"op": "observe", "url": url}}]])
        _, body = c.write_via_leader([_set("/obs/x", 1)])
        index = body["results"][0]

        def hit() -> dict[str, object] | None:
            return next((r for r in list(_Observer.received) if "/obs/x" in _paths(r)), None)

        assert eventually(hit, 10, "callback for /obs/x")["index"] == index
    finally:
        server.shutdown()
        server.server_close()


def test_supervision_on_the_leader_fails_over_a_silent_server(agency: Factory) -> None:
    c = agency(flags={"ok-threshold": "0.5", "grace-period": "1.0", "supervision-interval": "0.1"})
    plan = "/arango/Plan/AsyncReplication"
    c.write_via_leader([[{f"{plan}/Leader": "s1", f"{plan}/Epoch": 1}]])

    def beat(servers: list[str], n: int) -> None:
        updates: dict[str, object] = {}
        for s in servers:
            updates[f"/arango/Sync/ServerStates/{s}"] = {"seq": n}
            updates[f"/arango/AsyncReplication/{s}"] = {"leader": "s1", "lastTick": n}
        c.write_via_leader([[updates]])

    n = 0
    until = time.monotonic() + 1.5
    while time.monotonic() < until:  # both alive: no failover, at any moment
        n += 1
        beat(["s1", "s2"], n)
        assert c.local(c.leader(), f"{plan}/Leader")["value"] == "s1"
        time.sleep(0.1)
    deadline = time.monotonic() + 15
    while c.local(c.leader(), f"{plan}/Leader")["value"] != "s2":  # s1 falls silent
        assert time.monotonic() < deadline, "supervision never failed over"
        n += 1
        beat(["s2"], n)
        time.sleep(0.1)
    leader = c.leader()
    jobs = c.local(leader, "/arango/Target/FailoverJobs")["value"]
    assert isinstance(jobs, list) and jobs[-1]["old"] == "s1" and jobs[-1]["new"] == "s2"
    health = c.local(leader, "/arango/Supervision/Health/s1")["value"]
    assert health["Status"] == "FAILED"
