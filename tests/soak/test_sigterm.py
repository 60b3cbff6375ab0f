"""SIGTERM during a round: the round ends early, is checked, marked incomplete; the soak stops.

A real short soak in a subprocess (local backend, real processes and Toxiproxy).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("soak")]


def test_sigterm_marks_the_round_in_flight_incomplete(tmp_path: Path) -> None:
    store = tmp_path / "soak"
    cmd = [
        sys.executable, "-m", "harness.cli", "soak", "--duration", "10m", "--round-time", "30",
        "--workloads", "set", "--nemeses", "kill-leader", "--modes", "async",
        "--store", str(store), "--seed", "11",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        history: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            history = list(store.glob("runs/*/*/history.jsonl"))
            if history and history[0].stat().st_size > 2000:  # the workload is running
                break
            time.sleep(0.5)
        assert history, "the round never started its workload"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 1), out
    assert "stopped by SIGTERM" in out
    state = json.loads((store / "soak.json").read_text())
    assert [r["status"] for r in state["rounds"]] == ["incomplete"]
    run_dir = store / state["rounds"][0]["run_dir"]
    results = json.loads((run_dir / "results.json").read_text())
    assert "SIGTERM" in results["incomplete"]
    assert results["checkers"]["set-full"]["attempt-count"] > 0  # partial history, checked
    assert (run_dir / "report.html").exists()
    assert (run_dir / "cluster.tar.gz").exists()  # kept, compressed
    # store/latest and the index only ever point at complete runs
    assert not os.path.lexists(store / "latest")
    assert state["rounds"][0]["run_dir"] not in (store / "index.html").read_text()
    # no node process outlives the soak
    pids = [n["pid"] for n in json.loads((run_dir / "test.json").read_text()).get("nodes", [])]
    for pid in pids:
        if pid:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
            )
