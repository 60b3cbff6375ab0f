"""The fault protocol, its context, and helpers every fault shares.

A fault knows nothing about workloads: it reaches the cluster only through
the backend (whole-node faults, clock files) and its network (link toxics).
``inject`` does the fault and ``heal`` undoes it; each returns exactly what
it touched, as ``{"nodes": [...], "links": [[src, dst], ...], "detail": {...}}``,
which the schedule writes to ``nemesis.jsonl``. Every random choice is drawn
from ``ctx.rng`` (seeded from the run's seed), so a run can be repeated.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from harness.core import observe
from harness.infra.backends.base import Backend, Isolating

Report = dict[str, Any]
LinkKey = tuple[str, str]

# how long a leader-aware fault waits for the cluster to name a leader
LEADER_WAIT_S = 5.0


@dataclass
class NemesisContext:
    backend: Backend
    rng: random.Random
    log: Callable[[dict[str, Any]], None]  # writes one nemesis.jsonl line


@runtime_checkable
class Fault(Protocol):
    name: str

    async def inject(self, ctx: NemesisContext) -> Report:
        """Do the fault; return what it touched."""

    async def heal(self, ctx: NemesisContext) -> Report:
        """Undo it (restart killed nodes, resume paused ones, reset clocks, remove toxics)."""


class FaultError(RuntimeError):
    """A fault could not be applied or undone; the message names the fault and the node."""


def report(nodes: Iterable[str] = (), links: Iterable[LinkKey] = (), **detail: Any) -> Report:
    """The shape every inject/heal returns."""
    return {
        "nodes": sorted(set(nodes)),
        "links": [[src, dst] for src, dst in links],
        "detail": detail,
    }


def agent_ids(backend: Backend) -> list[str]:
    return [n.id for n in backend.nodes() if n.kind == "agent"]


def server_ids(backend: Backend) -> list[str]:
    return [n.id for n in backend.nodes() if n.kind == "server"]


async def _wait_for(lookup: Callable[[], Awaitable[str | None]], wait_s: float) -> str | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        found = await lookup()
        if found is not None or loop.time() >= deadline:
            return found
        await asyncio.sleep(0.1)


async def server_leader(ctx: NemesisContext, wait_s: float | None = None) -> str | None:
    """The server the agency names as leader now (waits up to ``wait_s``, default
    ``LEADER_WAIT_S``, during a vacuum)."""
    wait = LEADER_WAIT_S if wait_s is None else wait_s
    return await _wait_for(lambda: observe.server_leader(ctx.backend), wait)


async def agency_leader(ctx: NemesisContext, wait_s: float | None = None) -> str | None:
    """The agent leading the agency now (waits up to ``wait_s`` during an election)."""
    wait = LEADER_WAIT_S if wait_s is None else wait_s
    return await _wait_for(lambda: observe.agency_leader(ctx.backend), wait)


def skipped(reason: str) -> Report:
    """The report of a fault that found nothing to act on (e.g. no leader during a vacuum)."""
    return report(skipped=reason)


async def heal_all(ctx: NemesisContext) -> Report:
    """Undo every fault a nemesis may have left: toxics, isolation, pauses, kills, clock skews.

    Used at the end of a test, whatever the schedule was doing when it stopped.
    """
    backend = ctx.backend
    started: list[str] = []
    try:
        net = backend.net
    except RuntimeError:  # an unproxied cluster has no links to heal
        net = None
    if net is not None:
        await net.heal()
    if isinstance(backend, Isolating):
        for node in backend.nodes():
            await backend.connect(node.id)
    for node in backend.nodes():
        await backend.resume(node.id)
        await backend.set_clock(node.id, 0.0, 1.0)
    for node in backend.nodes():
        if not await backend.is_running(node.id):
            await backend.start_node(node.id)
            started.append(node.id)
    return report(nodes=started, healed="all")
