"""The queue API on a real server (storage, HTTP, worker): enqueue, state, list, cancel,
idempotency, delays, maxTries, bad input, access rules and followers."""

from __future__ import annotations

import time

from cluster.common import clock
from tests.server_jobs.conftest import JobServer, StartServer


def _insert_job(value: int, **extra: object) -> dict[str, object]:
    return {
        "type": "document",
        "params": {"collection": "c", "op": "insert", "document": {"value": value}},
        **extra,
    }


def _values(server: JobServer) -> list[int]:
    return sorted(int(d["value"]) for d in server.storage.all_documents("_system", "c"))


def test_enqueued_document_job_runs_once_and_reports_its_try(job_server: JobServer) -> None:
    reply = job_server.enqueue("q", _insert_job(1))
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["error"] is False and body["code"] == 202 and body["created"] is True
    assert body["state"] == "pending" and body["queue"] == "q"
    job = job_server.wait_state("q", body["id"], ("done",))
    assert [(t["try"], t["server"], t["epoch"], t["outcome"]) for t in job["tries"]] == [
        (1, "s1", 1, "done")
    ]
    assert job["tries"][0]["startedAt"] <= job["tries"][0]["finishedAt"] == job["finishedAt"]
    assert job["result"]["_id"].startswith("c/")
    assert _values(job_server) == [1]


def test_wait_for_sync_answers_201(job_server: JobServer) -> None:
    reply = job_server.enqueue("q", _insert_job(2), params={"waitForSync": "true"})
    assert reply.status_code == 201 and reply.json()["code"] == 201


def test_idempotency_key_names_one_job_and_applies_once(job_server: JobServer) -> None:
    first = job_server.enqueue("q", _insert_job(7, idempotencyKey="order-7"))
    again = job_server.enqueue("q", _insert_job(7, idempotencyKey="order-7"))
    assert first.status_code == 202 and again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    other_queue = job_server.enqueue("r", _insert_job(7, idempotencyKey="order-7"))
    assert other_queue.status_code == 202 and other_queue.json()["id"] != first.json()["id"]
    clash = job_server.enqueue("q", _insert_job(8, idempotencyKey="order-7"))
    assert clash.status_code == 409 and clash.json()["errorNum"] == 1200
    job = job_server.wait_state("q", first.json()["id"], ("done",))
    job_server.wait_state("r", other_queue.json()["id"], ("done",))
    assert job["applied"]["try"] == 1 and job["applied"]["server"] == "s1"
    assert _values(job_server) == [7, 7]  # one per queue, none for the repeat


def test_delayed_job_waits_and_can_be_cancelled_while_pending(job_server: JobServer) -> None:
    soon = clock.wall_ms() + 700
    later = clock.wall_ms() + 60_000
    delayed = job_server.enqueue("q", _insert_job(1, delayUntil=soon)).json()
    parked = job_server.enqueue("q", _insert_job(2, delayUntil=later)).json()
    time.sleep(0.3)
    assert job_server.job("q", delayed["id"])["state"] == "pending"
    job = job_server.wait_state("q", delayed["id"], ("done",))
    assert job["tries"][0]["startedAt"] >= soon
    cancel = job_server.call("DELETE", f"/_api/queue/q/job/{parked['id']}")
    assert cancel.status_code == 200 and cancel.json()["cancelled"] is True
    assert job_server.call("GET", f"/_api/queue/q/job/{parked['id']}").status_code == 404
    done_cancel = job_server.call("DELETE", f"/_api/queue/q/job/{delayed['id']}")
    assert done_cancel.status_code == 409 and done_cancel.json()["errorNum"] == 1200
    assert _values(job_server) == [1]


def test_max_tries_bounds_retries_then_the_job_is_failed(job_server: JobServer) -> None:
    job = {
        "type": "document",
        "params": {"collection": "nowhere", "op": "insert", "document": {"x": 1}},
        "maxTries": 2,
    }
    made = job_server.enqueue("q", job).json()
    failed = job_server.wait_state("q", made["id"], ("failed",))
    assert [t["outcome"] for t in failed["tries"]] == ["error", "error"]
    assert "not found" in failed["lastError"]


def test_list_filters_by_state_and_limits(job_server: JobServer) -> None:
    later = clock.wall_ms() + 60_000
    ids = [job_server.enqueue("q", _insert_job(i, delayUntil=later)).json()["id"] for i in range(3)]
    ran = job_server.enqueue("q", _insert_job(9)).json()["id"]
    job_server.wait_state("q", ran, ("done",))
    job_server.enqueue("other", _insert_job(10, delayUntil=later))
    listing = job_server.call("GET", "/_api/queue/q").json()
    assert listing["count"] == 4 and [j["id"] for j in listing["jobs"]][:3] == ids
    pending = job_server.call("GET", "/_api/queue/q", params={"state": "pending", "limit": "2"})
    assert [j["id"] for j in pending.json()["jobs"]] == ids[:2]
    done = job_server.call("GET", "/_api/queue/q", params={"state": "done"}).json()
    assert [j["id"] for j in done["jobs"]] == [ran]
    assert job_server.call("GET", "/_api/queue/empty").json()["jobs"] == []
    for bad in ({"state": "odd"}, {"limit": "0"}, {"limit": "x"}):
        reply = job_server.call("GET", "/_api/queue/q", params=bad)
        assert reply.status_code == 400 and reply.json()["error"] is True


def test_bad_input_is_refused_with_arango_errors_and_loses_nothing(
    start_job_server: StartServer,
) -> None:
    server = start_job_server(callback_allow=("http://127.0.0.1:9/hooks",))
    assert server.call("POST", "/_api/collection", json={"name": "c"}).status_code == 200
    kept = server.enqueue("q", _insert_job(1, delayUntil=clock.wall_ms() + 60_000)).json()["id"]
    bad_bodies: list[object] = [
        [],
        {"type": "shell", "params": {}},
        {"type": "document"},
        {"type": "document", "params": {"collection": "c", "op": "drop"}},
        {"type": "document", "params": {"collection": "c", "op": "insert"}},
        {"type": "document", "params": {"collection": "c", "op": "update", "document": {}}},
        {"type": "document", "params": {"collection": "bad name!", "document": {}}},
        {**_insert_job(1), "maxTries": 0},
        {**_insert_job(1), "maxTries": 1.5},
        {**_insert_job(1), "delayUntil": -1},
        {**_insert_job(1), "idempotencyKey": ""},
        {**_insert_job(1), "priority": 3},
        {"type": "http-callback", "params": {"url": "http://127.0.0.1:9/hooks", "timeout": 0}},
    ]
    for body in bad_bodies:
        reply = server.enqueue("q", body)  # type: ignore[arg-type]
        assert reply.status_code == 400, (body, reply.text)
        err = reply.json()
        assert err["error"] is True and err["code"] == 400 and err["errorMessage"], err
    refused = server.enqueue(
        "q", {"type": "http-callback", "params": {"url": "http://127.0.0.1:9/elsewhere"}}
    )
    assert refused.status_code == 403 and "allow-list" in refused.json()["errorMessage"]
    raw = server.call("POST", "/_api/queue/q", data=b"{nope")
    assert raw.status_code == 400 and raw.json()["errorNum"] == 600
    assert server.enqueue("bad queue!", _insert_job(1)).status_code == 400
    assert server.call("GET", "/_api/queue/q/job/bad%20id").status_code == 400
    assert server.call("GET", "/_api/queue/q/job/nosuch").status_code == 404
    assert server.call("GET", f"/_api/queue/other/job/{kept}").status_code == 404
    listing = server.call("GET", "/_api/queue/q").json()
    assert [j["id"] for j in listing["jobs"]] == [kept]  # nothing added, nothing lost


def test_follower_refuses_queue_writes_and_plain_reads(job_server: JobServer) -> None:
    made = job_server.enqueue("q", _insert_job(1, delayUntil=clock.wall_ms() + 60_000)).json()
    job_server.gate.follow()
    refused = job_server.enqueue("q", _insert_job(2))
    assert refused.status_code == 503 and refused.json()["errorNum"] == 1496
    assert refused.headers["X-Arango-Endpoint"] == job_server.gate.leader_url
    cancel = job_server.call("DELETE", f"/_api/queue/q/job/{made['id']}")
    assert cancel.status_code == 503
    assert job_server.call("GET", f"/_api/queue/q/job/{made['id']}").status_code == 503
    dirty = job_server.call(
        "GET", f"/_api/queue/q/job/{made['id']}", headers={"X-Arango-Allow-Dirty-Read": "true"}
    )
    assert dirty.status_code == 200
    assert dirty.headers["X-Arango-Potential-Dirty-Read"] == "true"


def test_access_rules_follow_the_document_routes(start_job_server: StartServer) -> None:
    server = start_job_server(auth_enabled=True)
    assert server.call("POST", "/_api/collection", json={"name": "c"}).status_code == 200
    assert server.call("POST", "/_api/user", json={"user": "ro", "passwd": "pw"}).ok
    assert server.call("POST", "/_api/user", json={"user": "none", "passwd": "pw"}).ok
    grant = server.call("PUT", "/_api/user/ro/database/_system", json={"grant": "ro"})
    assert grant.ok, grant.text
    made = server.enqueue("q", _insert_job(1, delayUntil=clock.wall_ms() + 60_000)).json()
    ro = ("ro", "pw")
    assert server.call("GET", f"/_api/queue/q/job/{made['id']}", auth=ro).status_code == 200
    assert server.call("GET", "/_api/queue/q", auth=ro).status_code == 200
    assert server.enqueue("q", _insert_job(2), auth=ro).status_code == 403
    assert server.call("DELETE", f"/_api/queue/q/job/{made['id']}", auth=ro).status_code == 403
    stranger = server.call("GET", "/_api/queue/q", auth=("none", "pw"))
    assert stranger.status_code == 401
    anonymous = server.http.__class__().get(server.url + "/_api/queue/q", timeout=5)
    assert anonymous.status_code == 401


def test_job_ids_are_never_handed_out_twice_by_two_leaders(start_job_server: StartServer) -> None:
    """Two servers from the same state (an old leader and the follower promoted after an
    async failover) enqueue a job each: the ids differ. With the document key generator
    both got the same next key, and a client polling its job read the other one's state."""
    ids = []
    for _ in range(2):
        server = start_job_server()
        assert server.call("POST", "/_api/collection", json={"name": "c"}).status_code == 200
        reply = server.enqueue("q", _insert_job(1))
        assert reply.status_code in (201, 202), reply.text
        ids.append(reply.json()["id"])
    assert ids[0] != ids[1]
