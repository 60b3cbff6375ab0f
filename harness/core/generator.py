"""The operation generator: concurrency, a global rate limit, a time limit, a seed.

``concurrency`` workers run side by side. Each worker acts as one Jepsen
*process* at a time: it invokes an operation, waits for its completion, and
records both. A process whose operation ended ``info`` (outcome unknown) may
still be running that operation as far as the system is concerned, so it
never invokes again: the worker continues under a new process id
(``process + concurrency``), as Jepsen does.

Every random choice flows from the seed: each worker draws from its own
``random.Random`` derived from ``(seed, worker)``, so a worker's operation
sequence repeats exactly with the same seed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.core.protocols import ATTEMPT_MONO_NS, Client, Completion, Invocation, OpSource

Sink = Callable[[dict[str, Any]], None]


@dataclass
class GeneratorConfig:
    """How the main phase is driven. Printed into ``test.json``."""

    concurrency: int = 5
    rate: float = 100.0  # invocations per second, over all workers; 0 = unlimited
    time_limit: float = 30.0  # seconds of invocations
    seed: int = 0
    op_timeout: float = 10.0  # safety net above the client's own deadlines

    def validate(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.rate < 0:
            raise ValueError("rate must be >= 0 (0 = unlimited)")
        if self.time_limit <= 0:
            raise ValueError("time limit must be > 0 seconds")
        if self.op_timeout <= 0:
            raise ValueError("op timeout must be > 0 seconds")


def worker_rng(seed: int, worker: int) -> random.Random:
    """The random stream of one worker: a pure function of the seed and the worker."""
    return random.Random(f"{seed}:{worker}")


class Recorder:
    """Gives history lines their ``index`` and ``time`` and hands them to a sink.

    ``time`` is nanoseconds of the monotonic clock since ``start_ns``.
    """

    def __init__(self, sink: Sink, start_ns: int | None = None) -> None:
        self._sink = sink
        self.start_ns = time.monotonic_ns() if start_ns is None else start_ns
        self._index = 0
        self.counts: Counter[str] = Counter()

    def now(self) -> int:
        return time.monotonic_ns() - self.start_ns

    def record(self, op: dict[str, Any]) -> dict[str, Any]:
        op["index"] = self._index
        op.setdefault("time", self.now())
        self._index += 1
        if op.get("process") != "nemesis":
            self.counts[str(op.get("type"))] += 1
        self._sink(op)
        return op

    def invoke(self, process: int, inv: Invocation) -> dict[str, Any]:
        op: dict[str, Any] = {"type": "invoke", "process": process, "f": inv.f, "value": inv.value}
        op.update(inv.meta)
        return self.record(op)

    def complete(self, process: int, inv: Invocation, done: Completion) -> dict[str, Any]:
        op: dict[str, Any] = {
            "type": done.type,
            "process": process,
            "f": inv.f,
            "value": done.value,
        }
        if done.node is not None:
            op["node"] = done.node
        if done.error is not None:
            op["error"] = done.error
        if done.dirty is not None:
            op["dirty"] = done.dirty
        op.update(inv.meta)
        extra = dict(done.extra)
        sent = extra.pop(ATTEMPT_MONO_NS, None)
        if isinstance(sent, int):
            op["attempt_time"] = sent - self.start_ns
        op.update(extra)
        return self.record(op)


class RateLimiter:
    """A global pacing of invocations: at most ``rate`` per second over all workers."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if self.interval == 0.0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


async def perform(
    client: Client, inv: Invocation, recorder: Recorder, process: int, op_timeout: float
) -> Completion:
    """Invoke one operation and record the invocation and its completion."""
    recorder.invoke(process, inv)
    try:
        done = await asyncio.wait_for(client.invoke(inv), timeout=op_timeout)
    except TimeoutError:
        done = Completion("info", inv.value, error=f"no completion within {op_timeout}s")
    except Exception as exc:  # a client bug must not stop the test; the op is unknown
        done = Completion("info", inv.value, error=f"client raised {type(exc).__name__}: {exc}")
    recorder.complete(process, inv, done)
    return done


@dataclass
class GeneratorResult:
    invocations: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    next_process: int = 0


async def run_generator(
    client: Client,
    source: OpSource,
    recorder: Recorder,
    config: GeneratorConfig,
    stop: asyncio.Event | None = None,
) -> GeneratorResult:
    """Drive ``client`` with ``source`` until the time limit (or ``stop`` is set)."""
    config.validate()
    loop = asyncio.get_running_loop()
    end = loop.time() + config.time_limit
    limiter = RateLimiter(config.rate)
    stop = stop or asyncio.Event()
    highest = [config.concurrency - 1]
    count = [0]

    async def worker(w: int) -> None:
        rng = worker_rng(config.seed, w)
        process = w
        while not stop.is_set() and loop.time() < end:
            inv = source.next_op(rng, w)
            if inv is None:
                return
            await limiter.wait()
            if stop.is_set() or loop.time() >= end:
                return
            count[0] += 1
            done = await perform(client, inv, recorder, process, config.op_timeout)
            if done.type == "info":
                process += config.concurrency
                highest[0] = max(highest[0], process)

    await asyncio.gather(*(worker(w) for w in range(config.concurrency)))
    return GeneratorResult(count[0], dict(recorder.counts), highest[0] + 1)


async def run_final(
    client: Client,
    ops: list[Invocation],
    recorder: Recorder,
    first_process: int,
    *,
    deadline_s: float = 60.0,
    pause_s: float = 0.5,
    op_timeout: float = 10.0,
) -> list[Completion]:
    """Run each final operation until it succeeds (or the deadline passes).

    Each attempt is its own process, so an ``info`` attempt never blocks the
    next one. Returns the last completion of each operation.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    process = first_process
    results: list[Completion] = []
    for inv in ops:
        while True:
            done = await perform(client, inv, recorder, process, op_timeout)
            process += 1
            if done.type == "ok" or loop.time() + pause_s >= end:
                break
            await asyncio.sleep(pause_s)
        results.append(done)
    return results
