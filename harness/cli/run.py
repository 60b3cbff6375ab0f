"""``afcheck run``: one test against a fresh cluster, with a progress bar and a verdict.

The flags build one :class:`harness.core.test.Test`; ``--replay RUN_DIR``
builds it from that run's ``test.json`` instead (same seed: the same
operations, the same faults at the same offsets). Exit codes (Jepsen's): 0
valid, 1 invalid (a promised property broke), 2 unknown; 3 the harness
failed (a node would not start, a part is missing); 4 bad flags. The report
path is printed at the end; on an invalid or unknown verdict, the seed and
the commands that repeat the run too.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cli import EXIT_HARNESS, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID, UsageError
from harness.core.test import Test, Timeouts, default_cluster
from harness.infra.backends.base import ClusterSpec

if TYPE_CHECKING:
    from harness.cli.registry import Registry
    from harness.core.runner import RunResult

BAR_WIDTH = 30

# flags that define the test (default None: "not given"), with their defaults
TEST_DEFAULTS: dict[str, Any] = {
    "workload": "set",
    "workload_config": None,
    "nemesis": "partition-leader",
    "backend": "local",
    "replication": "async",
    "time_limit": 60.0,
    "concurrency": 5,
    "rate": 50.0,
    "seed": None,
    "healthy": 10.0,
    "fault": 10.0,
    "servers": 3,
    "agents": 3,
    "name": None,
    "agency_flag": None,
    "server_flag": None,
    "no_proxies": None,
    "start_timeout": None,
    "recovery_timeout": None,
    "final_timeout": None,
    "request_timeout": None,
    "op_timeout": None,
    "client": "native",
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run one test (workload + nemesis) against a fresh cluster",
        description="Run a workload against a fresh cluster while a nemesis injects faults; "
        "check the history and write report.html.",
    )
    add_test_flags(p)
    p.add_argument(
        "--replay",
        metavar="RUN_DIR",
        help="run the test of RUN_DIR/test.json again, with its seed (only --store and "
        "--quiet may be given beside it)",
    )
    p.add_argument("--store", default=None, help="where run directories go (default: store)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def add_test_flags(p: argparse.ArgumentParser) -> None:
    """The flags that define a test (see :meth:`harness.core.test.Test.flags`)."""
    d = TEST_DEFAULTS
    p.add_argument(
        "--workload", help=f"register | set | dirty-read | users | jobs (default {d['workload']})"
    )
    p.add_argument("--workload-config", metavar="JSON", help="workload settings, a JSON object")
    p.add_argument(
        "--nemesis",
        help="a fault name (e.g. partition-leader, kill-leader), a comma list, 'mixed' or "
        f"'none' (default {d['nemesis']})",
    )
    p.add_argument("--backend", choices=["local", "docker"], help="default local")
    p.add_argument("--replication", choices=["async", "sync"], help="default async")
    p.add_argument("--time-limit", type=float, help="seconds of workload (default 60)")
    p.add_argument("--concurrency", type=int, help="concurrent client processes (default 5)")
    p.add_argument("--rate", type=float, help="operations/s over all clients (default 50)")
    p.add_argument("--seed", type=int, help="repeat a run (printed by every run)")
    p.add_argument("--healthy", type=float, help="seconds healthy per cycle (default 10)")
    p.add_argument("--fault", type=float, help="seconds of fault per cycle (default 10)")
    p.add_argument("--servers", type=int, help="default 3")
    p.add_argument("--agents", type=int, help="default 3")
    p.add_argument("--name", help="test name (default workload-nemesis-mode)")
    p.add_argument("--agency-flag", action="append", metavar="KEY=VALUE", help="agent flag")
    p.add_argument("--server-flag", action="append", metavar="KEY=VALUE", help="server flag")
    p.add_argument("--no-proxies", action="store_true", default=None, help="no Toxiproxy")
    p.add_argument("--start-timeout", type=float, help="seconds for the cluster to start")
    for f in ("recovery", "final", "request", "op"):
        p.add_argument(f"--{f}-timeout", type=float, help=f"seconds ({f})")
    p.add_argument(
        "--client",
        help="whose requests the workload sends: native (default) | python-arango | "
        "python-arango:failover | arangojs | arangojs:failover (docs/drivers.md)",
    )


def _given(args: argparse.Namespace) -> list[str]:
    return [k for k in TEST_DEFAULTS if getattr(args, k, None) is not None]


def _pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--{flag} takes KEY=VALUE, not {item!r}")
        out[key] = value
    return out


def build_test(args: argparse.Namespace, plugins: Registry) -> Test:
    """The test the flags describe (``ValueError`` says which flag is wrong)."""
    v: dict[str, Any] = {}
    for key, default in TEST_DEFAULTS.items():
        given = getattr(args, key, None)
        v[key] = default if given is None else given
    settings: Any = {}
    if v["workload_config"] is not None:
        try:
            settings = json.loads(v["workload_config"])
        except json.JSONDecodeError as exc:
            raise ValueError(f"--workload-config is not JSON: {exc.msg}") from None
        if not isinstance(settings, dict):
            raise ValueError("--workload-config must be a JSON object")
    base = default_cluster()
    cluster = ClusterSpec(
        agents=v["agents"],
        servers=v["servers"],
        replication=v["replication"],
        proxied=not v["no_proxies"],
        agency_flags=_pairs(v["agency_flag"], "agency-flag"),
        server_flags=_pairs(v["server_flag"], "server-flag"),
        start_timeout=base.start_timeout if v["start_timeout"] is None else v["start_timeout"],
    )
    defaults = Timeouts()
    timeouts = Timeouts(
        **{
            f: getattr(defaults, f) if v[f"{f}_timeout"] is None else v[f"{f}_timeout"]
            for f in ("recovery", "final", "request", "op")
        }
    )
    seed = v["seed"] if v["seed"] is not None else random.SystemRandom().randrange(2**31)
    test = Test(
        workload=plugins.workload(v["workload"], settings),
        seed=seed,
        nemesis=v["nemesis"],
        faults=plugins.faults_for(v["nemesis"]),
        backend=v["backend"],
        cluster=cluster,
        concurrency=v["concurrency"],
        rate=v["rate"],
        time_limit=v["time_limit"],
        healthy_s=v["healthy"],
        fault_s=v["fault"],
        timeouts=timeouts,
        store=args.store or "store",
        name=v["name"] or "",
        client=v["client"],
    )
    test.validate()
    return test


def replay_test(run_dir: str, plugins: Registry, store: str | None) -> Test:
    """The test recorded in ``run_dir/test.json`` (in ``store`` when given)."""
    path = Path(run_dir) / "test.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    test = Test.from_json(data, plugins)
    if store is not None:
        test = dataclasses.replace(test, store=store)
    return test


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


def print_summary(result: RunResult) -> None:
    res = result.results
    for name, r in res.get("checkers", {}).items():
        print(f"  {name:14} {str(r.get('valid')):8} {r.get('summary', '')}")
    for prop, p in res.get("promises", {}).items():
        holds = {True: "holds", False: "BROKEN", None: "n/a"}[p.get("holds")]
        print(f"  {p['status']:9} {holds:7} {prop}")
    for note in res.get("notes", []):
        print(f"  note: {note}")
    if result.test.client != "native":  # the workload's requests went through a real driver
        print(f"client: {result.test.client}  operations: {res.get('operations')}")
    print(f"verdict: {result.valid}  seed: {result.seed}")
    if result.valid is not True:
        print(f"repeat with: afcheck run --replay {result.run_dir}")
        print(f"         or: {result.test.repeat_command()}")
    print(f"run directory: {result.run_dir}")
    report = result.report or (result.run_dir / "results.json")
    print(f"report: {report}")


def main(args: argparse.Namespace) -> int:
    from harness.cli.registry import REGISTRY
    from harness.core.runner import UnmetNeeds, run_test

    try:
        if args.replay is not None:
            extra = _given(args)
            if extra:
                flags = ", ".join("--" + k.replace("_", "-") for k in extra)
                raise UsageError(f"afcheck run: --replay takes the test from RUN_DIR; drop {flags}")
            test = replay_test(args.replay, REGISTRY, args.store)
        else:
            test = build_test(args, REGISTRY)
    except ValueError as exc:
        raise UsageError(f"afcheck run: {exc}") from exc
    progress = None if args.quiet else ProgressBar()
    try:
        result = asyncio.run(run_test(test, progress))
    except KeyboardInterrupt:
        raise
    except UnmetNeeds as exc:  # e.g. --nemesis isolate-leader --backend local
        raise UsageError(f"afcheck run: {exc}") from exc
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"afcheck run: harness failure: {type(exc).__name__}: {reason}", file=sys.stderr)
        print(
            f"afcheck run: seed {test.seed}; repeat with: {test.repeat_command()}",
            file=sys.stderr,
        )
        return EXIT_HARNESS
    print_summary(result)
    return exit_code(result.valid)
