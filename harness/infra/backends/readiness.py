"""Waiting until a started cluster answers: the agency has a leader, a server leads
and sees its followers GOOD.

Backend-neutral: a backend passes a check that its nodes still run (raising
when one exited) and a way to build the error for a node that did not come up
(with the tail of its log). Every probe goes to the nodes' direct URLs through
:mod:`harness.core.observe`, so Toxiproxy faults never hide a node from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from harness.core import observe
from harness.infra.backends.base import Backend

POLL = 0.1
# a readiness check: the id of a node still awaited, or None when all are ready
Check = Callable[[], Awaitable[str | None]]
CheckAlive = Callable[[list[str]], Awaitable[None]]
Failure = Callable[[str, str], Awaitable[Exception]]


class Readiness:
    """Waits for one backend's nodes; ``timeout`` is the spec's start timeout (seconds)."""

    def __init__(
        self, backend: Backend, timeout: float, check_alive: CheckAlive, fail: Failure
    ) -> None:
        self.backend = backend
        self.timeout = timeout
        self.check_alive = check_alive
        self.fail = fail

    def deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.timeout

    async def until(self, deadline: float, what: str, check: Check) -> None:
        loop = asyncio.get_running_loop()
        while True:
            waiting = await check()
            if not waiting:
                return
            if loop.time() > deadline:
                raise await self.fail(waiting, f"{what} within {self.timeout:g} s")
            await asyncio.sleep(POLL)

    def _ids(self, kind: str) -> list[str]:
        return [n.id for n in self.backend.nodes() if n.kind == kind]

    async def agency(self, deadline: float) -> None:
        """Every agent answers and one of them is the Raft leader."""
        agents = self._ids("agent")

        async def check() -> str | None:
            await self.check_alive(agents)
            configs = await observe.agency_configs(self.backend)
            silent = [a for a in agents if configs.get(a) is None]
            if silent:
                return silent[0]
            return None if observe.leader_from_configs(configs.values()) else agents[0]

        await self.until(deadline, "did not answer or no agency leader was elected", check)

    async def servers(self, deadline: float) -> None:
        """Every server answers, one of them leads, and the leader sees every other GOOD.

        The last part makes a started cluster ready for what a test does first: a
        switchover, a failover, or (in sync mode) a write that needs a sync follower.
        With no servers this returns at once.
        """
        servers = self._ids("server")
        if not servers:
            return

        async def check() -> str | None:
            await self.check_alive(servers)
            answers = await observe.server_answers(self.backend)
            down = [node for node, ans in answers.items() if ans is None]
            if down:
                return down[0]
            unhealthy = observe.unhealthy_followers(answers)
            if unhealthy is None:
                return servers[0]
            return unhealthy[0] if unhealthy else None

        await self.until(
            deadline,
            "did not answer, no server became leader, or the leader did not see every"
            " follower GOOD,",
            check,
        )

    async def node(self, node_id: str) -> None:
        """One (re)started node answers."""
        node = self.backend.node(node_id)

        async def check() -> str | None:
            await self.check_alive([node_id])
            if node.kind == "agent":
                configs = await observe.agency_configs(self.backend)
                return None if configs.get(node_id) is not None else node_id
            roles = {r["node"]: r for r in await observe.server_roles(self.backend)}
            return None if roles[node_id]["role"] != "down" else node_id

        await self.until(self.deadline(), "did not answer after a restart", check)
