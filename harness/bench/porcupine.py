"""Benchmark: afcheck's linearizability checker beside Porcupine, on the same histories.

The Go driver is written at run time into a temporary module outside the
repository (``go mod init``, ``go get github.com/anishathalye/porcupine@v1.3.1``,
``go build``); it reads the histories after we convert them to Porcupine's
JSON (:mod:`harness.checkers.porcupine_format`) and checks them with a
per-key partitioned register model, one file after another.

1. ``small``: 100+ generated Jepsen ``history.edn`` files (~200 ops, 5
   processes, 3 keys, cas, ``info`` ops, nemesis ops, about a third with an
   injected anomaly). One ``afcheck check`` process on all of them against one
   driver process on all of them; wall time includes start-up and parsing on
   both sides. Target: same verdicts, afcheck <= 1.5x Porcupine.
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
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.bench.histories import unique_register_history
from harness.checkers.linearizable import check_linearizable
from harness.checkers.porcupine_format import dumps as porcupine_json
from harness.core.history import read_history, write_edn

PORCUPINE = "github.com/anishathalye/porcupine@v1.3.1"
_MEMORY_CAP = 6 << 30  # the driver is stopped (no answer) beyond this RSS

_DRIVER = r"""
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

type Input struct {
	Op    string
	Key   string
	Value string
	Old   string
	New   string
}

type Output struct {
	Value   string
	Unknown bool
}

type rawOp struct {
	ClientId int
	Input    Input
	Call     int64
	Output   Output
	Return   int64
}

var model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(Input).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return "null" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(string)
		in := input.(Input)
		out := output.(Output)
		switch in.Op {
		case "read":
			if out.Unknown {
				return true, st
			}
			return out.Value == st, st
		case "write":
			return true, in.Value
		case "cas":
			if st == in.Old {
				return true, in.New
			}
			return out.Unknown, st
		}
		return false, st
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
}

func main() {
	timeout := flag.Duration("timeout", 300*time.Second, "per-file check timeout")
	flag.Parse()
	for _, path := range flag.Args() {
		t0 := time.Now()
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Printf("RESULT\t%s\terror\t0\t0\n", path)
			continue
		}
		var raw []rawOp
		if err := json.Unmarshal(data, &raw); err != nil {
			fmt.Printf("RESULT\t%s\terror\t0\t0\n", path)
			continue
		}
		ops := make([]porcupine.Operation, len(raw))
		for i, r := range raw {
			ops[i] = porcupine.Operation{ClientId: r.ClientId, Input: r.Input, Call: r.Call, Output: r.Output, Return: r.Return}
		}
		parse := time.Since(t0).Seconds()
		t1 := time.Now()
		res := porcupine.CheckOperationsTimeout(model, ops, *timeout)
		verdict := "unknown"
		if res == porcupine.Ok {
			verdict = "valid"
		} else if res == porcupine.Illegal {
			verdict = "invalid"
		}
		fmt.Printf("RESULT\t%s\t%s\t%.4f\t%.4f\n", path, verdict, time.Since(t1).Seconds(), parse)
	}
}
"""


def build_driver(workdir: Path) -> Path:
    """Write, fetch and build the Go driver in ``workdir``; the binary's path."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("go is not installed")
    (workdir / "main.go").write_text(_DRIVER, encoding="utf-8")
    env = dict(os.environ, GOFLAGS="-mod=mod")
    for cmd in (
        [go, "mod", "init", "afcheck.local/porcupinedriver"],
        [go, "get", PORCUPINE],
        [go, "build", "-o", "driver", "."],
    ):
        done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[1:])} failed: {done.stderr.strip()[-400:]}")
    return workdir / "driver"


@dataclass
class DriverRun:
    """One driver process: per-file verdicts and check seconds, and its wall time."""

    verdicts: dict[str, str]
    check_s: dict[str, float]
    wall_s: float
    note: str = ""
    cpu_s: float = 0.0


def run_driver(driver: Path, files: Sequence[Path], timeout_s: float) -> DriverRun:
    """Run the driver on ``files``; stop it beyond ``_MEMORY_CAP`` RSS or the time cap."""
    started = time.perf_counter()
    cpu0 = _children_cpu()
    proc = subprocess.Popen(
        [str(driver), "-timeout", f"{timeout_s}s", *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    note: list[str] = []

    def watch() -> None:
        while proc.poll() is None:
            rss = _rss(proc.pid)
            if rss > _MEMORY_CAP:
                note.append(f"stopped at {rss >> 20} MiB RSS")
                proc.send_signal(signal.SIGKILL)
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, _ = proc.communicate(timeout=timeout_s * len(files) + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        note.append("driver overran its time cap")
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu0
    verdicts: dict[str, str] = {}
    check_s: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 5 and parts[0] == "RESULT":
            verdicts[parts[1]] = parts[2]
            check_s[parts[1]] = float(parts[3])
    return DriverRun(verdicts, check_s, wall, "; ".join(note), cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


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
    # best of 3 on both sides: these machines are shared and noisy
    af_wall = af_cpu = float("inf")
    stdout = ""
    for _ in range(3):
        started = time.perf_counter()
        cpu0 = _children_cpu()
        done = subprocess.run(
            [*_afcheck_cmd(), "--model", "cas-register", *map(str, edn_files)],
            capture_output=True,
            text=True,
        )
        af_wall = min(af_wall, time.perf_counter() - started)
        af_cpu = min(af_cpu, _children_cpu() - cpu0)
        stdout = done.stdout
    ours: dict[str, str] = {}
    for line in stdout.splitlines():
        name, _, rest = line.partition(": ")
        if name.endswith(".edn"):
            ours[Path(name).stem] = rest.split()[0] if rest else "?"
    pc = run_driver(driver, json_files, 300.0)
    for _ in range(2):
        again = run_driver(driver, json_files, 300.0)
        pc.wall_s, pc.cpu_s = min(pc.wall_s, again.wall_s), min(pc.cpu_s, again.cpu_s)
    theirs = {Path(k).stem: v for k, v in pc.verdicts.items()}
    agree = sum(1 for k in ours if theirs.get(k) == ours[k])
    invalid = sum(1 for v in ours.values() if v == "invalid")
    ratio = af_wall / pc.wall_s if pc.wall_s > 0 else float("inf")
    ok = agree == count and ratio <= 1.5
    print(
        f"small: {count} Jepsen EDN histories (~200 ops; {invalid} invalid by afcheck); "
        f"best of 3 runs each\n"
        f"  afcheck check (one process)  {af_wall:7.2f} s wall  {af_cpu:6.2f} s cpu\n"
        f"  porcupine driver (one proc.) {pc.wall_s:7.2f} s wall  {pc.cpu_s:6.2f} s cpu "
        f"{pc.note}\n"
        f"  ratio {ratio:.2f}x wall, {af_cpu / max(pc.cpu_s, 1e-9):.2f}x cpu (target <= 1.5x)  "
        f"verdicts agree on {agree}/{count}   "
        f"{'meets' if ok else 'MISSES'}"
    )
    wrong = [k for k, v in ours.items() if (v == "valid") != expected[k]]
    if wrong:
        print(f"  afcheck verdicts differing from the generator's: {wrong[:5]}")
    return ok


def part_large(work: Path, driver: Path, cap_s: float, seed: int) -> bool:
    """10k-op histories, one row per shape; check time on each side."""
    print(
        f"large: 10,000-op register histories; check time, best of 3 (parse excluded); "
        f"porcupine capped at {cap_s:g} s\n"
        f"  {'keys':>4} {'procs':>5} {'info':>5} {'history':<10} | {'afcheck':>20} | "
        f"{'porcupine':>20} | ratio  agree"
    )
    all_ok = True
    undecided_rows = decided_late = 0
    for keys in (1, 5):
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
                    ours_s = float("inf")
                    for _ in range(3):
                        t0 = time.perf_counter()
                        result = check_linearizable(ops, "register")
                        ours_s = min(ours_s, time.perf_counter() - t0)
                    ours = _verdict(result.valid)
                    pc = run_driver(driver, [path], cap_s)
                    theirs = pc.verdicts.get(str(path), "no answer")
                    theirs_s = pc.check_s.get(str(path), pc.wall_s)
                    if theirs in ("valid", "invalid") and theirs_s < 5:
                        for _ in range(2):
                            again = run_driver(driver, [path], cap_s)
                            theirs_s = min(theirs_s, again.check_s.get(str(path), theirs_s))
                    if theirs in ("unknown", "no answer"):
                        undecided_rows += 1
                        row_ok = ours != "unknown" and ours_s <= 60
                        decided_late += 0 if row_ok else 1
                        agree = "n/a"
                        ratio = "  -  "
                    else:
                        row_ok = theirs == ours and ours_s <= 3 * max(theirs_s, 1e-9)
                        agree = "yes" if theirs == ours else "NO"
                        ratio = f"{ours_s / max(theirs_s, 1e-9):5.2f}"
                    all_ok = all_ok and row_ok
                    print(
                        f"  {keys:>4} {procs:>5} {int(info * 100):>4}% {anomaly or 'valid':<10} | "
                        f"{ours:>8} {ours_s:9.3f} s | {theirs:>9} {theirs_s:8.3f} s | "
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
            ok = part_large(work, driver, 30.0 if args.quick else 300.0, args.seed) and ok
        if "fixtures" in parts:
            ok = part_fixtures() and ok
    print(json.dumps({"all-targets-met": ok}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
