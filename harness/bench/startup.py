"""Benchmark: how fast ``afcheck`` starts, before and after lazy imports.

Times, in one run, each as the median of N fresh processes:

- ``afcheck --help`` and ``afcheck check --model cas-register FILE`` on a
  small EDN history, as they run now (only the named command's module is
  imported; no pandas, aiohttp, Docker SDK or reports for ``--help``);
- the same two commands after first importing what the old eager CLI
  imported at start-up (``pandas``, ``aiohttp``, ``harness.core.runner``,
  ``reports.render``): the "before" figures;
- a bare ``python -c pass``, the floor no CLI goes below.

Prints wall time and CPU time (user + system of the child: steadier on a
busy machine), both paths, their ratio, and the 0.3 s target for the lazy path.

``python -m harness.bench startup [--runs N]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TARGET_S = 0.3
EAGER = "import pandas, aiohttp, harness.core.runner, reports.render"
CLI = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"
HISTORY = """\
{:type :invoke, :f :write, :value 1, :process 0, :index 0, :time 10}
{:type :ok, :f :write, :value 1, :process 0, :index 1, :time 20}
{:type :invoke, :f :read, :value nil, :process 1, :index 2, :time 30}
{:type :ok, :f :read, :value 1, :process 1, :index 3, :time 40}
{:type :invoke, :f :cas, :value [1 2], :process 0, :index 4, :time 50}
{:type :ok, :f :cas, :value [1 2], :process 0, :index 5, :time 60}
{:type :invoke, :f :read, :value nil, :process 1, :index 6, :time 70}
{:type :ok, :f :read, :value 2, :process 1, :index 7, :time 80}
"""


def timed(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU time (s) of ``runs`` fresh processes of ``argv`` (after a warm-up)."""
    walls: list[float] = []
    cpus: list[float] = []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode not in (0, 1, 2):
            raise RuntimeError(f"{argv[-3:]} exited {proc.returncode}: {proc.stderr.strip()}")
        if i:  # the first run warms the page cache and the .pyc files
            walls.append(took)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench startup")
    parser.add_argument("--runs", type=int, default=7, help="processes per figure (median)")
    args = parser.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="afcheck-bench-") as tmp:
        edn = Path(tmp) / "history.edn"
        edn.write_text(HISTORY, encoding="utf-8")
        commands = {
            "afcheck --help": ["--help"],
            "afcheck check (8-op EDN)": ["check", "--model", "cas-register", str(edn)],
        }
        floor = timed([py, "-c", "pass"], args.runs)
        rows = []
        for label, words in commands.items():
            after = timed([py, "-c", CLI, *words], args.runs)
            before = timed([py, "-c", f"{EAGER}; {CLI}", *words], args.runs)
            rows.append((label, before, after))
    print(
        f"startup: median of {args.runs} fresh processes each"
        f" (python -c pass: {floor[0]:.3f} s wall, {floor[1]:.3f} s CPU)"
    )
    print(f"  {'command':26} {'':5} {'eager (before)':>15} {'lazy (now)':>11} {'ratio':>7}")
    for label, before, after in rows:
        for i, kind in enumerate(("wall", "CPU")):
            name = label if i == 0 else ""
            b, a = before[i], after[i]
            print(f"  {name:26} {kind:5} {b:13.3f} s {a:9.3f} s {b / a:6.1f}x")
    worst_wall = max(after[0] for _, _, after in rows)
    worst_cpu = max(after[1] for _, _, after in rows)
    verdict = "meets" if worst_wall < TARGET_S else "MISSES"
    print(
        f"  target < {TARGET_S:g} s for the lazy path: {verdict} (slowest {worst_wall:.3f} s wall,"
        f" {worst_cpu:.3f} s CPU)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
