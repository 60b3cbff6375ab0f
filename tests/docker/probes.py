"""Small probes of what a container really does: HTTP answers, engine state, its processes."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from harness.infra.backends.docker import DockerBackend


async def status(url: str, headers: dict[str, str], wait: float = 2.0) -> int | None:
    """HTTP status of ``GET url`` (with these credentials), or None when nothing answers in time."""
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(wait):
                async with session.get(url, headers=headers, allow_redirects=False) as resp:
                    return resp.status
    except (TimeoutError, aiohttp.ClientError):
        return None


def version_url(
    backend: DockerBackend, node_id: str, direct: bool = True
) -> tuple[str, dict[str, str]]:
    """A URL that answers 200 while the node runs, and the credentials it needs."""
    node = backend.node(node_id)
    base = node.direct_url if direct else node.url
    if node.kind == "agent":
        return f"{base}/_api/agency/config", backend.credentials.agency_headers()
    return f"{base}/_api/version", backend.credentials.server_headers()


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
