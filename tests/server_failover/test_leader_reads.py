"""Leader reads are confirmed before they are answered.

Sync mode: a read on the leader never shows a write its sync follower has not
acknowledged (such a write may be lost by a failover). Every mode: a leader
whose lease has expired (cut off from the agency) serves no leader read and
reports itself ``fenced``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.server_failover.servers import FailoverCluster, Reply, http

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SYNC_TIMEOUT = 2.0
REFUSED_READ = (1495, 1496)  # "did not happen": the client may retry elsewhere


def _doc(cluster: FailoverCluster, ident: str, key: str) -> Reply:
    return http(f"{cluster.url(ident)}/_api/document/reg/{key}", time_limit=15.0)


def _all(cluster: FailoverCluster, ident: str) -> Reply:
    return http(
        f"{cluster.url(ident)}/_api/simple/all",
        "PUT",
        {"collection": "reg"},
        time_limit=15.0,
    )


def _refused(reply: Reply) -> bool:
    return (
        reply.status == 503
        and isinstance(reply.body, dict)
        and reply.body.get("errorNum") in REFUSED_READ
    )


def test_sync_leader_read_hides_unacknowledged_write(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(
        servers=2, agents=1, replication="sync", flags={"sync-timeout": str(SYNC_TIMEOUT)}
    )
    leader = cluster.leader(limit=30.0)
    follower = next(i for i in cluster.ids if i != leader)
    assert cluster.create_collection(leader, "reg").status == 200
    assert cluster.insert(leader, "reg", {"_key": "r", "v": 0}).status in (201, 202)
    assert _doc(cluster, leader, "r").body["v"] == 0
    cluster.wait_synced(follower, leader)

    cluster.pause(follower)  # it can no longer acknowledge anything
    try:
        write = http(f"{cluster.url(leader)}/_api/document/reg/r", "PUT", {"v": 1}, time_limit=15.0)
        assert write.status == 503 and write.body["errorNum"] == 1457, write
        added = cluster.insert(leader, "reg", {"_key": "new", "v": 2}, time_limit=15.0)
        assert added.status == 503, added  # 1457 (landed locally) or refused outright

        # the leader holds v=1 locally, but the sync follower does not
        read = _doc(cluster, leader, "r")
        assert _refused(read), f"leader read exposed an unacknowledged write: {read}"
        assert read.header("X-Arango-Potential-Dirty-Read") is None
        assert _refused(_all(cluster, leader))
        assert _refused(_doc(cluster, leader, "new"))
        # a dirty read is allowed to show it, marked as such, only on a follower;
        # on the leader it is still a leader read and waits for the follower
        dirty = http(
            f"{cluster.url(leader)}/_api/document/reg/r",
            headers={"X-Arango-Allow-Dirty-Read": "true"},
            time_limit=15.0,
        )
        assert _refused(dirty), dirty
    finally:
        cluster.resume(follower)

    # once the follower has the write, reads show it again
    deadline = time.monotonic() + 30.0
    read = _doc(cluster, leader, "r")
    while read.status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        read = _doc(cluster, leader, "r")
    assert read.status == 200 and read.body["v"] == 1, read


def test_leader_cut_from_agency_is_fenced_for_reads(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    """Async mode too: once its lease expired, a cut-off leader refuses leader reads."""
    cluster = failover_cluster(servers=2, agents=1, proxied=True)
    leader = cluster.leader(limit=30.0)
    assert cluster.create_collection(leader, "reg").status == 200
    assert cluster.insert(leader, "reg", {"_key": "r", "v": 0}).status in (201, 202)
    assert _doc(cluster, leader, "r").status == 200
    cluster.cut_from_agency(leader)
    role = cluster.wait_role(leader, "fenced", limit=30.0)
    assert role["details"]["leaseValid"] is False and role["leader"] == leader
    read = _doc(cluster, leader, "r")
    assert _refused(read), read
    dirty = http(
        f"{cluster.url(leader)}/_api/document/reg/r",
        headers={"X-Arango-Allow-Dirty-Read": "true"},
    )
    assert dirty.status == 200 and dirty.header("X-Arango-Potential-Dirty-Read") == "true"
    cluster.heal()
    assert _doc(cluster, cluster.leader(limit=30.0), "r").status == 200
