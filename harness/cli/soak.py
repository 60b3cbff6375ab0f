"""``afcheck soak``: rounds drawn from a matrix with a seed, each a normal run, for hours.

Exit status: 0 every promised property held in every round, 1 one broke, 2
unknown verdicts only, 3 the harness failed (a round, or the soak itself), 4
bad flags. See ``harness/soak/runner.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.cli import EXIT_HARNESS, UsageError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# what the marathon may run: imported before it starts (harness.soak.memory.import_all)
ROUND_PACKAGES = ("harness.core", "harness.checkers", "workloads", "nemesis.faults", "reports")


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``, ``1h30m`` as seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if not parts or "".join(a + b for a, b in parts) != text.strip():
        raise ValueError(f"--duration takes e.g. 90s, 15m, 2h or 1h30m, not {text!r}")
    return sum(float(n) * UNITS[u or "s"] for n, u in parts)


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "soak",
        help="run rounds drawn from a workload x fault x mode matrix for a while",
        description="A soak: rounds drawn from the matrix with the seed, each a normal run on a "
        "fresh cluster, recorded in STORE/soak.json; the store index is updated after each round.",
    )
    p.add_argument(
        "--duration", required=True, help="how long in all (across --resume): 90s, 15m, 2h, 1h30m"
    )
    p.add_argument("--seed", type=int, help="plan seed (default: drawn; printed)")
    p.add_argument("--matrix", metavar="FILE", help='JSON {"workloads","nemeses","modes"}')
    p.add_argument("--workloads", help="comma list (default: every workload)")
    p.add_argument("--nemeses", help="comma list of faults or fault families (default: all)")
    p.add_argument("--modes", help="async,sync (default both)")
    p.add_argument("--backend", choices=["local", "docker"], default="local")
    p.add_argument("--round-time", type=float, default=60.0, help="seconds of workload a round")
    p.add_argument("--shard", default="1/1", metavar="I/N", help="run the I-th of N slices")
    p.add_argument("--store", default="store/soak", help="where rounds go (default store/soak)")
    p.add_argument("--resume", action="store_true", help="continue the soak in STORE")
    p.add_argument("--keep-passing", type=int, metavar="N", help="keep the newest N passing")
    p.add_argument("--max-store-gb", type=float, metavar="G", help="evict passing rounds above G")
    p.add_argument("--max-rounds", type=int, metavar="N", help="start at most N rounds")
    p.add_argument("--concurrency", type=int, default=5)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--no-index", action="store_true", help="do not update STORE/index.html")
    p.add_argument(
        "--marathon",
        action="store_true",
        help="one cluster for the whole soak: the first workload and mode, a fault of the "
        "matrix every --fault-every seconds, node metrics into metrics.jsonl",
    )
    p.add_argument("--fault-every", type=float, default=60.0, help="marathon: seconds")
    p.add_argument("--sample-every", type=float, default=60.0, help="marathon: metrics seconds")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from harness.cli.registry import FAULTS, REGISTRY, WORKLOADS
    from harness.soak import memory
    from harness.soak.plan import build_matrix, load_matrix_file, parse_shard
    from harness.soak.runner import SoakConfig, SoakRunner, git_commit
    from harness.soak.state import SoakState, load_state

    try:
        duration = parse_duration(args.duration)
        shard = parse_shard(args.shard)
        if args.round_time <= 0:
            raise ValueError("--round-time must be > 0 seconds")
        if args.fault_every <= 0 or args.sample_every <= 0:
            raise ValueError("--fault-every and --sample-every must be > 0 seconds")
        if args.keep_passing is not None and args.keep_passing < 0:
            raise ValueError("--keep-passing must be >= 0")
        spec: dict[str, Any] = load_matrix_file(Path(args.matrix)) if args.matrix else {}
        for key in ("workloads", "nemeses", "modes"):
            if getattr(args, key):
                spec[key] = _names(getattr(args, key))
        matrix = build_matrix(
            list(WORKLOADS),
            FAULTS,
            args.backend,
            only_workloads=spec.get("workloads"),
            only_nemeses=spec.get("nemeses"),
            modes=spec.get("modes"),
        )
        store = Path(args.store)
        state = load_state(store) if args.resume else None
        if args.resume and state is None:
            raise ValueError(f"--resume: no soak.json in {store}")
        if not args.resume and (store / "soak.json").exists():
            raise ValueError(f"{store} holds a soak already: --resume it, or pick another --store")
    except ValueError as exc:
        raise UsageError(f"afcheck soak: {exc}") from exc
    if state is None:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
        state = SoakState(
            seed, shard, matrix.to_json(), args.backend, args.round_time, duration, git_commit()
        )
    else:
        if args.seed is not None and args.seed != state.seed:
            raise UsageError(f"afcheck soak: --resume: the soak in {store} has seed {state.seed}")
        state.duration_s = duration
        if state.matrix != matrix.to_json() or state.shard != shard:
            raise UsageError("afcheck soak: --resume: matrix or shard differ from soak.json")
    store.mkdir(parents=True, exist_ok=True)
    state.save(store)
    cfg = SoakConfig(
        store=store,
        duration_s=duration,
        seed=state.seed,
        shard=shard,
        matrix=matrix,
        backend=state.backend,
        round_time=state.round_time,
        keep_passing=args.keep_passing,
        max_store_bytes=None if args.max_store_gb is None else int(args.max_store_gb * 1e9),
        resume=args.resume,
        max_rounds=args.max_rounds,
        concurrency=args.concurrency,
        rate=args.rate,
    )
    print(
        f"soak: seed {state.seed}, shard {shard[0]}/{shard[1]}, {len(matrix.cells)} cells, "
        f"{duration:g}s, store {store}, commit {state.commit[:12]}",
        flush=True,
    )

    def index(s: Path) -> None:
        # in a process of its own, like the rounds: reading every run of the store
        # must not leave its pages with the soak
        subprocess.run(
            [*_python_module("harness.cli"), "index", str(s)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            check=False,
        )

    after = None if args.no_index else index
    if args.marathon:
        from harness.soak.marathon import MarathonRunner

        # the marathon runs its one long round in this process: every round's code is
        # imported up front (see harness.soak.memory)
        memory.import_all(ROUND_PACKAGES)
        cfg.max_rounds = 1
        marathon = MarathonRunner(cfg, state, REGISTRY, after_round=after)
        marathon.fault_every, marathon.sample_every = args.fault_every, args.sample_every
        runner: SoakRunner = marathon
    else:
        # each round in a process of its own (harness.cli.soak_round)
        round_command = _python_module("harness.cli.soak_round")
        runner = SoakRunner(cfg, state, REGISTRY, after_round=after, round_command=round_command)
    try:
        return asyncio.run(runner.run())
    except Exception as exc:
        print(f"afcheck soak: harness failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_HARNESS


def _python_module(module: str) -> list[str]:
    """The command line that runs ``module`` with this interpreter (rounds, the index)."""
    return [sys.executable, "-m", module]
