"""A planned switchover: the leader hands its role to a caught-up follower, losing no write.

Used on SIGTERM (``python -m cluster.server`` hands over before it exits) and
by ``POST /_admin/cluster/switchover``. The steps, on the leader:

1. **Stop taking writes** (503 / 1495 with an empty ``X-Arango-Endpoint``, as
   during a failover) and stop serving leader reads; writes already past the
   gate get :data:`QUIET` seconds to land.
2. **Fix the target tick**: the last local tick. A write that lands later is
   answered 503 / 1457 (indeterminate), never acknowledged.
3. **Wait for a follower** (at most ``timeout`` seconds): the target is the
   named server, else any GOOD follower; the first whose tail requests have
   acknowledged the target tick in this epoch is chosen.
4. **Move the leader key in one guarded agency write**: ``Leader`` := the
   follower, ``Epoch`` + 1, ``SyncFollower`` deleted, and a record pushed to
   ``Target/Switchovers``, on the preconditions that ``Leader`` is still this
   server, ``Epoch`` unchanged and the follower GOOD. No heartbeat cycle runs
   meanwhile, so none can act on a Plan read before the write.
5. **Follow the new leader** at once (clients get 503 / 1496 with its
   endpoint). Entries after the target tick (never acknowledged) end up in a
   rollback file when the old leader resyncs, like any divergent entry.

Supervision needs no special case: the leader key names the new leader
before the old one stops heartbeating, and supervision fails over only a
FAILED server that the key names. The record in ``Target/Switchovers``
(``{"old", "new", "epoch", "tick", "time", "reason"}``) is how a reader of
the agency tells a planned leader change from a failover job
(``Target/FailoverJobs``).

When no follower catches up in time the leader takes writes again (step 4 was
never tried) and the caller gets :class:`HandoverError`; when the agency write
fails or its outcome is unknown, the leader also drops its lease, so it leads
again only after a heartbeat has read the Plan.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cluster.common import clock
from cluster.common.errors import (
    ERROR_BAD_PARAMETER,
    ERROR_CLUSTER_LEADERSHIP_CHALLENGE_ONGOING,
    ERROR_HTTP_SERVICE_UNAVAILABLE,
    ArangoError,
)
from cluster.server.agency_client import AgencyError, get_path
from cluster.server.sync_follower import PLAN

if TYPE_CHECKING:
    from cluster.server.leadership import Leadership

log = logging.getLogger(__name__)

SWITCHOVERS = "/Target/Switchovers"
QUIET = 0.1  # seconds writes already admitted get to land before the target tick is fixed
DEFAULT_TIMEOUT = 5.0  # seconds to wait for a follower to hold every written tick
MAX_RECORDS = 100  # switchover records kept in the agency


class HandoverError(ArangoError):
    """The switchover did not happen; this server is (again) what it was before."""


@dataclass(frozen=True)
class HandoverResult:
    """A completed switchover."""

    old: str
    new: str
    epoch: int  # the new leader's epoch
    tick: int  # every tick up to this one is on the new leader
    seconds: float  # from refusing writes to the leader key moving

    def to_json(self) -> dict[str, Any]:
        return {
            "error": False,
            "code": 200,
            "old": self.old,
            "new": self.new,
            "epoch": self.epoch,
            "tick": self.tick,
            "seconds": round(self.seconds, 3),
        }


def handover_in_progress(server_id: str) -> ArangoError:
    """What a client hears from a leader that is handing over."""
    return ArangoError(
        503,
        ERROR_CLUSTER_LEADERSHIP_CHALLENGE_ONGOING,
        f"{server_id} is handing leadership over (planned switchover); retry shortly",
        headers={"X-Arango-Endpoint": ""},
    )


def validate_target(to: Any) -> str | None:
    """The ``to`` of a switchover request: a server id or nothing; 400 otherwise."""
    if to is None or to == "":
        return None
    if not isinstance(to, str) or len(to) > 64 or not to.isprintable():
        raise ArangoError(
            400, ERROR_BAD_PARAMETER, "'to' must be the id of a server, e.g. \"s2\", or absent"
        )
    return to


class Handover:
    """One switchover run by the leader ``leadership`` (see the module docstring)."""

    def __init__(self, leadership: Leadership, timeout: float = DEFAULT_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError("a handover timeout must be positive")
        self.lead = leadership
        self.timeout = timeout

    def _unavailable(self, message: str) -> HandoverError:
        return HandoverError(
            503, ERROR_HTTP_SERVICE_UNAVAILABLE, f"switchover by {self.lead.server_id}: {message}"
        )

    def candidates(self, to: str | None) -> list[str]:
        """Followers that may take over: ``to`` if named, else every GOOD one (sorted)."""
        lead = self.lead
        if to is not None:
            if to == lead.server_id:
                raise HandoverError(
                    400, ERROR_BAD_PARAMETER, f"{to} already leads: name another server"
                )
            if to not in lead.servers:
                known = ", ".join(sorted(s for s in lead.servers if s != lead.server_id))
                raise HandoverError(
                    400, ERROR_BAD_PARAMETER, f"unknown server {to!r} (servers: {known or 'none'})"
                )
            if lead.health.get(to) != "GOOD":
                raise self._unavailable(f"{to} is {lead.health.get(to, 'UNKNOWN')}, not GOOD")
            return [to]
        good = sorted(s for s, h in lead.health.items() if h == "GOOD" and s != lead.server_id)
        if not good:
            raise self._unavailable("no GOOD follower to hand over to")
        return good

    async def run(self, to: str | None = None) -> HandoverResult:
        """Hand over, or raise :class:`HandoverError` (an :class:`ArangoError`)."""
        lead = self.lead
        if not lead.leading():
            raise lead.not_leader_error()
        if lead.handing_over:
            raise HandoverError(
                409, ERROR_BAD_PARAMETER, f"{lead.server_id}: a switchover is already running"
            )
        self.candidates(to)  # refuse at once when nobody could take over
        started = clock.monotonic()
        epoch = lead.epoch
        lead.begin_handover()
        try:
            await asyncio.sleep(QUIET)
            target = lead.storage.last_tick()
            lead.handover_tick = target
            chosen = await self._caught_up(to, target, epoch, started + self.timeout)
            await self._move_key(chosen, epoch, target)
        finally:
            lead.end_handover()
        seconds = clock.monotonic() - started
        log.info(
            "%s: switchover to %s done: epoch %d, every tick up to %d there, %.3f s",
            lead.server_id,
            chosen,
            epoch + 1,
            target,
            seconds,
        )
        return HandoverResult(lead.server_id, chosen, epoch + 1, target, seconds)

    async def _caught_up(self, to: str | None, target: int, epoch: int, deadline: float) -> str:
        """The first candidate that has acknowledged ``target``; raises on timeout."""
        lead = self.lead
        while True:
            if not lead.leading(epoch, lease=False):
                raise lead.not_leader_error()
            ready = [s for s in self.candidates(to) if lead.acks.acked(s) >= target]
            if ready:
                return max(ready, key=lambda s: (lead.acks.acked(s), s))
            left = deadline - clock.monotonic()
            if left <= 0:
                progress = {s: lead.acks.acked(s) for s in self.candidates(to)}
                raise self._unavailable(
                    f"no follower acknowledged tick {target} within {self.timeout:g} s "
                    f"(acknowledged: {progress}); this server keeps leading"
                )
            await lead.acks.changed(clock.real_duration(min(left, 0.1)))

    async def _move_key(self, new: str, epoch: int, tick: int) -> None:
        """The guarded agency write, then follow ``new``; raises when the key did not move."""
        lead = self.lead
        record = {
            "old": lead.server_id,
            "new": new,
            "epoch": epoch + 1,
            "tick": tick,
            "time": clock.wall_ms(),
            "reason": "planned switchover",
        }
        async with lead.plan_lock:  # no heartbeat acts on a Plan read before this write
            try:
                done = await lead.agency.write(
                    {
                        f"{PLAN}/Leader": {"op": "set", "new": new},
                        f"{PLAN}/Epoch": {"op": "increment"},
                        f"{PLAN}/SyncFollower": {"op": "delete"},
                        SWITCHOVERS: {"op": "push", "new": record},
                    },
                    {
                        f"{PLAN}/Leader": {"old": lead.server_id},
                        f"{PLAN}/Epoch": {"old": epoch},
                        f"/Supervision/Health/{new}/Status": {"old": "GOOD"},
                    },
                )
            except AgencyError as exc:
                lead.drop_lease()
                raise self._unavailable(
                    f"the agency write moving the leader key failed ({exc}); whether it "
                    "happened is unknown: the next heartbeat decides"
                ) from exc
            if not done:
                lead.drop_lease()
                raise self._unavailable(
                    f"the agency refused the switchover: the leader key, epoch {epoch} or "
                    f"{new}'s health changed meanwhile"
                )
            await lead.follow_now(new, epoch + 1)
        await self._trim_records()

    async def _trim_records(self) -> None:
        """Keep the switchover record list bounded (best effort: one record per switchover)."""
        try:
            records = get_path(await self.lead.agency.read([SWITCHOVERS]), SWITCHOVERS)
            if isinstance(records, list) and len(records) > MAX_RECORDS:
                await self.lead.agency.write({SWITCHOVERS: {"op": "shift"}})
        except AgencyError as exc:
            log.info("%s: switchover records not trimmed: %s", self.lead.server_id, exc)
