"""Degraded links: latency with jitter, connection resets, connections cut after N bytes."""

from __future__ import annotations

from harness.core.fault import Fault, LinkKey, NemesisContext, Report, report

MIN_LATENCY_MS, MAX_LATENCY_MS = 50, 300


def all_links(ctx: NemesisContext) -> list[LinkKey]:
    return sorted((lk.src, lk.dst) for lk in ctx.backend.net.links())


class SlowNetwork(Fault):
    """Every link (clients included) gets 50-300 ms of latency each way, plus jitter."""

    name = "slow-network"
    family = "network"
    needs = frozenset({"proxies"})

    def __init__(self) -> None:
        self._links: list[LinkKey] = []

    async def inject(self, ctx: NemesisContext) -> Report:
        latency = ctx.rng.randint(MIN_LATENCY_MS, MAX_LATENCY_MS)
        jitter = ctx.rng.randint(0, latency // 2)
        self._links = all_links(ctx)
        await ctx.backend.net.slow(self._links, latency, jitter)
        return report(links=self._links, latency_ms=latency, jitter_ms=jitter)

    async def heal(self, ctx: NemesisContext) -> Report:
        links, self._links = self._links, []
        if links:
            await ctx.backend.net.heal(links)
        return report(links=links)


class FlakyNetwork(Fault):
    """About a third of the links (at least one) either reset their connections after a
    random delay (``reset_peer``) or close them after a random byte count (``limit_data``)."""

    name = "flaky-network"
    family = "network"
    needs = frozenset({"proxies"})

    def __init__(self) -> None:
        self._links: list[LinkKey] = []

    async def inject(self, ctx: NemesisContext) -> Report:
        links = all_links(ctx)
        chosen = sorted(ctx.rng.sample(links, max(1, len(links) // 3)))
        toxics: dict[str, dict[str, int | str]] = {}
        for link in chosen:
            self._links.append(link)
            if ctx.rng.random() < 0.5:
                timeout_ms = ctx.rng.randint(100, 2000)
                await ctx.backend.net.reset_peer([link], timeout_ms)
                toxics["->".join(link)] = {"toxic": "reset_peer", "timeout_ms": timeout_ms}
            else:
                nbytes = ctx.rng.randint(1_000, 100_000)
                await ctx.backend.net.limit_data([link], nbytes)
                toxics["->".join(link)] = {"toxic": "limit_data", "bytes": nbytes}
        return report(links=chosen, toxics=toxics)

    async def heal(self, ctx: NemesisContext) -> Report:
        links, self._links = self._links, []
        if links:
            await ctx.backend.net.heal(links)
        return report(links=links)
