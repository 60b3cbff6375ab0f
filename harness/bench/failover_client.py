"""Failover-to-client benchmark: how soon clients write again after the leader goes.

``python -m harness.bench failover_client [--faults 20] [--kinds kill-leader,partition-leader]
[--mode async] [--before REV] [--healthy 6] [--fault 8] [--rate 100]``

Each *leg* is one real ``afcheck run`` (the register workload, cycles of one
fault, local backend with Toxiproxy) in a subprocess, long enough for more
than ``--faults`` cycles; the first ``--faults`` fault windows are read. With
``--before REV`` the same legs also run from the source tree of commit
``REV`` (exported with ``git archive``), cluster and client both, so the
figures before and after a change come from one benchmark run on one
machine. For every fault window it reads the run directory and prints, per
leg, p50 / p99 / max over the faults of:

- **fault → first write**: from the fault's start to the first write (``write``
  or ``cas``) acknowledged by a server other than the old leader;
- **promotion → first write**: from the moment the new leader took over to
  that write. The moment is the role sample's time minus the ``leaderFor``
  the new leader reported (seconds it had led), so it is exact to a request's
  latency; a tree whose servers do not report ``leaderFor`` falls back to the
  first sample that showed the new leader, which is up to one sampling
  interval late, so its gap is a lower bound (marked ``*``);
- **unavailable**: the longest stretch from the fault's start to that write
  without any acknowledged client operation.

Goals printed beside the figures (issue 11 §4): promotion → first write at
most 0.5 s at p99; unavailability under ``partition-leader`` at most the
supervision grace period + 1.5 s at p99. Exit code 3 when a leg could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.bench.agency import percentile
from harness.infra.toxiproxy import BINARY_ENV, find_binary

WRITES = ("write", "cas")
GRACE_S = 3.0  # the servers' default supervision grace period
AFCHECK = "import sys; from harness.cli import main; sys.exit(main())"
NS = 1e9
CYCLE_SLACK = 1.8  # run time per asked cycle, as a multiple of healthy + fault


@dataclass
class Fault:
    """One fault window's figures, in seconds (None: no write on a new leader)."""

    to_first_write: float | None
    promotion_to_write: float | None
    unavailable: float | None
    exact_promotion: bool


@dataclass
class Leg:
    tree: str  # "current" or the commit of the tree before
    kind: str
    faults: list[Fault] = field(default_factory=list)
    error: str | None = None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _old_leader(event: dict[str, Any]) -> str | None:
    detail = event.get("detail") or {}
    leader = detail.get("leader")
    if isinstance(leader, str):
        return leader
    nodes = event.get("nodes") or []
    return str(nodes[0]) if nodes else None


def _promotion(roles: list[dict[str, Any]], t0: int, old: str | None) -> tuple[int, bool] | None:
    """When a server other than ``old`` took over after ``t0`` (ns), and whether exactly."""
    for r in roles:
        if r.get("time", -1) < t0 or r.get("role") != "leader" or r.get("node") == old:
            continue
        led = r.get("leader_for")
        if isinstance(led, int | float):
            return max(t0, int(r["time"] - led * NS)), True
        return int(r["time"]), False
    return None


def analyse(run_dir: Path) -> list[Fault]:
    """The figures of every fault window of one run directory."""
    history = [op for op in _jsonl(run_dir / "history.jsonl") if op.get("process") != "nemesis"]
    roles = _jsonl(run_dir / "roles.jsonl")
    starts = [e for e in _jsonl(run_dir / "nemesis.jsonl") if e.get("event") == "start"]
    oks = sorted((op for op in history if op.get("type") == "ok"), key=lambda op: op["time"])
    out: list[Fault] = []
    for i, event in enumerate(starts):
        t0 = int(event["time"])
        until = int(starts[i + 1]["time"]) if i + 1 < len(starts) else None
        old = _old_leader(event)
        window = [op for op in oks if op["time"] >= t0 and (until is None or op["time"] < until)]
        first = next(
            (op for op in window if op.get("f") in WRITES and op.get("node") not in (old, None)),
            None,
        )
        if first is None:
            out.append(Fault(None, None, None, False))
            continue
        t1 = int(first["time"])
        times = [t0] + [op["time"] for op in window if op["time"] <= t1]
        gap = max(b - a for a, b in zip(times, times[1:], strict=False)) if len(times) > 1 else 0
        promoted = _promotion(roles, t0, old)
        to_write = (t1 - promoted[0]) / NS if promoted is not None else None
        exact = promoted is not None and promoted[1]
        out.append(Fault((t1 - t0) / NS, to_write, gap / NS, exact))
    return out


def export_tree(rev: str, into: Path) -> Path:
    """The source tree of commit ``rev`` (``git archive``), for the legs before."""
    archive = into / "tree.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "archive", rev], check=True, stdout=fh)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_leg(leg: Leg, tree: Path | None, args: argparse.Namespace, scratch: Path) -> None:
    store = scratch / f"{leg.tree}-{leg.kind}"
    argv = [
        sys.executable,
        "-c",
        AFCHECK,
        "run",
        "--workload",
        "register",
        "--nemesis",
        leg.kind,
        "--replication",
        args.mode,
        "--time-limit",
        # a cycle also waits for the fault's undoing (a killed server restarting): room for
        # more cycles than asked; the first --faults are read
        str(round(args.faults * (args.healthy + args.fault) * CYCLE_SLACK + args.healthy)),
        "--healthy",
        str(args.healthy),
        "--fault",
        str(args.fault),
        "--rate",
        str(args.rate),
        "--seed",
        str(args.seed),
        "--store",
        str(store),
        "--quiet",
    ]
    env = {**os.environ, BINARY_ENV: find_binary()}  # a tree before has no tools/bin
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    proc = subprocess.run(
        argv,
        cwd=tree or Path.cwd(),
        env=env,
        capture_output=True,
        text=True,
        timeout=args.faults * (args.healthy + args.fault) * CYCLE_SLACK * 2 + 300,
    )
    latest = store / "latest"
    if not latest.exists():
        leg.error = f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-400:]}"
        return
    leg.faults = analyse(latest.resolve())[: args.faults]


def _stats(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "       -        -        -"
    return f"{percentile(got, 50):8.2f} {percentile(got, 99):8.2f} {max(got):8.2f}"


def report(legs: Sequence[Leg]) -> list[str]:
    lines = [
        f"{'tree':<10} {'fault':<17} {'n':>3}  {'fault -> first write (s)':>26}  "
        f"{'promotion -> first write (s)':>28}  {'unavailable (s)':>26}",
        f"{'':<10} {'':<17} {'':>3}  {'p50      p99      max':>26}  "
        f"{'p50      p99      max':>28}  {'p50      p99      max':>26}",
    ]
    for leg in legs:
        if leg.error is not None:
            lines.append(f"{leg.tree:<10} {leg.kind:<17} failed: {leg.error}")
            continue
        exact = all(f.exact_promotion for f in leg.faults if f.promotion_to_write is not None)
        mark = " " if exact else "*"
        missing = sum(1 for f in leg.faults if f.to_first_write is None)
        lines.append(
            f"{leg.tree:<10} {leg.kind:<17} {len(leg.faults):>3}  "
            f"{_stats([f.to_first_write for f in leg.faults]):>26}  "
            f"{_stats([f.promotion_to_write for f in leg.faults]):>27}{mark}  "
            f"{_stats([f.unavailable for f in leg.faults]):>26}"
            + (f"  ({missing} without a write on a new leader)" if missing else "")
        )
    lines.append(
        "goals: promotion -> first write p99 <= 0.50 s; unavailable under partition-leader"
        f" p99 <= grace {GRACE_S:.1f} s + 1.5 s = {GRACE_S + 1.5:.1f} s"
    )
    if any(not f.exact_promotion for leg in legs for f in leg.faults if f.promotion_to_write):
        lines.append(
            "* promotion from the first role sample showing the new leader (no leaderFor):"
            " up to one sampling interval late, so the gap is a lower bound"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.bench failover_client")
    p.add_argument("--faults", type=int, default=20, help="fault cycles per leg")
    p.add_argument("--kinds", default="kill-leader,partition-leader")
    p.add_argument("--mode", choices=["async", "sync"], default="async")
    p.add_argument("--before", metavar="REV", help="also run the legs from this commit's tree")
    p.add_argument("--healthy", type=float, default=6.0, help="seconds healthy per cycle")
    p.add_argument("--fault", type=float, default=8.0, help="seconds of fault per cycle")
    p.add_argument("--rate", type=float, default=100.0, help="operations/s over all clients")
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    print(
        f"failover_client: {args.faults} faults per leg, kinds {', '.join(kinds)}, {args.mode},"
        f" cycle {args.healthy:g}+{args.fault:g} s, rate {args.rate:g}/s, seed {args.seed}",
        flush=True,
    )
    legs: list[Leg] = []
    with tempfile.TemporaryDirectory(prefix="afcheck-f2c-") as tmp:
        scratch = Path(tmp)
        trees: list[tuple[str, Path | None]] = []
        if args.before:
            trees.append((args.before[:10], export_tree(args.before, scratch)))
        trees.append(("current", None))
        for name, tree in trees:
            for kind in kinds:
                leg = Leg(name, kind)
                run_leg(leg, tree, args, scratch)
                legs.append(leg)
                print(
                    f"  leg {name} {kind}: {len(leg.faults)} faults"
                    + (f" (failed: {leg.error})" if leg.error else ""),
                    flush=True,
                )
    for line in report(legs):
        print(line)
    return 3 if any(leg.error for leg in legs) else 0


if __name__ == "__main__":
    sys.exit(main())
