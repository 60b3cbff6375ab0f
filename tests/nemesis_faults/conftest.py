"""Fixtures: a real local cluster (or real agents with stand-in servers) and a fault context."""

from __future__ import annotations

import asyncio
import importlib
import os
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harness.core.fault import NemesisContext
from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.local import LocalBackend

FAKE_SERVER = "tests.harness_net.fake_node"
ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# fast supervision so that failovers happen within a short test
AGENCY_FLAGS = {"grace-period": "3", "ok-threshold": "1.5"}


@pytest.fixture(autouse=True)
def _importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{path}" if path else str(ROOT))


def server_unavailable() -> str | None:
    """Why the real server cannot run here (None when it can)."""
    try:
        importlib.import_module("cluster.server.node")
    except ImportError as exc:
        return f"cluster.server cannot be imported yet: {exc}"
    return None


@asynccontextmanager
async def cluster(
    state_dir: Path, real_servers: bool = True, replication: str = "async"
) -> AsyncIterator[NemesisContext]:
    """A started 3-agent/2-server cluster and a seeded fault context; torn down on exit."""
    backend = LocalBackend() if real_servers else LocalBackend(server_module=FAKE_SERVER)
    spec = ClusterSpec(
        state_dir=str(state_dir),
        start_timeout=60,
        replication="sync" if replication == "sync" else "async",
        agency_flags=dict(AGENCY_FLAGS),
    )
    async with backend:
        await backend.start(spec)
        yield NemesisContext(backend, random.Random(1))


async def eventually(
    probe: Callable[[], Coroutine[Any, Any, T | None]], within: float, what: str
) -> T:
    """Poll ``probe`` until it returns something other than None (tolerant bounds only)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if value is not None:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s")
        await asyncio.sleep(0.2)


async def throughout(
    probe: Callable[[], Coroutine[Any, Any, bool]], seconds: float, what: str
) -> None:
    """Poll ``probe`` for ``seconds``; it must hold every time (a property that must last)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        if not await probe():
            raise AssertionError(f"{what}: stopped holding")
        if loop.time() > deadline:
            return
        await asyncio.sleep(0.2)
