"""What the leader knows about its followers' progress, and new-entry wake-ups.

A follower's tail request ``GET /_api/wal/tail?from=N&serverId=X&epoch=E``
acknowledges that X holds every entry before ``N`` durably (it applies a batch
in one fsynced transaction before asking for the next). The leader counts such
acknowledgements only when ``E`` is its own epoch: a follower that already
follows a newer leader can never help an old leader acknowledge a write.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from cluster.common import clock


@dataclass
class FollowerProgress:
    """One follower as seen from the leader."""

    acked: int  # every tick <= acked is durable on the follower
    last_seen: float  # node-monotonic time of its last tail request


class FollowerAcks:
    """Per-follower acknowledged ticks for the leader's current epoch."""

    def __init__(self) -> None:
        self.epoch = 0
        self.followers: dict[str, FollowerProgress] = {}
        self._changed = asyncio.Event()

    def reset(self, epoch: int) -> None:
        """Forget every acknowledgement (a new leadership term starts)."""
        self.epoch = epoch
        self.followers = {}
        self._wake()

    def record(self, server_id: str, epoch: int, from_tick: int) -> None:
        """A tail request from ``server_id`` asking for ``from_tick`` onwards."""
        if epoch != self.epoch or not server_id:
            return
        acked = max(0, from_tick - 1)
        prev = self.followers.get(server_id)
        now = clock.monotonic()
        if prev is None:
            self.followers[server_id] = FollowerProgress(acked, now)
        else:
            prev.acked = acked  # may go down: the follower resynced
            prev.last_seen = now
        self._wake()

    def acked(self, server_id: str | None) -> int:
        """Highest tick acknowledged by ``server_id`` in this epoch (-1 if none)."""
        if server_id is None:
            return -1
        progress = self.followers.get(server_id)
        return progress.acked if progress else -1

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def wake(self) -> None:
        """Wake every waiter so it re-checks its condition (role change)."""
        self._wake()

    async def changed(self, seconds: float) -> None:
        """Wait until an acknowledgement arrives or ``seconds`` pass."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass

    def to_json(self) -> dict[str, Any]:
        now = clock.monotonic()
        return {
            sid: {"acked": p.acked, "lastSeenAgo": round(now - p.last_seen, 3)}
            for sid, p in self.followers.items()
        }


class WalNotifier:
    """Wakes long-polling tail requests when the local WAL grows."""

    def __init__(self) -> None:
        self.last = 0
        self._event = asyncio.Event()

    def notify(self, tick: int) -> None:
        if tick > self.last:
            self.last = tick
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Wait for the next :meth:`notify` or ``seconds`` pass."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
