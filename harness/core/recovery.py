"""After the faults: heal everything and wait until the cluster has a leader again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from harness.core import observe
from harness.infra.backends.base import Backend, Isolating

log = logging.getLogger(__name__)


async def heal_everything(backend: Backend, node_timeout: float = 30.0) -> list[str]:
    """Remove every toxic, reconnect isolated nodes, resume paused ones, restart dead ones,
    reset every clock.

    Returns one line per action that failed (the run keeps going: the
    checkers judge what the cluster did, and the report shows these).
    """
    problems: list[str] = []
    with contextlib.suppress(RuntimeError):  # RuntimeError: an unproxied backend has no net
        try:
            await asyncio.wait_for(backend.net.heal(), timeout=node_timeout)
        except (TimeoutError, OSError) as exc:
            problems.append(f"network heal failed: {type(exc).__name__}: {exc}")
    for node in backend.nodes():
        try:
            if isinstance(backend, Isolating):  # a node taken off the network (docker)
                await asyncio.wait_for(backend.connect(node.id), timeout=node_timeout)
            await asyncio.wait_for(backend.resume(node.id), timeout=node_timeout)
            await asyncio.wait_for(backend.set_clock(node.id, 0.0, 1.0), timeout=node_timeout)
            if not await backend.is_running(node.id):
                await asyncio.wait_for(backend.start_node(node.id), timeout=node_timeout * 2)
        except Exception as exc:  # keep healing the other nodes
            problems.append(f"{node.id}: heal failed: {type(exc).__name__}: {exc}")
    for line in problems:
        log.warning("%s", line)
    return problems


async def wait_for_leader(backend: Backend, timeout_s: float) -> str | None:
    """The server that both the agency names and itself claims as leader, within
    ``timeout_s`` seconds; None if none appeared in time."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        leader = await observe.server_leader(backend)
        if leader is not None:
            roles = await observe.server_roles(backend)
            if any(r["node"] == leader and r["role"] == "leader" for r in roles):
                return leader
        if loop.time() >= end:
            return None
        await asyncio.sleep(0.25)


def converged(roles: list[dict[str, Any]], leader: str) -> bool:
    """Every server is up, ``leader`` claims leadership, every other server follows it
    and has applied everything the leader has (so any rollback file is written)."""
    by_node = {r["node"]: r for r in roles}
    lead = by_node.get(leader)
    if lead is None or lead.get("role") != "leader":
        return False
    tick = lead.get("last_tick")
    for node, r in by_node.items():
        if node == leader:
            continue
        if r.get("role") != "follower" or r.get("leader") not in (leader, None):
            return False
        # equal ticks: a follower behind has not caught up, one ahead still holds
        # writes the leader lacks (it has not rolled them back and resynced yet)
        if tick is not None and r.get("last_tick") != tick:
            return False
    return True


async def wait_for_convergence(backend: Backend, leader: str, timeout_s: float) -> bool:
    """Wait until :func:`converged` holds (True) or ``timeout_s`` passes (False)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        if converged(await observe.server_roles(backend), leader):
            return True
        if loop.time() >= end:
            return False
        await asyncio.sleep(0.25)
