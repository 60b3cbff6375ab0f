"""Nothing a run labels outlives it: not after Ctrl-C or SIGTERM, and a crashed run's
containers and network are swept away when the next run starts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.docker import DockerBackend
from harness.infra.backends.docker_engine import LABEL_RUN, labelled, remove_run

pytestmark = [pytest.mark.docker, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def harness_process(
    images: tuple[str, str], tmp_path: Path, engine: Any
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A harness process with a started cluster, and its run id; killed and swept at the end."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.docker.harness_script", *images, str(tmp_path / "state")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = ""
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the harness process did not start a cluster: {err[-2000:]}")
        run_id = json.loads(line)["run"]
        yield proc, run_id
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if run_id:
            remove_run(engine, run_id)


def _leftovers(engine: Any, run_id: str) -> tuple[list[Any], list[Any]]:
    return labelled(engine, f"{LABEL_RUN}={run_id}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_removes_its_containers_and_network(
    harness_process: tuple[subprocess.Popen[str], str], engine: Any, sig: signal.Signals
) -> None:
    proc, run_id = harness_process
    containers, networks = _leftovers(engine, run_id)
    assert len(containers) == 3 and len(networks) == 1  # a1, s1, toxiproxy
    proc.send_signal(sig)
    proc.wait(timeout=90)
    assert _leftovers(engine, run_id) == ([], [])


def test_a_crashed_run_is_swept_when_the_next_run_starts(
    harness_process: tuple[subprocess.Popen[str], str],
    engine: Any,
    images: tuple[str, str],
    tmp_path: Path,
) -> None:
    proc, run_id = harness_process
    proc.kill()  # SIGKILL: no teardown can run
    proc.wait(timeout=30)
    containers, networks = _leftovers(engine, run_id)
    assert len(containers) == 3 and len(networks) == 1

    async def next_run() -> None:
        async with DockerBackend(*images) as backend:
            spec = ClusterSpec(agents=1, servers=1, state_dir=str(tmp_path / "next"))
            await backend.start(spec)
            assert _leftovers(engine, run_id) == ([], [])

    asyncio.run(asyncio.wait_for(next_run(), 180))
