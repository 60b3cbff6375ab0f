"""A total queue, as Jepsen's ``total-queue`` checker: nothing lost, nothing made up, once each.

Ops: ``enqueue v`` and ``dequeue`` (``ok`` with the value taken; ``fail``
when the queue was empty), optionally ``drain`` (``ok`` with the list of every
value left). Every value is enqueued at most once. After a final drain:

- **lost**: acknowledged (``ok``) enqueues never dequeued;
- **unexpected**: dequeued values nobody tried to enqueue;
- **duplicated**: values dequeued more than once;
- **recovered**: ``info`` enqueues that were dequeued after all (fine).

Valid iff nothing is lost, unexpected or duplicated. Each lost, unexpected or
duplicated value comes with the operations that bracket it (its enqueue, its
dequeues), so a person can look them up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

from harness.checkers.base import CheckResult, Validity
from harness.checkers.models import freeze
from harness.core.history import Op, pair_ops

NAME = "queue"


def _brief(op: Op | None) -> dict[str, Any] | None:
    if op is None:
        return None
    return {"index": op.index, "process": op.process, "type": op.type, "time": op.time}


def check_queue(ops: Sequence[Op]) -> CheckResult:
    """Jepsen's total-queue analysis of one history."""
    attempted: dict[Hashable, Op] = {}
    acknowledged: dict[Hashable, Op] = {}
    dequeued: Counter[Hashable] = Counter()
    taken_by: dict[Hashable, list[Op]] = {}
    drained = False
    for pair in pair_ops(ops):
        inv, done = pair.invoke, pair.complete
        kind = pair.type
        if inv.f == "enqueue":
            v = freeze(inv.value)
            attempted.setdefault(v, inv)
            if kind == "ok" and done is not None:
                acknowledged[v] = done
        elif inv.f in ("dequeue", "drain") and kind == "ok" and done is not None:
            values = done.value if inv.f == "drain" else [done.value]
            drained = drained or inv.f == "drain"
            for value in values if isinstance(values, list) else [values]:
                if value is None and inv.f == "dequeue":
                    continue
                v = freeze(value)
                dequeued[v] += 1
                taken_by.setdefault(v, []).append(done)
    lost = [v for v in acknowledged if v not in dequeued]
    unexpected = [v for v in dequeued if v not in attempted]
    duplicated = {v: n for v, n in dequeued.items() if n > 1}
    recovered = [v for v in attempted if v not in acknowledged and v in dequeued]
    valid: Validity = not (lost or unexpected or duplicated)
    details: list[dict[str, Any]] = []
    for kind, values in (("lost", lost), ("unexpected", unexpected), ("duplicated", duplicated)):
        for v in list(values)[:100]:
            details.append(
                {
                    "kind": kind,
                    "value": v,
                    "enqueue": _brief(attempted.get(v)),
                    "acknowledged": _brief(acknowledged.get(v)),
                    "dequeues": [_brief(o) for o in taken_by.get(v, [])],
                }
            )
    if valid:
        summary = (
            f"{len(acknowledged)} acknowledged enqueues, each dequeued once"
            f"{'' if drained else ' (no final drain: lost values cannot be told)'}"
        )
    else:
        summary = (
            f"{len(lost)} lost, {len(unexpected)} unexpected, {len(duplicated)} duplicated "
            f"of {len(attempted)} enqueued"
        )
    return CheckResult(
        NAME,
        valid,
        summary,
        {
            "attempt-count": len(attempted),
            "acknowledged-count": len(acknowledged),
            "dequeued-count": sum(dequeued.values()),
            "lost": lost,
            "unexpected": unexpected,
            "duplicated": duplicated,
            "recovered": recovered,
            "drained": drained,
            "details": details,
        },
    )
