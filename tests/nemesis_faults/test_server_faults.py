"""Server faults proven by their effect on a real 3-agent/2-server local cluster."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from harness.cli.registry import REGISTRY
from harness.core import observe
from harness.core.fault import NemesisContext

from .conftest import AGENCY_FLAGS, cluster, eventually, server_unavailable, throughout
from .test_agency_faults import pid_alive

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(server_unavailable() is not None, reason=str(server_unavailable())),
]

GRACE_S = float(AGENCY_FLAGS["grace-period"])
# failover must follow within the grace period; the bound is loose for a busy 2-core machine
FAILOVER_BOUND_S = GRACE_S + 20


async def answers_version(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(1.0):
                async with session.get(f"{url}/_api/version") as resp:
                    return resp.status < 500
    except (TimeoutError, aiohttp.ClientError):
        return False


async def heartbeat(ctx: NemesisContext, server: str) -> dict[str, Any] | None:
    value = await observe.agency_read(ctx.backend, f"/arango/Sync/ServerStates/{server}")
    return value if isinstance(value, dict) else None


async def new_plan_leader(ctx: NemesisContext, old: str) -> tuple[str, float]:
    start = time.monotonic()

    async def probe() -> str | None:
        leader = await observe.server_leader(ctx.backend)
        return leader if leader not in (None, old) else None

    leader = await eventually(probe, FAILOVER_BOUND_S, f"a new leader in the Plan after {old}")
    return leader, time.monotonic() - start


def test_partition_leader_leads_to_a_new_leader(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as ctx:
            fault = REGISTRY.fault("partition-leader")
            injected = await fault.inject(ctx)
            (old,) = injected["nodes"]
            # clients still reach the old leader, the cluster does not
            assert await answers_version(ctx.backend.node(old).url)
            new, took = await new_plan_leader(ctx, old)
            print(f"partition-leader: {old} -> {new} in the Plan after {took:.2f} s")
            await fault.heal(ctx)

            async def rejoined() -> bool | None:
                roles = {r["node"]: r for r in await observe.server_roles(ctx.backend)}
                return True if roles[old]["role"] == "follower" else None

            await eventually(rejoined, 30, f"{old} following again after heal")

    asyncio.run(scenario())


def test_paused_leader_makes_no_progress_until_resumed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as ctx:
            fault = REGISTRY.fault("pause-leader")
            injected = await fault.inject(ctx)
            (victim,) = injected["nodes"]
            url = ctx.backend.node(victim).direct_url
            assert not await answers_version(url)
            first = await heartbeat(ctx, victim)
            other = next(n.id for n in ctx.backend.nodes() if n.kind == "server" and n.id != victim)
            seen = [await heartbeat(ctx, other)]

            async def others_beat_twice() -> bool | None:
                beat = await heartbeat(ctx, other)
                if beat != seen[-1]:
                    seen.append(beat)
                return True if len(seen) >= 3 else None

            # while the other server's heartbeat moved twice, the paused one's stayed put
            await eventually(others_beat_twice, 15, f"{other}'s heartbeat moving")
            assert await heartbeat(ctx, victim) == first, "a paused server's heartbeat changed"
            assert not await answers_version(url)
            await fault.heal(ctx)
            assert await eventually(
                lambda: _true_or_none(answers_version(url)), 10, f"{victim} answering again"
            )

            async def beats() -> bool | None:
                return True if await heartbeat(ctx, victim) != first else None

            await eventually(beats, 15, f"{victim}'s heartbeat moving again")

    asyncio.run(scenario())


async def _true_or_none(pending: Any) -> bool | None:
    return True if await pending else None


def test_killed_leader_is_gone_and_comes_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as ctx:
            fault = REGISTRY.fault("kill-leader")
            injected = await fault.inject(ctx)
            (victim,) = injected["nodes"]
            assert not pid_alive(injected["detail"]["pid"])
            assert not await answers_version(ctx.backend.node(victim).direct_url)
            await new_plan_leader(ctx, victim)
            await fault.heal(ctx)
            pid = ctx.backend.node(victim).pid
            assert pid is not None and pid_alive(pid)
            assert await answers_version(ctx.backend.node(victim).direct_url)

    asyncio.run(scenario())


def test_clock_bump_shows_in_the_server_heartbeat(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as ctx:
            await ctx.backend.set_clock("s2", 30.0)

            async def skewed() -> float | None:
                beat = await heartbeat(ctx, "s2")
                if beat is None:
                    return None
                seen = beat["time"] / 1000 - time.time()
                return seen if seen > 20 else None

            seen = await eventually(skewed, 15, "s2's heartbeat time 30 s ahead")
            # the heartbeat is written every ~0.5 s; allow for that and for scheduling
            assert 25 < seen < 31, seen

    asyncio.run(scenario())


async def request_time(url: str, wait: float) -> float | None:
    """Seconds one GET /_api/version took through ``url``; None when it got no answer."""
    start = time.monotonic()
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(wait):
                async with session.get(f"{url}/_api/version") as resp:
                    await resp.read()
    except (TimeoutError, aiohttp.ClientError):
        return None
    return time.monotonic() - start


def test_client_link_faults_touch_only_the_client_path(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as ctx:
            cut = REGISTRY.fault("partition-client-leader")
            injected = await cut.inject(ctx)
            (leader,) = injected["nodes"]
            node = ctx.backend.node(leader)
            assert await request_time(node.url, 1.5) is None  # clients cannot reach it
            assert await answers_version(node.direct_url)

            async def still_leads() -> bool:
                return await observe.server_leader(ctx.backend) == str(leader)

            await throughout(still_leads, GRACE_S + 1, f"{leader} leading (no failover)")
            await cut.heal(ctx)
            assert await request_time(node.url, 5) is not None

            slow = REGISTRY.fault("slow-network")
            injected = await slow.inject(ctx)
            latency_s = injected["detail"]["latency_ms"] / 1000
            jitter_s = injected["detail"]["jitter_ms"] / 1000
            took = await request_time(node.url, 10)
            # the request and the answer are each delayed
            assert took is not None and took >= 2 * (latency_s - jitter_s) * 0.9, took
            await slow.heal(ctx)
            assert await request_time(node.url, 5) is not None

    asyncio.run(scenario())
