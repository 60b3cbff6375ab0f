"""The jobs workload: enqueue ``document`` jobs that each insert one unique element.

Each ``enqueue`` asks the leader's queue (``POST /_api/queue/<queue>``) for a
job inserting ``{"value": n}`` into the set collection: a share of them with
an idempotency key, a share delayed by up to ``max_delay_ms``. Since each
execution inserts a new document, an element's copies in the set count how
often its job ran (and survived).

After healing, ``drain`` waits (at most ``drain_s`` per attempt; the runner
repeats it within its final deadline) until the current leader has no
pending or running job, and ``final-read`` reads every job's state and tries
and every element of the set. The ``jobs`` checker judges the history (named
``jobs``, not ``queue``: that is Jepsen's total-queue model).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from harness.checkers.base import Checker
from harness.checkers.catalog import AvailabilityChecker, JobsChecker, SplitBrainChecker
from harness.core.client import ArangoClient
from harness.core.protocols import Client, Completion, Invocation, OpSource
from workloads.common import SYSTEM, CollectionWorkload, completion, db_path

MAX_LIST = 100_000


@dataclass
class JobsConfig:
    collection: str = "jobs_set"  # where the jobs insert their elements
    queue: str = "afcheck"
    database: str = SYSTEM
    keyed_fraction: float = 0.5  # share of jobs with an idempotency key
    delayed_fraction: float = 0.3  # share of jobs with a delayUntil
    max_delay_ms: int = 2000
    max_tries: int = 5
    drain_s: float = 8.0  # longest wait of one drain attempt
    late_bound_ms: int = 5000  # a job whose first try starts later than this after due is late

    def __post_init__(self) -> None:
        for name in ("keyed_fraction", "delayed_fraction"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"jobs: {name} must be between 0 and 1, got {value!r}")
        if not isinstance(self.max_delay_ms, int) or self.max_delay_ms < 0:
            raise ValueError(f"jobs: max_delay_ms must be >= 0, got {self.max_delay_ms!r}")
        if not isinstance(self.max_tries, int) or not 1 <= self.max_tries <= 100:
            raise ValueError(f"jobs: max_tries must be 1 to 100, got {self.max_tries!r}")
        if not isinstance(self.drain_s, int | float) or not 0 < self.drain_s <= 60:
            raise ValueError(f"jobs: drain_s must be in (0, 60], got {self.drain_s!r}")


class JobsOps:
    """Enqueues of consecutive unique elements; keys and delays drawn from the seed."""

    def __init__(self, config: JobsConfig) -> None:
        self.config = config
        self._next = 0

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        element = self._next
        self._next += 1
        keyed = rng.random() < self.config.keyed_fraction
        delayed = self.config.max_delay_ms > 0 and rng.random() < self.config.delayed_fraction
        delay = rng.randrange(1, self.config.max_delay_ms + 1) if delayed else 0
        value = {"element": element, "key": f"job-{element}" if keyed else None, "delay_ms": delay}
        return Invocation("enqueue", value)


def _brief_job(job: dict[str, Any]) -> dict[str, Any]:
    params = job.get("params")
    document = params.get("document") if isinstance(params, dict) else None
    element = document.get("value") if isinstance(document, dict) else None
    return {
        "id": job.get("id"),
        "element": element,
        "state": job.get("state"),
        "keyed": job.get("idempotencyKey") is not None,
        "delayUntil": job.get("delayUntil"),
        "createdAt": job.get("createdAt"),
        "lastError": job.get("lastError"),
        "applied": job.get("applied"),
        "tries": job.get("tries"),
    }


class JobsClient:
    def __init__(self, http: ArangoClient, config: JobsConfig) -> None:
        self.http = http
        self.cfg = config
        self.queue_path = db_path(config.database, f"/_api/queue/{quote(config.queue, safe='')}")

    async def invoke(self, op: Invocation) -> Completion:
        if op.f == "enqueue":
            return await self._enqueue(op.value)
        if op.f == "drain":
            return await self._drain()
        if op.f == "final-read":
            return await self._final_read()
        return Completion("fail", op.value, error=f"unknown jobs op {op.f!r}")

    async def _enqueue(self, value: dict[str, Any]) -> Completion:
        delay_until = int(time.time() * 1000) + int(value["delay_ms"]) if value["delay_ms"] else 0
        body: dict[str, Any] = {
            "type": "document",
            "params": {
                "collection": self.cfg.collection,
                "op": "insert",
                "document": {"value": value["element"]},
            },
            "maxTries": self.cfg.max_tries,
        }
        if delay_until:
            body["delayUntil"] = delay_until
        if value.get("key") is not None:
            body["idempotencyKey"] = value["key"]
        resp = await self.http.request("POST", self.queue_path, body=body)
        done = completion(resp, {**value, "delayUntil": delay_until})
        if done.type == "ok" and isinstance(resp.body, dict):
            done.value = {**done.value, "id": resp.body.get("id")}
        return done

    async def _active(self) -> tuple[int, int] | None:
        counts: list[int] = []
        for state in ("pending", "running"):
            resp = await self.http.request(
                "GET",
                self.queue_path,
                params={"state": state, "limit": str(MAX_LIST)},
                read_only=True,
            )
            if resp.outcome != "ok" or not isinstance(resp.body, dict):
                return None
            counts.append(int(resp.body.get("count") or 0))
        return counts[0], counts[1]

    async def _drain(self) -> Completion:
        loop = asyncio.get_running_loop()
        end = loop.time() + self.cfg.drain_s
        last: tuple[int, int] | None = None
        while True:
            last = await self._active()
            if last == (0, 0):
                return Completion("ok", {"pending": 0, "running": 0})
            if loop.time() + 0.2 >= end:
                break
            await asyncio.sleep(0.2)
        value = {"pending": last[0], "running": last[1]} if last else None
        return Completion("fail", value, error="queue not drained")

    async def _final_read(self) -> Completion:
        jobs = await self.http.request(
            "GET", self.queue_path, params={"limit": str(MAX_LIST)}, read_only=True
        )
        if jobs.outcome != "ok" or not isinstance(jobs.body, dict):
            return completion(jobs, None)
        elements = await self.http.request(
            "PUT",
            db_path(self.cfg.database, "/_api/simple/all"),
            body={"collection": self.cfg.collection},
            target=jobs.node if jobs.node in {s.id for s in self.http.servers} else None,
            read_only=True,
        )
        if elements.outcome != "ok" or not isinstance(elements.body, dict):
            return completion(elements, None)
        value = {
            "jobs": [_brief_job(j) for j in jobs.body.get("jobs") or [] if isinstance(j, dict)],
            "elements": [
                d.get("value") for d in elements.body.get("result") or [] if isinstance(d, dict)
            ],
        }
        return Completion("ok", value, node=elements.node)


class JobsWorkload(CollectionWorkload[JobsConfig]):
    name = "jobs"
    config_type = JobsConfig

    def __init__(self, config: JobsConfig | None = None) -> None:
        super().__init__(config or JobsConfig())

    def checkers(self) -> list[Checker]:
        return [JobsChecker(self.cfg.late_bound_ms), SplitBrainChecker(), AvailabilityChecker()]

    def ops(self) -> OpSource:
        return JobsOps(self.cfg)

    def client(self, http: ArangoClient) -> Client:
        return JobsClient(http, self.cfg)

    def final_ops(self) -> list[Invocation]:
        return [Invocation("drain", None), Invocation("final-read", None)]
