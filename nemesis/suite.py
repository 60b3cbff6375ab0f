"""What the nemesis suites share: test cases, profiles, and the assertions on a run.

A case is a workload, a fault (or ``mixed``) and a replication mode, and
optionally a database other than ``_system`` for the workload; its id reads
``<workload>[@<database>]-<fault>-<mode>`` so ``-k partition`` or ``-k "kill
and sync"`` select naturally. Each case runs a real test through the runner and
asserts, in :func:`assert_run`, that the run really tested something (a fault
acted, operations succeeded, the verdict is decided) and that the promise
table's *promised* properties for its mode held; measured ones are recorded
in the report and printed.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from typing import Any

import pytest

from harness.cli.registry import REGISTRY
from harness.core.runner import RunResult, run_test
from harness.core.schedule import PROFILES
from harness.core.test import Test, default_cluster


@dataclass(frozen=True)
class Case:
    workload: str
    fault: str
    mode: str
    short: bool = False  # part of the short (CI) profile
    database: str = "_system"  # where the workload's collection lives

    def __str__(self) -> str:
        where = "" if self.database == "_system" else f"@{self.database}"
        return f"{self.workload}{where}-{self.fault}-{self.mode}"


def params(cases: list[Case]) -> list[Any]:
    """pytest params with readable ids; full-profile-only cases carry the ``full_only`` mark."""
    return [
        pytest.param(c, id=str(c), marks=() if c.short else (pytest.mark.full_only,)) for c in cases
    ]


def case_test(case: Case, profile: str, backend: str, store: str, seed: int | None = None) -> Test:
    """The test a case runs (a fresh seed unless one is given; every run prints its own)."""
    p = PROFILES[profile]
    cluster = default_cluster()
    cluster.replication = "sync" if case.mode == "sync" else "async"
    return Test(
        workload=REGISTRY.workload(
            case.workload, {} if case.database == "_system" else {"database": case.database}
        ),
        seed=random.SystemRandom().randrange(2**31) if seed is None else seed,
        nemesis=case.fault,
        faults=REGISTRY.faults_for(case.fault),
        backend=backend,
        cluster=cluster,
        time_limit=p.time_limit_s,
        healthy_s=p.healthy_s,
        fault_s=p.fault_s,
        concurrency=5,
        rate=40.0,
        store=store,
        name=f"nemesis-{case}",
    )


def run_case(case: Case, profile: str, backend: str, store: str) -> RunResult:
    result = asyncio.run(run_test(case_test(case, profile, backend, store)))
    print(f"\nrun directory: {result.run_dir}")
    print(f"report: {result.report or result.run_dir / 'results.json'}")
    print(f"seed: {result.seed}; repeat with: afcheck run --replay {result.run_dir}")
    for prop, p in result.results["promises"].items():
        print(f"  {p['status']:9} holds={p['holds']!s:5} {prop}")
    return result


def assert_run(result: RunResult) -> None:
    """Fail unless the run tested something and every promised property held.

    A run fails when a promised property broke; when the verdict is
    ``unknown`` (a promised property could not be decided); when the test
    names faults but none acted (every injection skipped or failed); when no
    operation completed ``ok``; or when the cluster did not recover.
    """
    res = result.results
    where = f"{result.run_dir} (seed {result.seed}; afcheck run --replay {result.run_dir})"
    promised = {k: p for k, p in res["promises"].items() if p["status"] == "promised"}
    broken = {k: p for k, p in promised.items() if p["holds"] is False}
    if broken:
        lines = [f"promised properties broken in {where}:"]
        for prop, p in broken.items():
            evidence = json.dumps(p["evidence"], default=str)[:1500]
            lines.append(f"  {prop}: {p['description']}\n    evidence: {evidence}")
        pytest.fail("\n".join(lines), pytrace=False)
    if result.valid not in (True, False):
        undecided = [
            f"  {k}: {json.dumps(p.get('evidence'), default=str)[:300]}"
            for k, p in promised.items()
            if p["holds"] is None
        ]
        pytest.fail(
            f"verdict {result.valid!r}: a promised property could not be decided in {where}\n"
            + "\n".join(undecided),
            pytrace=False,
        )
    nemesis = res.get("nemesis") or {}
    if result.test.faults and not nemesis.get("applied"):
        pytest.fail(
            f"no fault acted in {where}: skipped {nemesis.get('skipped', [])},"
            f" notes {res.get('notes', [])}",
            pytrace=False,
        )
    ops = res.get("operations") or {}
    if not ops.get("ok"):
        pytest.fail(f"no operation completed ok in {where}: {ops}", pytrace=False)
    notes = res.get("notes", [])
    if any("did not converge" in n or "no leader" in n for n in notes):
        pytest.fail(f"the cluster did not recover after healing in {where}: {notes}", pytrace=False)
