"""Real processes: jobs pending on a killed leader run on the new one, and only there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster.common import clock
from tests.server_failover.servers import FailoverCluster, http

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FailoverCluster]:
    # sync mode writes only with a sync follower: three servers, so one is left after a kill
    servers = 3 if request.param == "sync" else 2
    made = FailoverCluster(
        tmp_path / "cluster", servers=servers, agents=1, replication=request.param
    )
    try:
        made.start_all()
        yield made
    finally:
        made.close()


def _job(value: int, delay_ms: int, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "document",
        "params": {"collection": "c", "op": "insert", "document": {"value": value}},
        "delayUntil": clock.wall_ms() + delay_ms,
    }
    if key is not None:
        body["idempotencyKey"] = key
    return body


def _wait_done(cluster: FailoverCluster, sid: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    reply = http(f"{cluster.url(sid)}/_api/queue/q/job/{job_id}")
    while time.monotonic() < deadline:
        if reply.status == 200 and reply.body["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
        reply = http(f"{cluster.url(sid)}/_api/queue/q/job/{job_id}")
    assert reply.status == 200 and reply.body["state"] == "done", reply
    return dict(reply.body)


@pytest.mark.parametrize("cluster", ["async", "sync"], indirect=True)
def test_jobs_pending_on_a_killed_leader_run_on_the_new_one(cluster: FailoverCluster) -> None:
    old = cluster.leader()
    others = [i for i in cluster.ids if i != old]
    for sid in others:
        cluster.wait_role(sid, "follower")
    assert cluster.create_collection(old, "c").status == 200
    ids = []
    for i in range(5):
        reply = http(
            f"{cluster.url(old)}/_api/queue/q", "POST", _job(i, 5000, f"k{i}" if i else None)
        )
        assert reply.status == 202, reply
        ids.append(reply.body["id"])
    listing = http(f"{cluster.url(old)}/_api/queue/q?state=pending")
    assert listing.body["count"] == 5
    for sid in others:
        cluster.wait_synced(sid, old)

    cluster.kill9(old)
    new = cluster.leader(limit=30.0)
    assert new in others
    epoch = cluster.role(new)["epoch"]  # type: ignore[index]
    for job_id in ids:
        job = _wait_done(cluster, new, job_id)
        assert [(t["server"], t["epoch"]) for t in job["tries"]] == [(new, epoch)], job
    docs = http(f"{cluster.url(new)}/_api/simple/all", "PUT", {"collection": "c"})
    assert sorted(d["value"] for d in docs.body["result"]) == [0, 1, 2, 3, 4]

    cluster.start(old)
    cluster.wait_role(old, "follower")
    later = [
        http(f"{cluster.url(new)}/_api/queue/q", "POST", _job(10 + i, 0)).body["id"]
        for i in range(3)
    ]
    for job_id in later:
        job = _wait_done(cluster, new, job_id)
        assert [t["server"] for t in job["tries"]] == [new]  # never the returned follower
    cluster.wait_synced(old, new)
    mirrored = http(
        f"{cluster.url(old)}/_api/queue/q?state=done",
        headers={"X-Arango-Allow-Dirty-Read": "true"},
    )
    assert mirrored.status == 200 and mirrored.body["count"] == 8
    assert all(t["server"] == new for j in mirrored.body["jobs"] for t in j["tries"])
