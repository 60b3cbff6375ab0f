"""The same ``set`` + ``partition-leader`` run on both backends: reports of the same shape.

Both runs share a seed and settings. Their results must name the same
checkers and promise rows, their reports must have the same sections, the
Docker run's report must name its containers, and its node logs must be in
its run directory (linked from the report).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from harness.cli.registry import REGISTRY
from harness.core.runner import RunResult, run_test
from harness.core.test import Test
from harness.infra.backends.base import Backend, ClusterSpec
from harness.infra.backends.docker import DockerBackend

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.timeout(420)]

RUN_LIMIT = 180.0  # seconds one whole run may take, start-up and final reads included
SEED = 4242


def _run(backend_name: str, store: Path, backend: Backend | None = None) -> RunResult:
    test = Test(
        workload=REGISTRY.workload("set"),
        seed=SEED,
        nemesis="partition-leader",
        faults=REGISTRY.faults_for("partition-leader"),
        backend=backend_name,
        cluster=ClusterSpec(agents=3, servers=2),
        time_limit=15.0,
        healthy_s=4.0,
        fault_s=6.0,
        concurrency=4,
        rate=30.0,
        store=str(store),
        name=f"same-shape-{backend_name}",
    )

    async def go() -> RunResult:
        async with asyncio.timeout(RUN_LIMIT):
            return await run_test(test, backend=backend)

    return asyncio.run(go())


def _sections(page: str) -> list[str]:
    """The report's section anchors in order (optional note boxes left out)."""
    return re.findall(r'<section id="([^"]+)"', page)


def test_set_partition_leader_reports_have_the_same_shape_on_both_backends(
    images: tuple[str, str], tmp_path: Path
) -> None:
    local = _run("local", tmp_path / "local")
    docker = _run("docker", tmp_path / "docker", DockerBackend(*images))

    assert local.results["checkers"].keys() == docker.results["checkers"].keys()
    assert local.results["promises"].keys() == docker.results["promises"].keys()
    assert {k: p["status"] for k, p in local.results["promises"].items()} == {
        k: p["status"] for k, p in docker.results["promises"].items()
    }
    assert local.report is not None and docker.report is not None
    local_page = local.report.read_text(encoding="utf-8")
    docker_page = docker.report.read_text(encoding="utf-8")
    assert _sections(local_page) == _sections(docker_page)
    assert "nodes" in _sections(docker_page)

    # the faults really happened on both
    for result in (local, docker):
        events = [
            json.loads(line)
            for line in (result.run_dir / "nemesis.jsonl").read_text().splitlines()
            if line.strip()
        ]
        assert any(e.get("event") == "start" for e in events), result.run_dir

    # the docker run names its containers, in test.json and in the report
    nodes = json.loads((docker.run_dir / "test.json").read_text())["nodes"]
    assert [n["id"] for n in nodes] == ["a1", "a2", "a3", "s1", "s2"]
    for node in nodes:
        assert node["container"], node
        assert f"<code>{node['container']}</code>" in docker_page
        log = docker.run_dir / "nodes" / node["id"] / f"{node['id']}.log"
        assert log.stat().st_size > 0, f"{log} is empty"
        assert f'href="nodes/{node["id"]}/{node["id"]}.log"' in docker_page
    assert (docker.run_dir / "nodes" / "toxiproxy" / "toxiproxy.log").is_file()
    assert "<th>container</th>" not in local_page
