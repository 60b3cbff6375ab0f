"""Integration: a fault and a workload defined outside nemesis/ and workloads/ run through the
real registry, schedule and runner (a short run on real local processes), and the run reads
back from ``test.json`` to the same test (what ``afcheck run --replay`` runs).

Both are the toys of ``docs/extending.md``: one class (or module) and one registry entry each.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.checkers.base import Checker
from harness.checkers.catalog import AvailabilityChecker, SplitBrainChecker
from harness.cli.registry import REGISTRY
from harness.core.client import ArangoClient
from harness.core.fault import (
    Fault,
    NemesisContext,
    Report,
    report,
    server_ids,
    server_leader,
    skipped,
)
from harness.core.protocols import Client, Completion, Invocation, OpSource
from harness.core.runner import run_test
from harness.core.test import Test, default_cluster
from workloads.common import CollectionWorkload, completion, doc_path

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


class StopFollower(Fault):
    """Stop a random follower gracefully; healing starts it again on its data."""

    name = "stop-follower"
    family = "kill"
    needs = frozenset({"leader"})

    def __init__(self) -> None:
        self._stopped: str | None = None

    async def inject(self, ctx: NemesisContext) -> Report:
        leader = await server_leader(ctx)
        followers = [s for s in server_ids(ctx.backend) if s != leader]
        if leader is None or not followers:
            return skipped("no follower to stop")
        victim = ctx.rng.choice(followers)
        self._stopped = victim  # set first: a stop that fails halfway is still healed
        await ctx.backend.stop(victim)
        return report(nodes=[victim], stopped=victim)

    async def heal(self, ctx: NemesisContext) -> Report:
        victim, self._stopped = self._stopped, None
        if victim is None:
            return report()
        if not await ctx.backend.is_running(victim):
            await ctx.backend.start_node(victim)
        return report(nodes=[victim], restarted=victim)


@dataclass
class UniqueConfig:
    collection: str = "ids"


class UniqueOps:
    """Inserts of consecutive integers, each a new document key."""

    def __init__(self) -> None:
        self._next = 0

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        self._next += 1
        return Invocation("add", self._next)


class UniqueClient:
    def __init__(self, http: ArangoClient, collection: str) -> None:
        self.http = http
        self.collection = collection

    async def invoke(self, op: Invocation) -> Completion:
        resp = await self.http.request(
            "POST", doc_path(self.collection), body={"_key": str(op.value)}
        )
        return completion(resp, op.value)


class UniqueWorkload(CollectionWorkload[UniqueConfig]):
    name = "unique"
    config_type = UniqueConfig

    def __init__(self, config: UniqueConfig | None = None) -> None:
        super().__init__(config or UniqueConfig())

    def checkers(self) -> list[Checker]:
        return [SplitBrainChecker(), AvailabilityChecker()]

    def ops(self) -> OpSource:
        return UniqueOps()

    def client(self, http: ArangoClient) -> Client:
        return UniqueClient(http, self.cfg.collection)


# the registry lines
PLUGINS = REGISTRY.with_faults(StopFollower).with_workloads({"unique": UniqueWorkload.from_config})


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_new_fault_runs_through_the_runner_and_replays(tmp_path: Path) -> None:
    cluster = default_cluster()
    cluster.agency_flags = {"grace-period": "3", "ok-threshold": "1.5"}
    test = Test(
        workload=PLUGINS.workload("unique", {"collection": "ids"}),
        seed=11,
        nemesis="stop-follower",
        faults=PLUGINS.faults_for("stop-follower"),
        cluster=cluster,
        concurrency=3,
        rate=30.0,
        time_limit=9.0,
        healthy_s=1.5,
        fault_s=2.5,
        store=str(tmp_path),
    )
    result = asyncio.run(run_test(test))
    run = result.run_dir

    # the test.json holds the fault by name, and reads back (through the registry)
    # to the same test: what `afcheck run --replay` runs
    recorded = json.loads((run / "test.json").read_text())
    assert recorded["faults"] == ["stop-follower"] and recorded["seed"] == 11
    assert recorded["workload"] == {"name": "unique", "config": {"collection": "ids"}}
    assert Test.from_json(recorded, PLUGINS) == test

    # the schedule applied it, and the judge read its declared family
    starts = [e for e in _jsonl(run / "nemesis.jsonl") if e["event"] == "start"]
    assert starts and all(e["fault"] == "stop-follower" and e["family"] == "kill" for e in starts)
    acted = [e for e in starts if "skipped" not in e["detail"]]
    assert acted, starts
    assert "stop-follower" in result.results["nemesis"]["applied"]
    assert result.results["nemesis"]["families"] == ["kill"]
    assert result.results["operations"]["ok"] > 0
    history = _jsonl(run / "history.jsonl")
    assert {op["f"] for op in history if op["process"] != "nemesis"} == {"add"}

    # its effect: the stopped follower was seen down while the fault held
    ends = {e["id"]: e["time"] for e in _jsonl(run / "nemesis.jsonl") if e["event"] == "end"}
    roles = _jsonl(run / "roles.jsonl")

    # (a window can be shorter than one role sample when a slow stop ate the fault's
    # time; the fault is proven when its victim was seen down in some window)
    def seen_in(start: dict[str, Any]) -> set[str]:
        (victim,) = start["nodes"]
        until = ends.get(start["id"], start["time"])
        return {
            r["role"] for r in roles if r["node"] == victim and start["time"] <= r["time"] <= until
        }

    assert any("down" in seen_in(e) for e in acted), [(e, seen_in(e)) for e in acted]
    # and healing brought it back: every server is up at the end
    last = {r["node"]: r["role"] for r in roles}
    assert all(role in ("leader", "follower") for role in last.values()), last
