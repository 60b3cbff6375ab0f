"""Small probes of what a container really does: HTTP answers, engine state, its processes."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from harness.core.observe import ROOT_AUTH
from harness.infra.backends.docker import DockerBackend


async def status(url: str, wait: float = 2.0) -> int | None:
    """HTTP status of ``GET url`` (with root credentials), or None when nothing answers in time."""
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(wait):
                async with session.get(url, headers=ROOT_AUTH, allow_redirects=False) as resp:
                    return resp.status
    except (TimeoutError, aiohttp.ClientError):
        return None


def version_url(backend: DockerBackend, node_id: str, direct: bool = True) -> str:
    node = backend.node(node_id)
    base = node.direct_url if direct else node.url
    path = "/_api/agency/config" if node.kind == "agent" else "/_api/version"
    return f"{base}{path}"


async def until(predicate: Any, within: float = 30.0, every: float = 0.2) -> bool:
    """Poll an async predicate until it is true or ``within`` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(every)
    return False


def state(backend: DockerBackend, node_id: str) -> dict[str, Any]:
    container = backend.node(node_id).container
    info = backend.engine.client.inspect_container(container)
    result: dict[str, Any] = info["State"]
    return result


def inspect(backend: DockerBackend, node_id: str) -> dict[str, Any]:
    result: dict[str, Any] = backend.engine.client.inspect_container(
        backend.node(node_id).container
    )
    return result


def process_uid(pid: int) -> int:
    """The real uid of a host process (a container's main process as the host sees it)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Uid line for pid {pid}")


def exec_in(backend: DockerBackend, node_id: str, cmd: list[str]) -> str:
    client = backend.engine.client
    exec_id = client.exec_create(backend.node(node_id).container, cmd)
    return bytes(client.exec_start(exec_id)).decode()
