"""A planned switchover on real processes: SIGTERM of the leader, and the admin route."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.server_handover.cluster import HandoverCluster, Writer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

SWITCHOVERS = "/arango/Target/Switchovers"
FAILOVER_JOBS = "/arango/Target/FailoverJobs"


def _ready(cluster: HandoverCluster) -> str:
    leader = cluster.leader()
    for sid in cluster.ids:
        if sid != leader:
            cluster.wait_synced(sid, leader)
    created = cluster.request(f"{cluster.url(leader)}/_api/collection", "POST", {"name": "c"})
    assert created.status == 200, created
    return leader


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_sigterm_of_the_leader_hands_over_without_losing_a_write(
    handover_cluster: Callable[..., HandoverCluster], mode: str
) -> None:
    cluster = handover_cluster(servers=3, replication=mode)
    old = _ready(cluster)
    writer = Writer(cluster, "c")
    writer.start()
    time.sleep(1.5)
    started = time.monotonic()
    cluster.stop(old)  # SIGTERM: the server hands over, then exits
    stop_took = time.monotonic() - started
    new = cluster.leader(limit=10.0, exclude=old)
    time.sleep(1.0)
    writer.stop()

    assert stop_took < 8.0, f"stopping the leader took {stop_took:.1f} s"
    assert any(by == old for _, by in writer.acked_by), "the old leader took no write"
    assert any(by == new for _, by in writer.acked_by), "the new leader took no write"
    assert cluster.missing(new, "c", writer.acked) == []
    records = cluster.agency_value(SWITCHOVERS)
    assert isinstance(records, list) and (records[-1]["old"], records[-1]["new"]) == (old, new)
    assert cluster.agency_value(FAILOVER_JOBS) is None, "supervision failed over"

    cluster.start(old)  # it comes back as a follower of the new leader
    assert cluster.wait_role(old, "follower")["leader"] == new
    cluster.wait_synced(old, new)
    assert not cluster.rolled_back_keys(old) & set(writer.acked)


def test_switchover_route_moves_leadership_to_the_named_follower(
    handover_cluster: Callable[..., HandoverCluster],
) -> None:
    cluster = handover_cluster(servers=2)
    old = _ready(cluster)
    new = next(s for s in cluster.ids if s != old)
    url = f"{cluster.url(old)}/_admin/cluster/switchover"

    assert cluster.request(url, "POST", {"to": new}).status == 401  # root is no superuser
    itself = cluster.request(url, "POST", {"to": old}, superuser=True)
    assert itself.status == 400 and "already leads" in itself.body["errorMessage"], itself
    assert cluster.request(url, "POST", {"to": "nobody"}, superuser=True).status == 400
    assert cluster.request(url, "POST", ["x"], superuser=True).status == 400
    assert cluster.request(url, "POST", {"timeout": -1}, superuser=True).status == 400

    writer = Writer(cluster, "c")
    writer.start()
    time.sleep(1.0)
    done = cluster.request(url, "POST", {"to": new}, superuser=True, time_limit=15.0)
    time.sleep(1.0)
    writer.stop()
    assert done.status == 200, done
    assert (done.body["old"], done.body["new"]) == (old, new)

    assert cluster.leader(limit=10.0) == new
    role = cluster.wait_role(old, "follower")
    assert role["leader"] == new and role["epoch"] == done.body["epoch"]
    assert cluster.missing(new, "c", writer.acked) == []
    cluster.wait_synced(old, new)
    assert not cluster.rolled_back_keys(old) & set(writer.acked)
    refused = cluster.request(f"{cluster.url(old)}/_api/document/c", "POST", {"_key": "x"})
    assert refused.status == 503 and refused.header("X-Arango-Endpoint") == cluster.url(new)
    again = cluster.request(url, "POST", superuser=True)
    assert again.status == 503 and again.header("X-Arango-Endpoint") == cluster.url(new)
    assert cluster.agency_value(FAILOVER_JOBS) is None
