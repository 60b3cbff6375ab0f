"""A rolling restart: every server gracefully, the followers first, the leader last."""

from __future__ import annotations

from harness.core.fault import NemesisContext, server_ids, server_leader
from nemesis.faults.restart_leader import GracefulRestart


class RollingRestart(GracefulRestart):
    """Followers (in id order), then the leader, which hands over on SIGTERM."""

    name = "rolling-restart"

    async def order(self, ctx: NemesisContext) -> list[str]:
        leader = await server_leader(ctx)
        servers = server_ids(ctx.backend)
        if leader is None or leader not in servers:
            return []
        return [s for s in servers if s != leader] + [leader]
