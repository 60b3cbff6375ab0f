"""The linearizability checker on hand-written, generated, mutated and brute-forced histories."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from harness.bench.histories import register_history
from harness.checkers.linearizable import check, check_linearizable
from harness.checkers.models import IMPOSSIBLE, CasRegister
from harness.core.history import Op, pair_ops
from tests.checkers.helpers import history


def test_sequential_register_is_valid() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1),
        (0, "invoke", "read", None),
        (0, "ok", "read", 1),
        (0, "invoke", "cas", [1, 2]),
        (0, "ok", "cas", [1, 2]),
        (0, "invoke", "read", None),
        (0, "ok", "read", 2),
    )
    assert check_linearizable(h).valid is True


def test_stale_read_is_invalid_with_a_window() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1),
        (1, "invoke", "write", 2),
        (1, "ok", "write", 2),
        (0, "invoke", "read", None),
        (0, "ok", "read", 1),
    )
    result = check_linearizable(h)
    assert result.valid is False
    failure = result.evidence["failures"][0]
    assert "read 1" in failure["explanation"]
    # the stale read itself, and the write that must precede it (its value overwrote 1)
    assert {2, 3, 4, 5} <= {op["index"] for op in failure["window"]}


def test_read_of_nil_only_before_any_write() -> None:
    ok = history((0, "invoke", "read", None), (0, "ok", "read", None))
    assert check_linearizable(ok).valid is True
    late = history(
        (0, "invoke", "write", 3),
        (0, "ok", "write", 3),
        (1, "invoke", "read", None),
        (1, "ok", "read", None),
    )
    assert check_linearizable(late).valid is False


def test_concurrent_ops_may_take_effect_in_either_order() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (1, "invoke", "read", None),
        (1, "ok", "read", None),
        (0, "ok", "write", 1),
        (2, "invoke", "read", None),
        (2, "ok", "read", 1),
    )
    assert check_linearizable(h).valid is True


def test_info_write_may_take_effect_late_or_never() -> None:
    late = history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1),
        (1, "invoke", "write", 2),
        (1, "info", "write", "timed-out"),
        (0, "invoke", "read", None),
        (0, "ok", "read", 1),
        (0, "invoke", "read", None),
        (0, "ok", "read", 2),
    )
    assert check_linearizable(late).valid is True
    never = history(
        (1, "invoke", "write", 2),
        (1, "info", "write", None),
        (0, "invoke", "read", None),
        (0, "ok", "read", None),
    )
    assert check_linearizable(never).valid is True


def test_info_write_cannot_take_effect_before_its_invocation() -> None:
    h = history(
        (0, "invoke", "read", None),
        (0, "ok", "read", 2),
        (1, "invoke", "write", 2),
        (1, "info", "write", None),
    )
    assert check_linearizable(h).valid is False


def test_info_write_takes_effect_at_most_once() -> None:
    h = history(
        (1, "invoke", "write", 2),
        (1, "info", "write", None),
        (0, "invoke", "read", None),
        (0, "ok", "read", 2),
        (0, "invoke", "write", 3),
        (0, "ok", "write", 3),
        (0, "invoke", "read", None),
        (0, "ok", "read", 2),
    )
    assert check_linearizable(h).valid is False


def test_failed_ops_never_happened() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "fail", "write", 1),
        (1, "invoke", "read", None),
        (1, "ok", "read", 1),
    )
    assert check_linearizable(h).valid is False


def test_cas_needs_the_expected_value() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1),
        (0, "invoke", "cas", [2, 3]),
        (0, "ok", "cas", [2, 3]),
    )
    assert check_linearizable(h).valid is False


def test_keys_are_checked_independently() -> None:
    h = history(
        (0, "invoke", "write", ["a", 1]),
        (0, "ok", "write", ["a", 1]),
        (1, "invoke", "read", ["b", None]),
        (1, "ok", "read", ["b", None]),
        (1, "invoke", "read", ["a", None]),
        (1, "ok", "read", ["a", 2]),
    )
    result = check_linearizable(h)
    assert result.valid is False
    assert result.evidence["keys-checked"] == 2
    assert result.evidence["failures"][0]["key"] == "a"


def test_plain_register_rejects_cas() -> None:
    h = history((0, "invoke", "cas", [1, 2]), (0, "ok", "cas", [1, 2]))
    result = check_linearizable(h, "register")
    assert result.valid == "unknown"
    assert "not a register operation" in result.summary


def test_search_budget_gives_unknown() -> None:
    h = register_history(400, processes=5, keys=1, seed=3)
    assert check_linearizable(h, max_states=5).valid == "unknown"


def test_accepts_decoded_jsonl_lines() -> None:
    lines = [op.to_dict() for op in register_history(100, seed=1)]
    assert check(lines).valid is True


@pytest.mark.parametrize("seed", range(6))
def test_generated_histories_are_valid(seed: int) -> None:
    h = register_history(1500, processes=10, keys=3, info_rate=0.05, seed=seed)
    assert check_linearizable(h).valid is True


def _unique_writes(seed: int) -> list[Op]:
    return register_history(600, processes=6, keys=2, values=10**12, info_rate=0.0, seed=seed)


@pytest.mark.parametrize("seed", range(5))
def test_changed_read_value_is_caught(seed: int) -> None:
    h = register_history(2000, processes=10, keys=5, info_rate=0.05, seed=seed)
    reads = [op for op in h if op.type == "ok" and op.f == "read"]
    victim = random.Random(seed).choice(reads)
    victim.value = [victim.value[0], 1234]
    result = check_linearizable(h)
    assert result.valid is False
    assert any(op["index"] == victim.index for op in result.evidence["failures"][0]["window"])


@pytest.mark.parametrize("seed", range(5))
def test_dropped_acknowledged_write_is_caught(seed: int) -> None:
    h = _unique_writes(seed)
    read_values = {tuple(op.value) for op in h if op.type == "ok" and op.f == "read"}
    pairs = pair_ops(h)
    victim = next(
        p
        for p in pairs
        if p.invoke.f == "write" and p.type == "ok" and tuple(p.invoke.value) in read_values
    )
    assert victim.complete is not None
    dropped = {victim.invoke.index, victim.complete.index}
    assert check_linearizable([op for op in h if op.index not in dropped]).valid is False


@pytest.mark.parametrize("seed", range(5))
def test_reordered_reads_are_caught(seed: int) -> None:
    h = _unique_writes(seed)
    pairs = pair_ops(h)
    write_done = {
        tuple(p.invoke.value): p.complete.index
        for p in pairs
        if p.invoke.f == "write" and p.type == "ok" and p.complete is not None
    }
    reads = [p for p in pairs if p.invoke.f == "read" and p.type == "ok"]
    # reads a before b of one key with different values, a's value written before a began:
    # swapped, a would see b's value and b the older one again, which no order allows
    for a, b in itertools.combinations(reads, 2):
        assert a.complete is not None and b.complete is not None
        va, vb = a.complete.value, b.complete.value
        if (
            a.complete.index < b.invoke.index
            and va[0] == vb[0]
            and None not in (va[1], vb[1])
            and va != vb
            and write_done.get(tuple(va), 1 << 62) < a.invoke.index
        ):
            a.complete.value, b.complete.value = vb, va
            break
    else:
        pytest.skip("no suitable pair of reads")
    assert check_linearizable(h).valid is False


# ---------------------------------------------------------------- brute force


def _brute_force(ops: list[Op]) -> bool:
    """Try every order (small histories only): ok ops in their interval, info ops anywhere
    after their invocation or never."""
    model = CasRegister()
    calls: list[tuple[str, Any, int, float]] = []
    for p in pair_ops(ops):
        if p.type == "fail" or (p.invoke.f == "read" and p.type != "ok"):
            continue
        value = p.complete.value if p.invoke.f == "read" and p.complete else p.invoke.value
        ret = p.complete.index if p.type == "ok" and p.complete else float("inf")
        calls.append((p.invoke.f, value, p.invoke.index, ret))
    by_key: dict[Any, list[tuple[str, Any, int, float]]] = {}
    for f, value, call, ret in calls:
        key, v = (value[0], value[1]) if isinstance(value, list) and f != "cas" else (None, value)
        if f == "cas" and isinstance(value, list) and isinstance(value[1], list):
            key, v = value[0], value[1]
        by_key.setdefault(key, []).append((f, v, call, ret))
    return all(_brute_key(model, c) for c in by_key.values())


def _brute_key(model: CasRegister, calls: list[tuple[str, Any, int, float]]) -> bool:
    infos = [i for i, c in enumerate(calls) if c[3] == float("inf")]
    required = [i for i in range(len(calls)) if i not in infos]
    for k in range(len(infos) + 1):
        for used in itertools.combinations(infos, k):
            chosen = required + list(used)
            for order in itertools.permutations(chosen):
                if _legal(model, [calls[i] for i in order]):
                    return True
    return False


def _legal(model: CasRegister, seq: list[tuple[str, Any, int, float]]) -> bool:
    for i, a in enumerate(seq):
        for b in seq[i + 1 :]:
            if b[3] < a[2]:  # b completed before a was invoked, yet comes after it
                return False
    state: Any = model.init()
    for f, v, _, _ in seq:
        state = model.step(state, f, v)
        if state is IMPOSSIBLE:
            return False
    return True


def _random_small(seed: int) -> list[Op]:
    rng = random.Random(seed)
    h = register_history(7, processes=3, keys=1, values=3, info_rate=0.2, seed=seed)
    # mutate a third of them at random: a read value, or drop a completion's ok into fail
    if rng.random() < 0.66:
        reads = [op for op in h if op.type == "ok" and op.f == "read"]
        if reads:
            victim = rng.choice(reads)
            victim.value = [victim.value[0], rng.choice([None, 0, 1, 2])]
    return h


@pytest.mark.parametrize("seed", range(60))
def test_agrees_with_brute_force(seed: int) -> None:
    h = _random_small(seed)
    assert check_linearizable(h).valid is _brute_force(h)
