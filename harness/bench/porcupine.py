"""Benchmark: afcheck's linearizability checker beside Porcupine, on the same histories.

The Porcupine side is a Go driver built at run time
(:mod:`harness.bench.porcupine_driver`).

1. ``small``: 100+ generated Jepsen ``history.edn`` files (~200 ops, 5
   processes, 3 keys, cas, ``info`` ops, nemesis ops, about a third with an
   injected anomaly). One ``afcheck check`` command on all of them against
   one driver process on the same EDN files; wall time includes start-up and
   parsing on both sides. Target: same verdicts, afcheck <= 1.5x Porcupine.
   ``afcheck check -j 2`` (files in two processes; Porcupine checks a
   history's partitions on every core) is timed beside it.
   The driver is also timed on the files converted to Porcupine JSON, for
   reference (conversion not counted).
2. ``large``: 10,000-op register histories (1 and 5 keys, 10 and 50
   processes, 0/5/20% ``info``; valid, a stale read, a lost write). Check time
   on each side (parsing excluded). Targets: same verdicts where Porcupine
   decides, afcheck <= 3x Porcupine per row, and a verdict within 60 s where
   Porcupine has none within its cap (300 s, or 30 s with ``--quick``).
3. ``fixtures``: no ``unknown`` on tests/checkers/fixtures/.

``python -m harness.bench porcupine [--quick] [--parts small,large,fixtures] [--seed S]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness.bench.histories import unique_register_history
from harness.bench.porcupine_driver import (
    PORCUPINE,
    DriverRun,
    build_driver,
    children_cpu,
    run_driver,
)
from harness.checkers.linearizable import check_linearizable
from harness.checkers.porcupine_format import dumps as porcupine_json
from harness.core.history import read_history, write_edn


def _afcheck_cmd() -> list[str]:
    return [sys.executable, "-m", "harness.cli", "check"]


def part_small(work: Path, driver: Path, count: int, seed: int) -> bool:
    """Many small Jepsen histories, one process per tool."""
    edn_files: list[Path] = []
    json_files: list[Path] = []
    expected: dict[str, bool] = {}
    anomalies = (None, None, "stale-read", None, "lost-write")
    for n in range(count):
        anomaly = anomalies[n % len(anomalies)]
        ops, _ = unique_register_history(
            200,
            processes=5,
            keys=3,
            info_rate=0.08,
            cas_rate=0.25,
            seed=seed * 1000 + n,
            anomaly=anomaly,
            nemesis_every=30,
        )
        edn = work / f"small-{n:03d}.edn"
        write_edn(edn, ops)
        js = work / f"small-{n:03d}.json"
        js.write_text(porcupine_json(read_history(edn)), encoding="utf-8")
        edn_files.append(edn)
        json_files.append(js)
        expected[edn.stem] = anomaly is None
    # As installed, afcheck runs from compiled bytecode (as the driver runs a built
    # binary): an untimed first run writes it, into the work directory.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    cmd = [*_afcheck_cmd(), "--model", "cas-register", *map(str, edn_files)]
    subprocess.run(cmd, capture_output=True, env=env)
    # best of 5 on each side, the runs interleaved: these machines are shared and noisy.
    # afcheck runs once in one process, once with -j 2 (files in two processes, as
    # Porcupine checks a history's partitions on every core)
    af: dict[int, tuple[float, float]] = {}
    outputs: dict[int, str] = {}
    pc = pc_json = None
    for _ in range(5):
        for jobs in (1, 2):
            started = time.perf_counter()
            cpu0 = children_cpu()
            done = subprocess.run([*cmd, "-j", str(jobs)], capture_output=True, text=True, env=env)
            wall, cpu = time.perf_counter() - started, children_cpu() - cpu0
            best_wall, best_cpu = af.get(jobs, (float("inf"), float("inf")))
            af[jobs] = (min(best_wall, wall), min(best_cpu, cpu))
            outputs[jobs] = done.stdout
        pc = _best(pc, run_driver(driver, edn_files, 300.0))
        pc_json = _best(pc_json, run_driver(driver, json_files, 300.0))
    assert pc is not None and pc_json is not None
    ours = _verdicts(outputs[1])
    same = ours == _verdicts(outputs[2])
    theirs = {Path(k).stem: v for k, v in pc.verdicts.items()}
    agree = sum(1 for k in ours if theirs.get(k) == ours[k])
    invalid = sum(1 for v in ours.values() if v == "invalid")
    ratios = {j: af[j][0] / pc.wall_s if pc.wall_s > 0 else float("inf") for j in af}
    ok = agree == count and same and ratios[1] <= 1.5
    print(
        f"small: {count} Jepsen EDN histories (~200 ops; {invalid} invalid by afcheck); "
        f"best of 5 interleaved runs each, one command per run\n"
        f"  porcupine driver, the EDN files  {pc.wall_s:7.2f} s wall  {pc.cpu_s:6.2f} s cpu "
        f"{pc.note}"
    )
    for jobs, (wall, cpu) in sorted(af.items()):
        print(
            f"  afcheck check -j {jobs}, EDN files  {wall:7.2f} s wall  {cpu:6.2f} s cpu   "
            f"ratio {ratios[jobs]:.2f}x wall, {cpu / max(pc.cpu_s, 1e-9):.2f}x cpu"
        )
    print(
        f"  target <= 1.5x wall (the plain call, -j 1)  verdicts agree on {agree}/{count}, -j 1 and -j 2 "
        f"{'alike' if same else 'DIFFER'}   {'meets' if ok else 'MISSES'}\n"
        f"  for reference: the driver on the same histories as Porcupine JSON "
        f"{pc_json.wall_s:.2f} s wall  {pc_json.cpu_s:.2f} s cpu"
    )
    wrong = [k for k, v in ours.items() if (v == "valid") != expected[k]]
    if wrong:
        print(f"  afcheck verdicts differing from the generator's: {wrong[:5]}")
    return ok


def _verdicts(stdout: str) -> dict[str, str]:
    """File stem -> verdict, from ``afcheck check``'s lines."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        name, _, rest = line.partition(": ")
        if name.endswith(".edn"):
            out[Path(name).stem] = rest.split()[0] if rest else "?"
    return out


def _best(best: DriverRun | None, run: DriverRun) -> DriverRun:
    """The run with the least wall time, carrying the least CPU time seen."""
    if best is None:
        return run
    faster = run if run.wall_s < best.wall_s else best
    faster.cpu_s = min(best.cpu_s, run.cpu_s)
    return faster


def part_large(
    work: Path, driver: Path, cap_s: float, seed: int, key_counts: Sequence[int] = (1, 5)
) -> bool:
    """10k-op histories, one row per shape; check time on each side."""
    print(
        f"large: 10,000-op register histories; check time (parse excluded), best of 3, wall "
        f"and CPU (Porcupine's CPU counts every thread); porcupine capped at {cap_s:g} s\n"
        f"  {'keys':>4} {'procs':>5} {'info':>5} {'history':<10} | {'afcheck wall / cpu':>27} | "
        f"{'porcupine wall / cpu':>28} | wall  cpu ratio  agree"
    )
    all_ok = True
    undecided_rows = decided_late = 0
    for keys in key_counts:
        for procs in (10, 50):
            for info in (0.0, 0.05, 0.2):
                for anomaly in (None, "stale-read", "lost-write"):
                    ops, _ = unique_register_history(
                        10_000, procs, keys, info, seed=seed, anomaly=anomaly
                    )
                    path = work / f"large-{keys}-{procs}-{int(info * 100)}-{anomaly}.json"
                    path.write_text(porcupine_json(ops), encoding="utf-8")
                    # best of 3 on both sides (these machines are noisy); Porcupine
                    # is re-run only when its first run decided within 5 s
                    ours_s = ours_cpu = float("inf")
                    for _ in range(3):
                        t0, c0 = time.perf_counter(), time.process_time()
                        result = check_linearizable(ops, "register")
                        ours_s = min(ours_s, time.perf_counter() - t0)
                        ours_cpu = min(ours_cpu, time.process_time() - c0)
                    ours = _verdict(result.valid)
                    pc = run_driver(driver, [path], cap_s)
                    theirs = pc.verdicts.get(str(path), "no answer")
                    theirs_s = pc.check_s.get(str(path), pc.wall_s)
                    theirs_cpu = pc.check_cpu_s.get(str(path), pc.cpu_s)
                    if theirs in ("valid", "invalid") and theirs_s < 5:
                        for _ in range(2):
                            again = run_driver(driver, [path], cap_s)
                            theirs_s = min(theirs_s, again.check_s.get(str(path), theirs_s))
                            theirs_cpu = min(
                                theirs_cpu, again.check_cpu_s.get(str(path), theirs_cpu)
                            )
                    if theirs in ("unknown", "no answer"):
                        undecided_rows += 1
                        row_ok = ours != "unknown" and ours_s <= 60
                        decided_late += 0 if row_ok else 1
                        agree = "n/a"
                        ratio = "  -     -  "
                    else:
                        row_ok = theirs == ours and ours_s <= 3 * max(theirs_s, 1e-9)
                        agree = "yes" if theirs == ours else "NO"
                        ratio = (
                            f"{ours_s / max(theirs_s, 1e-9):5.2f} "
                            f"{ours_cpu / max(theirs_cpu, 1e-9):5.2f}"
                        )
                    all_ok = all_ok and row_ok
                    print(
                        f"  {keys:>4} {procs:>5} {int(info * 100):>4}% {anomaly or 'valid':<10} | "
                        f"{ours:>8} {ours_s:8.3f} {ours_cpu:8.3f} s | "
                        f"{theirs:>9} {theirs_s:8.3f} {theirs_cpu:8.3f} s | "
                        f"{ratio}  {agree} {'' if row_ok else '(MISSES)'} {pc.note}"
                    )
                    sys.stdout.flush()
                    path.unlink()
    if undecided_rows:
        print(
            f"  porcupine gave no answer on {undecided_rows} rows; afcheck decided "
            f"{undecided_rows - decided_late} of them within 60 s"
        )
    print(f"  large: {'meets' if all_ok else 'MISSES'} its targets")
    return all_ok


def part_fixtures() -> bool:
    """No ``unknown`` on the checker fixtures."""
    root = Path(__file__).resolve().parents[2] / "tests" / "checkers" / "fixtures"
    ok = True
    for path in sorted(root.glob("*.edn")) + sorted(root.glob("findings/*/history.jsonl")):
        text = path.read_text(encoding="utf-8")
        model = "set" if ":add" in text or '"add"' in text else "cas-register"
        if model == "set" and '"read"' not in text and ":read" not in text:
            model = "availability"  # adds and no reads: a set verdict needs reads
        done = subprocess.run(
            [*_afcheck_cmd(), "--model", model, str(path)], capture_output=True, text=True
        )
        verdict = done.stdout.partition(": ")[2].split(" ")[0] or done.stderr.strip()
        ok = ok and verdict in ("valid", "invalid")
        print(f"fixtures: {path.relative_to(root)!s:<52} {model:<13} {verdict}")
    print(f"  fixtures: {'no unknown' if ok else 'UNKNOWN FOUND'}")
    return ok


def _verdict(valid: object) -> str:
    return "valid" if valid is True else "invalid" if valid is False else "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench porcupine")
    parser.add_argument("--quick", action="store_true", help="cap Porcupine at 30 s per row")
    parser.add_argument("--parts", default="small,large,fixtures")
    parser.add_argument("--small-count", type=int, default=102)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keys", default="1,5", help="large: the key counts of the rows to run (default 1,5)"
    )
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory(prefix="afcheck-porcupine-") as tmp:
        work = Path(tmp)
        driver_dir = work / "driver"
        driver_dir.mkdir()
        t0 = time.perf_counter()
        try:
            driver = build_driver(driver_dir)
        except RuntimeError as exc:
            print(f"porcupine: cannot build the Go driver: {exc}", file=sys.stderr)
            return 3
        print(f"built the Porcupine driver ({PORCUPINE}) in {time.perf_counter() - t0:.1f} s")
        ok = True
        if "small" in parts:
            ok = part_small(work, driver, args.small_count, args.seed) and ok
        if "large" in parts:
            try:
                key_counts = [int(k) for k in args.keys.split(",")]
            except ValueError:
                print(f"porcupine: --keys wants numbers, got {args.keys!r}", file=sys.stderr)
                return 4
            cap = 30.0 if args.quick else 300.0
            ok = part_large(work, driver, cap, args.seed, key_counts) and ok
        if "fixtures" in parts:
            ok = part_fixtures() and ok
    print(json.dumps({"all-targets-met": ok}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
