"""Sync mode: no acknowledged write is lost across 20 consecutive leader kills."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.server_failover.servers import FailoverCluster, http
from tests.server_failover.writer import Writer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

KILLS = 20


def _wait_more_acks(writer: Writer, count: int, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if len(writer.acked) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no acknowledged write within {limit}s ({len(writer.acked)})")


def test_no_acknowledged_write_is_lost_across_20_leader_kills(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=2, agents=1, replication="sync")
    leader = cluster.leader(limit=30.0)
    assert cluster.create_collection(leader, "acked").status == 200
    writer = Writer(cluster, "acked")
    writer.start()
    leaders = [leader]
    try:
        for _ in range(KILLS):
            leader = cluster.leader(limit=60.0)
            _wait_more_acks(writer, len(writer.acked) + 3)
            cluster.kill9(leader)
            survivor = next(i for i in cluster.ids if i != leader)
            cluster.wait_role(survivor, "leader", limit=30.0)  # a real failover happened
            cluster.start(leader)
            leaders.append(survivor)
        leader = cluster.leader(limit=60.0)
        _wait_more_acks(writer, len(writer.acked) + 3)
    finally:
        writer.stop()
    assert len(set(leaders)) == 2
    final = cluster.leader(limit=60.0)
    keys = http(
        f"{cluster.url(final)}/_api/simple/all-keys",
        "PUT",
        {"collection": "acked", "type": "key"},
        time_limit=30.0,
    )
    assert keys.status in (200, 201), keys
    present = {str(k).rsplit("/", 1)[-1] for k in keys.body["result"]}
    missing = [k for k in writer.acked if k not in present]
    assert not missing, f"acknowledged writes lost: {missing[:20]} of {len(writer.acked)}"
    assert len(writer.acked) > 3 * KILLS


def test_paused_leaders_lose_no_acknowledged_write(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    """SIGSTOP the leader past the grace period: a new leader takes over; when the old
    one resumes, its in-flight writes cannot be acknowledged by a follower of the new
    epoch, so every acknowledged write is on the final leader."""
    cluster = failover_cluster(servers=2, agents=1, replication="sync")
    leader = cluster.leader(limit=30.0)
    assert cluster.create_collection(leader, "acked").status == 200
    writer = Writer(cluster, "acked", pause=0.0)
    writer.start()
    try:
        for _ in range(3):
            leader = cluster.leader(limit=60.0)
            _wait_more_acks(writer, len(writer.acked) + 3)
            cluster.pause(leader)
            survivor = next(i for i in cluster.ids if i != leader)
            cluster.wait_role(survivor, "leader", limit=30.0)
            cluster.resume(leader)
            cluster.wait_role(leader, "follower", limit=30.0)
        cluster.leader(limit=60.0)
        _wait_more_acks(writer, len(writer.acked) + 3)
    finally:
        writer.stop()
    final = cluster.leader(limit=60.0)
    keys = http(
        f"{cluster.url(final)}/_api/simple/all-keys",
        "PUT",
        {"collection": "acked", "type": "key"},
        time_limit=30.0,
    )
    assert keys.status in (200, 201), keys
    present = {str(k).rsplit("/", 1)[-1] for k in keys.body["result"]}
    missing = [k for k in writer.acked if k not in present]
    assert not missing, f"acknowledged writes lost: {missing[:20]} of {len(writer.acked)}"


def test_leader_replaces_a_failed_sync_follower_and_refuses_writes_without_one(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=3, agents=1, replication="sync")
    leader = cluster.leader(limit=30.0)
    assert cluster.create_collection(leader, "c").status == 200
    first = cluster.role(leader)["details"]["syncFollower"]  # type: ignore[index]
    other = next(i for i in cluster.ids if i not in (leader, first))
    cluster.wait_synced(other, leader)
    cluster.kill9(first)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cluster.role(leader)["details"]["syncFollower"] == other:  # type: ignore[index]
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"{leader} did not switch its sync follower to {other}")
    status, body = cluster.agency.read(
        cluster.agency.leader(), [["/arango/Plan/AsyncReplication/SyncFollower"]]
    )
    assert body[0]["arango"]["Plan"]["AsyncReplication"]["SyncFollower"] == other
    put = cluster.insert(leader, "c", {"_key": "after-switch"})
    assert put.status in (201, 202), put
    cluster.kill9(other)
    deadline = time.monotonic() + 30
    refused = None
    while time.monotonic() < deadline:
        refused = cluster.insert(leader, "c", {"_key": f"k{time.monotonic_ns()}"})
        if refused.status == 503 and "no GOOD follower" in refused.body["errorMessage"]:
            break
        time.sleep(0.2)
    assert refused is not None and refused.status == 503, refused
    assert "no GOOD follower" in refused.body["errorMessage"], refused
