"""From a history to one list of operations per key, with what constrains nothing dropped.

P-compositionality: a history of independent keys (Jepsen ``[key, v]``
tuples) is linearizable iff each key's sub-history is, so each key is checked
on its own.

Dropped before any search, each step keeping the verdict:

- ``fail`` ops (they did not happen) and reads that did not complete ``ok``
  (their value is unknown, so they constrain nothing);
- **unobserved indeterminate writes**: an ``info`` op (or an invocation that
  never completed) whose only effect is to set the state to ``v``, when no
  remaining op needs state ``v`` (no read returns it, no cas expects it).
  Why: take any linearization containing it. Right after it the state is
  ``v``, and no op can be legal in state ``v`` except one that overwrites
  (a blind write) or nothing at all (the end), so removing it leaves a legal
  linearization; and an ``info`` op may always not take effect. The same holds
  for an ``info`` cas ``old -> new`` whose ``new`` nobody needs. Applied until
  nothing more can be dropped, since one drop can make another value unneeded.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from harness.checkers.models import IMPOSSIBLE, Model, freeze
from harness.core.history import Op, OpPair

NEVER = 1 << 62  # the return position of an op that may take effect at any later time


class HistoryShapeError(ValueError):
    """The history does not fit the model (unknown function, malformed value)."""


@dataclass(slots=True)
class Call:
    """One operation of one key: ``f(value)`` between positions ``call`` and ``ret``."""

    f: str
    value: Any
    call: int
    ret: int
    pair: OpPair
    frozen: Hashable = None

    @property
    def info(self) -> bool:
        return self.ret == NEVER


def is_keyed(pairs: Sequence[OpPair]) -> bool:
    """Whether values are Jepsen independent ``[key, v]`` tuples."""
    for pair in pairs:
        inv = pair.invoke
        v = inv.value
        if inv.f in ("read", "write") and isinstance(v, list | tuple) and len(v) == 2:
            return True
        if inv.f == "cas" and isinstance(v, list | tuple) and len(v) == 2:
            if isinstance(v[1], list | tuple) and len(v[1]) == 2:
                return True
    return False


def split_by_key(pairs: Sequence[OpPair], model: Model, keyed: bool) -> dict[Hashable, list[Call]]:
    """Per key, the ops that matter for the model (fail ops and non-ok reads dropped)."""
    by_key: dict[Hashable, list[Call]] = {}
    functions = model.functions
    for pair in pairs:
        inv, done = pair.invoke, pair.complete
        f = inv.f
        if f not in functions:
            raise HistoryShapeError(
                f"index {inv.index}: f {f!r} is not a {model.name} operation "
                f"({', '.join(sorted(functions))})"
            )
        kind = "info" if done is None else done.type
        if kind == "fail" or (f == "read" and kind != "ok"):
            continue
        key: Hashable = None
        if f == "read" or (f == "txn" and kind == "ok"):
            assert done is not None
            raw = done.value
        elif f == "txn":
            raw = _writes_only(inv.value)  # an info txn's reads are unknown
        else:
            raw = inv.value
        if keyed:
            if raw.__class__ is list and len(raw) == 2:
                key, raw = raw
                if key.__class__ is not int:
                    key = freeze(key)
            else:
                key, raw = _unkey(inv, raw)
        frozen = raw if raw is None or raw.__class__ is int else freeze(raw)
        ret = done.index if kind == "ok" and done is not None else NEVER
        calls = by_key.get(key)
        if calls is None:
            calls = by_key[key] = []
        calls.append(Call(f, raw, inv.index, ret, pair, frozen))
    by_call = attrgetter("call")
    for calls in by_key.values():
        calls.sort(key=by_call)
    return by_key


def _writes_only(txn: Any) -> Any:
    if not isinstance(txn, list | tuple):
        return txn
    return [m for m in txn if not (isinstance(m, list | tuple) and m and m[0] == "r")]


def _unkey(inv: Op, raw: Any) -> tuple[Hashable, Any]:
    inv_key = inv.value[0] if isinstance(inv.value, list | tuple) and inv.value else None
    if isinstance(raw, list | tuple) and len(raw) == 2:
        return freeze(raw[0]), raw[1]
    if inv.f == "read" and inv_key is not None:
        return freeze(inv_key), raw  # a completion carrying the bare value
    raise HistoryShapeError(f"index {inv.index}: expected a [key, value] tuple, got {raw!r}")


def drop_unobserved(model: Model, calls: list[Call]) -> tuple[list[Call], list[Call]]:
    """``(kept, dropped)``: ``info`` ops whose resulting state no remaining op needs removed."""
    kept = calls
    dropped: list[Call] = []
    if all(c.ret != NEVER for c in calls):
        return kept, dropped  # no indeterminate op: nothing to drop
    while True:
        needed: dict[Hashable, int] = {}
        for c in kept:
            need = model.requires(c.f, c.value)
            if need is not IMPOSSIBLE:
                needed[need] = needed.get(need, 0) + 1
        keep: list[Call] = []
        for c in kept:
            if c.ret == NEVER:
                made = model.produces(c.f, c.value)
                need = model.requires(c.f, c.value)
                # needed by another op (an op needing what it makes itself changes nothing)
                others = needed.get(made, 0) - (1 if need == made else 0)
                if made is not IMPOSSIBLE and others == 0:
                    dropped.append(c)
                    continue
            keep.append(c)
        if len(keep) == len(kept):
            return kept, dropped
        kept = keep
