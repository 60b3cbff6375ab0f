"""Hard isolation: take a node's container off the network (``docker network disconnect``).

Unlike a Toxiproxy partition, which cuts chosen links, an isolated node has
no network at all but its own loopback: clients, agents and the other
servers all lose it, and its own outgoing connections fail too. Healing
reconnects it at its old address. Only a backend offering
:class:`harness.infra.backends.base.Isolating` (the Docker backend) can do this:
the faults need ``isolation``, so the runner schedules them nowhere else (called
on another backend anyway, they report themselves skipped and do nothing).
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
from harness.infra.backends.base import Isolating


def isolating(ctx: NemesisContext) -> Isolating | None:
    """The backend, if it can disconnect a node from the network."""
    backend = ctx.backend
    return backend if isinstance(backend, Isolating) else None


class Isolate(Fault):
    """Base of the isolation faults: ``choose`` picks the victim (None: nothing to isolate)."""

    name = "isolate"
    # a node cut from everything: a partition, as the promise table sees it
    family = "partition"
    needs = frozenset({"isolation", "leader"})

    def __init__(self) -> None:
        self._isolated: str | None = None

    async def choose(self, ctx: NemesisContext) -> str | None:
        raise NotImplementedError

    async def inject(self, ctx: NemesisContext) -> Report:
        backend = isolating(ctx)
        if backend is None:
            return skipped(
                f"{self.name} needs a backend that can disconnect a node from the network "
                f"(docker); the {ctx.backend.name} backend cannot"
            )
        victim = await self.choose(ctx)
        if victim is None:
            return skipped("no node to isolate: the cluster names no leader")
        self._isolated = victim  # set first: a disconnect that fails halfway is still healed
        await backend.disconnect(victim)
        return report(nodes=[victim], isolated=victim, container=ctx.backend.node(victim).container)

    async def heal(self, ctx: NemesisContext) -> Report:
        victim, self._isolated = self._isolated, None
        backend = isolating(ctx)
        if victim is None or backend is None:
            return report()
        await backend.connect(victim)
        return report(nodes=[victim], reconnected=victim)


class IsolateLeader(Isolate):
    """The server leader's container taken off the network."""

    name = "isolate-leader"

    async def choose(self, ctx: NemesisContext) -> str | None:
        return await server_leader(ctx)


class IsolateAgencyLeader(Isolate):
    """The agency leader's container taken off the network."""

    name = "isolate-agency-leader"

    async def choose(self, ctx: NemesisContext) -> str | None:
        return await agency_leader(ctx)
