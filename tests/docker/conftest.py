"""Fixtures of the Docker tier: an engine that answers (else skip, or fail under CI=true),
the images built once per session, and a started DockerBackend per test."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.docker import DockerBackend
from harness.infra.backends.docker_engine import connect, engine_answers, remove_run

Scenario = Callable[[DockerBackend], Awaitable[None]]
RunCluster = Callable[..., None]  # (scenario, spec=None)
SCENARIO_LIMIT = 240.0  # seconds a whole cluster test may take, start-up included


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here is in one xdist group: containers of two tests never compete for CPU."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here) and item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group("docker"))


@pytest.fixture(scope="session")
def docker_engine() -> None:
    reason = engine_answers()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires the docker tier: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def images(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(node image, toxiproxy image) for the current tree, built when missing."""
    from harness.infra.images import ensure_images

    store = os.environ.get("AFCHECK_STORE", "store")
    return ensure_images(store)


@pytest.fixture
def engine(docker_engine: None) -> Iterator[object]:
    client = connect()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def state_dir(tmp_path: Path, engine: Any, images: tuple[str, str]) -> Iterator[Path]:
    """A state directory for ``afcheck cluster``; whatever cluster it still records is
    removed at the end."""
    state = tmp_path / "cluster"
    try:
        yield state
    finally:
        recorded = state / "cluster.json"
        if recorded.exists():
            remove_run(engine, json.loads(recorded.read_text())["run_id"])


@pytest.fixture
def run_cluster(images: tuple[str, str], tmp_path: Path) -> RunCluster:
    """Run ``scenario(backend)`` on a started 3-agent, 2-server cluster; always torn down."""

    def run(scenario: Scenario, spec: ClusterSpec | None = None) -> None:
        node_image, toxiproxy_image = images
        spec = spec or ClusterSpec(state_dir=str(tmp_path / "state"), start_timeout=90)

        async def go() -> None:
            async with asyncio.timeout(SCENARIO_LIMIT):
                async with DockerBackend(node_image, toxiproxy_image) as backend:
                    await backend.start(spec)
                    await scenario(backend)

        asyncio.run(go())

    return run
