"""``afcheck run``: one test against a fresh cluster, with a progress bar and a verdict.

Exit codes (Jepsen's): 0 valid, 1 invalid (a promised property broke),
2 unknown; 3 the harness failed (a node would not start, a part is
missing); 4 bad flags. The report path is printed at the end; on an invalid
or unknown verdict, the seed and the command that repeats the run too.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from harness.cli import EXIT_HARNESS, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID, UsageError
from harness.core.runner import RunConfig, RunResult, repeat_command, run_test

BAR_WIDTH = 30


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run one test (workload + nemesis) against a fresh cluster",
        description="Run a workload against a fresh cluster while a nemesis injects faults; "
        "check the history and write report.html.",
    )
    p.add_argument("--workload", default="set", help="register | set | dirty-read")
    p.add_argument(
        "--nemesis",
        default="partition-leader",
        help="a fault name (e.g. partition-leader, kill-leader), 'mixed' or 'none'",
    )
    p.add_argument("--backend", default="local", choices=["local", "docker"])
    p.add_argument("--replication", default="async", choices=["async", "sync"])
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds of workload")
    p.add_argument("--concurrency", type=int, default=5, help="concurrent client processes")
    p.add_argument("--rate", type=float, default=50.0, help="operations/s over all clients")
    p.add_argument("--seed", type=int, default=None, help="repeat a run (printed by every run)")
    p.add_argument("--store", default="store", help="where run directories go")
    p.add_argument("--healthy", type=float, default=10.0, help="seconds healthy per cycle")
    p.add_argument("--fault", type=float, default=10.0, help="seconds of fault per cycle")
    p.add_argument("--servers", type=int, default=3)
    p.add_argument("--agents", type=int, default=3)
    p.add_argument("--name", default=None, help="test name (default workload-nemesis-mode)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    config = RunConfig(
        workload=args.workload,
        nemesis=args.nemesis,
        backend=args.backend,
        replication=args.replication,
        time_limit=args.time_limit,
        concurrency=args.concurrency,
        rate=args.rate,
        seed=args.seed,
        store=args.store,
        test_name=args.name,
        healthy_s=args.healthy,
        fault_s=args.fault,
        agents=args.agents,
        servers=args.servers,
    )
    try:
        config.validate()
    except ValueError as exc:
        raise UsageError(f"afcheck run: {exc}") from exc
    return config


class ProgressBar:
    """A progress line on stderr: redrawn in place on a terminal, else every 10 s."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._last = -1e9

    def __call__(self, elapsed: float, total: float, counts: dict[str, int]) -> None:
        frac = min(1.0, elapsed / total) if total > 0 else 1.0
        done = frac >= 1.0
        if not self.tty and not done and elapsed - self._last < 10.0:
            return
        self._last = elapsed
        filled = int(frac * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        tally = " ".join(f"{k}={counts.get(k, 0)}" for k in ("ok", "fail", "info"))
        line = f"[{bar}] {elapsed:5.1f}/{total:g}s {tally}"
        if self.tty:
            sys.stderr.write(f"\r{line}   " + ("\n" if done else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def exit_code(valid: object) -> int:
    if valid is True:
        return EXIT_VALID
    if valid is False:
        return EXIT_INVALID
    return EXIT_UNKNOWN


def print_summary(result: RunResult, config: RunConfig) -> None:
    res = result.results
    for name, r in res.get("checkers", {}).items():
        print(f"  {name:14} {str(r.get('valid')):8} {r.get('summary', '')}")
    for prop, p in res.get("promises", {}).items():
        holds = {True: "holds", False: "BROKEN", None: "n/a"}[p.get("holds")]
        print(f"  {p['status']:9} {holds:7} {prop}")
    for note in res.get("notes", []):
        print(f"  note: {note}")
    print(f"verdict: {result.valid}  seed: {result.seed}")
    if result.valid is not True:
        print(f"repeat with: {repeat_command(config)}")
    print(f"run directory: {result.run_dir}")
    report = result.report or (result.run_dir / "results.json")
    print(f"report: {report}")


def main(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        from workloads.registry import make_workload

        workload = make_workload(config.workload)
    except KeyError as exc:
        raise UsageError(f"afcheck run: {exc.args[0]}") from exc
    progress = None if args.quiet else ProgressBar()
    try:
        result = asyncio.run(run_test(config, workload, progress))
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"afcheck run: harness failure: {type(exc).__name__}: {reason}", file=sys.stderr)
        print(
            f"afcheck run: seed {config.seed}; repeat with: {repeat_command(config)}",
            file=sys.stderr,
        )
        return EXIT_HARNESS
    print_summary(result, config)
    return exit_code(result.valid)
