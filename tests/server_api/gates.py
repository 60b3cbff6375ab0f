"""Test gates: a server that is always the leader, and one that is always a follower."""

from __future__ import annotations

from typing import Any

from cluster.common.errors import ERROR_CLUSTER_NOT_LEADER, ArangoError


class AlwaysLeaderGate:
    """Every write and read is allowed; commits return at once."""

    def __init__(self, server_id: str = "s1", url: str = "http://127.0.0.1:0") -> None:
        self.server_id = server_id
        self.url = url
        self.committed: list[int] = []

    def check_write(self) -> None:
        return None

    def check_read(self, allow_dirty: bool) -> bool:
        return False

    async def confirm_read(self, tick: int) -> None:
        return None

    async def commit(self, tick: int) -> None:
        self.committed.append(tick)

    def endpoints(self) -> list[str]:
        return [self.url]

    def role_info(self) -> dict[str, Any]:
        return {"role": "leader", "leader": self.server_id, "epoch": 1, "lastTick": 0}


class AlwaysFollowerGate(AlwaysLeaderGate):
    """A follower of ``leader_url``: writes refused with 1496, reads only when dirty is allowed."""

    def __init__(self, server_id: str = "s2", leader_url: str = "http://127.0.0.1:1") -> None:
        super().__init__(server_id)
        self.leader_url = leader_url

    def _refuse(self) -> ArangoError:
        return ArangoError(
            503,
            ERROR_CLUSTER_NOT_LEADER,
            "not a leader",
            headers={"X-Arango-Endpoint": self.leader_url},
        )

    def check_write(self) -> None:
        raise self._refuse()

    def check_read(self, allow_dirty: bool) -> bool:
        if not allow_dirty:
            raise self._refuse()
        return True

    def role_info(self) -> dict[str, Any]:
        return {"role": "follower", "leader": "s1", "epoch": 1, "lastTick": 0}
