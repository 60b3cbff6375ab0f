"""Benchmark: checker speed on generated histories, printed beside the targets.

- ``linearizable`` on a 10,000-operation (20,000-entry) cas-register history,
  10 processes, 5 keys, about 5% ``info``: target <= 5 s.
- ``set-full`` on a 1,000,000-entry set history (unique adds, a full read
  every ``--read-every`` ops, final read): target <= 10 s.

Each figure is shown next to a baseline measured in the same run (one plain
pass pairing invocations with completions), since these machines are noisy:
the ratio says how many plain passes a check costs.

``python -m harness.bench checkers [--ops N] [--set-entries N] [--read-every N] [--seed S]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

from harness.bench.histories import register_history, set_history
from harness.checkers.linearizable import check_linearizable
from harness.checkers.set_full import check_set_full
from harness.core.history import pair_ops

LINEARIZABLE_TARGET_S = 5.0
SET_FULL_TARGET_S = 10.0


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """``(wall seconds, CPU seconds, result)``."""
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - started, time.process_time() - cpu, result


def _line(
    name: str, seconds: float, cpu: float, target: float, baseline: float, detail: str
) -> str:
    verdict = "meets" if seconds <= target else "MISSES"
    ratio = seconds / baseline if baseline > 0 else float("inf")
    return (
        f"{name:<13} {seconds:7.2f} s (cpu {cpu:.2f} s)   target <= {target:g} s ({verdict})   "
        f"{ratio:6.1f}x a plain pass ({baseline:.3f} s)   {detail}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench checkers")
    parser.add_argument("--ops", type=int, default=10_000, help="register operations")
    parser.add_argument("--set-entries", type=int, default=1_000_000, help="set history entries")
    parser.add_argument("--read-every", type=int, default=5_000, help="ops between set reads")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    register = register_history(args.ops, processes=10, keys=5, info_rate=0.05, seed=args.seed)
    infos = sum(1 for op in register if op.type == "info")
    base, _, _ = _timed(lambda: pair_ops(register))
    took, cpu, result = _timed(lambda: check_linearizable(register, "cas-register"))
    print(
        _line(
            "linearizable",
            took,
            cpu,
            LINEARIZABLE_TARGET_S,
            base,
            f"{args.ops} ops / {len(register)} entries, 10 processes, 5 keys, "
            f"{100 * infos / max(1, args.ops):.1f}% info, valid={result.valid}, "
            f"{result.evidence['states-explored']} configurations",
        )
    )

    history = set_history(args.set_entries, processes=10, read_every=args.read_every)
    reads = sum(1 for op in history if op.f == "read" and op.type == "ok")
    elements = sum(len(op.value) for op in history if op.f == "read" and op.type == "ok")
    base, _, _ = _timed(lambda: pair_ops(history))
    took, cpu, result = _timed(lambda: check_set_full(history))
    print(
        _line(
            "set-full",
            took,
            cpu,
            SET_FULL_TARGET_S,
            base,
            f"{len(history)} entries, {result.evidence['attempt-count']} adds, {reads} reads "
            f"holding {elements} elements in all, valid={result.valid}",
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
