"""The checkers as objects a workload builds and hands to the engine.

Each wraps one pure checker module and maps a run's data to its arguments.
A workload says which it wants (``Workload.checkers()``); the engine runs
them through :func:`harness.core.checks.judge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.checkers import availability, dirty_reads, linearizable, set_full, split_brain
from harness.checkers.base import RunData


def _plain(result: Any) -> dict[str, Any]:
    out = result.to_json() if hasattr(result, "to_json") else dict(result)
    out.setdefault("valid", "unknown")
    out.setdefault("summary", "")
    return dict(out)


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

    name: str = "linearizable"

    def check(self, run: RunData) -> dict[str, Any]:
        return _plain(linearizable.check(run.history))


@dataclass(frozen=True)
class SetFullChecker:
    """Jepsen's set-full: lost, stale and never-read elements of a set in ``collection``."""

    collection: str | None = None
    name: str = "set-full"

    def check(self, run: RunData) -> dict[str, Any]:
        out = _plain(set_full.check(run.history, nemesis=run.nemesis))
        if self.collection is not None:
            out.setdefault("collection", self.collection)
        return out


@dataclass(frozen=True)
class DirtyReadsChecker:
    """Dirty reads: marked, stale, or of writes later rolled back."""

    name: str = "dirty-reads"

    def check(self, run: RunData) -> dict[str, Any]:
        return _plain(
            dirty_reads.check(
                run.history, roles=run.roles, rolled_back=rolled_back_pairs(run.rollbacks)
            )
        )


@dataclass(frozen=True)
class SplitBrainChecker:
    """Two servers acknowledging writes in overlapping time."""

    name: str = "split-brain"

    def check(self, run: RunData) -> dict[str, Any]:
        return _plain(split_brain.check(run.history, roles=run.roles))


@dataclass(frozen=True)
class AvailabilityChecker:
    """Windows without a successful operation, and failovers."""

    name: str = "availability"

    def check(self, run: RunData) -> dict[str, Any]:
        return _plain(availability.check(run.history, roles=run.roles, nemesis=run.nemesis))
