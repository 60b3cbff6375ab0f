"""Two real servers (and a real agent): the leader prunes its replication log, a follower
that fell behind the bound resyncs from a snapshot, and huge ticks answer 400, never 500."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.server_failover.servers import SUPER_AUTH, FailoverCluster, http

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

FLAGS = {
    "wal-keep-ticks": "20",
    "wal-max-ticks": "50",
    "wal-prune-interval": "0.2",
    "log-level": "INFO",
}
HUGE = 10**30


def logger_state(cluster: FailoverCluster, ident: str) -> dict[str, Any]:
    reply = http(cluster.direct(ident) + "/_api/replication/logger-state", auth=SUPER_AUTH)
    assert reply.status == 200, reply
    return dict(reply.body)


def wait_for(what: str, check: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")


def assert_arango_400(reply: Any) -> None:
    assert reply.status == 400, reply
    assert reply.body["error"] is True and reply.body["code"] == 400, reply.body
    assert reply.body["errorNum"] == 400 and reply.body["errorMessage"], reply.body


def test_huge_ticks_are_bad_parameters(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=1, flags=FLAGS)
    url = cluster.direct(cluster.leader())
    for value in (str(HUGE), str(2**63), str(-(2**63) - 1), "9" * 5000):
        assert_arango_400(http(f"{url}/_api/wal/tail?from={value}", auth=SUPER_AUTH))
        assert_arango_400(http(f"{url}/_api/wal/tail?from=1&epoch={value}", auth=SUPER_AUTH))
    for pair in ([HUGE, 1], [1, HUGE], [2**63, 0], [-1, 0]):
        reply = http(f"{url}/_api/replication/match", "POST", {"pairs": [pair]}, auth=SUPER_AUTH)
        assert_arango_400(reply)
    # the largest tick SQLite holds is a fine question: nobody has it
    reply = http(
        f"{url}/_api/replication/match", "POST", {"pairs": [[2**63 - 1, 1]]}, auth=SUPER_AUTH
    )
    assert reply.status == 200 and reply.body["present"] == [], reply
    reply = http(f"{url}/_api/wal/tail?from={2**63 - 1}", auth=SUPER_AUTH)
    assert reply.status == 200 and reply.body["entries"] == [], reply


def test_follower_behind_the_bound_resyncs_and_both_stay_bounded(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=2, flags=FLAGS)
    leader = cluster.leader()
    follower = next(i for i in cluster.ids if i != leader)
    assert cluster.create_collection(leader, "c").status in (200, 201)
    for i in range(30):
        assert cluster.insert(leader, "c", {"_key": f"k{i}", "n": i}).status in (201, 202)
    cluster.wait_synced(follower, leader)
    behind = cluster.role(follower)["lastTick"]  # type: ignore[index]
    resyncs = cluster.role(follower)["details"]["applier"]["resyncs"]  # type: ignore[index]

    cluster.pause(follower)
    try:
        for i in range(150):
            reply = http(f"{cluster.url(leader)}/_api/document/c/k{i % 30}", "PATCH", {"round": i})
            assert reply.status in (200, 201, 202), reply
        # the leader keeps at most 50 entries although the follower still needs more
        wait_for(
            "the leader pruned past the paused follower",
            lambda: logger_state(cluster, leader)["firstTick"] > behind + 1,
        )
        gone = http(f"{cluster.direct(leader)}/_api/wal/tail?from={behind + 1}", auth=SUPER_AUTH)
        assert gone.status == 410 and gone.body["errorNum"] == 1414, gone
        assert gone.header("X-Arango-Replication-Frompresent") == "false"
    finally:
        cluster.resume(follower)

    cluster.wait_synced(follower, leader, limit=60)
    role = cluster.role(follower)
    assert role is not None and role["details"]["applier"]["resyncs"] > resyncs, role
    assert cluster.rollbacks(follower) == []  # it only fell behind: nothing diverged
    for i in range(30):
        mine = http(
            f"{cluster.direct(follower)}/_api/document/c/k{i}",
            headers={"X-Arango-Allow-Dirty-Read": "true"},
        )
        theirs = http(f"{cluster.url(leader)}/_api/document/c/k{i}")
        assert mine.status == 200 and mine.body == theirs.body, (mine, theirs)
    # after the resync it tails again, and both logs stay within the bound
    for i in range(100):
        reply = http(f"{cluster.url(leader)}/_api/document/c/k{i % 30}", "PATCH", {"more": i})
        assert reply.status in (200, 201, 202), reply
    cluster.wait_synced(follower, leader)
    for ident in (leader, follower):

        def bounded(ident: str = ident) -> bool:
            state = logger_state(cluster, ident)
            first, last = int(state["firstTick"]), int(state["state"]["lastLogTick"])
            return first > 0 and last - first + 1 <= 50

        wait_for(f"{ident} pruned its log", bounded)
