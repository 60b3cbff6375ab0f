"""Sync mode (Patroni's synchronous mode): the one follower a leader waits for.

The leader names a follower in ``Plan/AsyncReplication/SyncFollower`` (with
the preconditions that it still leads its epoch) *before* relying on it, and
a write is acknowledged only once that follower acknowledged its tick (see
:mod:`cluster.server.follower_acks`). A follower qualifies only while GOOD in
``Supervision/Health`` and holding every write acknowledged so far, so a switch
of sync follower never leaves an acknowledged write on a server supervision
would not promote. A new leader first names itself: should it fail before a
follower qualifies, supervision then promotes nobody rather than a server
that may lack writes the previous leader acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from cluster.common import clock
from cluster.common.errors import ArangoError
from cluster.server.follower_acks import FollowerAcks

log = logging.getLogger(__name__)

ERROR_CLUSTER_TIMEOUT = 1457  # ArangoDB's "timeout in cluster operation"
PLAN = "/Plan/AsyncReplication"


class AgencyWriter(Protocol):
    async def write(
        self, updates: dict[str, object], preconditions: dict[str, object] | None = None
    ) -> bool: ...


def indeterminate(message: str) -> ArangoError:
    """503 / 1457: the write is durable locally but may or may not survive."""
    return ArangoError(503, ERROR_CLUSTER_TIMEOUT, f"{message}; the write may or may not survive")


class SyncFollowerKeeper:
    """Names, tracks and waits for the sync follower of one leader."""

    def __init__(
        self, server_id: str, agency: AgencyWriter, acks: FollowerAcks, timeout: float
    ) -> None:
        self.server_id = server_id
        self.agency = agency
        self.acks = acks
        self.timeout = timeout
        self.current: str | None = None  # the follower this leader relies on now
        self.in_plan: str | None = None  # what the agency's Plan names
        self.committed_tick = 0  # highest tick acknowledged to a client

    def reset(self, committed_tick: int) -> None:
        """A new leadership term: rely on nobody until a follower is named again."""
        self.current = None
        self.committed_tick = committed_tick

    def candidates(self, health: dict[str, str], caught_up: bool) -> list[str]:
        """GOOD followers (holding every acknowledged write if asked), most acked first."""
        good = [sid for sid, st in health.items() if st == "GOOD" and sid != self.server_id]
        if caught_up:
            good = [sid for sid in good if self.acks.acked(sid) >= self.committed_tick]
        return sorted(good, key=lambda sid: (-self.acks.acked(sid), sid))

    def refuses_writes(self, health: dict[str, str]) -> bool:
        """True when neither the sync follower nor any other follower is GOOD."""
        return health.get(self.current or "") != "GOOD" and not self.candidates(health, False)

    async def wait_ack(self, tick: int, still_leading: Callable[[], bool]) -> None:
        """Return once the sync follower holds ``tick``; raise 503/1457 otherwise."""
        problem = await self.await_committed(tick, still_leading)
        if problem is not None:
            raise indeterminate(problem)

    async def await_committed(self, tick: int, still_leading: Callable[[], bool]) -> str | None:
        """Wait until ``tick`` is committed (the sync follower holds it); None once it is.

        A tick at or below :attr:`committed_tick` is committed already. Gives up
        (returning why) when ``still_leading()`` turns false or after the sync
        timeout.
        """
        deadline = clock.monotonic() + self.timeout
        while True:
            if not still_leading():
                return (
                    f"{self.server_id}: lost leadership or lease while waiting for the sync "
                    f"follower to acknowledge tick {tick}"
                )
            if tick <= self.committed_tick:
                return None
            if self.current is not None and self.acks.acked(self.current) >= tick:
                self.committed_tick = tick
                return None
            left = deadline - clock.monotonic()
            if left <= 0:
                return (
                    f"timeout waiting for sync follower {self.current or '(none named)'} "
                    f"to acknowledge tick {tick} on {self.server_id}"
                )
            await self.acks.changed(clock.real_duration(min(left, 0.5)))

    async def maintain(self, health: dict[str, str], epoch: int) -> None:
        """One heartbeat's care: name a qualified follower when the current one is not GOOD."""
        if self.in_plan is None:
            await self.name(self.server_id, epoch)
        current = self.current
        if current is not None and health.get(current) == "GOOD" and self.in_plan == current:
            return
        candidates = self.candidates(health, True)
        if current is not None and current in candidates:
            choice = current
        elif candidates:
            choice = candidates[0]
        else:
            return  # keep relying on the current one (if any): it may come back
        if await self.name(choice, epoch):
            if choice != current:
                log.info("%s: sync follower is now %s", self.server_id, choice)
            self.current = choice
            self.acks.wake()

    async def name(self, server_id: str, epoch: int) -> bool:
        """Record ``server_id`` in the Plan, if this server still leads ``epoch``."""
        ok = await self.agency.write(
            {f"{PLAN}/SyncFollower": {"op": "set", "new": server_id}},
            {f"{PLAN}/Leader": {"old": self.server_id}, f"{PLAN}/Epoch": {"old": epoch}},
        )
        if ok:
            self.in_plan = server_id
        return ok
