"""Generated histories with a known verdict, for checker tests and benchmarks.

Each generator simulates correct concurrent clients of an atomic object:
every op gets an interval ``[invoke, complete]`` and a linearization point
inside it, and results come from applying the ops in linearization-point
order. The histories are therefore linearizable (register) or lose nothing
(set) by construction; tests then mutate them to make anomalies.
Everything is driven by ``seed``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from harness.core.history import Op

_STEP_NS = 1_000_000  # mean spacing of invocations per process


@dataclass
class _Planned:
    process: int | str
    f: str
    invoke_value: Any
    start: int
    end: int
    point: int
    kind: str = "ok"
    result: Any = None
    takes_effect: bool = True


def _entries(planned: list[_Planned]) -> list[Op]:
    """Invoke and completion entries in time order, indexed."""
    events: list[tuple[int, int, int, _Planned]] = []
    for n, p in enumerate(planned):
        events.append((p.start, 0, n, p))
        events.append((p.end, 1, n, p))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    ops: list[Op] = []
    for index, (t, is_completion, _, p) in enumerate(events):
        if is_completion:
            ops.append(Op(index, p.kind, p.process, p.f, p.result, t))
        elif p.process == "nemesis":
            ops.append(Op(index, "info", p.process, p.f, p.invoke_value, t))
        else:
            ops.append(Op(index, "invoke", p.process, p.f, p.invoke_value, t))
    return ops


def _schedule(
    rng: random.Random, n_ops: int, processes: int, info_rate: float
) -> list[tuple[int, int, int, bool]]:
    """``(process, start, end, is_info)`` per op; a process that ends ``info`` is replaced."""
    plan: list[tuple[int, int, int, bool]] = []
    clocks = [rng.randrange(_STEP_NS) for _ in range(processes)]
    ids = list(range(processes))
    next_id = processes
    for n in range(n_ops):
        slot = n % processes
        start = clocks[slot] + rng.randrange(_STEP_NS // 4)
        length = rng.randrange(_STEP_NS // 10, processes * _STEP_NS // 2 + _STEP_NS)
        end = start + length
        is_info = rng.random() < info_rate
        plan.append((ids[slot], start, end, is_info))
        clocks[slot] = end + 1
        if is_info:
            ids[slot] = next_id
            next_id += 1
    return plan


def register_history(
    n_ops: int = 10_000,
    processes: int = 10,
    keys: int = 5,
    info_rate: float = 0.05,
    values: int = 5,
    seed: int = 0,
    keyed: bool = True,
) -> list[Op]:
    """A linearizable cas-register history of ``n_ops`` operations (2 entries each).

    Ops are read / write / cas on ``keys`` keys, values ``[key, v]`` when
    ``keyed``. ``info`` ops take effect half of the time; a ``cas`` whose
    expected value does not match completes ``fail``.
    """
    rng = random.Random(seed)
    planned: list[_Planned] = []
    for process, start, end, is_info in _schedule(rng, n_ops, processes, info_rate):
        key = rng.randrange(keys)
        roll = rng.random()
        v: Any = None
        if roll < 0.4:
            f = "read"
        elif roll < 0.7:
            f, v = "write", rng.randrange(values)
        else:
            f, v = "cas", [rng.randrange(values), rng.randrange(values)]
        p = _Planned(process, f, [key, v] if keyed else v, start, end, rng.randrange(start, end))
        if is_info:
            p.kind = "info"
            p.takes_effect = rng.random() < 0.5
        planned.append(p)
    state: dict[int, Any] = {}
    for p in sorted(planned, key=lambda p: p.point):
        key, v = p.invoke_value if keyed else (0, p.invoke_value)
        if p.kind == "info" and not p.takes_effect:
            p.result = p.invoke_value
            continue
        if p.f == "read":
            v = state.get(key)
            if p.kind == "info":
                v = None
        elif p.f == "write":
            state[key] = v
        elif state.get(key) == v[0]:
            state[key] = v[1]
        elif p.kind == "ok":
            p.kind = "fail"
        p.result = [key, v] if keyed else v
    return _entries(planned)


def set_history(
    n_entries: int = 1_000_000,
    processes: int = 10,
    read_every: int = 5_000,
    info_rate: float = 0.01,
    seed: int = 0,
) -> list[Op]:
    """A set history of about ``n_entries`` entries that loses nothing.

    Unique ``add`` ops, and every ``read_every``-th op a ``read`` of the whole
    set; an ``info`` add takes effect half of the time. The last op is a
    final read after all adds completed.
    """
    rng = random.Random(seed)
    n_ops = n_entries // 2
    planned: list[_Planned] = []
    element = 0
    for n, (process, start, end, is_info) in enumerate(
        _schedule(rng, n_ops - 1, processes, info_rate)
    ):
        if n % read_every == read_every - 1:
            p = _Planned(process, "read", None, start, end, rng.randrange(start, end))
            if is_info:
                p.kind = "info"
        else:
            p = _Planned(process, "add", element, start, end, rng.randrange(start, end))
            p.result = element
            element += 1
            if is_info:
                p.kind = "info"
                p.takes_effect = rng.random() < 0.5
        planned.append(p)
    last_end = max(p.end for p in planned) + _STEP_NS
    planned.append(_Planned(-1, "read", None, last_end, last_end + _STEP_NS, last_end + 1))
    planned[-1].process = max(p.process for p in planned[:-1] if isinstance(p.process, int)) + 1
    present: list[int] = []
    for p in sorted(planned, key=lambda p: p.point):
        if p.f == "add":
            if p.takes_effect:
                present.append(p.invoke_value)
        elif p.kind == "ok":
            p.result = present[:]
    return _entries(planned)


@dataclass
class Injected:
    """An anomaly put into a generated history: its kind and the indices of the reads changed."""

    kind: str
    indices: list[int]


def unique_register_history(
    n_ops: int = 10_000,
    processes: int = 10,
    keys: int = 5,
    info_rate: float = 0.0,
    cas_rate: float = 0.0,
    seed: int = 0,
    anomaly: str | None = None,
    nemesis_every: int = 0,
) -> tuple[list[Op], Injected | None]:
    """A register history whose writes all have distinct values, as Jepsen's workloads make.

    Ops are ``[key, v]`` reads, writes of fresh values, and (``cas_rate``) cas
    from one of the key's last three values to a fresh one. ``info`` ops take
    effect half of the time. ``anomaly`` changes one completed read so the
    history is certainly not linearizable:

    - ``"stale-read"``: the read returns a value that a later write, completed
      before the read began, had overwritten;
    - ``"lost-write"``: an acknowledged write vanishes: the reads after it,
      until the next write, return the value it overwrote.

    ``nemesis_every`` > 0 mixes a nemesis ``start``/``stop`` op in that often.
    """
    rng = random.Random(seed)
    planned: list[_Planned] = []
    recent: dict[int, list[int]] = {}
    fresh = 1
    for process, start, end, is_info in _schedule(rng, n_ops, processes, info_rate):
        key = rng.randrange(keys)
        roll = rng.random()
        v: Any = None
        if roll < cas_rate and recent.get(key):
            f, v = "cas", [rng.choice(recent[key][-3:]), fresh]
            fresh += 1
        elif roll < cas_rate + (1 - cas_rate) / 2:
            f = "read"
        else:
            f, v = "write", fresh
            recent.setdefault(key, []).append(fresh)
            fresh += 1
        p = _Planned(process, f, [key, v], start, end, rng.randrange(start, end))
        if is_info:
            p.kind = "info"
            p.takes_effect = rng.random() < 0.5
        planned.append(p)
    state: dict[int, Any] = {}
    # per key, in linearization order: (planned op, state before, state after)
    trace: dict[int, list[tuple[_Planned, Any, Any]]] = {}
    for p in sorted(planned, key=lambda p: p.point):
        key, v = p.invoke_value
        before = state.get(key)
        if p.kind == "info" and not p.takes_effect:
            p.result = p.invoke_value
            continue
        if p.f == "read":
            v = None if p.kind == "info" else before
        elif p.f == "write":
            state[key] = v
        elif before == v[0]:
            state[key] = v[1]
            if p.kind == "info":
                p.result = p.invoke_value
        elif p.kind == "ok":
            p.kind = "fail"
        p.result = [key, v]
        trace.setdefault(key, []).append((p, before, state.get(key)))
    changed = _inject(rng, trace, anomaly) if anomaly else []
    if anomaly and not changed:
        raise ValueError(f"no place to inject {anomaly!r} (history too small?)")
    if nemesis_every > 0:
        _add_nemesis(rng, planned, nemesis_every)
    ops = _entries(planned)
    if not anomaly:
        return ops, None
    marked = {id(q.result) for q in changed}
    indices = [op.index for op in ops if op.type == "ok" and id(op.value) in marked]
    return ops, Injected(anomaly, indices)


def _inject(
    rng: random.Random, trace: dict[int, list[tuple[_Planned, Any, Any]]], anomaly: str
) -> list[_Planned]:
    """Change reads so the history is certainly not linearizable (see the caller)."""
    candidates: list[tuple[int, int]] = []
    for key, steps in trace.items():
        for i, (p, _, _) in enumerate(steps):
            if p.f == "write" and p.kind == "ok":
                candidates.append((key, i))
    rng.shuffle(candidates)
    for key, i in candidates:
        steps = trace[key]
        w = steps[i][0]
        # the write before w, completed before w began: its value is certainly overwritten by w
        prev = next(
            (s for s in reversed(steps[:i]) if s[0].f in ("write", "cas") and s[0].kind == "ok"),
            None,
        )
        if prev is None or prev[0].end >= w.start:
            continue
        old = prev[2]
        later = [s[0] for s in steps[i + 1 :]]
        nxt = next((j for j, q in enumerate(later) if q.f != "read"), len(later))
        reads = [q for q in later[:nxt] if q.f == "read" and q.kind == "ok" and q.start > w.end]
        if not reads:
            continue
        if anomaly == "stale-read":
            reads = [reads[-1]]
        elif anomaly != "lost-write":
            raise ValueError(f"unknown anomaly {anomaly!r}")
        if anomaly == "lost-write":
            reads = [q for q in later[:nxt] if q.f == "read" and q.kind == "ok"]
        for q in reads:
            q.result = [key, old]
        return reads
    return []


def _add_nemesis(rng: random.Random, planned: list[_Planned], every: int) -> None:
    """Nemesis ``start``/``stop`` pairs (``info``, as Jepsen logs them) between client ops."""
    ends = sorted(p.start for p in planned)
    faults = ["partition", "kill", "pause"]
    for n in range(every, len(ends) - every, every * 2):
        start, stop = ends[n], ends[min(n + every, len(ends) - 1)]
        fault = rng.choice(faults)
        for f, t in (("start", start), ("stop", stop)):
            p = _Planned("nemesis", f, fault, t - 1, t, t)
            p.kind = "info"
            p.result = fault
            planned.append(p)
