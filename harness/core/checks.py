"""Checker adapters: run the pure checkers of ``harness/checkers/`` on a run's data.

Each adapter has a ``name`` (the key under ``results.json["checkers"]``) and
turns :class:`harness.core.protocols.RunData` into the checker's arguments. A
checker that raises is reported as ``unknown`` with the reason, so one bad
checker never hides the others' verdicts.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.core.protocols import CheckerAdapter, RunData


@dataclass
class FunctionChecker:
    """Adapts ``module.function`` to :class:`CheckerAdapter`; ``call`` maps RunData to it."""

    name: str
    module: str
    function: str
    call: Callable[[Callable[..., Any], RunData], Any]

    def check(self, run: RunData) -> dict[str, Any]:
        try:
            fn = getattr(importlib.import_module(self.module), self.function)
        except (ImportError, AttributeError) as exc:
            return {"valid": "unknown", "summary": f"checker unavailable: {exc}"}
        result = self.call(fn, run)
        return as_result(result)


def as_result(result: Any) -> dict[str, Any]:
    """A checker's answer as a plain dict with ``valid`` and ``summary``."""
    if hasattr(result, "to_json"):
        result = result.to_json()
    elif not isinstance(result, dict) and hasattr(result, "__dataclass_fields__"):
        from dataclasses import asdict

        result = asdict(result)
    if not isinstance(result, dict):
        return {"valid": "unknown", "summary": f"checker returned {type(result).__name__}"}
    out = dict(result)
    out.setdefault("valid", "unknown")
    out.setdefault("summary", "")
    return out


def _history_only(fn: Callable[..., Any], run: RunData) -> Any:
    return fn(run.history)


def _with_nemesis(fn: Callable[..., Any], run: RunData) -> Any:
    return fn(run.history, nemesis=run.nemesis)


def _with_roles(fn: Callable[..., Any], run: RunData) -> Any:
    return fn(run.history, roles=run.roles)


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


def _dirty_reads(fn: Callable[..., Any], run: RunData) -> Any:
    return fn(run.history, roles=run.roles, rolled_back=rolled_back_pairs(run.rollbacks))


def _with_roles_and_nemesis(fn: Callable[..., Any], run: RunData) -> Any:
    return fn(run.history, roles=run.roles, nemesis=run.nemesis)


CHECKERS: dict[str, CheckerAdapter] = {
    "linearizable": FunctionChecker(
        "linearizable", "harness.checkers.linearizable", "check", _history_only
    ),
    "set-full": FunctionChecker("set-full", "harness.checkers.set_full", "check", _with_nemesis),
    "dirty-reads": FunctionChecker(
        "dirty-reads", "harness.checkers.dirty_reads", "check", _dirty_reads
    ),
    "split-brain": FunctionChecker(
        "split-brain", "harness.checkers.split_brain", "check", _with_roles
    ),
    "availability": FunctionChecker(
        "availability", "harness.checkers.availability", "check", _with_roles_and_nemesis
    ),
}


def run_checkers(names: list[str], run: RunData) -> dict[str, dict[str, Any]]:
    """Run the named checkers; each result gets ``check-time-s`` if it has none."""
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        adapter = CHECKERS.get(name)
        if adapter is None:
            results[name] = {"valid": "unknown", "summary": f"no checker named {name!r}"}
            continue
        started = time.perf_counter()
        try:
            result = adapter.check(run)
        except Exception as exc:  # a checker bug: report it, keep the other verdicts
            result = {
                "valid": "unknown",
                "summary": f"checker crashed: {type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5),
            }
        result.setdefault("check-time-s", round(time.perf_counter() - started, 3))
        results[name] = result
    return results


def combined_validity(results: dict[str, dict[str, Any]]) -> bool | str:
    """Jepsen's merge: False if any is False, else unknown if any is unknown, else True."""
    values = [r.get("valid") for r in results.values()]
    if any(v is False for v in values):
        return False
    if any(v is not True for v in values):
        return "unknown"
    return True
