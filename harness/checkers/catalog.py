"""The checkers as objects a workload builds and hands to the engine, and their result types.

Each wraps one pure checker module, maps a run's data to its arguments and
returns that checker's typed result. A workload says which it wants
(``Workload.checkers()``); the engine runs them through
:func:`harness.core.checks.judge`. :func:`result_from_json` reads a checker's
entry of ``results.json`` back into its typed result (the report's way in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from harness.checkers import (
    availability,
    dirty_reads,
    jobs,
    linearizable,
    linearizable_result,
    performance,
    set_full,
    split_brain,
)
from harness.checkers.availability import AvailabilityResult
from harness.checkers.base import RunData
from harness.checkers.dirty_reads import DirtyReadsResult
from harness.checkers.follower_choice_result import FollowerChoiceResult
from harness.checkers.jobs_result import JobsResult
from harness.checkers.linearizable_result import LinearizableResult
from harness.checkers.performance import PerformanceResult
from harness.checkers.result import CheckerCrash, CheckResult, TypedResult
from harness.checkers.set_full import SetFullResult
from harness.checkers.split_brain import SplitBrainResult

RESULT_TYPES: dict[str, type[TypedResult]] = {
    t.NAME: t
    for t in (
        SetFullResult,
        LinearizableResult,
        DirtyReadsResult,
        SplitBrainResult,
        AvailabilityResult,
        PerformanceResult,
        FollowerChoiceResult,
        JobsResult,
    )
}


def result_from_json(name: str, data: dict[str, Any]) -> CheckResult:
    """A ``results.json`` checker entry as its typed result.

    The type is the entry's ``checker`` field, else its name; an entry of an
    unknown type (or one that cannot be read) stays untyped.
    """
    kind = data.get("checker")
    result_type = RESULT_TYPES.get(kind if isinstance(kind, str) else name)
    if result_type is None or kind == CheckerCrash.NAME:
        return CheckResult.plain_from_json(name, data)
    result: CheckResult = result_type.from_json(data)
    if result.check_time_s is None:
        result.check_time_s = CheckResult.plain_from_json(name, data).check_time_s
    return result


def rolled_back_pairs(rollbacks: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """``(key, value)`` of each rolled-back document, keys as the workloads write them."""
    pairs: list[tuple[Any, Any]] = []
    for entry in rollbacks:
        doc = entry.get("doc")
        key = entry.get("key", doc.get("_key") if isinstance(doc, dict) else None)
        if key is None or not isinstance(doc, dict):
            continue
        text = str(key)
        pairs.append((int(text) if text.isdigit() else text, doc.get("value")))
    return pairs


@dataclass(frozen=True)
class LinearizableChecker:
    """Linearizability of a (cas-)register history, per key."""

    result_type: ClassVar[type[CheckResult]] = LinearizableResult
    name: str = "linearizable"

    def check(self, run: RunData) -> LinearizableResult:
        return linearizable_result.typed(linearizable.check(run.ops))


@dataclass(frozen=True)
class SetFullChecker:
    """Jepsen's set-full: lost, stale and never-read elements of a set in ``collection``."""

    collection: str | None = None
    generation_size: int = 0  # the set workload's generations (0: one set)
    result_type: ClassVar[type[CheckResult]] = SetFullResult
    name: str = "set-full"

    def check(self, run: RunData) -> SetFullResult:
        result = set_full.check(run.ops, nemesis=run.nemesis, generation_size=self.generation_size)
        result.collection = self.collection
        result.generation_size = self.generation_size
        return result


@dataclass(frozen=True)
class DirtyReadsChecker:
    """Dirty reads: marked, stale, or of writes later rolled back."""

    result_type: ClassVar[type[CheckResult]] = DirtyReadsResult
    name: str = "dirty-reads"

    def check(self, run: RunData) -> DirtyReadsResult:
        return dirty_reads.check(
            run.ops, roles=run.roles, rolled_back=rolled_back_pairs(run.rollbacks)
        )


@dataclass(frozen=True)
class SplitBrainChecker:
    """Two servers acknowledging writes in overlapping time."""

    result_type: ClassVar[type[CheckResult]] = SplitBrainResult
    name: str = "split-brain"

    def check(self, run: RunData) -> SplitBrainResult:
        return split_brain.check(run.ops, roles=run.roles)


@dataclass(frozen=True)
class AvailabilityChecker:
    """Windows without a successful operation, and failovers."""

    result_type: ClassVar[type[CheckResult]] = AvailabilityResult
    name: str = "availability"

    def check(self, run: RunData) -> AvailabilityResult:
        return availability.check(run.ops, roles=run.roles, nemesis=run.nemesis)


@dataclass(frozen=True)
class PerformanceChecker:
    """Latency and throughput of the client operations (measured, never judged)."""

    result_type: ClassVar[type[CheckResult]] = PerformanceResult
    name: str = "performance"

    def check(self, run: RunData) -> PerformanceResult:
        return performance.check(run.ops)


@dataclass(frozen=True)
class JobsChecker:
    """Lost, duplicated, late and early jobs of the replicated queue (the jobs workload)."""

    late_bound_ms: int = jobs.DEFAULT_LATE_BOUND_MS
    result_type: ClassVar[type[CheckResult]] = JobsResult
    name: str = "jobs"

    def check(self, run: RunData) -> JobsResult:
        return jobs.check(run.ops, run.nemesis, run.roles, self.late_bound_ms)
