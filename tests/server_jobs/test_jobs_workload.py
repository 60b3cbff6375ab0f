"""The jobs workload's client against a fake queue server, its operations and its settings."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from harness.cli.registry import REGISTRY
from harness.core.client import ArangoClient, ServerAddress
from harness.core.protocols import Invocation
from tests.harness_runner.fakes import FakeServer, answer
from workloads.jobs import JobsClient, JobsConfig, JobsOps, JobsWorkload


class FakeQueue:
    """A leader's queue: enqueues are kept, jobs run only when the test says."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.fail_next: int | None = None

    def run_all(self) -> None:
        for job in self.jobs:
            job["state"] = "done"
            job["tries"] = [{"try": 1, "server": "s1", "epoch": 1, "startedAt": 5}]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.paths.append(request.path)
        if request.method == "POST" and request.path.endswith("/_api/queue/afcheck"):
            if self.fail_next is not None:
                status, self.fail_next = self.fail_next, None
                return answer(status, {"error": True, "errorNum": 4, "code": status}, "s1")
            body = json.loads(await request.read())
            self.bodies.append(body)
            job = {"id": f"j{len(self.jobs)}", "state": "pending", "tries": [], **body}
            self.jobs.append(job)
            return answer(202, {"error": False, "code": 202, **job}, "s1")
        if request.method == "GET" and request.path.endswith("/_api/queue/afcheck"):
            state = request.query.get("state")
            jobs = [j for j in self.jobs if state is None or j["state"] == state]
            return answer(200, {"error": False, "jobs": jobs, "count": len(jobs)}, "s1")
        if request.path.endswith("/_api/simple/all"):
            docs = [
                {"_key": str(i), "value": j["params"]["document"]["value"]}
                for i, j in enumerate(self.jobs)
                if j["state"] == "done"
            ]
            return answer(201, {"result": docs, "hasMore": False}, "s1")
        return answer(404, {"error": True, "errorNum": 404, "code": 404}, "s1")


def _with_fake(body: Callable[[ArangoClient, FakeQueue], Awaitable[None]]) -> None:
    async def run() -> None:
        queue = FakeQueue()
        server = FakeServer("s1", queue.handle)
        await server.start()
        try:
            async with ArangoClient([ServerAddress("s1", server.url)]) as http:
                await body(http, queue)
        finally:
            await server.stop()

    asyncio.run(run())


def test_enqueue_sends_a_document_job_and_records_its_id() -> None:
    async def body(http: ArangoClient, queue: FakeQueue) -> None:
        client = JobsClient(http, JobsConfig(database="shop"))
        done = await client.invoke(
            Invocation("enqueue", {"element": 4, "key": "job-4", "delay_ms": 500})
        )
        assert done.type == "ok" and done.value["id"] == "j0" and done.node == "s1"
        assert done.value["delayUntil"] > 0
        sent = queue.bodies[0]
        assert sent["type"] == "document" and sent["idempotencyKey"] == "job-4"
        assert sent["params"] == {
            "collection": "jobs_set",
            "op": "insert",
            "document": {"value": 4},
        }
        assert sent["delayUntil"] == done.value["delayUntil"] and sent["maxTries"] == 5
        assert queue.paths[0] == "/_db/shop/_api/queue/afcheck"
        plain = await client.invoke(
            Invocation("enqueue", {"element": 5, "key": None, "delay_ms": 0})
        )
        assert plain.type == "ok" and "idempotencyKey" not in queue.bodies[1]
        assert "delayUntil" not in queue.bodies[1]
        queue.fail_next = 500
        unsure = await client.invoke(
            Invocation("enqueue", {"element": 6, "key": None, "delay_ms": 0})
        )
        assert unsure.type == "info" and "id" not in unsure.value

    _with_fake(body)


def test_drain_waits_for_the_queue_and_final_read_returns_jobs_and_elements() -> None:
    async def body(http: ArangoClient, queue: FakeQueue) -> None:
        client = JobsClient(http, JobsConfig(drain_s=0.5))
        for e in range(3):
            await client.invoke(Invocation("enqueue", {"element": e, "key": None, "delay_ms": 0}))
        stuck = await client.invoke(Invocation("drain", None))
        assert stuck.type == "fail" and stuck.value == {"pending": 3, "running": 0}
        queue.run_all()
        drained = await client.invoke(Invocation("drain", None))
        assert drained.type == "ok"
        final = await client.invoke(Invocation("final-read", None))
        assert final.type == "ok"
        assert sorted(final.value["elements"]) == [0, 1, 2]
        assert [(j["id"], j["element"], j["state"]) for j in final.value["jobs"]] == [
            ("j0", 0, "done"),
            ("j1", 1, "done"),
            ("j2", 2, "done"),
        ]
        assert final.value["jobs"][0]["tries"][0]["server"] == "s1"
        odd = await client.invoke(Invocation("dequeue", None))
        assert odd.type == "fail"

    _with_fake(body)


def test_ops_draw_keys_and_delays_from_the_seed() -> None:
    cfg = JobsConfig(keyed_fraction=0.5, delayed_fraction=0.5, max_delay_ms=100)
    first, second = JobsOps(cfg), JobsOps(cfg)
    rng1, rng2 = random.Random(9), random.Random(9)
    ops1 = [first.next_op(rng1, 0) for _ in range(50)]
    ops2 = [second.next_op(rng2, 0) for _ in range(50)]
    assert ops1 == ops2
    values = [op.value for op in ops1 if op is not None]
    assert [v["element"] for v in values] == list(range(50))
    assert any(v["key"] for v in values) and any(v["key"] is None for v in values)
    assert all(0 <= v["delay_ms"] <= 100 for v in values)
    assert any(v["delay_ms"] for v in values)


def test_registry_builds_the_workload_and_rejects_bad_settings() -> None:
    workload = REGISTRY.workload("jobs", {"queue": "q1", "late_bound_ms": 2000})
    assert isinstance(workload, JobsWorkload) and workload.config()["queue"] == "q1"
    assert [c.name for c in workload.checkers()] == ["jobs", "split-brain", "availability"]
    assert [op.f for op in workload.final_ops()] == ["drain", "final-read"]
    for bad in ({"keyed_fraction": 2}, {"max_tries": 0}, {"drain_s": 0}, {"nope": 1}):
        with pytest.raises(ValueError):
            REGISTRY.workload("jobs", bad)
