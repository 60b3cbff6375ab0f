"""Integration: ``afcheck run`` end to end against a real local cluster (real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
# the installed entry point, as a user runs it (python -m would load the CLI twice)
AFCHECK = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]


def afcheck(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AFCHECK, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie left for init to reap counts as gone
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _pids(run_dir: Path) -> list[int]:
    test = json.loads((run_dir / "test.json").read_text())
    return [n["pid"] for n in test.get("nodes", []) if n.get("pid")]


def test_register_run_writes_a_complete_run_directory(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = afcheck(
        "run",
        "--workload",
        "register",
        "--nemesis",
        "none",
        "--time-limit",
        "4",
        "--rate",
        "40",
        "--seed",
        "7",
        "--store",
        str(store),
        "--quiet",
    )
    assert proc.returncode in (0, 2), proc.stderr + proc.stdout  # 2 until every checker lands
    latest = store / "latest"
    assert latest.is_symlink()
    run = latest.resolve()
    assert run.parent.name == "register-none-async"
    assert f"report: {run}" in proc.stdout or str(run) in proc.stdout
    for name in ("test.json", "history.jsonl", "history.edn", "roles.jsonl", "results.json"):
        assert (run / name).is_file(), name
    test = json.loads((run / "test.json").read_text())
    assert test["seed"] == 7 and "--seed 7" in test["repeat"]
    assert test["workload"]["name"] == "register" and test["faults"] == []
    assert test["replay"] == f"afcheck run --replay {run}"
    assert {n["id"] for n in test["nodes"]} >= {"a1", "s1"}
    history = _jsonl(run / "history.jsonl")
    oks = [op for op in history if op["type"] == "ok"]
    assert len(oks) > 20
    assert all(op.get("node", "").startswith("s") for op in oks)
    assert all(isinstance(op["value"], list) and len(op["value"]) == 2 for op in oks)
    open_: dict[Any, dict[str, Any]] = {}
    for op in history:
        if op["type"] == "invoke":
            assert op["process"] not in open_
            open_[op["process"]] = op
        else:
            assert open_.pop(op["process"])["f"] == op["f"]
    roles = _jsonl(run / "roles.jsonl")
    assert any(r["role"] == "leader" for r in roles)
    results = json.loads((run / "results.json").read_text())
    assert "linearizable" in results["checkers"]
    assert results["promises"]["leader-linearizable"]["status"] == "measured"
    assert (run / "nodes" / "s1").is_dir()
    assert not [p for p in _pids(run) if _alive(p)]


def test_dirty_reads_reach_followers_and_are_marked(tmp_path: Path) -> None:
    proc = afcheck(
        "run",
        "--workload",
        "dirty-read",
        "--nemesis",
        "none",
        "--time-limit",
        "4",
        "--rate",
        "40",
        "--store",
        str(tmp_path),
        "--quiet",
        "--replication",
        "sync",
    )
    assert proc.returncode in (0, 2), proc.stderr + proc.stdout
    run = (tmp_path / "latest").resolve()
    history = _jsonl(run / "history.jsonl")
    dirty = [op for op in history if op["type"] == "ok" and op.get("allow_dirty")]
    assert dirty, "no follower read completed"
    leaders = {r["node"] for r in _jsonl(run / "roles.jsonl") if r["role"] == "leader"}
    on_followers = [op for op in dirty if op["node"] not in leaders]
    assert on_followers and all(op["dirty"] is True for op in on_followers)
    writes = [op for op in history if op["type"] == "ok" and op["f"] == "write"]
    assert writes and {op["node"] for op in writes} <= leaders


def test_a_set_in_generations_reads_one_generation_and_survives_a_failover(
    tmp_path: Path,
) -> None:
    proc = afcheck(
        "run",
        "--workload",
        "set",
        "--workload-config",
        json.dumps({"generation_size": 40, "read_fraction": 0.15}),
        "--nemesis",
        "kill-leader",
        "--replication",
        "sync",
        "--time-limit",
        "12",
        "--healthy",
        "4",
        "--fault",
        "4",
        "--rate",
        "60",
        "--seed",
        "11",
        "--store",
        str(tmp_path),
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    run = (tmp_path / "latest").resolve()
    history = _jsonl(run / "history.jsonl")
    open_: dict[Any, dict[str, Any]] = {}
    reads: list[tuple[Any, list[int]]] = []
    for op in history:
        if op["type"] == "invoke":
            open_[op["process"]] = op
        elif op["f"] == "read" and op["type"] == "ok":
            reads.append((open_[op["process"]]["value"], op["value"]))
    assert reads
    during = [(g, elements) for g, elements in reads if g is not None]
    assert len({g for g, _ in during}) >= 3, "the run never moved past two generations"
    for g, elements in during:
        assert all(e // 40 == g for e in elements) and len(elements) <= 40
    final = reads[-1]
    assert final[0] is None  # the final read lists every generation
    acknowledged = {op["value"] for op in history if op["f"] == "add" and op["type"] == "ok"}
    assert acknowledged <= set(final[1])
    results = json.loads((run / "results.json").read_text())
    set_full = results["checkers"]["set-full"]
    assert set_full["valid"] is True, set_full
    assert set_full["stable-count"] >= len(acknowledged)


def test_bad_flags_exit_4() -> None:
    assert afcheck("run", "--workload", "nope").returncode == 4
    bad = afcheck("run", "--time-limit", "-1")
    assert bad.returncode == 4 and "time limit" in bad.stderr


def test_interrupt_leaves_nothing_running(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--workload",
            "set",
            "--nemesis",
            "none",
            "--time-limit",
            "60",
            "--store",
            str(tmp_path),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        run: Path | None = None
        while time.monotonic() < deadline:
            latest = tmp_path / "latest"
            if latest.exists() and (latest / "history.jsonl").exists():
                run = latest.resolve()
                if (run / "history.jsonl").stat().st_size > 0:
                    break
            time.sleep(0.2)
        assert run is not None, "the run never started"
        pids = _pids(run)
        assert pids
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while [p for p in pids if _alive(p)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if _alive(p)]
        history = _jsonl(run / "history.jsonl")  # an analysable prefix
        assert history and all("type" in op for op in history)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
