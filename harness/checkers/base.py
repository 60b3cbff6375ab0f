"""What every checker returns, and the run-side inputs checkers may read.

Checkers are pure functions of a history (a list of :class:`~harness.core.history.Op`),
optionally with fault windows from ``nemesis.jsonl`` and role samples from
``roles.jsonl``. Each returns its own typed result (see
:mod:`harness.checkers.result`): a :class:`Verdict` and evidence as fields,
written into ``results.json`` by ``to_json()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

from harness.checkers.result import (
    UNKNOWN,
    CheckResult,
    TypedResult,
    Validity,
    Verdict,
    as_list,
    as_map,
    opt_int,
    text,
)
from harness.core.history import Op, ops_from_dicts

__all__ = [
    "UNKNOWN",
    "CheckResult",
    "Checker",
    "FaultWindow",
    "RoleSample",
    "RunData",
    "TypedResult",
    "Validity",
    "Verdict",
]

_PRIORITY = {True: 0, UNKNOWN: 1, False: 2}


def as_ops(history: Iterable[Op | dict[str, Any]]) -> list[Op]:
    """A history given as :class:`Op` objects or as decoded JSONL lines, as ops."""
    items = list(history)
    if all(isinstance(item, Op) for item in items):
        return items  # type: ignore[return-value]
    return [
        item if isinstance(item, Op) else ops_from_dicts([item], "<history>")[0] for item in items
    ]


def merge_valid(values: Iterable[Validity]) -> Validity:
    """Jepsen's rule: any ``False`` wins, then ``"unknown"``, else ``True``."""
    worst: Validity = True
    for value in values:
        if _PRIORITY[value] > _PRIORITY[worst]:
            worst = value
    return worst


def quantiles(values: Sequence[float], points: Sequence[float]) -> dict[str, float]:
    """Jepsen's frequency distribution: element ``min(n-1, floor(n*p))`` of the sorted values."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return {}
    return {_point_name(p): ordered[min(n - 1, math.floor(n * p))] for p in points}


def _point_name(point: float) -> str:
    return str(int(point)) if float(point).is_integer() else str(point)


@dataclass(frozen=True)
class FaultWindow:
    """One fault from ``nemesis.jsonl``: its start and (if it ended) its end, in ns."""

    id: Any
    fault: str
    start: int
    end: int | None
    nodes: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    links: tuple[tuple[str, str], ...] = field(default=(), compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fault": self.fault, "start": self.start, "end": self.end}
        if self.nodes:
            out["nodes"] = list(self.nodes)
        return out

    @classmethod
    def from_json(cls, value: Any) -> FaultWindow | None:
        """A fault as checkers write it (``{"fault", "start", "end", "nodes"?}``), or None."""
        data = as_map(value)
        start = opt_int(data.get("start"))
        if start is None:
            return None
        return cls(
            id=None,
            fault=text(data.get("fault")) or "unknown",
            start=start,
            end=opt_int(data.get("end")),
            nodes=tuple(str(n) for n in as_list(data.get("nodes"))),
        )


@dataclass(frozen=True)
class RoleSample:
    """One line of ``roles.jsonl``: what ``node`` claimed at ``time`` (ns)."""

    time: int
    node: str
    role: str
    epoch: int | None = None
    leader: str | None = None


def fault_windows(events: Iterable[dict[str, Any]]) -> list[FaultWindow]:
    """Pair ``start``/``end`` events of ``nemesis.jsonl`` by ``id``; sorted by start.

    Nemesis ops found in a history (``process: "nemesis"``) can be passed too:
    ``{"f": "start"|"stop", "time": ..., "value": ...}`` pair up in order.
    """
    starts: dict[Any, dict[str, Any]] = {}
    windows: list[FaultWindow] = []
    open_history_fault: dict[str, Any] | None = None
    for ev in events:
        kind = ev.get("event") or ev.get("f")
        time = ev.get("time")
        if not isinstance(time, int):
            continue
        if "event" in ev:
            if kind == "start":
                starts[ev.get("id")] = ev
            elif kind == "end":
                begun = starts.pop(ev.get("id"), None)
                if begun is not None:
                    ended = ev.get("detail")
                    if isinstance(ended, dict) and ended:  # what healing found joins the detail
                        begun = {**begun, "detail": {**as_map(begun.get("detail")), **ended}}
                    windows.append(_window(begun, time))
        elif kind == "start":
            open_history_fault = ev
        elif kind == "stop" and open_history_fault is not None:
            windows.append(_window(open_history_fault, time))
            open_history_fault = None
    windows.extend(_window(ev, None) for ev in starts.values())
    if open_history_fault is not None:
        windows.append(_window(open_history_fault, None))
    return sorted(windows, key=lambda w: w.start)


def _window(ev: dict[str, Any], end: int | None) -> FaultWindow:
    fault = ev.get("fault")
    value = ev.get("value")
    if fault is None:
        fault = value.get("fault") if isinstance(value, dict) else value
    nodes = ev.get("nodes")
    if nodes is None and isinstance(value, dict):
        nodes = value.get("nodes")
    detail = ev.get("detail") if isinstance(ev.get("detail"), dict) else {}
    links = tuple(
        (str(link[0]), str(link[1]))
        for link in as_list(ev.get("links"))
        if isinstance(link, list) and len(link) == 2
    )
    return FaultWindow(
        id=ev.get("id"),
        fault=str(fault) if fault is not None else "unknown",
        start=int(ev["time"]),
        end=end,
        nodes=tuple(str(n) for n in nodes) if isinstance(nodes, list) else (),
        detail=detail or {},
        links=links,
    )


def role_samples(lines: Iterable[dict[str, Any]]) -> list[RoleSample]:
    """Parse ``roles.jsonl`` lines (malformed lines are skipped); sorted by time."""
    samples: list[RoleSample] = []
    for line in lines:
        time, node, role = line.get("time"), line.get("node"), line.get("role")
        if not isinstance(time, int) or not isinstance(node, str) or not isinstance(role, str):
            continue
        epoch = line.get("epoch")
        leader = line.get("leader")
        samples.append(
            RoleSample(
                time=time,
                node=node,
                role=role,
                epoch=epoch if isinstance(epoch, int) else None,
                leader=leader if isinstance(leader, str) else None,
            )
        )
    samples.sort(key=lambda s: s.time)
    return samples


def leader_intervals(samples: Sequence[RoleSample]) -> list[tuple[str, int, int]]:
    """Per node, maximal runs of consecutive ``leader`` samples as ``(node, first, last)``.

    Only sampled instants count: a claim is known from its first to its last
    sample in a run, never extrapolated. Sorted by start.
    """
    by_node: dict[str, list[RoleSample]] = {}
    for s in samples:
        by_node.setdefault(s.node, []).append(s)
    runs: list[tuple[str, int, int]] = []
    for node, node_samples in by_node.items():
        start: int | None = None
        last = 0
        for s in node_samples:
            if s.role == "leader":
                if start is None:
                    start = s.time
                last = s.time
            elif start is not None:
                runs.append((node, start, last))
                start = None
        if start is not None:
            runs.append((node, start, last))
    runs.sort(key=lambda r: (r[1], r[0]))
    return runs


@dataclass
class RunData:
    """Everything a checker may look at: the run directory's contents, parsed."""

    history: list[dict[str, Any]]
    nemesis: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    test: dict[str, Any] = field(default_factory=dict)
    # entries of the servers' rollback files (see ``harness/core/run_files.py``)
    rollbacks: list[dict[str, Any]] = field(default_factory=list)

    @cached_property
    def ops(self) -> list[Op]:
        """The history as ops, parsed once for all checkers."""
        return as_ops(self.history)


@runtime_checkable
class Checker(Protocol):
    """One pure checker, configured by whoever built it (a workload), run on a run's data.

    ``name`` is its key under ``results.json["checkers"]``; ``check`` returns the
    checker's typed result (a :class:`TypedResult` subclass).
    """

    @property
    def name(self) -> str: ...

    def check(self, run: RunData) -> CheckResult: ...
