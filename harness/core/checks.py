"""Judge a run: run the workload's checkers, then the promise table for the mode.

A checker that raises is reported as ``unknown`` with the reason
(:class:`~harness.checkers.result.CheckerCrash`), so one bad checker never
hides the others' verdicts. Performance (latency, throughput) is measured in
every run: a :class:`~harness.checkers.catalog.PerformanceChecker` is added
when the workload's checkers have none.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from harness.checkers.base import Checker, RunData, merge_valid
from harness.checkers.catalog import PerformanceChecker
from harness.checkers.performance import PerformanceResult
from harness.checkers.result import CheckerCrash, CheckResult, Validity, Verdict
from harness.core import promises


def run_checkers(checkers: Sequence[Checker], run: RunData) -> dict[str, CheckResult]:
    """Run each checker; each result gets its ``check_time_s`` if it has none."""
    results: dict[str, CheckResult] = {}
    for checker in checkers:
        started = time.perf_counter()
        result: CheckResult
        try:
            result = checker.check(run)
        except Exception as exc:  # a checker bug: report it, keep the other verdicts
            result = CheckerCrash(
                verdict=Verdict.UNKNOWN,
                summary=f"checker crashed: {type(exc).__name__}: {exc}",
                error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(limit=5),
                expected=getattr(checker, "result_type", None),
            )
        if result.check_time_s is None:
            result.check_time_s = round(time.perf_counter() - started, 3)
        results[checker.name] = result
    return results


def results_json(results: Mapping[str, CheckResult]) -> dict[str, dict[str, Any]]:
    """The ``checkers`` section of ``results.json``."""
    return {name: result.to_json() for name, result in results.items()}


def combined_validity(results: Iterable[CheckResult]) -> Validity:
    """Jepsen's merge: False if any is False, else unknown if any is unknown, else True."""
    return merge_valid(r.valid for r in results)


def with_performance(checkers: Sequence[Checker]) -> list[Checker]:
    """The checkers, plus a performance checker unless one is among them."""
    has = any(getattr(c, "result_type", None) is PerformanceResult for c in checkers)
    return list(checkers) if has else [*checkers, PerformanceChecker()]


def judge(
    run: RunData,
    checkers: Sequence[Checker],
    mode: str,
    families: Collection[str],
) -> dict[str, Any]:
    """The body of ``results.json`` (less seed and notes): checkers, promises, verdict.

    ``families`` are the declared families of the faults applied in this run
    (``promises.applied_families`` reads them from ``nemesis.jsonl``).
    """
    results = run_checkers(with_performance(checkers), run)
    table = promises.evaluate(
        mode, families, results, run.history, run.roles, run.rollbacks, run.nemesis
    )
    return {
        "valid": promises.verdict(table),
        "checkers-valid": combined_validity(results.values()),
        "checkers": results_json(results),
        "promises": promises.table_json(table),
        "broken-promises": promises.broken_promises(table),
        "families": sorted(families),
    }
