"""Graceful restarts: SIGTERM a server (a leader hands over first), then start it again.

The restart runs in the background from ``inject`` to ``heal``, so the fault's
window in ``nemesis.jsonl`` covers the switchover it causes; each restarted
server is waited for until it follows the leader and holds the leader's last
tick (at the time the wait began) before the next one is stopped. Injections
report ``planned: true``; healing reports the switchovers the agency recorded
meanwhile (``Target/Switchovers`` entries of a newer epoch), so the
availability checker counts only those leader changes as planned.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.core import observe
from harness.core.fault import (
    Fault,
    NemesisContext,
    Report,
    report,
    server_ids,
    server_leader,
    skipped,
)

CATCH_UP_S = 30.0
EPOCH = "/arango/Plan/AsyncReplication/Epoch"
SWITCHOVERS = "/arango/Target/Switchovers"


async def _agency(ctx: NemesisContext, path: str) -> Any:
    """The agency's value at ``path``; None when it is empty or the agency did not answer."""
    try:
        return await observe.agency_read(ctx.backend, path)
    except LookupError:
        return None


async def switchovers_since(ctx: NemesisContext, epoch: int) -> list[dict[str, Any]] | None:
    """``{"old", "new", "epoch"}`` of each switchover recorded after ``epoch`` (None: unknown)."""
    try:
        records = await observe.agency_read(ctx.backend, SWITCHOVERS)
    except LookupError:
        return None
    return [
        {"old": r.get("old"), "new": r.get("new"), "epoch": r["epoch"]}
        for r in (records if isinstance(records, list) else [])
        if isinstance(r, dict) and isinstance(r.get("epoch"), int) and r["epoch"] > epoch
    ]


async def wait_following(ctx: NemesisContext, sid: str, limit: float | None = None) -> None:
    """Until ``sid`` follows a leader and holds the leader's last tick (``TimeoutError`` after
    ``limit``, default :data:`CATCH_UP_S` seconds)."""
    limit = CATCH_UP_S if limit is None else limit
    roles = await observe.server_roles(ctx.backend)
    target = max((r["last_tick"] or 0 for r in roles if r["role"] == "leader"), default=0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        mine = next((r for r in await observe.server_roles(ctx.backend) if r["node"] == sid), None)
        if mine and mine["role"] == "follower" and (mine["last_tick"] or 0) >= target:
            return
        if loop.time() >= deadline:
            raise TimeoutError(
                f"{sid} did not follow a caught-up leader within {limit:g} s: {mine}"
            )
        await asyncio.sleep(0.1)


class GracefulRestart(Fault):
    """Base: ``order`` names the servers to restart, one after the other."""

    name = "graceful-restart"
    family = "planned"
    needs = frozenset({"leader"})

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._nodes: list[str] = []
        self._epoch: int | None = None  # the Plan epoch when the restarts began

    async def order(self, ctx: NemesisContext) -> list[str]:
        raise NotImplementedError

    async def _restart_all(self, ctx: NemesisContext, nodes: list[str]) -> None:
        for sid in nodes:
            await ctx.backend.stop(sid)  # SIGTERM: a leader hands over before it exits
            await ctx.backend.start_node(sid)
            await wait_following(ctx, sid)

    async def inject(self, ctx: NemesisContext) -> Report:
        nodes = await self.order(ctx)
        if not nodes:
            return skipped("no leader to restart around")
        self._nodes = nodes
        epoch = await _agency(ctx, EPOCH)
        self._epoch = epoch if isinstance(epoch, int) else None
        self._task = asyncio.create_task(self._restart_all(ctx, nodes))
        return report(nodes=nodes, planned=True, order=nodes)

    async def heal(self, ctx: NemesisContext) -> Report:
        task, self._task = self._task, None
        nodes, self._nodes = self._nodes, []
        epoch, self._epoch = self._epoch, None
        try:
            if task is not None:
                await task
        finally:
            for sid in nodes:  # a restart that failed halfway still leaves every node running
                if not await ctx.backend.is_running(sid):
                    await ctx.backend.start_node(sid)
        found = await switchovers_since(ctx, epoch) if epoch is not None else None
        if found is None:
            return report(nodes=nodes, restarted=nodes)
        return report(nodes=nodes, restarted=nodes, switchovers=found)


class RestartLeader(GracefulRestart):
    """The leader: a planned switchover, then it comes back as a follower."""

    name = "restart-leader"

    async def order(self, ctx: NemesisContext) -> list[str]:
        leader = await server_leader(ctx)
        return [leader] if leader is not None and leader in server_ids(ctx.backend) else []
