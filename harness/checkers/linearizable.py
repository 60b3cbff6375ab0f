"""Linearizability: a Wing-Gong-Lowe search with P-compositionality and a memo.

The history is split per key (Jepsen "independent" ``[key, v]`` values) and
each key is searched on its own: a history is linearizable iff every key's
sub-history is. For one key, the search walks the ops in real-time order: at
each step the candidates are the not yet linearized ops invoked before the
earliest pending return; one is applied to the model and the search goes on,
backtracking when the op that must complete next cannot. Visited
configurations ``(linearized ops as a bitset, model state)`` are memoised,
so each is explored once; a configuration is also skipped when one with the
same completed ops and state, using only a subset of its ``info`` ops, was
explored (it could do everything this one can). Before searching, a cheap
pass rejects any completed op whose required state (a read's value, a cas'
expected value) nothing invoked before its completion could produce.

``ok`` ops must take effect between invocation and completion; ``fail`` ops
never happened and are dropped; ``info`` ops (and invocations that never
completed) may take effect at any time after their invocation, or never:
their return is infinitely late, so they never block the search. An ``info``
read constrains nothing and is dropped. Two sound prunings keep ``info`` ops
cheap: an ``info`` op is tried only if it changes the state, only after the
completed candidates, and only the earliest of several identical pending
``info`` ops is tried (they are interchangeable); an ``info`` blind write may
not be followed directly by another blind write (it would be invisible, the
same as never happening).

On failure the result names the key, the op that could not take effect at
the deepest point the search reached, the model states it could be in there,
and the window of ops concurrent with it.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import UNKNOWN, CheckResult, Validity, as_ops
from harness.checkers.models import IMPOSSIBLE, Model, get_model
from harness.core.history import Op, OpPair, pair_ops

NAME = "linearizable"
NEVER = 1 << 62  # the return position of an op that may take effect at any later time
DEFAULT_MAX_STATES = 2_000_000
_WINDOW_CAP = 40
_FRONTIER_STATES = 8


class HistoryShapeError(ValueError):
    """The history does not fit the model (unknown function, malformed value)."""


@dataclass(slots=True)
class _Call:
    f: str
    value: Any
    call: int
    ret: int
    pair: OpPair
    mask: int = 0
    info: bool = False
    overwrite: bool = False
    signature: Hashable = None


@dataclass
class KeyOutcome:
    """The search result for one key."""

    key: Any
    valid: Validity
    states: int
    explanation: str = ""
    window: list[dict[str, Any]] | None = None


def _freeze(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value  # type: ignore[no-any-return]


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


def split_by_key(pairs: Sequence[OpPair], model: Model, keyed: bool) -> dict[Hashable, list[_Call]]:
    """Per key, the ops that matter for the model (fail and info reads dropped)."""
    by_key: dict[Hashable, list[_Call]] = {}
    for pair in pairs:
        inv, done = pair.invoke, pair.complete
        if inv.f not in model.functions:
            raise HistoryShapeError(
                f"index {inv.index}: f {inv.f!r} is not a {model.name} operation "
                f"({', '.join(sorted(model.functions))})"
            )
        kind = pair.type
        if kind == "fail" or (inv.f == "read" and kind != "ok"):
            continue
        key: Hashable = None
        if inv.f == "read":
            assert done is not None
            raw = done.value
        else:
            raw = inv.value
        if keyed:
            key, raw = _unkey(inv, raw)
        call = _Call(
            f=inv.f,
            value=raw,
            call=inv.index,
            ret=done.index if kind == "ok" and done is not None else NEVER,
            pair=pair,
        )
        by_key.setdefault(key, []).append(call)
    return by_key


def _unkey(inv: Op, raw: Any) -> tuple[Hashable, Any]:
    inv_key = inv.value[0] if isinstance(inv.value, list | tuple) and inv.value else None
    if isinstance(raw, list | tuple) and len(raw) == 2:
        return _freeze(raw[0]), raw[1]
    if inv.f == "read" and inv_key is not None:
        return _freeze(inv_key), raw  # a completion carrying the bare value
    raise HistoryShapeError(f"index {inv.index}: expected a [key, value] tuple, got {raw!r}")


class _Search:
    """The WGL search over one key's ops."""

    def __init__(self, model: Model, calls: list[_Call], max_states: int) -> None:
        self.model = model
        calls = sorted(calls, key=lambda c: c.call)
        self.done_ops = [c for c in calls if c.ret != NEVER]
        self.infos = [c for c in calls if c.ret == NEVER]
        n = len(self.done_ops)
        for i, c in enumerate(self.done_ops):
            c.mask = 1 << i
            c.overwrite = model.overwrites(c.f, c.value)
        for j, c in enumerate(self.infos):
            c.mask = 1 << (n + j)
            c.info = True
            c.overwrite = model.overwrites(c.f, c.value)
            c.signature = (c.f, _freeze(c.value))
        self.n = n
        self.ret_order = sorted(self.done_ops, key=lambda c: c.ret)
        self.info_calls = [c.call for c in self.infos]
        self.max_states = max_states
        self.states = 0
        self.best_rp = -1
        self.frontier: list[Hashable] = []

    def _advance(self, done: int, rp: int, cp: int) -> tuple[int, int]:
        order, ops, n = self.ret_order, self.done_ops, self.n
        while rp < n and done & order[rp].mask:
            rp += 1
        while cp < n and done & ops[cp].mask:
            cp += 1
        return rp, cp

    def _candidates(self, done: int, rp: int, cp: int, after_info_write: bool) -> list[_Call]:
        deadline = self.ret_order[rp].ret
        ops = self.done_ops
        cands: list[_Call] = []
        i = cp
        while i < self.n and ops[i].call < deadline:
            c = ops[i]
            if not done & c.mask and not (after_info_write and c.overwrite):
                cands.append(c)
            i += 1
        cands.sort(key=lambda c: c.ret)
        seen: set[Hashable] = set()
        for c in self.infos[: bisect.bisect_left(self.info_calls, deadline)]:
            if done & c.mask or (after_info_write and c.overwrite) or c.signature in seen:
                continue
            seen.add(c.signature)
            cands.append(c)
        return cands

    def unreachable(self) -> _Call | None:
        """A completed op needing a state that no op invoked before its return produces."""
        model = self.model
        init = model.init()
        producers: dict[Hashable, int] = {}
        for c in self.done_ops + self.infos:
            made = model.produces(c.f, c.value)
            if made is not IMPOSSIBLE and c.call < producers.get(made, NEVER):
                producers[made] = c.call
        for c in self.ret_order:
            need = model.requires(c.f, c.value)
            if need is IMPOSSIBLE or need == init:
                continue
            if producers.get(need, NEVER) >= c.ret:
                return c
        return None

    def run(self) -> Validity:
        if self.n == 0:
            return True
        hopeless = self.unreachable()
        if hopeless is not None:
            self.best_rp = self.ret_order.index(hopeless)
            self.frontier = []
            return False
        step = self.model.step
        state0 = self.model.init()
        rp, cp = self._advance(0, 0, 0)
        stack: list[list[Any]] = [[0, state0, rp, cp, self._candidates(0, rp, cp, False), 0]]
        self._note_frontier(rp, state0)
        # memo: (completed ops linearized, state) -> [(info ops used, after_info_write)]
        seen: dict[tuple[int, Hashable], list[tuple[int, bool]]] = {}
        low = (1 << self.n) - 1
        while stack:
            frame = stack[-1]
            cands: list[_Call] = frame[4]
            i: int = frame[5]
            if i == len(cands):
                stack.pop()
                continue
            frame[5] = i + 1
            c = cands[i]
            state = frame[1]
            new_state = step(state, c.f, c.value)
            if new_state is IMPOSSIBLE or (c.info and new_state == state):
                continue
            done = frame[0] | c.mask
            after_info_write = c.info and c.overwrite
            if not _remember(seen, (done & low, new_state), done >> self.n, after_info_write):
                continue
            self.states += 1
            if self.states > self.max_states:
                return UNKNOWN
            rp, cp = self._advance(done, frame[2], frame[3])
            if rp == self.n:
                return True
            self._note_frontier(rp, new_state)
            stack.append(
                [done, new_state, rp, cp, self._candidates(done, rp, cp, after_info_write), 0]
            )
        return False

    def _note_frontier(self, rp: int, state: Hashable) -> None:
        if rp > self.best_rp:
            self.best_rp = rp
            self.frontier = [state]
        elif rp == self.best_rp and len(self.frontier) < _FRONTIER_STATES:
            if state not in self.frontier:
                self.frontier.append(state)

    def blocking(self) -> _Call:
        """The op with the earliest return that no explored path could linearize."""
        return self.ret_order[max(self.best_rp, 0)]

    def window(self) -> list[_Call]:
        """Ops whose intervals overlap the blocking op's, in invocation order."""
        b = self.blocking()
        calls = [c for c in self.done_ops + self.infos if c.call < b.ret and c.ret > b.call]
        calls.sort(key=lambda c: c.call)
        if len(calls) > _WINDOW_CAP:
            keep = [c for c in calls if not c.info]
            calls = (keep if len(keep) <= _WINDOW_CAP else keep[-_WINDOW_CAP:])[:_WINDOW_CAP]
        return calls


def _remember(
    seen: dict[tuple[int, Hashable], list[tuple[int, bool]]],
    key: tuple[int, Hashable],
    infos_used: int,
    restricted: bool,
) -> bool:
    """Record a configuration; ``False`` if an explored one dominates it.

    With the same completed ops linearized and the same state, a configuration
    that used a subset of the ``info`` ops (and is no more restricted) can do
    everything this one can: this one need not be explored.
    """
    entries = seen.get(key)
    if entries is None:
        seen[key] = [(infos_used, restricted)]
        return True
    for used, was_restricted in entries:
        if used & infos_used == used and (restricted or not was_restricted):
            return False
    entries[:] = [
        (used, r)
        for used, r in entries
        if not (infos_used & used == infos_used and (r or not restricted))
    ]
    entries.append((infos_used, restricted))
    return True


def _describe_state(model: Model, state: Hashable) -> str:
    return "nil" if state is None else str(state)


def check_key(
    model: Model, key: Hashable, calls: list[_Call], max_states: int = DEFAULT_MAX_STATES
) -> KeyOutcome:
    """Search one key's ops."""
    search = _Search(model, calls, max_states)
    verdict = search.run()
    if verdict is True:
        return KeyOutcome(key, True, search.states)
    if verdict == UNKNOWN:
        return KeyOutcome(
            key,
            UNKNOWN,
            search.states,
            explanation=f"search gave up after {max_states} configurations",
        )
    b = search.blocking()
    where = (
        f"{model.describe(b.f, b.value)} by process {b.pair.invoke.process} "
        f"(invoked at index {b.call}, completed at index {b.ret})"
    )
    if search.frontier:
        states = ", ".join(_describe_state(model, s) for s in search.frontier)
        explanation = (
            f"key {key!r}: after {search.best_rp} completed ops the {model.name} could hold "
            f"[{states}]; {where} cannot take effect"
        )
    else:
        explanation = f"key {key!r}: {where} needs a state no earlier operation could produce"
    window_ops: list[dict[str, Any]] = []
    for c in search.window():
        window_ops.append(c.pair.invoke.to_dict())
        if c.pair.complete is not None:
            window_ops.append(c.pair.complete.to_dict())
    window_ops.sort(key=lambda d: d["index"])
    return KeyOutcome(key, False, search.states, explanation, window_ops)


def check_linearizable(
    ops: Sequence[Op], model: Model | str = "cas-register", max_states: int = DEFAULT_MAX_STATES
) -> CheckResult:
    """Check a register history; ``model`` is a :class:`Model` or its name."""
    started = time.perf_counter()
    mdl = get_model(model) if isinstance(model, str) else model
    pairs = pair_ops(ops)
    try:
        by_key = split_by_key(pairs, mdl, is_keyed(pairs))
    except HistoryShapeError as exc:
        return CheckResult(
            NAME,
            UNKNOWN,
            f"history does not fit the {mdl.name} model: {exc}",
            {"failures": [], "keys-checked": 0, "check-time-s": 0.0, "error": str(exc)},
        )
    outcomes = [check_key(mdl, key, calls, max_states) for key, calls in by_key.items()]
    elapsed = time.perf_counter() - started
    failures = [
        {"key": o.key, "window": o.window or [], "explanation": o.explanation}
        for o in outcomes
        if o.valid is False
    ]
    unknown = [o for o in outcomes if o.valid == UNKNOWN]
    valid: Validity = False if failures else (UNKNOWN if unknown else True)
    if failures:
        summary = f"{len(failures)} of {len(outcomes)} keys not linearizable; {failures[0]['explanation']}"
    elif unknown:
        summary = f"{len(unknown)} of {len(outcomes)} keys undecided ({unknown[0].explanation})"
    else:
        summary = f"{len(outcomes)} keys linearizable ({len(pairs)} operations)"
    evidence: dict[str, Any] = {
        "failures": failures,
        "keys-checked": len(outcomes),
        "check-time-s": round(elapsed, 4),
        "states-explored": sum(o.states for o in outcomes),
        "undecided-keys": [o.key for o in unknown],
    }
    return CheckResult(NAME, valid, summary, evidence)


def check(
    history: Sequence[Op | dict[str, Any]],
    model: Model | str = "cas-register",
    max_states: int = DEFAULT_MAX_STATES,
) -> CheckResult:
    """Run-directory entry point: the history as ops or decoded JSONL lines."""
    return check_linearizable(as_ops(history), model, max_states)
