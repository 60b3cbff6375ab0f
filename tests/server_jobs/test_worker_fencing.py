"""The queue worker runs jobs only while leading, stops at once when it no longer leads,
fences every job state write by its epoch, and retries interrupted tries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cluster.common import clock
from cluster.common.errors import ArangoError
from cluster.server import jobs_store as store
from cluster.server.jobs_model import JOBS_COLLECTION
from cluster.server.jobs_worker import Fence
from cluster.server.storage_tx import Tx
from tests.server_jobs.conftest import JobServer, StartServer


class SlowHook:
    """An HTTP endpoint that holds every POST until released; counts the calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.calls.append({"path": self.path, "body": self.rfile.read(length)})
                hook.release.wait(10)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def hook() -> Iterator[SlowHook]:
    made = SlowHook()
    try:
        yield made
    finally:
        made.close()


def _wait(predicate: Any, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _stored(server: JobServer, job_id: str) -> dict[str, Any]:
    job = server.storage.get("_system", JOBS_COLLECTION, job_id)
    assert job is not None
    return job


def test_step_down_stops_a_running_try_and_the_next_epoch_retries_it(
    start_job_server: StartServer, hook: SlowHook
) -> None:
    server = start_job_server(callback_allow=(hook.url,))
    made = server.enqueue("q", {"type": "http-callback", "params": {"url": hook.url}}).json()
    _wait(lambda: len(hook.calls) == 1)
    assert _stored(server, made["id"])["state"] == "running"
    server.gate.follow()
    time.sleep(0.3)  # the worker notices within its watch interval and cancels the try
    hook.release.set()  # the old try's callback now returns, to a worker that let it go
    time.sleep(0.3)
    job = _stored(server, made["id"])
    assert job["state"] == "running" and len(job["tries"]) == 1  # the fenced leader wrote nothing
    assert "outcome" not in job["tries"][0]
    server.gate.lead(2)
    done = server.wait_state("q", made["id"], ("done",))
    tries = [(t["try"], t["epoch"], t["outcome"]) for t in done["tries"]]
    assert tries == [(1, 1, "unknown"), (2, 2, "done")]
    assert "took over in epoch 2" in done["tries"][0]["error"]
    assert len(hook.calls) == 2  # without an idempotency key a callback may repeat


def _interrupted_after_effect(server: JobServer, idempotency_key: str | None) -> str:
    """A document job whose first try applied its effect and then lost its leader."""
    body: dict[str, Any] = {
        "type": "document",
        "params": {"collection": "c", "op": "insert", "document": {"value": 1}},
        "delayUntil": clock.wall_ms() + 60_000,
    }
    if idempotency_key is not None:
        body["idempotencyKey"] = idempotency_key
    job_id = str(server.enqueue("q", body).json()["id"])
    server.gate.follow()
    now = clock.wall_ms()

    def first_try(tx: Tx) -> None:
        started = store.start_try(tx, "_system", job_id, "s0", 1, now)
        assert started is not None and started[1]
        store.apply_document(tx, "_system", job_id, 1, "s0", 1, now)

    server.storage.write(first_try)
    return job_id


def test_retry_of_a_keyed_job_finds_its_marker_and_applies_nothing(job_server: JobServer) -> None:
    job_id = _interrupted_after_effect(job_server, "once")
    job_server.gate.lead(2)
    job = job_server.wait_state("q", job_id, ("done",))
    assert [t["outcome"] for t in job["tries"]] == ["unknown", "done"]
    assert job["applied"]["try"] == 1 and job["result"]["skipped"] is True
    assert len(job_server.storage.all_documents("_system", "c")) == 1


def test_retry_of_an_unkeyed_job_applies_again(job_server: JobServer) -> None:
    job_id = _interrupted_after_effect(job_server, None)
    job_server.gate.lead(2)
    job = job_server.wait_state("q", job_id, ("done",))
    assert [(t["server"], t["outcome"]) for t in job["tries"]] == [
        ("s0", "unknown"),
        ("s1", "done"),
    ]
    assert len(job_server.storage.all_documents("_system", "c")) == 2  # at-least-once


def test_interrupted_last_try_fails_the_job(job_server: JobServer) -> None:
    body = {
        "type": "document",
        "params": {"collection": "c", "op": "insert", "document": {"value": 1}},
        "maxTries": 1,
        "delayUntil": clock.wall_ms() + 60_000,
    }
    job_id = job_server.enqueue("q", body).json()["id"]
    job_server.gate.follow()
    job_server.storage.write(lambda tx: store.start_try(tx, "_system", job_id, "s0", 1, 0))
    job_server.gate.lead(2)
    job = job_server.wait_state("q", job_id, ("failed",))
    assert [t["outcome"] for t in job["tries"]] == ["unknown"]
    assert job["lastError"] == "maxTries reached"
    assert job_server.storage.all_documents("_system", "c") == []


def test_no_job_runs_on_a_follower(job_server: JobServer) -> None:
    soon = clock.wall_ms() + 300
    job_id = job_server.enqueue(
        "q",
        {
            "type": "document",
            "params": {"collection": "c", "op": "insert", "document": {"value": 1}},
            "delayUntil": soon,
        },
    ).json()["id"]
    job_server.gate.follow()
    time.sleep(1.0)
    assert _stored(job_server, job_id)["state"] == "pending"
    assert job_server.storage.all_documents("_system", "c") == []
    job_server.gate.lead(3)
    job = job_server.wait_state("q", job_id, ("done",))
    assert [(t["server"], t["epoch"]) for t in job["tries"]] == [("s1", 3)]


def test_every_job_state_write_fails_once_the_epoch_changed(job_server: JobServer) -> None:
    gate = job_server.gate
    job_id = job_server.enqueue(
        "q",
        {
            "type": "document",
            "params": {"collection": "c", "op": "insert", "document": {"value": 1}},
            "delayUntil": clock.wall_ms() + 60_000,
        },
    ).json()["id"]
    fence = Fence(gate, 1)
    fence.check()
    gate.lead(2)  # same server, new epoch: the old fence no longer holds
    with pytest.raises(ArangoError) as refused:
        fence.check()
    assert refused.value.code == 503 and "epoch is 2" in refused.value.message
    gate.follow()
    with pytest.raises(ArangoError):
        Fence(gate, 2).check()

    def fenced_start(tx: Tx) -> None:
        fence.check()
        store.start_try(tx, "_system", job_id, "s1", 1, 0)

    with pytest.raises(ArangoError):
        job_server.storage.write(fenced_start)
    assert _stored(job_server, job_id)["tries"] == []
