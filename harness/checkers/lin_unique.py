"""Registers whose writes all have distinct values: decided in O(n log n).

When every write of a key writes a value no other write writes (and none
writes the initial ``nil``), each read names the write it saw, so the ops
fall into *clusters*: one write and the reads of its value (the initial
value's cluster has a virtual write before everything). Gibbons and Korach
(1997) show such a read/write history is linearizable iff no read precedes
its write and the clusters' *zones* are compatible. For a cluster, let ``f``
be the earliest completion and ``s`` the latest invocation of its ops: when
``f < s`` the cluster spans at least ``[f, s]`` (a forward zone), otherwise
all its ops can take effect at one instant in ``[s, f]`` (a backward zone).
Two forward zones may not overlap (each cluster would have to come before the
other) and a backward zone may not lie inside a forward zone. Elle infers
version orders from the same facts.

Valid answers come with a witness: the linearization built from the zones
(forward clusters in zone order, each backward cluster at an instant outside
every forward zone), replayed (each read against the value written last) before it
is believed.
Invalid answers name the two clusters that must each precede the other, or
the read with no matching write. A key with a cas, a repeated value or a
write of ``nil`` is not handled here (``None``): the search decides it.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from dataclasses import dataclass, field

from harness.checkers.lin_prepare import NEVER, Call
from harness.checkers.models import Model

_INIT = -1  # the initial value's virtual write: invoked and completed before everything


@dataclass
class UniqueOutcome:
    """The fast path's verdict; for ``False``, the conflicting ops (ids) and why."""

    valid: bool
    reason: str = ""
    ops: list[int] = field(default_factory=list)
    blocked: int | None = None


@dataclass
class _Cluster:
    value: Hashable
    writer: int  # op id, or _INIT
    members: list[int] = field(default_factory=list)  # reads (op ids)
    f: float = 0.0  # earliest completion
    s: float = 0.0  # latest invocation
    f_op: int = _INIT
    s_op: int = _INIT


def applies(calls: list[Call]) -> bool:
    """Whether a key's ops are reads and writes with distinct, non-nil written values."""
    written: set[Hashable] = set()
    for c in calls:
        if c.f == "write":
            if c.frozen is None or c.frozen in written:
                return False
            written.add(c.frozen)
        elif c.f != "read":
            return False
    return True


def check_unique(model: Model, calls: list[Call]) -> UniqueOutcome | None:
    """Decide one key by zones; ``None`` if the key is not a unique-value read/write one."""
    if not applies(calls):
        return None
    clusters: dict[Hashable, _Cluster] = {None: _Cluster(None, _INIT)}
    for i, c in enumerate(calls):
        if c.f == "write":
            clusters[c.frozen] = _Cluster(c.frozen, i)
    for i, c in enumerate(calls):
        if c.f != "read":
            continue
        cl = clusters.get(c.frozen)
        if cl is None:
            return UniqueOutcome(False, f"read {c.frozen!r}: no write wrote that value", [i], i)
        if cl.writer != _INIT and c.ret < calls[cl.writer].call:
            w = cl.writer
            return UniqueOutcome(
                False, f"read {c.frozen!r} completed before the write of it began", [w, i], i
            )
        cl.members.append(i)
    forward: list[_Cluster] = []
    backward: list[_Cluster] = []
    for cl in clusters.values():
        ops = ([cl.writer] if cl.writer != _INIT else []) + cl.members
        f, s = float(NEVER), float(_INIT)
        f_op = s_op = _INIT
        if cl.writer == _INIT:
            f, s = float(_INIT), float(_INIT)
        for i in ops:
            c = calls[i]
            if c.ret < f:
                f, f_op = float(c.ret), i
            if c.call > s:
                s, s_op = float(c.call), i
        cl.f, cl.s, cl.f_op, cl.s_op = f, s, f_op, s_op
        if cl.writer == _INIT and not cl.members:
            continue
        (forward if f < s else backward).append(cl)
    forward.sort(key=lambda z: z.f)
    for a, b in zip(forward, forward[1:], strict=False):
        if b.f < a.s:
            return _conflict(calls, a, b, "their forward zones overlap")
    starts = [z.f for z in forward]
    placed: list[tuple[float, int, int, int]] = []  # (instant, cluster rank, 0 write / 1 read, op)
    for rank, z in enumerate(forward):
        if z.writer != _INIT:
            placed.append((z.f, rank, 0, z.writer))
        for i in z.members:
            placed.append((max(float(calls[i].call), z.f), rank, 1, i))
    for rank, z in enumerate(backward, start=len(forward)):
        t = z.s + 0.5
        k = bisect.bisect_right(starts, z.s) - 1
        if k >= 0 and forward[k].s > z.s:  # z.s lies inside forward zone k
            t = forward[k].s + 0.5
            if t > z.f:
                return _conflict(calls, forward[k], z, "the second lies inside the first's zone")
        placed.append((t, rank, 0, z.writer))
        for i in z.members:
            placed.append((t, rank, 1, i))
    placed.sort()
    if _replay([p[3] for p in placed], calls):
        return UniqueOutcome(True)
    return None  # the construction did not hold up: let the search decide


def _replay(order: list[int], calls: list[Call]) -> bool:
    """Whether the order is a legal register history (``replay`` for reads and writes
    only, on the frozen values: the hot end of the fast path)."""
    state: Hashable = None
    for i in order:
        c = calls[i]
        if c.f == "write":
            state = c.frozen
        elif c.frozen != state:
            return False
    return True


def _conflict(calls: list[Call], a: _Cluster, b: _Cluster, why: str) -> UniqueOutcome:
    ids = sorted({i for i in (a.writer, a.f_op, a.s_op, b.writer, b.f_op, b.s_op) if i >= 0})
    va = "nil" if a.value is None else repr(a.value)
    vb = "nil" if b.value is None else repr(b.value)
    reason = (
        f"value {va} and value {vb} must each come before the other ({why}): an op on {va} "
        f"completed {_end(calls, a.f_op)} before one on {vb} began {_start(calls, b.s_op)}, "
        f"and an op on {vb} completed {_end(calls, b.f_op)} before one on {va} began "
        f"{_start(calls, a.s_op)}"
    )
    blocked = max((i for i in ids if calls[i].f == "read"), default=ids[-1] if ids else None)
    return UniqueOutcome(False, reason, ids, blocked)


def _end(calls: list[Call], i: int) -> str:
    """Where an op completed; ``i < 0`` is the initial state, there from the start."""
    return "(the initial state)" if i < 0 else f"(index {calls[i].ret})"


def _start(calls: list[Call], i: int) -> str:
    return "(the initial state)" if i < 0 else f"(index {calls[i].call})"
