"""The Wing-Gong-Lowe search for one key, as Porcupine runs it.

Events (invocations, and completions of ``ok`` ops) sit in a doubly linked
list in history order. The search walks it: at an invocation it tries to
linearize that op now (apply it to the model and lift it, with its
completion, out of the list); at a completion it has met an op that must
already have taken effect, so it backtracks. Visited configurations
``(linearized ops as a bitset, model state)`` are memoised; the bitset is
stored shifted past its run of low ones (the linearized prefix), which keeps
keys small. The memo is bounded in bytes, the search in time: at a bound the
answer is ``unknown`` with the reason and the deepest point reached.

``info`` ops (and invocations that never completed) have no completion: they
may take effect at any time after their invocation, or never. One is tried
only when it changes the state, and only the earliest pending one of several
identical ``info`` ops (they are interchangeable).
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, field

from harness.checkers.lin_prepare import NEVER, Call
from harness.checkers.models import IMPOSSIBLE, Model

UNKNOWN = "unknown"
DEFAULT_MEMO_BYTES = 1 << 30
_ENTRY_BYTES = 120  # a memo entry: set slot, key tuple, small ints; plus the shifted bitset
_CHECK_EVERY = 2048
_FRONTIER_STATES = 8


@dataclass
class SearchOutcome:
    """What the search found: a verdict, and where it got stuck (for explanations)."""

    valid: bool | str
    states: int = 0
    memo_bytes: int = 0
    reason: str = ""
    # the deepest point: ids of ops linearized there, in order, and the op that could not follow
    prefix: list[int] = field(default_factory=list)
    blocked: int | None = None
    frontier: list[Hashable] = field(default_factory=list)
    completed_in_prefix: int = 0


def search(
    model: Model,
    calls: list[Call],
    memo_bytes: int = DEFAULT_MEMO_BYTES,
    deadline: float | None = None,
    max_states: int | None = None,
) -> SearchOutcome:
    """Search one key's ops (``calls``, ids = positions, sorted by invocation).

    ``deadline`` is a ``time.monotonic()`` instant; ``max_states`` an optional cap
    on configurations (for tests; the memo's byte bound is the real one).
    """
    n = len(calls)
    n_done = sum(1 for c in calls if c.ret != NEVER)
    if n_done == 0:
        return SearchOutcome(True)
    # entries: 0 is the head sentinel; 1..n invocations; n+1.. completions
    events: list[tuple[int, int]] = []  # (position, entry)
    match = [0] * (n + 1)  # invocation entry -> its completion entry (0: none)
    op_of = [0] * (2 * n + 2)
    is_call = [False] * (2 * n + 2)
    for i, c in enumerate(calls):
        events.append((c.call, i + 1))
        op_of[i + 1] = i
        is_call[i + 1] = True
        if c.ret != NEVER:
            events.append((c.ret, n + 1 + i))
            op_of[n + 1 + i] = i
            match[i + 1] = n + 1 + i
    events.sort()
    size = 2 * n + 2
    nxt = [0] * size
    prv = [0] * size
    last = 0
    for _, e in events:
        nxt[last] = e
        prv[e] = last
        last = e
    nxt[last] = 0  # 0 doubles as the end marker: entries are never 0
    end_marker = 0

    # an info op is tried only if no earlier identical info op is still pending
    twin = [-1] * n
    seen_sig: dict[Hashable, int] = {}
    for i, c in enumerate(calls):
        if c.ret == NEVER:
            sig = (c.f, c.frozen)
            twin[i] = seen_sig.get(sig, -1)
            seen_sig[sig] = i

    step = model.step
    values = [c.frozen for c in calls]
    fs = [c.f for c in calls]
    info = [c.ret == NEVER for c in calls]
    state: Hashable = model.init()
    linearized = 0
    done = 0
    stack: list[tuple[int, Hashable]] = []  # (invocation entry, state before it)
    memo: set[tuple[int, int, Hashable]] = set()
    used_bytes = 0
    states = 0
    best = -1
    out = SearchOutcome(False)
    entry = nxt[0]
    ticks = 0
    while True:
        if entry == end_marker:
            return _finish(out, True, states, used_bytes)
        if is_call[entry]:
            i = op_of[entry]
            if info[i] and twin[i] >= 0 and not linearized >> twin[i] & 1:
                entry = nxt[entry]
                continue
            new_state = step(state, fs[i], values[i])
            if new_state is IMPOSSIBLE or (info[i] and new_state == state):
                entry = nxt[entry]
                continue
            new_lin = linearized | (1 << i)
            low = (~new_lin & (new_lin + 1)).bit_length() - 1
            rest = new_lin >> low
            key = (low, rest, new_state)
            if key in memo:
                entry = nxt[entry]
                continue
            memo.add(key)
            used_bytes += _ENTRY_BYTES + (rest.bit_length() >> 3)
            states += 1
            if max_states is not None and states > max_states:
                return _undecided(out, states, used_bytes, f"states reached {max_states}")
            stack.append((entry, state))
            state = new_state
            linearized = new_lin
            # lift the invocation and its completion out of the list
            a, b = prv[entry], nxt[entry]
            nxt[a] = b
            prv[b] = a
            m = match[entry]
            if m:
                done += 1
                a, b = prv[m], nxt[m]
                nxt[a] = b
                prv[b] = a
                if done == n_done:
                    return _finish(out, True, states, used_bytes)
            entry = nxt[0]
            if used_bytes > memo_bytes:
                return _undecided(
                    out, states, used_bytes, f"memo reached its bound of {memo_bytes} bytes"
                )
            ticks += 1
            if ticks >= _CHECK_EVERY:
                ticks = 0
                if deadline is not None and time.monotonic() > deadline:
                    return _undecided(out, states, used_bytes, "time limit reached")
        else:
            # a completion: the op that must already have taken effect could not
            blocked_op = op_of[entry]
            if done > best:
                best = done
                out.prefix = [op_of[e] for e, _ in stack]
                out.blocked = blocked_op
                out.frontier = [state]
                out.completed_in_prefix = done
            elif done == best and len(out.frontier) < _FRONTIER_STATES:
                if state not in out.frontier:
                    out.frontier.append(state)
            if not stack:
                return _finish(out, False, states, used_bytes)
            top, state = stack.pop()
            i = op_of[top]
            linearized &= ~(1 << i)
            m = match[top]
            if m:
                done -= 1
                a, b = prv[m], nxt[m]
                nxt[a] = m
                prv[b] = m
            a, b = prv[top], nxt[top]
            nxt[a] = top
            prv[b] = top
            entry = nxt[top]


def _finish(out: SearchOutcome, valid: bool, states: int, used: int) -> SearchOutcome:
    out.valid = valid
    out.states = states
    out.memo_bytes = used
    return out


def _undecided(out: SearchOutcome, states: int, used: int, reason: str) -> SearchOutcome:
    out.valid = UNKNOWN
    out.states = states
    out.memo_bytes = used
    out.reason = reason
    return out
