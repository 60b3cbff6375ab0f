"""Startup race, follower refusals, dirty reads, endpoints and role pages (real processes)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.server_failover.servers import SUPER_AUTH, FailoverCluster, http

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_startup_race_elects_exactly_one_leader(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=3, agents=3)
    leader = cluster.leader()
    for ident in cluster.ids:
        # a loser of the race learns the leader at its next heartbeat
        role = cluster.wait_role(ident, "leader" if ident == leader else "follower")
        assert role["role"] == "SINGLE" and role["mode"] == "resilient"
        assert role["leader"] == leader, (ident, role)
        assert role["epoch"] == 1
        assert role["afRole"] == ("leader" if ident == leader else "follower")
    status, body = cluster.agency.read(
        cluster.agency.leader(), [["/arango/Plan/AsyncReplication/Leader"]]
    )
    assert status == 200
    assert body[0]["arango"]["Plan"]["AsyncReplication"]["Leader"] == leader


def test_follower_refuses_and_marks_dirty_reads(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=2, agents=1)
    leader = cluster.leader()
    follower = next(i for i in cluster.ids if i != leader)
    cluster.wait_role(follower, "follower")
    assert cluster.create_collection(leader, "c").status == 200
    put = cluster.insert(leader, "c", {"_key": "k1", "v": 1})
    assert put.status in (201, 202), put
    assert put.header("X-Arango-Server-Id") == leader

    refused = cluster.insert(follower, "c", {"_key": "k2"})
    assert refused.status == 503
    assert refused.body["errorNum"] == 1496
    assert refused.header("X-Arango-Endpoint") == cluster.url(leader)
    assert refused.header("X-Arango-Server-Id") == follower

    plain_read = http(f"{cluster.url(follower)}/_api/document/c/k1")
    assert plain_read.status == 503 and plain_read.body["errorNum"] == 1496

    cluster.wait_tick(follower, cluster.role(leader)["lastTick"])  # type: ignore[index]
    dirty = http(
        f"{cluster.url(follower)}/_api/document/c/k1",
        headers={"X-Arango-Allow-Dirty-Read": "true"},
    )
    assert dirty.status == 200 and dirty.body["v"] == 1
    assert dirty.header("X-Arango-Potential-Dirty-Read") == "true"
    clean = http(
        f"{cluster.url(leader)}/_api/document/c/k1",
        headers={"X-Arango-Allow-Dirty-Read": "true"},
    )
    assert clean.status == 200 and clean.header("X-Arango-Potential-Dirty-Read") is None

    everyone = sorted(cluster.url(i).replace("http://", "tcp://") for i in cluster.ids)
    for ident in cluster.ids:
        urls = cluster.wait_endpoints(ident)
        assert urls[0] == cluster.url(leader).replace("http://", "tcp://"), (ident, urls)
        assert sorted(urls) == everyone

    assert http(f"{cluster.url(leader)}/_admin/server/availability", auth="").status == 200
    assert http(f"{cluster.url(follower)}/_admin/server/availability", auth="").status == 503
    assert http(f"{cluster.url(follower)}/_admin/server/mode").body["mode"] == "readonly"

    # the applier as ArangoDB AF users read it: running on the follower, idle on the leader
    reply = http(f"{cluster.url(follower)}/_api/replication/applier-state?global=true")
    assert reply.status == 200, reply
    state = reply.body
    assert state["state"]["running"] is True and state["state"]["phase"] == "running"
    assert int(state["state"]["lastAppliedContinuousTick"]) >= 1
    assert state["endpoint"] == cluster.url(leader).replace("http://", "tcp://")
    assert "database" not in state and state["server"]["serverId"] == follower
    on_db = http(f"{cluster.url(follower)}/_db/_system/_api/replication/applier-state").body
    assert on_db["database"] == "_system"
    idle = http(f"{cluster.url(leader)}/_api/replication/applier-state?global=true").body
    assert idle["state"]["running"] is False and idle["state"]["phase"] == "inactive"
    assert idle["endpoint"] is None


def test_replication_routes_need_the_cluster_secret(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    cluster = failover_cluster(servers=2, agents=1)
    leader = cluster.leader()
    url = f"{cluster.url(leader)}/_api/replication/logger-state"
    assert http(url).status == 401  # root by Basic auth is not the cluster
    state = http(url, auth=SUPER_AUTH)
    assert state.status == 200
    assert int(state.body["state"]["lastLogTick"]) >= 1
    base = cluster.url(leader)
    bad = http(f"{base}/_api/wal/tail?from=abc", auth=SUPER_AUTH)
    assert bad.status == 400 and bad.body["error"] is True
    for body in ({"pairs": "x"}, {"pairs": [[1]]}, {"pairs": [["a", 1]]}, [1, 2], None):
        reply = http(f"{base}/_api/replication/match", "POST", body, auth=SUPER_AUTH)
        assert reply.status == 400 and reply.body["errorNum"] in (400, 600), (body, reply)
    assert (
        http(f"{base}/_api/replication/rollbacks/..%2Fdata.sqlite", auth=SUPER_AUTH).status == 404
    )
    assert http(f"{base}/_api/replication/rollbacks/nope.jsonl", auth=SUPER_AUTH).status == 404
    matched = http(
        f"{base}/_api/replication/match", "POST", {"pairs": [[1, 0], [99999, 1]]}, auth=SUPER_AUTH
    )
    assert matched.status == 200 and matched.body["present"] == [[1, 0]]
    tail = http(f"{base}/_api/wal/tail?from=1&limit=2", auth=SUPER_AUTH)
    assert tail.status == 200 and [e["tick"] for e in tail.body["entries"]] == [1, 2]
    assert tail.header("X-Arango-Epoch") == "1"
    assert tail.header("X-Arango-Replication-Checkmore") == "true"
    follower = next(i for i in cluster.ids if i != leader)
    cluster.wait_role(follower, "follower")
    refused = http(f"{cluster.url(follower)}/_api/wal/tail?from=1", auth=SUPER_AUTH)
    assert refused.status == 503 and refused.body["errorNum"] == 1496


def test_python_arango_gets_not_a_leader_from_a_follower(
    failover_cluster: Callable[..., FailoverCluster],
) -> None:
    from arango.client import ArangoClient
    from arango.exceptions import DocumentInsertError

    cluster = failover_cluster(servers=2, agents=1)
    leader = cluster.leader()
    follower = next(i for i in cluster.ids if i != leader)
    cluster.wait_role(follower, "follower")
    assert cluster.create_collection(leader, "docs").status == 200
    cluster.wait_tick(follower, cluster.role(leader)["lastTick"])  # type: ignore[index]
    client = ArangoClient(hosts=cluster.url(follower), request_timeout=10)
    db = client.db("_system", username="root", password="", verify=False)
    with pytest.raises(DocumentInsertError) as err:
        db.collection("docs").insert({"_key": "x"})
    assert err.value.error_code == 1496
    assert err.value.http_code == 503
    client.close()
