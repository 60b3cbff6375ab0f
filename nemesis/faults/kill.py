"""Kills: SIGKILL a node (``docker kill``); healing starts it again on its data."""

from __future__ import annotations

from harness.core.fault import (
    Fault,
    NemesisContext,
    Report,
    agency_leader,
    report,
    server_ids,
    server_leader,
    skipped,
)


class Kill(Fault):
    """Base of the kill faults: ``choose`` picks the victim (None: nothing to kill)."""

    name = "kill"
    family = "kill"

    def __init__(self) -> None:
        self._killed: str | None = None

    async def choose(self, ctx: NemesisContext) -> str | None:
        raise NotImplementedError

    async def inject(self, ctx: NemesisContext) -> Report:
        victim = await self.choose(ctx)
        if victim is None:
            return skipped("no node to kill: the cluster names no leader")
        pid = ctx.backend.node(victim).pid
        self._killed = victim  # set first: a kill that fails halfway is still healed
        await ctx.backend.kill(victim)
        return report(nodes=[victim], pid=pid)

    async def heal(self, ctx: NemesisContext) -> Report:
        victim, self._killed = self._killed, None
        if victim is None:
            return report()
        if not await ctx.backend.is_running(victim):
            await ctx.backend.start_node(victim)
        return report(nodes=[victim], restarted=victim, pid=ctx.backend.node(victim).pid)


class KillLeader(Kill):
    name = "kill-leader"
    needs = frozenset({"leader"})

    async def choose(self, ctx: NemesisContext) -> str | None:
        return await server_leader(ctx)


class KillRandom(Kill):
    """A random server (leader or follower)."""

    name = "kill-random"

    async def choose(self, ctx: NemesisContext) -> str | None:
        return ctx.rng.choice(server_ids(ctx.backend))


class KillAgencyLeader(Kill):
    name = "kill-agency-leader"
    needs = frozenset({"leader"})

    async def choose(self, ctx: NemesisContext) -> str | None:
        return await agency_leader(ctx)
