"""Read-index bookkeeping on the Raft leader.

A linearizable read must not be served by a leader that has been deposed
without knowing it. Each read opens a *round*: the round's number is stamped
on every appendEntries the leader sends afterwards, and the read is released
once a majority (the leader included) has answered a request stamped with
that round or a later one. Concurrent reads share rounds.
"""

from __future__ import annotations

import asyncio


class ReadIndex:
    def __init__(self, majority: int) -> None:
        self.majority = majority
        self.round = 0  # the newest round opened; stamped on outgoing requests
        self._acked: dict[str, int] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def reset(self, peers: list[str]) -> None:
        """A new leadership term: no peer has confirmed anything yet."""
        self._acked = dict.fromkeys(peers, 0)

    def open_round(self) -> asyncio.Future[None]:
        """Start a round; the future resolves when a majority has confirmed it."""
        self.round += 1
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self.round, fut))
        self._release()
        return fut

    def confirmed(self, peer: str, stamped: int) -> None:
        """``peer`` answered, in our term, a request stamped with round ``stamped``."""
        if stamped > self._acked.get(peer, 0):
            self._acked[peer] = stamped
            self._release()

    def fail_all(self, err: Exception) -> None:
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(err)
        self._waiters.clear()

    def _release(self) -> None:
        if not self._waiters:
            return
        acked = sorted([self.round, *self._acked.values()], reverse=True)
        confirmed = acked[self.majority - 1]
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for need, fut in self._waiters:
            if need <= confirmed:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((need, fut))
        self._waiters = keep
