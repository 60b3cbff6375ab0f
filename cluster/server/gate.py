"""The Gate: what the client-facing routes ask the failover machinery.

The storage and REST layer never decides on its own whether this server may
take a write or serve a read. It asks a :class:`Gate`, which the leadership
loop implements (leader lease, epoch, sync follower). Tests of the REST layer
use a gate that always says "leader".
"""

from __future__ import annotations

from typing import Any, Protocol


class Gate(Protocol):
    """The leadership decisions a client route needs."""

    server_id: str

    def check_write(self) -> None:
        """Allow a mutation, or raise.

        Raises ``ArangoError(503, 1496, "not a leader",
        headers={"X-Arango-Endpoint": leader_url})`` on a follower, and also on
        a leader whose lease has expired; ``1495`` with an empty
        ``X-Arango-Endpoint`` header while no leader is known.
        """
        ...

    def check_read(self, allow_dirty: bool) -> bool:
        """Allow a read; return True when the answer may be dirty.

        The leader returns False. A follower returns True when ``allow_dirty``
        (the request carried ``X-Arango-Allow-Dirty-Read: true``); the answer
        must then carry ``X-Arango-Potential-Dirty-Read: true``. A follower
        without ``allow_dirty`` raises as :meth:`check_write` does.
        """
        ...

    async def confirm_read(self, tick: int) -> None:
        """Allow the answer of a leader read that saw local state up to ``tick``.

        Called after the read (when :meth:`check_read` returned False), before
        answering. Returns once the answer is linearizable: in sync mode the
        sync follower holds ``tick``; in every mode this server still leads
        with a valid lease. Otherwise raises 503 (``1496``/``1495``): a read has
        no side effects, so the client may retry it elsewhere.
        """
        ...

    async def commit(self, tick: int) -> None:
        """Wait until a local write at ``tick`` may be acknowledged.

        Called after the write is durable locally and before answering. In
        async mode this returns at once; in sync mode it waits until the named
        sync follower has acknowledged ``>= tick``, else raises
        ``ArangoError(503, 1457, "timeout waiting for sync follower ...")``,
        which a client must treat as indeterminate.
        """
        ...

    def endpoints(self) -> list[str] | None:
        """Advertised URLs of the servers, leader first; ``None`` when it knows no leader."""
        ...

    def role_info(self) -> dict[str, Any]:
        """``{"role": "leader|fenced|follower|unknown", "leader": id|None, "epoch": n, ...}``.

        ``fenced`` is a leader whose lease has expired: it refuses writes and
        leader reads until a heartbeat confirms it again.
        """
        ...
