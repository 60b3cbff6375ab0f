"""Performance: latency and throughput of client operations, as Jepsen's ``perf`` checker.

Measured, never judged: the verdict is ``valid`` when some operation
completed, else ``unknown``. The evidence is what the report plots:

- **outcomes**: per function, how many operations ended ``ok``, ``fail``,
  ``info`` or never completed (``pending``);
- **latency quantiles** of ``ok`` operations per function (ns);
- **latency points**: ``(invoke time, latency, outcome, f)`` of completed
  operations, at most ``max_points`` of them: every ``fail``/``info`` first
  (evenly thinned to half the budget when there are more), then ``ok`` ones
  evenly spaced over the run;
- **throughput**: completions per second by outcome, in bins of whole seconds
  (wider for long runs, so there are at most ``max_bins``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.checkers.base import as_ops, quantiles
from harness.checkers.result import (
    TypedResult,
    Verdict,
    as_int,
    as_list,
    as_map,
    is_number,
    number_map,
    opt_float,
    parse_list,
    text,
)
from harness.core.history import Op, pair_ops

NAME = "performance"
OUTCOMES = ("ok", "fail", "info")
LATENCY_POINTS = (0.5, 0.95, 0.99, 1)
MAX_POINTS = 5000
MAX_BINS = 600
_NS = 1_000_000_000


@dataclass(frozen=True)
class LatencyPoint:
    """One completed operation: invoked at ``start`` (ns), took ``latency`` (ns)."""

    start: int
    latency: int
    outcome: str
    f: str
    node: str | None = None  # kept for fail/info (shown on hover)
    error: Any = None

    def to_json(self) -> list[Any]:
        row: list[Any] = [self.start, self.latency, self.outcome, self.f]
        if self.outcome != "ok":
            row += [self.node, self.error]
        return row

    @classmethod
    def from_json(cls, value: Any) -> LatencyPoint | None:
        row = as_list(value)
        if len(row) < 4 or not is_number(row[0]) or not is_number(row[1]):
            return None
        node = row[4] if len(row) > 4 and isinstance(row[4], str) else None
        error = row[5] if len(row) > 5 else None
        return cls(int(row[0]), int(row[1]), str(row[2]), str(row[3]), node, error)


@dataclass(frozen=True)
class Throughput:
    """Completions per second by outcome; bin ``i`` covers ``[i * bin_s, (i + 1) * bin_s)``."""

    bin_s: float = 1.0
    rates: dict[str, list[float]] = field(default_factory=dict)  # outcome -> ops/s per bin

    @property
    def bins(self) -> int:
        return max((len(v) for v in self.rates.values()), default=0)

    def to_json(self) -> dict[str, Any]:
        return {"bin-s": self.bin_s, "rates": self.rates}

    @classmethod
    def from_json(cls, value: Any) -> Throughput:
        data = as_map(value)
        rates = {
            str(k): [float(x) for x in as_list(v) if is_number(x)]
            for k, v in as_map(data.get("rates")).items()
        }
        return cls(opt_float(data.get("bin-s")) or 1.0, rates)


@dataclass(kw_only=True, repr=False)
class PerformanceResult(TypedResult):
    """Latency and throughput (see the module docstring)."""

    NAME: ClassVar[str] = NAME
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # f -> outcome -> count
    latency_quantiles: dict[str, dict[str, float]] = field(default_factory=dict)  # f -> q -> ns
    latency_points: list[LatencyPoint] = field(default_factory=list)
    completed: int = 0  # completed operations (the points are a sample of these)
    throughput: Throughput = field(default_factory=Throughput)

    @property
    def operations(self) -> int:
        return sum(sum(by.values()) for by in self.outcomes.values())

    def evidence_json(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "completed": self.completed,
            "outcomes": self.outcomes,
            "latency-quantiles": self.latency_quantiles,
            "latency-points": [p.to_json() for p in self.latency_points],
            "throughput": self.throughput.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PerformanceResult:
        outcomes = {
            str(f): {str(k): as_int(v) for k, v in as_map(by).items()}
            for f, by in as_map(data.get("outcomes")).items()
        }
        return cls(
            verdict=Verdict.of(data.get("valid")),
            summary=text(data.get("summary")),
            outcomes=outcomes,
            latency_quantiles={
                str(f): number_map(q) for f, q in as_map(data.get("latency-quantiles")).items()
            },
            latency_points=parse_list(data.get("latency-points"), LatencyPoint.from_json),
            completed=as_int(data.get("completed")),
            throughput=Throughput.from_json(data.get("throughput")),
        )


# (start, latency, outcome, f, node, error) of one completed operation
_Row = tuple[int, int, str, str, str | None, Any]


def _spaced(items: Sequence[_Row], k: int) -> list[_Row]:
    """``k`` items evenly spaced over ``items``, first and last included."""
    n = len(items)
    if k >= n:
        return list(items)
    if k <= 0:
        return []
    if k == 1:
        return [items[0]]
    return [items[(i * (n - 1)) // (k - 1)] for i in range(k)]


def sample_points(rows: Sequence[_Row], max_points: int) -> list[LatencyPoint]:
    """At most ``max_points``: fail/info first (up to half), then evenly spaced ok ones."""
    kept = list(rows)
    if len(rows) > max_points:
        rare = [r for r in rows if r[2] != "ok"]
        common = [r for r in rows if r[2] == "ok"]
        if len(rare) > max_points // 2:
            rare = _spaced(rare, max_points // 2)
        kept = _spaced(common, max_points - len(rare)) + rare
        kept.sort(key=lambda r: r[0])
    return [
        LatencyPoint(start, latency, outcome, f, node, error)
        if outcome != "ok"
        else LatencyPoint(start, latency, outcome, f)
        for start, latency, outcome, f, node, error in kept
    ]


def throughput(
    completions: Sequence[tuple[int, str]], end_ns: int, max_bins: int = MAX_BINS
) -> Throughput:
    """Completions ``(time ns, outcome)`` per second by outcome, up to ``end_ns``."""
    end_s = max(end_ns / _NS, 1.0)
    width = max(1.0, float(math.ceil(end_s / max_bins)))
    nbins = int(end_s // width) + 1
    counts = {outcome: [0] * nbins for outcome in OUTCOMES}
    for time, outcome in completions:
        i = min(int(time / _NS // width), nbins - 1)
        counts[outcome][i] += 1
    return Throughput(width, {o: [c / width for c in by_bin] for o, by_bin in counts.items()})


def check_performance(
    ops: Sequence[Op], max_points: int = MAX_POINTS, max_bins: int = MAX_BINS
) -> PerformanceResult:
    """Latency and throughput of a history's client operations."""
    outcomes: dict[str, dict[str, int]] = {}
    latencies: dict[str, list[int]] = {}
    rows: list[_Row] = []
    completions: list[tuple[int, str]] = []
    for pair in pair_ops(op for op in ops if op.is_client):
        inv, done = pair.invoke, pair.complete
        kind = done.type if done is not None else "pending"
        by = outcomes.setdefault(inv.f, {})
        by[kind] = by.get(kind, 0) + 1
        if done is None:
            continue
        latency = done.time - inv.time
        completions.append((done.time, kind))
        if kind == "ok":
            latencies.setdefault(inv.f, []).append(latency)
        rows.append((inv.time, latency, kind, inv.f, done.node, done.error))
    rows.sort(key=lambda r: r[0])
    end = max((op.time for op in ops), default=0)
    done_count = len(completions)
    total = sum(sum(by.values()) for by in outcomes.values())
    ok = sum(by.get("ok", 0) for by in outcomes.values())
    all_ok = sorted(lat for lats in latencies.values() for lat in lats)
    median = quantiles(all_ok, (0.5,)).get("0.5")
    summary = f"{total} operations, {ok} ok, {done_count - ok} fail/info, " + (
        f"median ok latency {median / 1e6:.1f} ms" if median is not None else "none ok"
    )
    return PerformanceResult(
        verdict=Verdict.VALID if done_count else Verdict.UNKNOWN,
        summary=summary,
        outcomes={f: dict(sorted(by.items())) for f, by in sorted(outcomes.items())},
        latency_quantiles={f: quantiles(v, LATENCY_POINTS) for f, v in sorted(latencies.items())},
        latency_points=sample_points(rows, max_points),
        completed=done_count,
        throughput=throughput(completions, end, max_bins),
    )


def check(history: Sequence[Op | dict[str, Any]]) -> PerformanceResult:
    """Run-directory entry point: the history as ops or decoded JSONL lines."""
    return check_performance(as_ops(history))
