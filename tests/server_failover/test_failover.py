"""kill -9 of the leader: promotion, the old leader's return, rollback files, users."""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.agency.agents import eventually
from tests.server_failover.servers import FailoverCluster, http
from tests.server_failover.writer import Writer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_kill_leader_promotes_follower_that_takes_writes(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=2, agents=1)
    old = cluster.leader()
    new = next(i for i in cluster.ids if i != old)
    cluster.wait_role(new, "follower")
    assert cluster.create_collection(old, "c").status == 200
    for i in range(10):
        assert cluster.insert(old, "c", {"_key": f"a{i}"}).status in (201, 202)
    cluster.wait_tick(new, cluster.role(old)["lastTick"])  # type: ignore[index]

    cluster.kill9(old)
    assert cluster.leader(limit=30.0) == new
    assert cluster.role(new)["epoch"] == 2  # type: ignore[index]
    put = cluster.insert(new, "c", {"_key": "after"})
    assert put.status in (201, 202), put
    for i in range(10):
        assert http(f"{cluster.url(new)}/_api/document/c/a{i}").status == 200

    cluster.start(old)
    role = cluster.wait_role(old, "follower")
    assert role["leader"] == new
    cluster.wait_synced(old, new)
    got = http(
        f"{cluster.url(old)}/_api/document/c/after",
        headers={"X-Arango-Allow-Dirty-Read": "true"},
    )
    assert got.status == 200, got
    assert cluster.rollbacks(old) == []  # everything it had was replicated


def test_returning_old_leader_keeps_unreplicated_writes_in_a_rollback_file(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=2, agents=1)
    old = cluster.leader()
    new = next(i for i in cluster.ids if i != old)
    cluster.wait_role(new, "follower")
    assert cluster.create_collection(old, "c").status == 200
    assert cluster.insert(old, "c", {"_key": "replicated"}).status in (201, 202)
    cluster.wait_tick(new, cluster.role(old)["lastTick"])  # type: ignore[index]

    # The follower is frozen, so these writes (acknowledged: async mode) reach only the leader.
    cluster.pause(new)
    lost = [f"lost{i}" for i in range(5)]
    for key in lost:
        put = cluster.insert(old, "c", {"_key": key, "v": key})
        assert put.status in (201, 202), put
    cluster.kill9(old)
    cluster.resume(new)
    assert cluster.leader(limit=30.0) == new
    assert cluster.insert(new, "c", {"_key": "new-epoch"}).status in (201, 202)

    cluster.start(old)
    cluster.wait_role(old, "follower")
    cluster.wait_synced(old, new)
    files = cluster.rollbacks(old)
    assert len(files) == 1, files
    assert files[0]["epoch"] == 1
    entries = cluster.rollback_entries(old, files[0]["name"])
    assert files[0]["entries"] == len(entries)
    assert all(e["op"] == "insert" and e["epoch"] == 1 for e in entries)
    rolled_back = [e["doc"]["_key"] for e in entries]
    # A response already in the frozen follower's socket may still carry the first write
    # over; every other one must be in the rollback file: each lost write is in exactly
    # one place, the new leader or the rollback file.
    on_new = [k for k in lost if http(f"{cluster.url(new)}/_api/document/c/{k}").status == 200]
    assert sorted(on_new + rolled_back) == sorted(lost), (on_new, rolled_back)
    assert len(rolled_back) >= len(lost) - 1
    # and the old leader now holds the new leader's data, not its own lost writes
    dirty = {"X-Arango-Allow-Dirty-Read": "true"}
    assert http(f"{cluster.url(old)}/_api/document/c/new-epoch", headers=dirty).status == 200
    assert http(f"{cluster.url(old)}/_api/document/c/lost4", headers=dirty).status == 404
    assert cluster.rollbacks(new) == []

    # The resynced server (its WAL now starts after a snapshot) leads next; a server
    # joining with an empty data directory gets everything and no rollback file.
    assert cluster.insert(new, "c", {"_key": "before-second-kill"}).status in (201, 202)
    cluster.wait_synced(old, new)
    cluster.kill9(new)
    assert cluster.leader(limit=30.0) == old
    shutil.rmtree(cluster.data_dir(new))
    cluster.start(new)
    cluster.wait_synced(new, old)
    assert cluster.rollbacks(new) == []
    for key in ("replicated", "new-epoch", "before-second-kill"):
        assert http(f"{cluster.url(new)}/_api/document/c/{key}", headers=dirty).status == 200


def test_users_created_on_the_leader_log_in_on_a_new_leader(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=2, agents=1)
    old = cluster.leader()
    new = next(i for i in cluster.ids if i != old)
    cluster.wait_role(new, "follower")
    made = http(f"{cluster.url(old)}/_api/user", "POST", {"user": "alice", "passwd": "s3cret"})
    assert made.status == 201, made
    cluster.wait_tick(new, cluster.role(old)["lastTick"])  # type: ignore[index]
    cluster.kill9(old)
    assert cluster.leader(limit=30.0) == new
    login = http(
        f"{cluster.url(new)}/_open/auth",
        "POST",
        {"username": "alice", "password": "s3cret"},
        auth="",
    )
    assert login.status == 200 and login.body["jwt"], login
    version = http(f"{cluster.url(new)}/_api/database/user", auth=_basic("alice", "s3cret"))
    assert version.status == 200, version
    wrong = http(
        f"{cluster.url(new)}/_open/auth",
        "POST",
        {"username": "alice", "password": "nope"},
        auth="",
    )
    assert wrong.status == 401


def test_leader_cut_off_from_the_agency_stops_writing_within_its_lease(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=2, agents=1)
    leader = cluster.leader()
    assert cluster.create_collection(leader, "c").status == 200
    lease = 2.0
    cluster.agency.pause("a1")  # SIGSTOP: the agency stops answering
    paused_at = time.monotonic()
    late_acks: list[float] = []
    refused: dict[str, Any] | None = None
    try:
        n = 0
        while time.monotonic() - paused_at < lease + 4.0:
            n += 1
            sent = time.monotonic() - paused_at
            put = cluster.insert(leader, "c", {"_key": f"k{n}"}, time_limit=3.0)
            if put.status in (201, 202) and sent > lease + 0.2:
                late_acks.append(sent)
            if put.status == 503:
                refused = put.body
            time.sleep(0.05)
    finally:
        cluster.agency.resume("a1")
    assert not late_acks, f"writes acknowledged after the lease ran out: {late_acks}"
    assert refused is not None and refused["errorNum"] == 1496, refused
    # once the agency answers again the leader renews its lease and takes writes
    assert cluster.leader(limit=30.0) == leader
    assert cluster.insert(leader, "c", {"_key": "after"}).status in (201, 202)


def test_leader_cut_off_from_the_agency_is_replaced_without_overlapping_acks(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    """The split-brain ArangoDB shows: the leader loses the agency but not its clients.
    Ours stops acknowledging (lease) before the follower is promoted, steps down when
    it sees the agency again, and keeps any write the new leader lacks in a rollback file."""
    cluster = failover_cluster(servers=2, agents=1, proxied=True)
    old = cluster.leader()
    new = next(i for i in cluster.ids if i != old)
    cluster.wait_role(new, "follower")
    assert cluster.create_collection(old, "c").status == 200
    writer = Writer(cluster, "c", pause=0.005)
    writer.start()
    try:
        eventually(lambda: len(writer.acked) >= 20, 20, "acknowledged writes before the cut")
        cluster.cut_from_agency(old)  # Toxiproxy drops old's links to the agency
        cluster.wait_role(new, "leader", limit=30.0)
        eventually(lambda: any(s == new for _, s in writer.acked_by), 20, "an ack by new")
        cluster.heal()
        cluster.wait_role(old, "follower", limit=30.0)
        cluster.wait_synced(old, new)
    finally:
        writer.stop()
    servers = [s for _, s in writer.acked_by]
    assert new in servers and old in servers
    first_new = servers.index(new)
    assert old not in servers[first_new:], "the old leader acknowledged after the new one"
    keys = http(
        f"{cluster.url(new)}/_api/simple/all-keys", "PUT", {"collection": "c", "type": "key"}
    )
    present = {str(k).rsplit("/", 1)[-1] for k in keys.body["result"]}
    kept = {
        e["doc"]["_key"]
        for f in cluster.rollbacks(old)
        for e in cluster.rollback_entries(old, f["name"])
    }
    missing = [k for k in writer.acked if k not in present and k not in kept]
    assert not missing, f"acknowledged writes discarded silently: {missing[:10]}"
