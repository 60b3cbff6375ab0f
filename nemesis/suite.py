"""What the nemesis suites share: test cases, profiles, and the promise assertions.

A case is a workload, a fault (or ``mixed``) and a replication mode; its id
reads ``<workload>-<fault>-<mode>`` so ``-k partition`` or ``-k "kill and
sync"`` select naturally. Each case runs a real test through the runner and
asserts the promise table's *promised* properties for its mode; measured
ones are recorded in the report and printed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest

from harness.core.runner import RunConfig, RunResult, run_test
from harness.core.schedule import PROFILES
from workloads.registry import make_workload


@dataclass(frozen=True)
class Case:
    workload: str
    fault: str
    mode: str
    short: bool = False  # part of the short (CI) profile

    def __str__(self) -> str:
        return f"{self.workload}-{self.fault}-{self.mode}"


def params(cases: list[Case]) -> list[Any]:
    """pytest params with readable ids; full-profile-only cases carry the ``full_only`` mark."""
    return [
        pytest.param(c, id=str(c), marks=() if c.short else (pytest.mark.full_only,)) for c in cases
    ]


def config_for(case: Case, profile: str, backend: str, store: str) -> RunConfig:
    p = PROFILES[profile]
    return RunConfig(
        workload=case.workload,
        nemesis=case.fault,
        backend=backend,
        replication="sync" if case.mode == "sync" else "async",
        time_limit=p.time_limit_s,
        healthy_s=p.healthy_s,
        fault_s=p.fault_s,
        concurrency=5,
        rate=40.0,
        store=store,
        test_name=f"nemesis-{case}",
    )


def run_case(case: Case, profile: str, backend: str, store: str) -> RunResult:
    config = config_for(case, profile, backend, store)
    result = asyncio.run(run_test(config, make_workload(case.workload)))
    print(f"\nrun directory: {result.run_dir}")
    print(f"report: {result.report or result.run_dir / 'results.json'}")
    print(f"seed: {result.seed}")
    for prop, p in result.results["promises"].items():
        print(f"  {p['status']:9} holds={p['holds']!s:5} {prop}")
    return result


def assert_promises(result: RunResult) -> None:
    """Fail on any promised property that broke, with its evidence and how to repeat."""
    promised = {k: p for k, p in result.results["promises"].items() if p["status"] == "promised"}
    broken = {k: p for k, p in promised.items() if p["holds"] is False}
    if broken:
        lines = [f"promised properties broken in {result.run_dir} (seed {result.seed}):"]
        for prop, p in broken.items():
            evidence = json.dumps(p["evidence"], default=str)[:1500]
            lines.append(f"  {prop}: {p['description']}\n    evidence: {evidence}")
        pytest.fail("\n".join(lines), pytrace=False)
    notes = result.results.get("notes", [])
    assert not any("did not converge" in n or "no leader" in n for n in notes), (
        f"the cluster did not recover after healing ({result.run_dir}): {notes}"
    )
