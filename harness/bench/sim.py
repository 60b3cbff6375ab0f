"""Benchmark: how many seeds of the deterministic Raft simulator run per second.

``python -m harness.bench sim [--seeds 10000] [--steps 300] [--workers 2] [--scan 1000]``

1. Runs ``--seeds`` seeds of ``cluster.agency.sim`` (every fifth with five
   nodes) on ``--workers`` processes: seeds run, violations (must be 0),
   total time, seeds/s.
2. Scans seeds 0.. with the deliberately broken core (votes granted without
   the log check) and reports the first seed that the checker catches and
   how many seeds it took (target: within ``--scan``).

The exit status is 1 if the correct core showed a violation or the broken
one went uncaught: either means the simulator no longer proves anything.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Sequence

from cluster.agency.sim import simulate

BROKEN = "vote-without-log-check"


def _one(job: tuple[int, int]) -> tuple[int, str | None]:
    seed, steps = job
    result = simulate(seed, steps=steps, nodes=5 if seed % 5 == 4 else 3)
    return seed, result.violation


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench sim")
    parser.add_argument("--seeds", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scan", type=int, default=1_000, help="seeds to scan, broken core")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    jobs = [(seed, args.steps) for seed in range(args.seeds)]
    with multiprocessing.Pool(args.workers) as pool:
        results = pool.map(_one, jobs, chunksize=50)
    took = time.perf_counter() - started
    bad = [(seed, v) for seed, v in results if v is not None]
    print(
        f"raft sim: {len(results)} seeds x {args.steps} steps on {args.workers} workers: "
        f"{len(bad)} violations, {took:.1f} s, {len(results) / took:.1f} seeds/s"
    )
    for seed, violation in bad[:10]:
        print(f"  seed {seed}: {violation}")

    started = time.perf_counter()
    caught: tuple[int, str] | None = None
    for seed in range(args.scan):
        result = simulate(seed, steps=args.steps, broken=BROKEN)
        if result.violation is not None:
            caught = (seed, f"step {result.step}: {result.violation}")
            break
    took = time.perf_counter() - started
    if caught is None:
        print(f"broken core ({BROKEN}): NOT caught in {args.scan} seeds ({took:.1f} s)")
    else:
        print(
            f"broken core ({BROKEN}): caught at seed {caught[0]} "
            f"after {caught[0] + 1} seeds ({took:.2f} s): {caught[1]}"
        )
    return 0 if not bad and caught is not None else 1
