"""Jepsen's ``set-full`` analysis: what happened to every element added to a set.

For each element we find (as Jepsen's ``checker/set-full`` does, comparing
history indices):

- *known*: the add's ``ok`` completion or the completion of the first read
  that saw it, whichever comes first;
- *last present*: the latest-invoked ``ok`` read that saw it;
- *last absent*: the latest-invoked ``ok`` read that did not.

Only reads completing after the add's invocation count. An element is
**stable** if it was last seen by a read invoked after every read that missed
it; **lost** if it is known and the latest read that missed it was invoked
after both its last sighting and the moment it became known; otherwise it is
**never read**. A stable element is **stale** when its stable latency (from
known to just after the last miss) is at least 1 ms (Jepsen truncates to ms).

Beyond Jepsen's set-full we also report **recovered** elements (the add ended
``info``/``fail`` or never completed, yet a read saw it), **unexpected** ones
(read but never added) and **duplicated** ones (seen more than once in one
read, with the largest multiplicity). Valid iff nothing is lost, unexpected or
duplicated (and, with ``linearizable=True``, nothing is stale); ``unknown``
when no element is stable.

With ``generation_size`` G > 0 (the set workload's generations) element n
belongs to generation n // G, and a read whose invocation value is a
generation's number saw that generation only: it is evidence for that
generation's elements and says nothing of the others. A read invoked with
``None`` saw the whole set.

The work is a handful of set operations per read, so a million-op history
with full reads is checked in seconds: no per-read loop over all elements in
Python.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import filterfalse
from typing import Any

from harness.checkers.base import FaultWindow, as_ops, fault_windows, quantiles
from harness.checkers.result import Verdict
from harness.checkers.set_full_result import NAME, LostElement, SetFullResult, StaleElement
from harness.core.history import Op

__all__ = ["NAME", "LostElement", "SetFullResult", "StaleElement", "check", "check_set_full"]
LATENCY_POINTS = (0, 0.5, 0.95, 0.99, 1)
_NS_PER_MS = 1_000_000
_WORST_STALE = 8


@dataclass(slots=True)
class _Read:
    inv_index: int
    inv_time: int
    ok_index: int
    ok_time: int
    elements: set[Hashable]
    generation: int | None = None  # the one generation it read; None: the whole set


def _element(value: Any) -> Hashable:
    if isinstance(value, list):
        return tuple(_element(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _element(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]


def _sorted(items: Iterable[Any]) -> list[Any]:
    seq = list(items)
    try:
        return sorted(seq)
    except TypeError:
        return sorted(seq, key=repr)


def check_set_full(
    ops: Sequence[Op],
    faults: Sequence[FaultWindow] = (),
    linearizable: bool = False,
    add_f: str = "add",
    read_f: str = "read",
    generation_size: int = 0,
) -> SetFullResult:
    """Run the set-full analysis on a history (client ops; nemesis ops are ignored)."""
    add_inv: dict[Hashable, Op] = {}
    add_done: dict[Hashable, Op] = {}
    reads: list[_Read] = []
    duplicated: dict[Hashable, int] = {}
    open_ops: dict[int | str, Op] = {}

    for op in ops:
        if not op.is_client:
            continue
        if op.type == "invoke":
            open_ops[op.process] = op
            if op.f == add_f:
                e = _element(op.value)
                add_inv[e] = op
                add_done.pop(e, None)
            continue
        inv = open_ops.pop(op.process, None)
        if inv is None or inv.f != op.f:
            continue
        if op.f == add_f:
            e = _element(inv.value)
            if add_inv.get(e) is inv:
                add_done[e] = op
        elif op.f == read_f and op.type == "ok":
            values = op.value if isinstance(op.value, list | tuple | set | frozenset) else []
            try:
                elements = values if isinstance(values, list) else list(values)
                seen = set(elements)
            except TypeError:  # unhashable elements (lists, maps): compare them as tuples
                elements = [_element(v) for v in values]
                seen = set(elements)
            if len(seen) != len(elements):
                for e, n in Counter(elements).items():
                    if n > 1 and n > duplicated.get(e, 0):
                        duplicated[e] = n
            generation = inv.value if generation_size and isinstance(inv.value, int) else None
            reads.append(_Read(inv.index, inv.time, op.index, op.time, seen, generation))

    attempted = set(add_inv)
    inv_index = {e: op.index for e, op in add_inv.items()}

    # first sighting: reads in completion order
    first_read: dict[Hashable, _Read] = {}
    unseen = set(attempted)
    unexpected: set[Hashable] = set()
    for r in sorted(reads, key=lambda r: r.ok_index):
        unexpected |= r.elements - attempted
        if not unseen:
            continue
        for e in unseen.intersection(r.elements):
            if inv_index[e] < r.ok_index:
                first_read[e] = r
                unseen.discard(e)

    # last sighting and last miss: reads from the latest invocation backwards
    by_inv_desc = sorted(reads, key=lambda r: r.inv_index, reverse=True)
    last_present: dict[Hashable, _Read] = {}
    unplaced = set(attempted)
    for r in by_inv_desc:
        if not unplaced:
            break
        for e in unplaced.intersection(r.elements):
            if inv_index[e] < r.ok_index:
                last_present[e] = r
                unplaced.discard(e)

    by_add = sorted(attempted, key=inv_index.__getitem__)
    scopes = _Scopes(by_add, inv_index, generation_size)
    last_absent: dict[Hashable, _Read] = {}
    for r in by_inv_desc:
        for e in filterfalse(r.elements.__contains__, scopes.added_before(r)):
            if e not in last_absent:
                last_absent[e] = r

    outcome = _Outcomes()
    for e in by_add:
        seen_first, present, absent = first_read.get(e), last_present.get(e), last_absent.get(e)
        _classify(e, add_done.get(e), seen_first, present, absent, outcome)

    lost_details = [
        _lost_detail(e, add_done.get(e), faults, last_absent[e], last_present.get(e))
        for e in outcome.lost
    ]
    recovered = [
        e
        for e in by_add
        if (add_done.get(e) is None or add_done[e].type != "ok") and e in first_read
    ]
    acknowledged = sum(1 for d in add_done.values() if d.type == "ok")

    verdict: Verdict
    if outcome.lost or unexpected or duplicated:
        verdict = Verdict.INVALID
    elif not outcome.stable:
        verdict = Verdict.UNKNOWN
    elif linearizable and outcome.stale:
        verdict = Verdict.INVALID
    else:
        verdict = Verdict.VALID

    worst = _bracket_stale(
        sorted(outcome.stale, key=lambda item: item[1], reverse=True)[:_WORST_STALE], reads
    )
    summary = (
        f"{len(attempted)} attempted, {acknowledged} acknowledged, {len(outcome.stable)} stable, "
        f"{len(outcome.lost)} lost, {len(outcome.stale)} stale, "
        f"{len(outcome.never_read)} never read, {len(recovered)} recovered, "
        f"{len(unexpected)} unexpected, {len(duplicated)} duplicated"
    )
    return SetFullResult(
        verdict=verdict,
        summary=summary,
        attempt_count=len(attempted),
        ok_count=acknowledged,
        stable_count=len(outcome.stable),
        read_count=len(reads),
        lost=_sorted(outcome.lost),
        lost_details=lost_details,
        stale=_sorted(e for e, *_ in outcome.stale),
        worst_stale=worst,
        never_read=_sorted(outcome.never_read),
        recovered=_sorted(recovered),
        unexpected=_sorted(unexpected),
        duplicated={str(k): v for k, v in sorted(duplicated.items(), key=repr)},
        stable_latencies=quantiles(outcome.stable_latencies, LATENCY_POINTS),
        lost_latencies=quantiles(outcome.lost_latencies, LATENCY_POINTS),
    )


def check(
    history: Sequence[Op | dict[str, Any]],
    nemesis: Iterable[dict[str, Any]] = (),
    linearizable: bool = False,
    generation_size: int = 0,
) -> SetFullResult:
    """Run-directory entry point: history and ``nemesis.jsonl`` lines as decoded JSON."""
    return check_set_full(
        as_ops(history),
        fault_windows(nemesis),
        linearizable=linearizable,
        generation_size=generation_size,
    )


class _Scopes:
    """The elements a read can speak for, in add-invocation order, by generation."""

    def __init__(
        self, by_add: list[Hashable], inv_index: dict[Hashable, int], generation_size: int
    ) -> None:
        self.inv_index = inv_index
        self.everything = (by_add, [inv_index[e] for e in by_add])
        self.generations: dict[int, tuple[list[Hashable], list[int]]] = {}
        if generation_size:
            for e in by_add:
                if isinstance(e, int):
                    members, positions = self.generations.setdefault(e // generation_size, ([], []))
                    members.append(e)
                    positions.append(inv_index[e])

    def added_before(self, r: _Read) -> list[Hashable]:
        """The elements of ``r``'s scope whose add was invoked before ``r`` completed."""
        if r.generation is None:
            members, positions = self.everything
        else:
            members, positions = self.generations.get(r.generation, ([], []))
        return members[: bisect.bisect_left(positions, r.ok_index)]


class _Outcomes:
    def __init__(self) -> None:
        self.stable: list[Hashable] = []
        self.lost: list[Hashable] = []
        self.never_read: list[Hashable] = []
        # (element, latency, index that made it known, last missing read's invocation)
        self.stale: list[tuple[Hashable, int, int | None, int | None]] = []
        self.stable_latencies: list[int] = []
        self.lost_latencies: list[int] = []


def _classify(
    e: Hashable,
    done: Op | None,
    first: _Read | None,
    present: _Read | None,
    absent: _Read | None,
    out: _Outcomes,
) -> None:
    # known: the add's ok or the first read that saw it, whichever completed first
    known_index: int | None = None
    known_time = 0
    if done is not None and done.type == "ok":
        known_index, known_time = done.index, done.time
    if first is not None and (known_index is None or first.ok_index < known_index):
        known_index = first.ok_index
        known_time = first.ok_time
    present_idx = present.inv_index if present is not None else -1
    absent_idx = absent.inv_index if absent is not None else -1
    if present is not None and absent_idx < present_idx:
        stable_time = absent.inv_time + 1 if absent is not None else 0
        latency = max(0, stable_time - known_time)
        out.stable.append(e)
        out.stable_latencies.append(latency)
        if latency // _NS_PER_MS > 0:
            out.stale.append((e, latency, known_index, absent.inv_index if absent else None))
    elif (
        known_index is not None
        and absent is not None
        and present_idx < absent_idx
        and known_index < absent_idx
    ):
        lost_time = present.inv_time + 1 if present is not None else 0
        out.lost.append(e)
        out.lost_latencies.append(max(0, lost_time - known_time))
    else:
        out.never_read.append(e)


def _bracket_stale(
    worst: list[tuple[Hashable, int, int | None, int | None]], reads: list[_Read]
) -> list[StaleElement]:
    """The stalest elements with the first read, after the last miss, that saw each."""
    ordered = sorted(reads, key=lambda r: r.inv_index)
    starts = [r.inv_index for r in ordered]
    out: list[StaleElement] = []
    for e, latency, known, missed in worst:
        after = bisect.bisect_right(starts, missed) if missed is not None else 0
        again = next((r.inv_index for r in ordered[after:] if e in r.elements), None)
        out.append(StaleElement(e, latency, known, missed, again))
    return out


def _lost_detail(
    e: Hashable,
    done: Op | None,
    faults: Sequence[FaultWindow],
    absent: _Read,
    present: _Read | None,
) -> LostElement:
    acked = done is not None and done.type == "ok"
    ack_time = done.time if acked and done is not None else None
    node = done.node if acked and done is not None else None
    since = ack_time if ack_time is not None else 0
    fault = next(
        (
            f
            for f in faults
            if (f.end is None or f.end >= since) and f.start <= max(absent.inv_time, since)
        ),
        None,
    )
    return LostElement(
        element=e,
        ack_time=ack_time,
        node=node,
        preceding_fault=fault,
        ack_index=done.index if acked and done is not None else None,
        last_seen=present.inv_index if present is not None else None,
        missed_by=absent.inv_index,
    )
