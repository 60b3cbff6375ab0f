"""``afcheck cluster up|status|down`` with agents only: starts, reports, and leaves nothing."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.infra import procs
from harness.infra.backends import credentials
from harness.infra.backends.ports import LOCK_DIR
from harness.infra.probe import http_json

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _afcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "cluster", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_up_status_down_leaves_nothing_running(tmp_path: Path) -> None:
    state = str(tmp_path / "cluster")
    up = _afcheck("up", "--agents", "3", "--servers", "0", "--json", "--state-dir", state)
    pids: list[int] = []
    try:
        assert up.returncode == 0, up.stderr
        assert "Active Failover needs at least 2 servers" in up.stderr
        out = json.loads(up.stdout)
        assert out["backend"] == "local" and out["servers"] == []
        assert [a["id"] for a in out["agents"]] == ["a1", "a2", "a3"]
        pids = [a["pid"] for a in out["agents"]]
        recorded = json.loads((tmp_path / "cluster" / "cluster.json").read_text())
        pids.append(recorded["toxiproxy"]["pid"])  # every agent link runs through Toxiproxy
        assert all(procs.alive(p) for p in pids)

        again = _afcheck("up", "--agents", "3", "--state-dir", state)
        assert again.returncode == 3 and "already up" in again.stderr
        assert len(again.stderr.strip().splitlines()) == 1

        status = _afcheck("status", "--json", "--state-dir", state)
        assert status.returncode == 0, status.stderr
        view = json.loads(status.stdout)
        leaders = {a["leader"] for a in view["agents"]}
        assert len(leaders) == 1 and None not in leaders
        assert sum(a["role"] == "LEADER" for a in view["agents"]) == 1

        config_url = out["agents"][0]["url"] + "/_api/agency/config"
        assert http_json(config_url)[0] == 401  # the agency wants the cluster's secret
        headers = credentials.load(state).agency_headers()
        code, body = http_json(config_url, headers=headers)
        assert code == 200 and body["configuration"]["agency size"] == 3
    finally:
        down = _afcheck("down", "--state-dir", state)
        for pid in pids:
            procs.stop(pid)
    assert down.returncode == 0, down.stderr
    assert not any(procs.alive(p) for p in pids)
    assert not (tmp_path / "cluster" / "cluster.json").exists()
    assert _afcheck("status", "--state-dir", state).returncode == 3


def test_up_rejects_bad_sizes(tmp_path: Path) -> None:
    bad = _afcheck("up", "--agents", "4", "--state-dir", str(tmp_path))
    assert bad.returncode == 4 and bad.stderr.count("\n") == 1


def _claimed(port: int) -> bool:
    """Another PortPool holds the lock of ``port``."""
    path = os.path.join(LOCK_DIR, f"{port}.lock")
    with open(path, "a+", encoding="ascii") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def test_ports_stay_claimed_while_the_cluster_lives(tmp_path: Path) -> None:
    state = str(tmp_path / "cluster")
    up = _afcheck("up", "--agents", "1", "--servers", "0", "--json", "--state-dir", state)
    pids: list[int] = []
    ports: list[int] = []
    try:
        assert up.returncode == 0, up.stderr
        pids = [a["pid"] for a in json.loads(up.stdout)["agents"]]
        with open(os.path.join(state, "cluster.json"), encoding="utf-8") as fh:
            ports = [a["port"] for a in json.load(fh)["agents"]]
        assert ports and all(_claimed(p) for p in ports)
    finally:
        down = _afcheck("down", "--state-dir", state)
        for pid in pids:
            procs.stop(pid)
    assert down.returncode == 0, down.stderr
    assert not any(_claimed(p) for p in ports)
