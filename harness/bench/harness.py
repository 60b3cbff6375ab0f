"""Benchmark: operations per second the harness itself records.

Drives the real generator (workers, process ids, rate limiter, recorder)
with a client that does nothing, writing the history through the real
``HistoryWriter`` (append + flush per line), and compares it with the same
run into a sink that discards lines: the ratio is the cost of recording.
Target: >= 5,000 ops/s recorded.

``python -m harness.bench harness [--seconds S] [--concurrency C]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.core.generator import GeneratorConfig, Recorder, run_generator
from harness.core.history import HistoryWriter
from harness.core.protocols import Completion, Invocation

TARGET_OPS_S = 5000.0


class NullClient:
    """Acknowledges every operation at once, without I/O."""

    async def invoke(self, op: Invocation) -> Completion:
        return Completion("ok", op.value, node="s1")


class Adds:
    def __init__(self) -> None:
        self.n = 0

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        self.n += 1
        return Invocation("add", self.n)


def measure(sink: Callable[[dict[str, Any]], None], seconds: float, concurrency: int) -> float:
    """Completed operations per second over ``seconds`` of unthrottled generation."""
    config = GeneratorConfig(concurrency=concurrency, rate=0, time_limit=seconds, seed=1)
    recorder = Recorder(sink)

    async def go() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await run_generator(NullClient(), Adds(), recorder, config)
        return result.invocations / (loop.time() - start)

    return asyncio.run(go())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench harness")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="afcheck-bench-") as tmp:
        writer = HistoryWriter(Path(tmp) / "history.jsonl")
        try:
            recorded = measure(writer.write, args.seconds, args.concurrency)
        finally:
            writer.close()
        lines = sum(1 for _ in (Path(tmp) / "history.jsonl").open())
    discarded = measure(lambda op: None, args.seconds, args.concurrency)
    verdict = "meets" if recorded >= TARGET_OPS_S else "MISSES"
    print("harness: operations recorded per second against a do-nothing client")
    print(f"  concurrency {args.concurrency}, {args.seconds:g} s per run")
    print(f"  recorded to history.jsonl: {recorded:10.0f} ops/s ({lines} lines)")
    print(f"  into a discarding sink:    {discarded:10.0f} ops/s")
    print(f"  recording cost ratio:      {discarded / recorded:10.2f}x")
    print(f"  target >= {TARGET_OPS_S:.0f} ops/s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
