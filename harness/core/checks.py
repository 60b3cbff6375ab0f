"""Judge a run: run the workload's checkers, then the promise table for the mode.

A checker that raises is reported as ``unknown`` with the reason, so one bad
checker never hides the others' verdicts.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Collection, Sequence
from typing import Any

from harness.checkers.base import Checker, RunData
from harness.core import promises


def run_checkers(checkers: Sequence[Checker], run: RunData) -> dict[str, dict[str, Any]]:
    """Run each checker; each result gets ``check-time-s`` if it has none."""
    results: dict[str, dict[str, Any]] = {}
    for checker in checkers:
        started = time.perf_counter()
        try:
            result = dict(checker.check(run))
        except Exception as exc:  # a checker bug: report it, keep the other verdicts
            result = {
                "valid": "unknown",
                "summary": f"checker crashed: {type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5),
            }
        result.setdefault("valid", "unknown")
        result.setdefault("summary", "")
        result.setdefault("check-time-s", round(time.perf_counter() - started, 3))
        results[checker.name] = result
    return results


def combined_validity(results: dict[str, dict[str, Any]]) -> bool | str:
    """Jepsen's merge: False if any is False, else unknown if any is unknown, else True."""
    values = [r.get("valid") for r in results.values()]
    if any(v is False for v in values):
        return False
    if any(v is not True for v in values):
        return "unknown"
    return True


def judge(
    run: RunData,
    checkers: Sequence[Checker],
    mode: str,
    faults: Collection[str],
) -> dict[str, Any]:
    """The body of ``results.json`` (less seed and notes): checkers, promises, verdict.

    ``faults`` are the names of the faults applied in this run.
    """
    checker_results = run_checkers(checkers, run)
    collection = next(
        (r["collection"] for r in checker_results.values() if isinstance(r.get("collection"), str)),
        None,
    )
    table = promises.evaluate(
        mode, faults, checker_results, run.history, run.roles, run.rollbacks, collection
    )
    return {
        "valid": promises.verdict(table),
        "checkers-valid": combined_validity(checker_results),
        "checkers": checker_results,
        "promises": table,
        "broken-promises": promises.broken_promises(table),
    }
