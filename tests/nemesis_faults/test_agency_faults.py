"""Agency faults proven by their effect on real agents (servers are stand-ins here)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cluster.common.clock import Clock
from harness.cli.registry import REGISTRY
from harness.core import observe
from harness.core.fault import NemesisContext

from .conftest import cluster, eventually

pytestmark = pytest.mark.integration


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


async def config_of(ctx: NemesisContext, agent: str) -> dict[str, Any] | None:
    return (await observe.agency_configs(ctx.backend)).get(agent)


async def write_key(ctx: NemesisContext, key: str, value: int) -> bool:
    """One agency write through the current leader (False when none takes it)."""
    leader = await observe.agency_leader(ctx.backend)
    if leader is None:
        return False
    url = f"{ctx.backend.node(leader).direct_url}/_api/agency/write"
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(3):
                headers = ctx.backend.credentials.agency_headers()
                async with session.post(url, json=[[{key: value}]], headers=headers) as resp:
                    return resp.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def new_leader_other_than(ctx: NemesisContext, old: str) -> str:
    async def probe() -> str | None:
        configs = await observe.agency_configs(ctx.backend)
        leader = observe.leader_from_configs(c for a, c in configs.items() if a != old)
        return leader if leader not in (None, old) else None

    return await eventually(probe, 30, f"a new agency leader after {old}")


def test_paused_agency_leader_answers_nothing_and_resumes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, real_servers=False) as ctx:
            fault = REGISTRY.fault("pause-agency-leader")
            injected = await fault.inject(ctx)
            (victim,) = injected["nodes"]
            assert await config_of(ctx, victim) is None  # a stopped process answers nothing
            new = await new_leader_other_than(ctx, victim)
            assert await ctx.backend.is_running(victim)  # paused, not dead
            await fault.heal(ctx)

            async def follows() -> bool | None:
                cfg = await config_of(ctx, victim)
                return True if cfg and cfg.get("leaderId") not in (None, "", victim) else None

            await eventually(follows, 30, f"{victim} answering and following {new}")

    asyncio.run(scenario())


def test_killed_agency_leader_is_gone_and_comes_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, real_servers=False) as ctx:
            fault = REGISTRY.fault("kill-agency-leader")
            injected = await fault.inject(ctx)
            (victim,) = injected["nodes"]
            old_pid = injected["detail"]["pid"]
            assert not pid_alive(old_pid)
            assert not await ctx.backend.is_running(victim)
            await new_leader_other_than(ctx, victim)
            healed = await fault.heal(ctx)
            assert healed["nodes"] == [victim]
            new_pid = ctx.backend.node(victim).pid
            assert new_pid is not None and new_pid != old_pid and pid_alive(new_pid)
            assert await config_of(ctx, victim) is not None

    asyncio.run(scenario())


def test_isolated_agent_falls_behind_and_catches_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, real_servers=False) as ctx:
            fault = REGISTRY.fault("partition-agency-minority")
            injected = await fault.inject(ctx)
            victim = injected["detail"]["isolated"]
            last: list[int] = []

            async def settled() -> dict[str, Any] | None:
                # the harness still reaches the victim directly; once cut, its commit
                # index stops moving (appends in flight at the cut have landed)
                config = await config_of(ctx, victim)
                if config is None:
                    return None
                last.append(config["commitIndex"])
                return config if last[-3:] == [last[-1]] * 3 else None

            before = await eventually(settled, 10, f"{victim}'s commit index settling")
            # the majority keeps committing (after a new election if the victim led)
            for i in range(5):

                async def write(i: int = i) -> bool | None:
                    return True if await write_key(ctx, "/test/n", i) else None

                await eventually(write, 30, "a write through the agency majority")
            majority = [a for a in ("a1", "a2", "a3") if a != victim]
            configs = await observe.agency_configs(ctx.backend)
            committed = max((configs.get(a) or {}).get("commitIndex", 0) for a in majority)
            during = await config_of(ctx, victim)
            assert during is not None
            assert during["commitIndex"] == before["commitIndex"] < committed
            await fault.heal(ctx)

            async def caught_up() -> bool | None:
                cfg = await config_of(ctx, victim)
                return True if cfg and cfg["commitIndex"] >= committed else None

            await eventually(caught_up, 30, f"{victim} catching up after heal")

    asyncio.run(scenario())


def test_clock_bump_is_what_the_node_clock_reads(tmp_path: Path) -> None:
    async def scenario() -> dict[str, tuple[str, float]]:
        async with cluster(tmp_path, real_servers=False) as ctx:
            fault = REGISTRY.fault("clock-bump")
            injected = await fault.inject(ctx)
            files = {
                n: (ctx.backend.node(n).clock_file, off)
                for n, off in injected["detail"]["offsets"].items()
            }
            seen = {n: await asyncio.to_thread(_skew_seen, f) for n, (f, _) in files.items()}
            await fault.heal(ctx)
            after = {n: await asyncio.to_thread(_skew_seen, f) for n, (f, _) in files.items()}
            for node, (_, offset) in files.items():
                assert abs(seen[node] - offset) < 1.0, (node, seen[node], offset)
                assert abs(after[node]) < 1.0
            return files

    assert asyncio.run(scenario())


def _skew_seen(clock_file: str) -> float:
    """How far a node's clock (as cluster.common.clock reads this file) is from ours."""
    return Clock(clock_file).wall() - time.time()
