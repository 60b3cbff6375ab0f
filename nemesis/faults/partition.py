"""Partitions: sets of directed links cut through Toxiproxy.

A cut link carries no data in either direction (a ``timeout`` toxic with
timeout 0 on both streams of its proxy); healing removes the toxics, which
closes the connections they held. "X cut from Y" cuts both ``X->Y`` and
``Y->X`` where those links exist (agents never open connections to servers).
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.core.fault import (
    Fault,
    LinkKey,
    NemesisContext,
    Report,
    agent_ids,
    report,
    server_ids,
    server_leader,
    skipped,
)
from harness.infra.backends.base import CLIENT


def links_between(
    side_a: Iterable[str], side_b: Iterable[str], existing: set[LinkKey]
) -> list[LinkKey]:
    """Every existing directed link from one side to the other, both directions."""
    a, b = list(side_a), list(side_b)
    pairs = [(x, y) for x in a for y in b] + [(y, x) for x in a for y in b]
    return sorted(p for p in set(pairs) if p in existing and p[0] != p[1])


def existing_links(ctx: NemesisContext) -> set[LinkKey]:
    return {(lk.src, lk.dst) for lk in ctx.backend.net.links()}


def halves(nodes: list[str], ctx: NemesisContext) -> tuple[list[str], list[str]]:
    """A random split into two halves (the first one the smaller when odd)."""
    shuffled = list(nodes)
    ctx.rng.shuffle(shuffled)
    cut = len(shuffled) // 2
    return sorted(shuffled[:cut]), sorted(shuffled[cut:])


def majorities_ring(nodes: list[str], ctx: NemesisContext) -> tuple[list[LinkKey], list[str]]:
    """Jepsen's majorities ring, as directed links: the nodes are shuffled into a ring
    and each one keeps only the links to the next ``n // 2`` nodes clockwise. So every
    node still reaches a majority (itself included), and no two reach the same one.
    Returns the links to cut and the ring order."""
    ring = list(nodes)
    ctx.rng.shuffle(ring)
    n = len(ring)
    keep = {(ring[i], ring[(i + k) % n]) for i in range(n) for k in range(1, n // 2 + 1)}
    cut = [(x, y) for x in ring for y in ring if x != y and (x, y) not in keep]
    return sorted(cut), ring


class LinkPartition(Fault):
    """Base of every partition: ``plan`` picks the links; inject cuts, heal restores them."""

    name = "partition"
    family = "partition"
    needs = frozenset({"proxies"})

    def __init__(self) -> None:
        self._cut: list[LinkKey] = []

    async def plan(self, ctx: NemesisContext) -> Report:
        raise NotImplementedError

    async def inject(self, ctx: NemesisContext) -> Report:
        planned = await self.plan(ctx)
        links = [(src, dst) for src, dst in planned["links"]]
        if links:
            self._cut = links
            await ctx.backend.net.cut(links)
        return planned

    async def heal(self, ctx: NemesisContext) -> Report:
        links, self._cut = self._cut, []
        if links:
            await ctx.backend.net.heal(links)
        return report(links=links)


class PartitionLeader(LinkPartition):
    """The server leader cut from every agent and every other server; clients still reach it."""

    name = "partition-leader"
    needs = frozenset({"proxies", "leader"})

    async def plan(self, ctx: NemesisContext) -> Report:
        leader = await server_leader(ctx)
        if leader is None:
            return skipped("the agency names no server leader")
        others = [n for n in agent_ids(ctx.backend) + server_ids(ctx.backend) if n != leader]
        links = links_between([leader], others, existing_links(ctx))
        return report(nodes=[leader], links=links, leader=leader)


class PartitionClientLeader(LinkPartition):
    """Clients cut from the server leader; the cluster itself is intact."""

    name = "partition-client-leader"
    needs = frozenset({"proxies", "leader"})

    async def plan(self, ctx: NemesisContext) -> Report:
        leader = await server_leader(ctx)
        if leader is None:
            return skipped("the agency names no server leader")
        return report(nodes=[leader], links=[(CLIENT, leader)], leader=leader)


class PartitionRandomHalves(LinkPartition):
    """All nodes (agents and servers) split into two random halves, every link between cut."""

    name = "partition-random-halves"

    async def plan(self, ctx: NemesisContext) -> Report:
        nodes = agent_ids(ctx.backend) + server_ids(ctx.backend)
        a, b = halves(nodes, ctx)
        links = links_between(a, b, existing_links(ctx))
        return report(nodes=nodes, links=links, halves=[a, b])


class PartitionAgencyMinority(LinkPartition):
    """One random agent cut from the other agents (servers still reach it)."""

    name = "partition-agency-minority"

    async def plan(self, ctx: NemesisContext) -> Report:
        agents = agent_ids(ctx.backend)
        victim = ctx.rng.choice(agents)
        others = [a for a in agents if a != victim]
        links = links_between([victim], others, existing_links(ctx))
        return report(nodes=[victim], links=links, isolated=victim)


class PartitionMajoritiesRing(LinkPartition):
    """Agents: each still reaches a majority, no two the same majority (Jepsen's ring)."""

    name = "partition-majorities-ring"

    async def plan(self, ctx: NemesisContext) -> Report:
        agents = agent_ids(ctx.backend)
        links, ring = majorities_ring(agents, ctx)
        existing = existing_links(ctx)
        return report(nodes=agents, links=[lk for lk in links if lk in existing], ring=ring)


class Bridge(LinkPartition):
    """Agents split in two halves plus one bridge agent that sees both (Jepsen's bridge)."""

    name = "bridge"

    async def plan(self, ctx: NemesisContext) -> Report:
        agents = list(agent_ids(ctx.backend))
        ctx.rng.shuffle(agents)
        bridge = agents[len(agents) // 2]
        rest = [a for a in agents if a != bridge]
        left, right = sorted(rest[: len(rest) // 2]), sorted(rest[len(rest) // 2 :])
        links = links_between(left, right, existing_links(ctx))
        return report(nodes=agents, links=links, bridge=bridge, halves=[left, right])
