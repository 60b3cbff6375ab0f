"""Unit tests: the generator's processes, rate limit, time limit and seeds."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from harness.core.generator import GeneratorConfig, Recorder, run_final, run_generator, worker_rng
from harness.core.protocols import ATTEMPT_MONO_NS, Completion, Invocation
from workloads.register import RegisterConfig, RegisterOps
from workloads.set import SetConfig, SetOps


class ScriptedClient:
    """Answers by value: ``info`` for multiples of 5, ``fail`` for multiples of 7."""

    async def invoke(self, op: Invocation) -> Completion:
        await asyncio.sleep(0)
        v = int(op.value)
        if v % 5 == 0:
            return Completion("info", v, error="timeout")
        if v % 7 == 0:
            return Completion("fail", v)
        return Completion("ok", v, node="s1")


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        self.n += 1
        return Invocation("add", self.n)


def _run(cfg: GeneratorConfig, client: Any = None) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    rec = Recorder(ops.append)
    asyncio.run(run_generator(client or ScriptedClient(), Counter(), rec, cfg))
    return ops


def test_history_pairs_and_process_retirement() -> None:
    ops = _run(GeneratorConfig(concurrency=3, rate=0, time_limit=1.0))
    assert [o["index"] for o in ops] == list(range(len(ops)))
    assert all(ops[i]["time"] <= ops[i + 1]["time"] for i in range(len(ops) - 1))
    open_: dict[int, dict[str, Any]] = {}
    retired: set[int] = set()
    for op in ops:
        p = op["process"]
        if op["type"] == "invoke":
            assert p not in open_, "a process invoked twice without completing"
            assert p not in retired, "a process invoked again after an info"
            open_[p] = op
        else:
            inv = open_.pop(p)
            assert inv["value"] == op["value"] and inv["f"] == op["f"]
            if op["type"] == "info":
                retired.add(p)
    assert retired, "some op should have ended info"
    # a retired worker continues as process + concurrency (unless the time
    # limit came first: its retirement is then among the last completions)
    processes = {o["process"] for o in ops}
    last_completions = {o["process"] for o in ops[-6:] if o["type"] != "invoke"}
    assert all((p + 3) in processes or p in last_completions for p in retired)
    assert not open_


def test_completion_attempt_time_is_relative_to_the_test_start() -> None:
    """The answered attempt's send time (monotonic ns) becomes ``attempt_time``."""
    ops: list[dict[str, Any]] = []
    rec = Recorder(ops.append, start_ns=1_000)
    inv = Invocation("add", 1)
    rec.invoke(0, inv)
    rec.complete(0, inv, Completion("ok", 1, node="s2", extra={ATTEMPT_MONO_NS: 5_000}))
    assert ops[1]["attempt_time"] == 4_000 and "attempt_mono_ns" not in ops[1]


def test_rate_limit_bounds_invocations() -> None:
    ops = _run(GeneratorConfig(concurrency=4, rate=50, time_limit=1.0))
    invokes = sum(1 for o in ops if o["type"] == "invoke")
    # 50/s for 1 s: never meaningfully more (tolerant of a slow machine below)
    assert 5 <= invokes <= 55


def test_time_limit_stops_invocations() -> None:
    ops = _run(GeneratorConfig(concurrency=2, rate=0, time_limit=0.2))
    last_invoke = max(o["time"] for o in ops if o["type"] == "invoke")
    assert last_invoke < 2_000_000_000


def test_client_exceptions_become_info() -> None:
    class Broken:
        async def invoke(self, op: Invocation) -> Completion:
            raise RuntimeError("boom")

    ops = _run(GeneratorConfig(concurrency=1, rate=100, time_limit=0.1), Broken())
    done = [o for o in ops if o["type"] != "invoke"]
    assert done and all(o["type"] == "info" and "boom" in o["error"] for o in done)


def test_seeded_streams_repeat() -> None:
    a = RegisterOps(RegisterConfig(keys=3, ops_per_key=4))
    b = RegisterOps(RegisterConfig(keys=3, ops_per_key=4))
    ra, rb = worker_rng(42, 1), worker_rng(42, 1)
    seq_a = [a.next_op(ra, 1) for _ in range(50)]
    seq_b = [b.next_op(rb, 1) for _ in range(50)]
    assert seq_a == seq_b
    assert worker_rng(42, 1).random() != worker_rng(43, 1).random()
    assert worker_rng(42, 1).random() != worker_rng(42, 2).random()


def test_register_keys_rotate_after_ops_per_key() -> None:
    ops = RegisterOps(RegisterConfig(keys=2, ops_per_key=5))
    rng = random.Random(1)
    keys = [ops.next_op(rng, 0).value[0] for _ in range(100)]  # type: ignore[union-attr]
    from collections import Counter as C

    assert max(C(keys).values()) <= 5
    assert len(set(keys)) >= 20


def test_set_elements_are_unique() -> None:
    src = SetOps(SetConfig(read_fraction=0.2))
    rng = random.Random(3)
    ops = [src.next_op(rng, 0) for _ in range(500)]
    adds = [o.value for o in ops if o is not None and o.f == "add"]
    assert len(adds) == len(set(adds))
    assert any(o is not None and o.f == "read" for o in ops)


def test_final_ops_retry_until_ok() -> None:
    class FlakyRead:
        def __init__(self) -> None:
            self.calls = 0

        async def invoke(self, op: Invocation) -> Completion:
            self.calls += 1
            if self.calls < 3:
                return Completion("fail", None, error="no leader")
            return Completion("ok", [1, 2, 3], node="s2")

    ops: list[dict[str, Any]] = []
    client = FlakyRead()
    done = asyncio.run(
        run_final(client, [Invocation("read")], Recorder(ops.append), 100, pause_s=0.01)
    )
    assert done[0].type == "ok" and done[0].value == [1, 2, 3]
    assert [o["process"] for o in ops if o["type"] == "invoke"] == [100, 101, 102]
