"""Linearizability of register histories: per key, a fast path first, then WGL search.

The history is split per key (P-compositionality, :mod:`lin_prepare`), and
for each key:

1. ``info`` ops whose effect nobody observes are dropped (they constrain
   nothing; see :func:`lin_prepare.drop_unobserved` for why that is sound);
2. a read/write key whose written values are all distinct is decided in
   O(n log n) by Gibbons and Korach's zones (:mod:`lin_unique`);
3. anything else goes to the Wing-Gong-Lowe search as Porcupine runs it
   (:mod:`lin_search`), with a memo bounded in bytes and a time budget.

A key that hits a bound is ``unknown`` with the reason, the bound, and how
many of its completed ops the deepest partial linearization covered. Keys can
be checked in parallel processes (``jobs``); the result is the same for any
``jobs`` (keys are reported in first-seen order), time limits aside.

Each failing key's evidence carries what ``afcheck check --explain`` prints
(see :mod:`harness.checkers.explain`): the operation that cannot be placed,
the longest linearizable prefix found, the model states tried there, and the
window of operations around it as history lines.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import UNKNOWN, CheckResult, Validity, as_ops
from harness.checkers.lin_prepare import (
    NEVER,
    Call,
    HistoryShapeError,
    drop_unobserved,
    is_keyed,
    split_by_key,
)
from harness.checkers.lin_search import DEFAULT_MEMO_BYTES, SearchOutcome, search
from harness.checkers.lin_unique import check_unique
from harness.checkers.models import Model, get_model
from harness.core.history import Op, pair_ops

__all__ = [
    "DEFAULT_MEMO_BYTES",
    "NEVER",
    "HistoryShapeError",
    "KeyOutcome",
    "Limits",
    "check",
    "check_key",
    "check_linearizable",
    "is_keyed",
    "split_by_key",
]

NAME = "linearizable"
_REGISTER_LIKE = ("register", "cas-register")
_PREFIX_SHOWN = 12
_WINDOW_CAP = 40


@dataclass(frozen=True)
class Limits:
    """Bounds of one check: memo bytes and search states per key, seconds per key and per file."""

    memo_bytes: int = DEFAULT_MEMO_BYTES
    max_states: int | None = None
    key_seconds: float | None = None
    file_seconds: float | None = None


@dataclass
class KeyOutcome:
    """The verdict for one key, with what explains it."""

    key: Any
    valid: Validity
    states: int
    explanation: str = ""
    window: list[dict[str, Any]] | None = None
    method: str = "search"
    dropped: int = 0
    explain: dict[str, Any] = field(default_factory=dict)


def _op_line(c: Call) -> dict[str, Any]:
    inv = c.pair.invoke
    done = c.pair.complete
    return {
        "process": inv.process,
        "f": inv.f,
        "value": done.value if done is not None and inv.f == "read" else inv.value,
        "index": inv.index,
        "start": inv.time,
        "end": done.time if done is not None and c.ret != NEVER else None,
        "end-index": done.index if done is not None and c.ret != NEVER else None,
        "outcome": c.pair.type,
    }


def _window_lines(calls: list[Call]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for c in calls:
        lines.append(c.pair.invoke.to_dict())
        if c.pair.complete is not None:
            lines.append(c.pair.complete.to_dict())
    lines.sort(key=lambda d: d["index"])
    return lines


def _window(calls: list[Call], blocked: Call, prefix: list[int]) -> list[Call]:
    """Ops overlapping the blocked op, plus the last ops of the prefix before it."""
    near = [c for c in calls if c.call < blocked.ret and c.ret > blocked.call]
    ids = {id(c) for c in near}
    for i in prefix[-4:]:
        if id(calls[i]) not in ids:
            near.append(calls[i])
            ids.add(id(calls[i]))
    near.sort(key=lambda c: c.call)
    if len(near) > _WINDOW_CAP:
        keep = [c for c in near if not c.info or c is blocked]
        near = keep[-_WINDOW_CAP:]
        if blocked not in near:
            near.append(blocked)
    return near


def _show(state: Hashable) -> str:
    return "nil" if state is None else str(state)


def check_key(
    model: Model, key: Hashable, calls: list[Call], limits: Limits | None = None
) -> KeyOutcome:
    """Decide one key: drop what constrains nothing, try the fast path, else search."""
    limits = limits or Limits()
    started = time.monotonic()
    dropped = 0
    if model.name in _REGISTER_LIKE:
        calls, gone = drop_unobserved(model, calls)
        dropped = len(gone)
        fast = check_unique(model, calls)
        if fast is not None:
            if fast.valid:
                return KeyOutcome(key, True, 0, method="zones", dropped=dropped)
            return _zone_failure(model, key, calls, fast.ops, fast.blocked, fast.reason, dropped)
    deadline = None
    if limits.key_seconds is not None:
        deadline = started + limits.key_seconds
    if limits.file_seconds is not None:
        file_deadline = limits.file_seconds  # an absolute time.monotonic() here
        deadline = file_deadline if deadline is None else min(deadline, file_deadline)
    out = search(model, calls, limits.memo_bytes, deadline, limits.max_states)
    if out.valid is True:
        return KeyOutcome(key, True, out.states, dropped=dropped)
    done_total = sum(1 for c in calls if c.ret != NEVER)
    if out.valid == UNKNOWN:
        bound = (
            f"{limits.memo_bytes} bytes"
            if out.reason.startswith("memo")
            else f"{limits.max_states} states"
            if out.reason.startswith("states")
            else "time limit"
        )
        explanation = (
            f"key {key!r}: undecided, {out.reason} after {out.states} configurations; the "
            f"longest prefix proven linearizable covers {out.completed_in_prefix} of "
            f"{done_total} completed ops"
        )
        return KeyOutcome(
            key,
            UNKNOWN,
            out.states,
            explanation,
            dropped=dropped,
            explain={
                "reason": out.reason,
                "bound": bound,
                "prefix-completed": out.completed_in_prefix,
                "completed-ops": done_total,
                "memo-bytes": out.memo_bytes,
            },
        )
    return _search_failure(model, key, calls, out, dropped, done_total)


def _search_failure(
    model: Model, key: Hashable, calls: list[Call], out: SearchOutcome, dropped: int, total: int
) -> KeyOutcome:
    assert out.blocked is not None
    b = calls[out.blocked]
    where = (
        f"{model.describe(b.f, b.value)} by process {b.pair.invoke.process} "
        f"(invoked at index {b.call}, completed at index {b.ret})"
    )
    states = ", ".join(_show(s) for s in out.frontier)
    if out.prefix or out.frontier:
        explanation = (
            f"key {key!r}: after {out.completed_in_prefix} completed ops the {model.name} could "
            f"hold [{states}]; {where} cannot take effect"
        )
    else:
        explanation = f"key {key!r}: {where} cannot take effect"
    prefix_ops: list[dict[str, Any]] = []
    state: Any = model.init()
    for i in out.prefix:
        state = model.step(state, calls[i].f, calls[i].value)
        line = _op_line(calls[i])
        line["state-after"] = _show(state)
        prefix_ops.append(line)
    window = _window(calls, b, out.prefix)
    return KeyOutcome(
        key,
        False,
        out.states,
        explanation,
        _window_lines(window),
        dropped=dropped,
        explain={
            "method": "search",
            "blocked": _op_line(b),
            "prefix-length": len(out.prefix),
            "prefix-completed": out.completed_in_prefix,
            "completed-ops": total,
            "prefix-tail": prefix_ops[-_PREFIX_SHOWN:],
            "states-tried": [_show(s) for s in out.frontier],
            "window-ops": [_op_line(c) for c in window],
        },
    )


def _zone_failure(
    model: Model,
    key: Hashable,
    calls: list[Call],
    ids: list[int],
    blocked: int | None,
    reason: str,
    dropped: int,
) -> KeyOutcome:
    b = calls[blocked] if blocked is not None else calls[ids[-1]]
    involved = [calls[i] for i in ids]
    window = sorted(
        {id(c): c for c in [*involved, *_window(calls, b, [])]}.values(), key=lambda c: c.call
    )
    where = (
        f"{model.describe(b.f, b.value)} by process {b.pair.invoke.process} "
        f"(invoked at index {b.call}, completed at index {b.ret})"
    )
    return KeyOutcome(
        key,
        False,
        0,
        f"key {key!r}: {where} cannot take effect: {reason}",
        _window_lines(window),
        method="zones",
        dropped=dropped,
        explain={
            "method": "zones",
            "reason": reason,
            "blocked": _op_line(b),
            "conflicting-ops": [_op_line(c) for c in involved],
            "window-ops": [_op_line(c) for c in window],
        },
    )


def _job(args: tuple[str, Hashable, list[Call], Limits]) -> KeyOutcome:
    name, key, calls, limits = args
    return check_key(get_model(name), key, calls, limits)


def check_linearizable(
    ops: Sequence[Op],
    model: Model | str = "cas-register",
    max_states: int | None = None,
    *,
    memo_bytes: int = DEFAULT_MEMO_BYTES,
    key_seconds: float | None = None,
    file_seconds: float | None = None,
    jobs: int = 1,
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
    limits = Limits(
        memo_bytes=memo_bytes,
        max_states=max_states,
        key_seconds=key_seconds,
        file_seconds=None if file_seconds is None else time.monotonic() + file_seconds,
    )
    outcomes = _run_keys(mdl, by_key, limits, jobs)
    elapsed = time.perf_counter() - started
    failures = [
        {
            "key": o.key,
            "window": o.window or [],
            "explanation": o.explanation,
            "method": o.method,
            "explain": o.explain,
        }
        for o in outcomes
        if o.valid is False
    ]
    unknown = [o for o in outcomes if o.valid == UNKNOWN]
    valid: Validity = False if failures else (UNKNOWN if unknown else True)
    if failures:
        summary = (
            f"{len(failures)} of {len(outcomes)} keys not linearizable; "
            f"{failures[0]['explanation']}"
        )
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
        "undecided": [{"key": o.key, **o.explain} for o in unknown],
        "dropped-info-ops": sum(o.dropped for o in outcomes),
        "decided-by-zones": sum(1 for o in outcomes if o.method == "zones"),
    }
    return CheckResult(NAME, valid, summary, evidence)


def _run_keys(
    model: Model, by_key: dict[Hashable, list[Call]], limits: Limits, jobs: int
) -> list[KeyOutcome]:
    if jobs <= 1 or len(by_key) <= 1 or model.name not in _model_names():
        return [check_key(model, key, calls, limits) for key, calls in by_key.items()]
    from concurrent.futures import ProcessPoolExecutor

    from harness.checkers import processes

    ctx = processes.context()
    work = [(model.name, key, calls, limits) for key, calls in by_key.items()]
    # biggest keys first, so one long key does not start last; results kept in key order
    order = sorted(range(len(work)), key=lambda i: -len(work[i][2]))
    results: list[KeyOutcome | None] = [None] * len(work)
    with ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=ctx) as pool:
        futures = {i: pool.submit(_job, work[i]) for i in order}
        for i, fut in futures.items():
            results[i] = fut.result()
    return [r for r in results if r is not None]


def _model_names() -> tuple[str, ...]:
    """Models registered by name: only those can be rebuilt in worker processes."""
    from harness.checkers.models import MODELS

    return tuple(MODELS)


def check(
    history: Sequence[Op | dict[str, Any]],
    model: Model | str = "cas-register",
    max_states: int | None = None,
) -> CheckResult:
    """Run-directory entry point: the history as ops or decoded JSONL lines."""
    return check_linearizable(as_ops(history), model, max_states)
