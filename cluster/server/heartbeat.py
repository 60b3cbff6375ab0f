"""What one heartbeat writes to the agency and what it reads back.

:func:`write_heartbeat` sets ``Sync/ServerStates/<id>`` (the value
supervision watches for change) and the transient ``AsyncReplication/<id>``
(with a TTL: whom this server follows, its last tick, epoch and role).
:func:`read_plan` reads ``Plan/AsyncReplication``, ``Sync/ServerStates`` and
``Supervision/Health`` in one atomic read and returns them as a
:class:`PlanView`. The leadership loop (:mod:`cluster.server.leadership`)
decides what to do with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cluster.common import clock
from cluster.server.agency_client import AgencyClient, get_path
from cluster.server.sync_follower import PLAN


def health_status(value: Any) -> str:
    """``GOOD|BAD|FAILED`` from a ``Supervision/Health/<id>`` value (string or object)."""
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, dict):
        for key in ("Status", "status"):
            if isinstance(value.get(key), str):
                return str(value[key]).upper()
    return "UNKNOWN"


@dataclass(frozen=True)
class Beat:
    """This server's state as one heartbeat reports it."""

    server_id: str
    seq: int
    endpoint: str  # the advertised URL
    following: str  # itself when leading, else the leader it follows ("" if none)
    last_tick: int
    epoch: int
    role: str
    ttl: float  # seconds the AsyncReplication entry lives


@dataclass(frozen=True)
class PlanView:
    """The Plan and what servers and supervision say, as one read returned them."""

    leader: str | None
    epoch: int
    sync_follower: str | None
    servers: dict[str, str] = field(default_factory=dict)  # id -> advertised URL
    health: dict[str, str] = field(default_factory=dict)  # id -> GOOD|BAD|FAILED|...


async def write_heartbeat(agency: AgencyClient, beat: Beat) -> None:
    await agency.write(
        {
            f"/Sync/ServerStates/{beat.server_id}": {
                "op": "set",
                "new": {"time": clock.wall_ms(), "seq": beat.seq, "endpoint": beat.endpoint},
            },
            f"/AsyncReplication/{beat.server_id}": {
                "op": "set",
                "new": {
                    "leader": beat.following,
                    "lastTick": beat.last_tick,
                    "epoch": beat.epoch,
                    "role": beat.role,
                },
                "ttl": beat.ttl,
            },
        }
    )


async def read_plan(agency: AgencyClient) -> PlanView:
    tree = await agency.read([PLAN, "/Sync/ServerStates", "/Supervision/Health"])
    states = get_path(tree, "/Sync/ServerStates")
    health = get_path(tree, "/Supervision/Health")
    leader = get_path(tree, f"{PLAN}/Leader")
    epoch = get_path(tree, f"{PLAN}/Epoch")
    sync_follower = get_path(tree, f"{PLAN}/SyncFollower")
    return PlanView(
        leader=leader if isinstance(leader, str) and leader else None,
        epoch=epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0,
        sync_follower=sync_follower if isinstance(sync_follower, str) else None,
        servers={
            sid: str(v["endpoint"]).rstrip("/")
            for sid, v in (states if isinstance(states, dict) else {}).items()
            if isinstance(v, dict) and isinstance(v.get("endpoint"), str)
        },
        health={
            sid: health_status(v) for sid, v in (health if isinstance(health, dict) else {}).items()
        },
    )
