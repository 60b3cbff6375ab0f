"""``afcheck cluster up|status|down --backend docker``: a detached cluster that outlives the
command, survives a later run's stale sweep, and is removed (logs kept) by ``down``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.infra.backends.docker_engine import (
    LABEL_DETACHED,
    LABEL_RUN,
    labelled,
    sweep_stale,
)
from tests.docker.cluster_cmd import afcheck


@pytest.mark.docker
@pytest.mark.integration
@pytest.mark.timeout(600)
def test_cluster_up_outlives_the_command_and_down_removes_it(state_dir: Path, engine: Any) -> None:
    up = afcheck(
        "up", "--backend", "docker", "--servers", "2", "--state-dir", str(state_dir), "--json"
    )
    assert up.returncode == 0, up.stderr
    started = json.loads(up.stdout)
    run_id = started["run_id"]
    assert [a["id"] for a in started["agents"]] == ["a1", "a2", "a3"]
    assert [s["container"] for s in started["servers"]] == [
        f"afcheck-{run_id}-s1",
        f"afcheck-{run_id}-s2",
    ]

    # the command has exited; its containers run on, and a later run's sweep keeps them
    containers, networks = labelled(engine, f"{LABEL_RUN}={run_id}")
    assert len(containers) == 6 and len(networks) == 1
    assert all(c["State"] == "running" for c in containers)
    assert all(c["Labels"][LABEL_DETACHED] == str(state_dir) for c in containers)
    swept = sweep_stale(engine)
    assert not any(run_id in name for name in swept.containers + swept.networks)

    # a second `up` on the same state directory refuses
    again = afcheck("up", "--backend", "docker", "--servers", "2", "--state-dir", str(state_dir))
    assert again.returncode == 3 and "already up" in again.stderr

    # status needs no --backend: the state file says docker
    status = afcheck("status", "--state-dir", str(state_dir), "--json")
    assert status.returncode == 0, status.stderr
    view = json.loads(status.stdout)
    assert view["backend"] == "docker"
    assert all(n["state"] == "running" for n in view["agents"] + view["servers"])
    assert sum(a["role"] == "LEADER" for a in view["agents"]) == 1
    assert view["server_leader"] in ("s1", "s2")

    down = afcheck("down", "--state-dir", str(state_dir), "--json")
    assert down.returncode == 0, down.stderr
    assert sorted(json.loads(down.stdout)["stopped"]) == ["a1", "a2", "a3", "s1", "s2", "toxiproxy"]
    assert labelled(engine, f"{LABEL_RUN}={run_id}") == ([], [])
    assert not (state_dir / "cluster.json").exists()
    for node_id in ("a1", "s1"):
        assert (state_dir / "nodes" / node_id / f"{node_id}.log").stat().st_size > 0


@pytest.mark.docker
def test_cluster_up_docker_usage_and_engine_errors(state_dir: Path) -> None:
    usage = afcheck("up", "--backend", "docker", "--servers", "0", "--state-dir", str(state_dir))
    assert usage.returncode == 4 and "--servers 1 or more" in usage.stderr
    env = dict(os.environ, DOCKER_HOST=f"unix://{state_dir}/no-such.sock")
    no_engine = afcheck(
        "up", "--backend", "docker", "--servers", "2", "--state-dir", str(state_dir), env=env
    )
    assert no_engine.returncode == 3
    assert no_engine.stderr.count("\n") == 1 and "no Docker engine answers" in no_engine.stderr
