"""``afcheck cluster switchover`` and ``afcheck cluster restart --rolling [--upgrade PATH]``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.cluster_state import load_state
from harness.infra import procs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

REPO = Path(__file__).resolve().parents[2]


def _afcheck(*args: str, limit: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "cluster", *args],
        capture_output=True,
        text=True,
        timeout=limit,
    )


def test_switchover_and_rolling_upgrade_keep_one_leader(tmp_path: Path) -> None:
    state = str(tmp_path / "cluster")
    assert _afcheck("switchover", "--state-dir", state).returncode == 3  # no cluster yet
    up = _afcheck("up", "--agents", "1", "--servers", "2", "--json", "--state-dir", state)
    try:
        assert up.returncode == 0, up.stderr
        sw = _afcheck("switchover", "--json", "--state-dir", state)
        assert sw.returncode == 0, sw.stderr
        moved = json.loads(sw.stdout)
        assert moved["old"] != moved["new"] and moved["epoch"] == 2

        back = _afcheck("switchover", "--to", moved["old"], "--json", "--state-dir", state)
        assert back.returncode == 0, back.stderr
        assert json.loads(back.stdout)["new"] == moved["old"]
        bad = _afcheck("switchover", "--to", "s9", "--state-dir", state)
        assert bad.returncode == 3 and "unknown server" in bad.stderr

        wrong = _afcheck("restart", "--rolling", "--upgrade", str(tmp_path), "--state-dir", state)
        assert wrong.returncode == 4 and "not a source tree" in wrong.stderr
        before = {s["id"]: s["pid"] for s in load_state(state)["servers"]}  # type: ignore[index]
        rolled = _afcheck(
            "restart", "--rolling", "--upgrade", str(REPO), "--json", "--state-dir", state
        )
        assert rolled.returncode == 0, rolled.stderr
        out = json.loads(rolled.stdout)
        assert out["restarted"].split(",")[-1] == moved["old"]  # the leader goes last
        assert out["leader"] == moved["new"]
        after = {s["id"]: s["pid"] for s in load_state(state)["servers"]}  # type: ignore[index]
        assert all(after[s] != before[s] and procs.alive(after[s]) for s in before)
        env = Path(f"/proc/{after['s1']}/environ").read_bytes().split(b"\0")
        assert f"PYTHONPATH={REPO}".encode() in [e.split(b":")[0] for e in env]
    finally:
        down = _afcheck("down", "--state-dir", state)
    assert down.returncode == 0, down.stderr
