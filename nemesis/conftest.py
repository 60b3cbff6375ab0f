"""Options and fixtures of the nemesis suites.

``--profile short|full`` (default ``full``) sets the test length; ``short``
keeps one case per family (the default CI run). ``--backend local|docker``
chooses where the cluster runs (``local`` by default). Runs go to
``--nemesis-store`` (default ``store``) and are kept for inspection.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from harness.core.schedule import PROFILES
from nemesis.suite import Case, run_case


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("afcheck nemesis suites")
    group.addoption(
        "--profile",
        choices=sorted(PROFILES),
        default="full",
        help="test length: full (default) or short (one case per family, for CI)",
    )
    group.addoption("--backend", choices=["local", "docker"], default="local")
    group.addoption("--nemesis-store", default="store", help="where run directories go")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "full_only: runs only under --profile full")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--profile") != "short":
        return
    keep = [i for i in items if i.get_closest_marker("full_only") is None]
    dropped = [i for i in items if i.get_closest_marker("full_only") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception:
        return False
    return True


@pytest.fixture
def nemesis_run(request: pytest.FixtureRequest) -> Callable[[Case], RunResult]:
    profile = str(request.config.getoption("--profile"))
    backend = str(request.config.getoption("--backend"))
    store = str(request.config.getoption("--nemesis-store"))
    if backend == "docker" and not _docker_available():
        if os.environ.get("CI") == "true":
            pytest.fail("no Docker engine answers, and CI=true requires the docker backend")
        pytest.skip("no Docker engine answers (docker backend)")

    def run(case: Case) -> RunResult:
        return run_case(case, profile, backend, store)

    return run
