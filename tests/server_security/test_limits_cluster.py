"""Row #6 end to end: a document at the nesting limit replicates, is served in
``/_api/replication/snapshot`` (which answered 500 at ~971 levels) and survives a
follower's full resync, on a real agency + two server processes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

from cluster.server.api_common import MAX_DEPTH
from tests.server_failover.conftest import failover_cluster  # noqa: F401 - the fixture
from tests.server_failover.servers import SUPER_AUTH, FailoverCluster, http

DIRTY = {"X-Arango-Allow-Dirty-Read": "true"}


def deepest_document() -> dict[str, Any]:
    value: Any = 1
    for _ in range(MAX_DEPTH - 1):
        value = {"v": value}
    return {"_key": "deep", "x": value}


def test_a_document_at_the_limit_replicates_snapshots_and_resyncs(
    failover_cluster: Callable[..., FailoverCluster],  # noqa: F811
) -> None:
    cluster = failover_cluster(servers=2, agents=1)
    leader = cluster.leader()
    follower = next(i for i in cluster.ids if i != leader)
    assert cluster.create_collection(leader, "c").status == 200
    doc = deepest_document()
    assert cluster.insert(leader, "c", doc).status in (201, 202)
    too_deep = {"_key": "deeper", "x": {"v": doc["x"]}}
    assert cluster.insert(leader, "c", too_deep).status == 400
    cluster.wait_synced(follower, leader)
    copy = http(f"{cluster.url(follower)}/_api/document/c/deep", headers=DIRTY)
    assert copy.status == 200 and copy.body["x"] == doc["x"]
    snapshot = http(f"{cluster.url(leader)}/_api/replication/snapshot", auth=SUPER_AUTH)
    assert snapshot.status == 200, snapshot
    # a follower starting empty resyncs from the snapshot
    cluster.kill9(follower)
    shutil.rmtree(cluster.data_dir(follower))
    cluster.start(follower)
    cluster.wait_synced(follower, leader)
    again = http(f"{cluster.url(follower)}/_api/document/c/deep", headers=DIRTY)
    assert again.status == 200 and again.body["x"] == doc["x"]
