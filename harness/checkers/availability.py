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

Availability is measured, not promised: the verdict is ``True`` unless the
history has no ``ok`` op at all (``unknown``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Any

from harness.checkers.base import (
    UNKNOWN,
    CheckResult,
    FaultWindow,
    RoleSample,
    Validity,
    as_ops,
    fault_windows,
    role_samples,
)
from harness.core.history import Op

NAME = "availability"
DEFAULT_THRESHOLD_NS = 1_000_000_000


def unavailable_windows(
    ops: Sequence[Op], faults: Sequence[FaultWindow], threshold_ns: int = DEFAULT_THRESHOLD_NS
) -> list[dict[str, Any]]:
    """Gaps between successive ``ok`` completions (and the test's edges) over the threshold."""
    client = [op for op in ops if op.is_client]
    if not client:
        return []
    first = min(op.time for op in client if op.type == "invoke") if client else 0
    last = max(op.time for op in client)
    oks = sorted(op.time for op in client if op.type == "ok")
    edges = [first, *oks, last]
    windows: list[dict[str, Any]] = []
    for start, end in zip(edges, edges[1:], strict=False):
        if end - start > threshold_ns:
            fault = _cause(faults, start, end)
            windows.append(
                {
                    "start": start,
                    "end": end,
                    "duration_ns": end - start,
                    "fault": fault.to_json() if fault is not None else None,
                }
            )
    return windows


def _cause(faults: Sequence[FaultWindow], start: int, end: int) -> FaultWindow | None:
    overlapping = [f for f in faults if f.start < end and (f.end is None or f.end > start)]
    if overlapping:
        return min(overlapping, key=lambda f: f.start)
    before = [f for f in faults if f.end is not None and f.end <= start]
    return max(before, key=lambda f: f.end or 0) if before else None


def _leader_changes(
    ops: Sequence[Op], samples: Sequence[RoleSample]
) -> list[tuple[str, str, int, int]]:
    """``(old, new, old last seen leading, new first seen leading)`` per change.

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
    changes: list[tuple[str, str, int, int]] = []
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
            changes.append((current, node, last_seen, time))
        current, current_epoch, last_seen = node, epoch, time
    return changes


def failovers(
    ops: Sequence[Op], faults: Sequence[FaultWindow], samples: Sequence[RoleSample]
) -> list[dict[str, Any]]:
    """Failover durations: from the fault (or last sighting of the old leader) to the first
    ``ok`` answered by the new leader."""
    ok_by_node: dict[str, list[int]] = {}
    for op in ops:
        if op.is_client and op.type == "ok" and op.node is not None:
            ok_by_node.setdefault(op.node, []).append(op.time)
    for times in ok_by_node.values():
        times.sort()
    out: list[dict[str, Any]] = []
    for old, new, old_seen, new_seen in _leader_changes(ops, samples):
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
        out.append(
            {
                "from": old,
                "to": new,
                "start": start,
                "end": end,
                "duration_ns": end - start if end is not None else None,
                "fault": cause.to_json() if cause is not None else None,
            }
        )
    return out


def check_availability(
    ops: Sequence[Op],
    faults: Sequence[FaultWindow] = (),
    roles: Sequence[RoleSample] = (),
    threshold_ns: int = DEFAULT_THRESHOLD_NS,
) -> CheckResult:
    """Measure unavailability windows and failover durations."""
    windows = unavailable_windows(ops, faults, threshold_ns)
    moves = failovers(ops, faults, roles)
    longest = max((w["duration_ns"] for w in windows), default=0)
    has_ok = any(op.is_client and op.type == "ok" for op in ops)
    valid: Validity = True if has_ok else UNKNOWN
    durations = [m["duration_ns"] for m in moves if m["duration_ns"] is not None]
    summary = (
        f"{len(windows)} windows over {threshold_ns / 1e9:g} s without a successful op "
        f"(longest {longest / 1e9:.2f} s); {len(moves)} failovers"
        + (f" (longest {max(durations) / 1e9:.2f} s)" if durations else "")
    )
    evidence: dict[str, Any] = {
        "windows": windows,
        "failovers": moves,
        "longest-unavailable-ns": longest,
        "threshold-ns": threshold_ns,
    }
    return CheckResult(NAME, valid, summary, evidence)


def check(
    history: Sequence[Op | dict[str, Any]],
    roles: Iterable[dict[str, Any]] = (),
    nemesis: Iterable[dict[str, Any]] = (),
    threshold_ns: int = DEFAULT_THRESHOLD_NS,
) -> CheckResult:
    """Run-directory entry point: history, ``roles.jsonl`` and ``nemesis.jsonl`` lines."""
    ops = as_ops(history)
    events = list(nemesis) or [op.to_dict() for op in ops if op.process == "nemesis"]
    return check_availability(ops, fault_windows(events), role_samples(roles), threshold_ns)
