"""Pauses: SIGSTOP a node's process group (``docker pause``); healing resumes it.

A paused node keeps its sockets open but answers nothing: the classic
"long GC pause" that a lease must outlast.
"""

from __future__ import annotations

from harness.core.fault import (
    Fault,
    NemesisContext,
    Report,
    agency_leader,
    report,
    server_leader,
    skipped,
)


class Pause(Fault):
    """Base of the pause faults: ``choose`` picks the victim (None: nothing to pause)."""

    name = "pause"
    family = "pause"

    def __init__(self) -> None:
        self._paused: str | None = None

    async def choose(self, ctx: NemesisContext) -> str | None:
        raise NotImplementedError

    async def inject(self, ctx: NemesisContext) -> Report:
        victim = await self.choose(ctx)
        if victim is None:
            return skipped("no node to pause: the cluster names no leader")
        self._paused = victim  # set first: a pause that fails halfway is still healed
        await ctx.backend.pause(victim)
        return report(nodes=[victim], pid=ctx.backend.node(victim).pid)

    async def heal(self, ctx: NemesisContext) -> Report:
        victim, self._paused = self._paused, None
        if victim is None:
            return report()
        await ctx.backend.resume(victim)
        return report(nodes=[victim], resumed=victim)


class PauseLeader(Pause):
    name = "pause-leader"
    needs = frozenset({"leader"})

    async def choose(self, ctx: NemesisContext) -> str | None:
        return await server_leader(ctx)


class PauseAgencyLeader(Pause):
    name = "pause-agency-leader"
    needs = frozenset({"leader"})

    async def choose(self, ctx: NemesisContext) -> str | None:
        return await agency_leader(ctx)
