"""Availability: when did nothing succeed, which fault caused it, how long did failover take.

**Windows**: stretches longer than ``threshold_ns`` (default 1 s) without an
``ok`` completion, from the test's first invocation to its last entry. Each
is matched to the fault that overlapped it (the earliest such), else the
latest fault that ended before it.

**Failovers**: each change of leader. With ``roles.jsonl`` samples, a change
is the first ``leader`` claim of a server after another server's claims; without
them, a change of the server answering ``ok`` ops. A failover starts at the
start of the fault in progress when the old leader was last seen leading (or
that last sighting, if no fault was in progress), and ends with the first
``ok`` op answered by the new leader.

A failover is **planned** when the fault that caused it is a planned
operation (a switchover or rolling restart: its name is in
:data:`PLANNED_FAULTS` or its ``nemesis.jsonl`` detail says ``"planned": true``);
every other failover is unplanned. A fault that reports the switchovers the
agency recorded (``"switchovers"``, from ``Target/Switchovers``) makes only the
leader changes to those epochs planned.

Availability is measured, not promised: the verdict is ``True`` unless the
history has no ``ok`` op at all (``unknown``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.checkers.base import FaultWindow, RoleSample, as_ops, fault_windows, role_samples
from harness.checkers.result import (
    TypedResult,
    Verdict,
    as_int,
    as_map,
    opt_int,
    parse_list,
    text,
)
from harness.core.history import Op

NAME = "availability"
DEFAULT_THRESHOLD_NS = 1_000_000_000
PLANNED_FAULTS = frozenset({"switchover", "rolling-restart", "restart-rolling"})


@dataclass(frozen=True)
class UnavailableWindow:
    """A stretch without an ``ok`` completion, and the fault matched to it."""

    start: int
    end: int
    fault: FaultWindow | None

    @property
    def duration_ns(self) -> int:
        return self.end - self.start

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "duration_ns": self.duration_ns,
            "fault": self.fault.to_json() if self.fault is not None else None,
        }

    @classmethod
    def from_json(cls, value: Any) -> UnavailableWindow | None:
        data = as_map(value)
        start, end = opt_int(data.get("start")), opt_int(data.get("end"))
        if start is None or end is None:
            return None
        return cls(start, end, FaultWindow.from_json(data.get("fault")))


@dataclass(frozen=True)
class Failover:
    """Leadership moving from ``old`` to ``new``: from the fault (or the old leader's last
    sighting) to the first ``ok`` answered by the new leader (None: it never answered)."""

    old: str
    new: str
    start: int
    end: int | None
    fault: FaultWindow | None
    planned: bool = False
    epoch: int | None = None  # the new leader's epoch, when roles.jsonl records epochs

    @property
    def duration_ns(self) -> int | None:
        return self.end - self.start if self.end is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "start": self.start,
            "end": self.end,
            "duration_ns": self.duration_ns,
            "fault": self.fault.to_json() if self.fault is not None else None,
            "planned": self.planned,
            "epoch": self.epoch,
        }

    @classmethod
    def from_json(cls, value: Any) -> Failover | None:
        data = as_map(value)
        start = opt_int(data.get("start"))
        if start is None:
            return None
        return cls(
            old=text(data.get("from")) or "?",
            new=text(data.get("to")) or "?",
            start=start,
            end=opt_int(data.get("end")),
            fault=FaultWindow.from_json(data.get("fault")),
            planned=data.get("planned") is True,
            epoch=opt_int(data.get("epoch")),
        )


@dataclass(kw_only=True, repr=False)
class AvailabilityResult(TypedResult):
    """Windows without a successful op, and failovers (one definition: :func:`failovers`)."""

    NAME: ClassVar[str] = NAME
    windows: list[UnavailableWindow] = field(default_factory=list)
    failovers: list[Failover] = field(default_factory=list)
    threshold_ns: int = DEFAULT_THRESHOLD_NS

    @property
    def longest_unavailable_ns(self) -> int:
        return max((w.duration_ns for w in self.windows), default=0)

    @property
    def unplanned_failovers(self) -> list[Failover]:
        return [f for f in self.failovers if not f.planned]

    def evidence_json(self) -> dict[str, Any]:
        return {
            "windows": [w.to_json() for w in self.windows],
            "failovers": [f.to_json() for f in self.failovers],
            "failover-count": len(self.failovers),
            "unplanned-failover-count": len(self.unplanned_failovers),
            "longest-unavailable-ns": self.longest_unavailable_ns,
            "threshold-ns": self.threshold_ns,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AvailabilityResult:
        return cls(
            verdict=Verdict.of(data.get("valid")),
            summary=text(data.get("summary")),
            windows=parse_list(data.get("windows"), UnavailableWindow.from_json),
            failovers=parse_list(data.get("failovers"), Failover.from_json),
            threshold_ns=as_int(data.get("threshold-ns"), DEFAULT_THRESHOLD_NS),
        )


def unavailable_windows(
    ops: Sequence[Op], faults: Sequence[FaultWindow], threshold_ns: int = DEFAULT_THRESHOLD_NS
) -> list[UnavailableWindow]:
    """Gaps between successive ``ok`` completions (and the test's edges) over the threshold."""
    client = [op for op in ops if op.is_client]
    if not client:
        return []
    first = min(op.time for op in client if op.type == "invoke") if client else 0
    last = max(op.time for op in client)
    oks = sorted(op.time for op in client if op.type == "ok")
    edges = [first, *oks, last]
    return [
        UnavailableWindow(start, end, _cause(faults, start, end))
        for start, end in zip(edges, edges[1:], strict=False)
        if end - start > threshold_ns
    ]


def _cause(faults: Sequence[FaultWindow], start: int, end: int) -> FaultWindow | None:
    overlapping = [f for f in faults if f.start < end and (f.end is None or f.end > start)]
    if overlapping:
        return min(overlapping, key=lambda f: f.start)
    before = [f for f in faults if f.end is not None and f.end <= start]
    return max(before, key=lambda f: f.end or 0) if before else None


def _leader_changes(
    ops: Sequence[Op], samples: Sequence[RoleSample]
) -> list[tuple[str, str, int, int, int | None]]:
    """``(old, new, old last seen leading, new first seen leading, new epoch)`` per change.

    With epochs in the role samples, leadership moves only to a claim of a
    higher epoch: a deposed leader that still claims its old epoch (a fenced
    claim, shown separately by split-brain) is not a change back.
    """
    sightings: list[tuple[int, str, int | None]]
    if samples:
        sightings = [(s.time, s.node, s.epoch) for s in samples if s.role == "leader"]
    else:
        sightings = [
            (op.time, op.node, None)
            for op in ops
            if op.is_client and op.type == "ok" and op.node is not None
        ]
    sightings.sort(key=lambda s: s[0])
    changes: list[tuple[str, str, int, int, int | None]] = []
    current: str | None = None
    current_epoch: int | None = None
    last_seen = 0
    for time, node, epoch in sightings:
        if node == current:
            last_seen = time
            current_epoch = epoch if epoch is not None else current_epoch
            continue
        if current is not None and epoch is not None and current_epoch is not None:
            if epoch <= current_epoch:
                continue  # a stale claim of an older (or the same) epoch
        if current is not None:
            changes.append((current, node, last_seen, time, epoch))
        current, current_epoch, last_seen = node, epoch, time
    return changes


def is_planned(fault: FaultWindow | None, epoch: int | None = None) -> bool:
    """A switchover or rolling restart (by name, or ``"planned": true`` in its detail).

    When the fault reports the switchovers the agency recorded during it
    (``"switchovers": [{"epoch": n, ...}]`` in its detail) and the leader
    change's epoch is known, only a change to one of those epochs is planned:
    a failover by supervision inside the window stays unplanned.
    """
    if fault is None:
        return False
    recorded = fault.detail.get("switchovers")
    if isinstance(recorded, list) and epoch is not None:
        return epoch in {s.get("epoch") for s in recorded if isinstance(s, dict)}
    return fault.fault in PLANNED_FAULTS or fault.detail.get("planned") is True


def failovers(
    ops: Sequence[Op], faults: Sequence[FaultWindow], samples: Sequence[RoleSample]
) -> list[Failover]:
    """Failover durations: from the fault (or last sighting of the old leader) to the first
    ``ok`` answered by the new leader."""
    ok_by_node: dict[str, list[int]] = {}
    for op in ops:
        if op.is_client and op.type == "ok" and op.node is not None:
            ok_by_node.setdefault(op.node, []).append(op.time)
    for times in ok_by_node.values():
        times.sort()
    out: list[Failover] = []
    for old, new, old_seen, new_seen, epoch in _leader_changes(ops, samples):
        in_progress = [
            f for f in faults if f.start <= old_seen and (f.end is None or f.end >= old_seen)
        ]
        recent = [f for f in faults if old_seen <= f.start <= new_seen]
        cause = max(in_progress, key=lambda f: f.start) if in_progress else None
        if cause is None and recent:
            cause = min(recent, key=lambda f: f.start)
        start = cause.start if cause is not None else old_seen
        times = ok_by_node.get(new, [])
        k = bisect.bisect_left(times, max(start, new_seen) if samples else new_seen)
        end = times[k] if k < len(times) else None
        out.append(Failover(old, new, start, end, cause, is_planned(cause, epoch), epoch))
    return out


def check_availability(
    ops: Sequence[Op],
    faults: Sequence[FaultWindow] = (),
    roles: Sequence[RoleSample] = (),
    threshold_ns: int = DEFAULT_THRESHOLD_NS,
) -> AvailabilityResult:
    """Measure unavailability windows and failover durations."""
    windows = unavailable_windows(ops, faults, threshold_ns)
    moves = failovers(ops, faults, roles)
    longest = max((w.duration_ns for w in windows), default=0)
    has_ok = any(op.is_client and op.type == "ok" for op in ops)
    durations = [m.duration_ns for m in moves if m.duration_ns is not None]
    planned = sum(1 for m in moves if m.planned)
    summary = (
        f"{len(windows)} windows over {threshold_ns / 1e9:g} s without a successful op "
        f"(longest {longest / 1e9:.2f} s); {len(moves)} failovers"
        + (f" ({planned} planned)" if planned else "")
        + (f" (longest {max(durations) / 1e9:.2f} s)" if durations else "")
    )
    return AvailabilityResult(
        verdict=Verdict.VALID if has_ok else Verdict.UNKNOWN,
        summary=summary,
        windows=windows,
        failovers=moves,
        threshold_ns=threshold_ns,
    )


def check(
    history: Sequence[Op | dict[str, Any]],
    roles: Iterable[dict[str, Any]] = (),
    nemesis: Iterable[dict[str, Any]] = (),
    threshold_ns: int = DEFAULT_THRESHOLD_NS,
) -> AvailabilityResult:
    """Run-directory entry point: history, ``roles.jsonl`` and ``nemesis.jsonl`` lines."""
    ops = as_ops(history)
    events = list(nemesis) or [op.to_dict() for op in ops if op.process == "nemesis"]
    return check_availability(ops, fault_windows(events), role_samples(roles), threshold_ns)
