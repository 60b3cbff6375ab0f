"""Clock faults through each node's clock file (see ``cluster/common/clock.py``).

``clock-bump`` jumps the wall clocks of random nodes by +-[5, 60] s.
``clock-strobe`` flips the wall clocks of random nodes between a random
offset and none, every ~100 ms, from a background task, and also runs them
at a random rate (0.5x-2x), which skews the monotonic clock that leases and
supervision rely on. Healing sets every touched node back to no skew.
"""

from __future__ import annotations

import asyncio
import contextlib

from harness.core.fault import (
    Fault,
    NemesisContext,
    Report,
    agent_ids,
    report,
    server_ids,
)

MIN_OFFSET_S, MAX_OFFSET_S = 5.0, 60.0
STROBE_PERIOD_S = 0.1
RATES = (0.5, 0.8, 1.25, 2.0)


def random_nodes(ctx: NemesisContext) -> list[str]:
    """A random non-empty subset of all agents and servers."""
    nodes = agent_ids(ctx.backend) + server_ids(ctx.backend)
    count = ctx.rng.randint(1, len(nodes))
    return sorted(ctx.rng.sample(nodes, count))


def random_offset(ctx: NemesisContext) -> float:
    sign = ctx.rng.choice((-1.0, 1.0))
    return round(sign * ctx.rng.uniform(MIN_OFFSET_S, MAX_OFFSET_S), 3)


async def reset_clocks(ctx: NemesisContext, nodes: list[str]) -> None:
    for node in nodes:
        await ctx.backend.set_clock(node, 0.0, 1.0)


class ClockBump(Fault):
    name = "clock-bump"
    family = "clock"

    def __init__(self) -> None:
        self._nodes: list[str] = []

    async def inject(self, ctx: NemesisContext) -> Report:
        offsets = {node: random_offset(ctx) for node in random_nodes(ctx)}
        self._nodes = list(offsets)
        for node, offset in offsets.items():
            await ctx.backend.set_clock(node, offset)
        return report(nodes=offsets, offsets=offsets)

    async def heal(self, ctx: NemesisContext) -> Report:
        nodes, self._nodes = self._nodes, []
        await reset_clocks(ctx, nodes)
        return report(nodes=nodes, offsets=dict.fromkeys(nodes, 0.0))


class ClockStrobe(Fault):
    name = "clock-strobe"
    family = "clock"

    def __init__(self) -> None:
        self._nodes: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self.flips = 0

    async def inject(self, ctx: NemesisContext) -> Report:
        nodes = random_nodes(ctx)
        offsets = {node: random_offset(ctx) for node in nodes}
        rates = {node: ctx.rng.choice(RATES) for node in nodes}
        self._nodes, self.flips = nodes, 0
        self._task = asyncio.create_task(self._strobe(ctx, offsets, rates))
        return report(nodes=nodes, offsets=offsets, rates=rates, period_s=STROBE_PERIOD_S)

    async def _strobe(
        self, ctx: NemesisContext, offsets: dict[str, float], rates: dict[str, float]
    ) -> None:
        skewed = False
        while True:
            skewed = not skewed
            for node, offset in offsets.items():
                await ctx.backend.set_clock(node, offset if skewed else 0.0, rates[node])
            self.flips += 1
            await asyncio.sleep(STROBE_PERIOD_S)

    async def heal(self, ctx: NemesisContext) -> Report:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        nodes, self._nodes = self._nodes, []
        await reset_clocks(ctx, nodes)
        return report(nodes=nodes, flips=self.flips)
