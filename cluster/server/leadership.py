"""The leadership loop: startup race, heartbeats, leader lease, role changes.

:class:`Leadership` is this server's :class:`~cluster.server.gate.Gate`. Like
Patroni's HA loop it runs one cycle per heartbeat interval:

1. note the node-monotonic time ``t0``, then write the heartbeat
   (``Sync/ServerStates/<id>`` and the transient ``AsyncReplication/<id>``
   with a TTL) to the agency;
2. read ``Plan/AsyncReplication`` (``Leader``, ``Epoch``, ``SyncFollower``),
   ``Sync/ServerStates`` (advertised endpoints) and ``Supervision/Health``;
3. act: race for an empty leader key (``oldEmpty``), take over when named
   leader (stop the applier, adopt the Plan epoch), step down when someone
   else is named (stop writing at once, follow and resync).

**Lease.** A leader accepts writes only while the last heartbeat that
confirmed its leadership was *sent* less than ``lease`` seconds ago. The
supervision declares a leader FAILED only after its heartbeat stood still for
the grace period on the agency's own clock, which starts no earlier than
``t0``; as ``lease`` < grace period, a leader cut off from the agency stops
writing before anyone can be promoted.

**Sync mode**: :meth:`commit` also waits for the sync follower (see
:mod:`cluster.server.sync_follower`).

**Planned switchover** (:meth:`switchover`, run by
:mod:`cluster.server.handover`): while ``handing_over`` the leader refuses
writes and leader reads; a write landing after ``handover_tick`` is never
acknowledged. ``plan_lock`` keeps a heartbeat from acting on a Plan read
before the switchover's agency write.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from typing import Any, Protocol

from cluster.common import clock
from cluster.common.errors import (
    ERROR_CLUSTER_LEADERSHIP_CHALLENGE_ONGOING,
    ERROR_CLUSTER_NOT_LEADER,
    ERROR_HTTP_SERVICE_UNAVAILABLE,
    ArangoError,
)
from cluster.server.agency_client import AgencyClient, AgencyError
from cluster.server.config import ServerConfig
from cluster.server.follower_acks import FollowerAcks, WalNotifier
from cluster.server.handover import DEFAULT_TIMEOUT, Handover, handover_in_progress
from cluster.server.heartbeat import Beat, read_plan, write_heartbeat
from cluster.server.sync_follower import PLAN, SyncFollowerKeeper, indeterminate

log = logging.getLogger(__name__)

STEP_DOWN_QUIET = 0.3  # seconds a demoted leader lets in-flight writes land before following
DRAIN_TIMEOUT = 1.0  # seconds a promoted follower gives its applier to finish a batch
FAST_POLL = 0.1  # seconds between Plan reads while waiting for a (new) leader


class Role(enum.StrEnum):
    LEADER = "leader"
    FOLLOWER = "follower"
    UNKNOWN = "unknown"


class StorageView(Protocol):
    """The part of :class:`~cluster.server.storage.Storage` leadership needs."""

    def last_tick(self) -> int: ...

    @property
    def epoch(self) -> int: ...

    def set_epoch(self, epoch: int) -> None: ...


class FollowerControl(Protocol):
    """The applier as leadership drives it."""

    def start(self, leader_id: str, leader_url: str, epoch: int) -> None: ...

    async def stop(self, drain_timeout: float) -> None: ...

    def status(self) -> dict[str, Any]: ...


class Leadership:
    """Implements the Gate; owns the heartbeat loop and the role."""

    def __init__(
        self,
        cfg: ServerConfig,
        storage: StorageView,
        agency: AgencyClient,
        applier: FollowerControl,
    ) -> None:
        self.cfg = cfg
        self.server_id = cfg.id
        self.storage = storage
        self.agency = agency
        self.applier = applier
        self.sync_mode = cfg.replication == "sync"
        self.role = Role.UNKNOWN
        self.leader_id: str | None = None
        self.epoch = 0  # the Plan epoch this server acts under
        self.lease_start: float | None = None  # t0 of the last confirming heartbeat
        self.leader_since: float | None = None  # when this server last became leader
        self.servers: dict[str, str] = {}  # id -> advertised URL (Sync/ServerStates)
        self.health: dict[str, str] = {}
        self.acks = FollowerAcks()
        self.wal = WalNotifier()
        self.sync = SyncFollowerKeeper(cfg.id, agency, self.acks, cfg.sync_timeout)
        self.heartbeat_seq = 0
        self.last_heartbeat_ok: float | None = None
        self.last_error = ""
        self.transitions: list[dict[str, Any]] = []
        self._transition_lock = asyncio.Lock()
        self.plan_lock = asyncio.Lock()  # one heartbeat cycle or one switchover key move at a time
        self.handing_over = False
        self.handover_tick: int | None = None  # writes above it are never acknowledged
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._follow_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ Gate

    def lease_valid(self) -> bool:
        return (
            self.lease_start is not None
            and clock.monotonic() - self.lease_start < self.cfg.lease_seconds
        )

    def not_leader_error(self) -> ArangoError:
        if self.role == Role.LEADER:
            return ArangoError(
                503,
                ERROR_CLUSTER_NOT_LEADER,
                f"not a leader: {self.server_id}'s leader lease has expired "
                "(no confirming agency heartbeat)",
                headers={"X-Arango-Endpoint": ""},
            )
        leader_url = self.servers.get(self.leader_id or "", "")
        if self.role == Role.FOLLOWER and self.leader_id and leader_url:
            return ArangoError(
                503,
                ERROR_CLUSTER_NOT_LEADER,
                "not a leader",
                headers={"X-Arango-Endpoint": leader_url},
            )
        return ArangoError(
            503,
            ERROR_CLUSTER_LEADERSHIP_CHALLENGE_ONGOING,
            "leadership challenge is ongoing",
            headers={"X-Arango-Endpoint": ""},
        )

    def leading(self, epoch: int | None = None, lease: bool = True) -> bool:
        """This server leads (in ``epoch``, if given), with a valid lease unless ``lease=False``."""
        return (
            self.role == Role.LEADER
            and (epoch is None or self.epoch == epoch)
            and (not lease or self.lease_valid())
        )

    def check_write(self) -> None:
        if self.role != Role.LEADER or not self.lease_valid():
            raise self.not_leader_error()
        if self.handing_over:
            raise handover_in_progress(self.server_id)
        if self.sync_mode and self.sync.refuses_writes(self.health):
            raise ArangoError(
                503,
                ERROR_HTTP_SERVICE_UNAVAILABLE,
                f"{self.server_id}: no GOOD follower available as sync follower; "
                "writes are refused in sync replication mode",
            )

    def check_read(self, allow_dirty: bool) -> bool:
        if self.role == Role.LEADER and self.lease_valid() and not self.handing_over:
            return False
        if self.handing_over and not allow_dirty:
            raise handover_in_progress(self.server_id)
        if allow_dirty:
            return True
        raise self.not_leader_error()

    async def commit(self, tick: int) -> None:
        self.wal.notify(tick)
        if self.sync_mode:
            epoch = self.epoch
            await self.sync.wait_ack(tick, lambda: self.role == Role.LEADER and self.epoch == epoch)
        if self.role != Role.LEADER or not self.lease_valid():
            raise indeterminate(
                f"{self.server_id}: lost leadership or lease while writing tick {tick}"
            )
        if self.handover_tick is not None and tick > self.handover_tick:
            raise indeterminate(
                f"{self.server_id}: tick {tick} landed after the switchover's last tick "
                f"{self.handover_tick}"
            )

    async def confirm_read(self, tick: int) -> None:
        """A leader read saw local state up to ``tick``: may it be answered?

        Like Raft's read index: in sync mode the answer waits (at most the sync
        timeout) until the sync follower holds ``tick``, so a read never shows
        a write that a failover could still lose. In both modes the leader must
        still lead with a valid lease once the read is done, so a deposed
        leader never serves a stale read. Raises 503 (1496, or 1495 when the
        sync follower does not confirm in time): the read did not happen.
        """
        epoch = self.epoch

        def leading() -> bool:
            return self.leading(epoch) and not self.handing_over

        if self.sync_mode:
            problem = await self.sync.await_committed(tick, leading)
            if problem is not None and leading():
                raise ArangoError(
                    503,
                    ERROR_CLUSTER_LEADERSHIP_CHALLENGE_ONGOING,
                    f"cannot confirm a read on leader {self.server_id}: {problem}",
                    headers={"X-Arango-Endpoint": ""},
                )
        if not leading():
            raise self.not_leader_error()

    def known_leader(self) -> str | None:
        """The leader this server can name: never itself once its lease has expired."""
        if self.leader_id == self.server_id and not self.leading():
            return None
        return self.leader_id if self.leader_id in self.servers else None

    def endpoints(self) -> list[str] | None:
        """Every server's endpoint, the leader first; ``None`` when it knows no leader.

        A list must not start with a server that does not lead: clients take the
        first as the leader, and a fenced leader naming itself would send them
        back to it until the partition heals.
        """
        leader = self.known_leader()
        if leader is None:
            return None
        ordered: list[str] = [self.servers[leader]]
        for sid in sorted(self.servers):
            if sid != leader:
                ordered.append(self.servers[sid])
        return ordered

    def role_info(self) -> dict[str, Any]:
        lease_left = None
        if self.lease_start is not None and self.role == Role.LEADER:
            lease_left = round(self.cfg.lease_seconds - (clock.monotonic() - self.lease_start), 3)
        fenced = self.role == Role.LEADER and not self.lease_valid()
        return {
            # a leader whose lease expired neither writes nor serves leader reads
            "role": "fenced" if fenced else str(self.role),
            "leader": self.leader_id,
            "leaderEndpoint": self.servers.get(self.leader_id or ""),
            "epoch": self.epoch,
            "storageEpoch": self.storage.epoch,
            "lastTick": self.storage.last_tick(),
            "replication": self.cfg.replication,
            "leaseValid": self.role == Role.LEADER and self.lease_valid(),
            # seconds since it became leader: when a failover completed, without
            # comparing clocks across processes
            "leaderFor": (
                round(clock.monotonic() - self.leader_since, 4)
                if self.role == Role.LEADER and self.leader_since is not None
                else None
            ),
            "leaseLeft": lease_left,
            "lease": self.cfg.lease_seconds,
            "syncFollower": self.sync.current if self.sync_mode else None,
            "followers": self.acks.to_json() if self.role == Role.LEADER else {},
            # Supervision/Health as of this server's last heartbeat
            "health": dict(self.health),
            "applier": self.applier.status(),
            "handingOver": self.handing_over,
            "lastError": self.last_error,
        }

    # ------------------------------------------------------ planned switchover

    async def switchover(
        self, to: str | None = None, wait_s: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """Hand leadership to ``to`` (or the first GOOD follower holding every write), waiting
        at most ``wait_s`` seconds for it to hold every write."""
        return (await Handover(self, wait_s).run(to)).to_json()

    def begin_handover(self) -> None:
        self.handing_over = True
        self.handover_tick = None
        self.acks.wake()

    def end_handover(self) -> None:
        self.handing_over = False
        self.handover_tick = None

    def drop_lease(self) -> None:
        """Lead again only after a heartbeat has read the Plan (the key may have moved)."""
        self.lease_start = None

    async def follow_now(self, leader: str, epoch: int) -> None:
        """The switchover moved the leader key to ``leader``: follow it at once."""
        await self._follow(leader, epoch)
        self.wal.notify(self.storage.last_tick())  # end the followers' long polls: new epoch
        self.poke()

    # ------------------------------------------------------- follower acks

    def record_tail(self, server_id: str, epoch: int, from_tick: int) -> None:
        """A follower's tail request (the leader counts it as an acknowledgement)."""
        if self.role == Role.LEADER:
            self.acks.record(server_id, epoch, from_tick)

    def poke(self) -> None:
        """Run the next heartbeat now (e.g. a follower revealed a newer epoch)."""
        self._wakeup.set()

    # ------------------------------------------------------------ the loop

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.server_id}-leadership")

    async def stop(self) -> None:
        for task in (self._task, self._follow_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.role = Role.UNKNOWN
        self.acks.wake()
        await self.applier.stop(0.0)

    async def _run(self) -> None:
        while True:
            started = clock.monotonic()
            try:
                async with self.plan_lock:
                    again = await self._cycle(started)
            except AgencyError as exc:
                self._note_error(str(exc))
                again = False
            except Exception as exc:  # keep the loop alive; say what went wrong
                log.exception("%s: heartbeat cycle failed", self.server_id)
                self._note_error(f"{self.server_id}: heartbeat cycle failed: {exc!r}")
                again = False
            if again:
                continue
            elapsed = clock.monotonic() - started
            wait = clock.real_duration(max(0.0, self._interval() - elapsed))
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)

    def _interval(self) -> float:
        """Seconds between heartbeats: faster while this server waits for a leader.

        A follower whose applier cannot reach the leader, or a server without
        a role, polls the Plan more often so that it learns of a failover soon;
        a sync-mode leader without a sync follower looks for one as often.
        """
        waiting = (
            self.role == Role.UNKNOWN
            or (self.role == Role.FOLLOWER and self.applier.status().get("phase") == "retrying")
            or (self.role == Role.LEADER and self.sync_mode and self.sync.current is None)
        )
        return (
            min(FAST_POLL, self.cfg.heartbeat_interval) if waiting else self.cfg.heartbeat_interval
        )

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            log.warning("%s", message)
        self.last_error = message

    async def _cycle(self, t0: float) -> bool:
        """One heartbeat; True when the next one should follow at once."""
        self.heartbeat_seq += 1
        following = self.server_id if self.role == Role.LEADER else (self.leader_id or "")
        beat = Beat(
            self.server_id,
            self.heartbeat_seq,
            self.cfg.advertised,
            following,
            self.storage.last_tick(),
            self.epoch,
            str(self.role),
            self.cfg.heartbeat_ttl,
        )
        await write_heartbeat(self.agency, beat)
        plan = await read_plan(self.agency)
        self.last_heartbeat_ok = t0
        self.last_error = ""
        if plan.servers:
            self.servers = plan.servers
        self.health = plan.health
        self.sync.in_plan = plan.sync_follower
        if plan.leader is None:
            return await self._race()
        if plan.leader == self.server_id:
            await self._lead(plan.epoch, t0)
        else:
            await self._follow(plan.leader, plan.epoch)
        return False

    async def _race(self) -> bool:
        """Try to become the first leader; True to re-read the Plan at once."""
        won = await self.agency.write(
            {
                f"{PLAN}/Leader": {"op": "set", "new": self.server_id},
                f"{PLAN}/Epoch": {"op": "increment"},
            },
            {f"{PLAN}/Leader": {"oldEmpty": True}},
        )
        log.info(
            "%s: startup race for the leader key: %s", self.server_id, "won" if won else "lost"
        )
        return True

    async def _lead(self, epoch: int, t0: float) -> None:
        if self.role != Role.LEADER or self.epoch != epoch:
            if self._follow_task is not None:
                self._follow_task.cancel()
            async with self._transition_lock:
                await self._become_leader(epoch)
        self.lease_start = t0
        if self.sync_mode:
            await self.sync.maintain(self.health, self.epoch)

    async def _become_leader(self, epoch: int) -> None:
        previous = self.role
        self.role = Role.UNKNOWN  # refuse writes during the hand-over
        self.lease_start = None
        await self.applier.stop(DRAIN_TIMEOUT if previous == Role.FOLLOWER else 0.0)
        if self.storage.epoch != epoch:
            await asyncio.to_thread(self.storage.set_epoch, epoch)
        self.epoch = epoch
        self.leader_id = self.server_id
        self.acks.reset(epoch)
        self.sync.reset(self.storage.last_tick())
        self.role = Role.LEADER
        self.leader_since = clock.monotonic()
        self._record_transition("leader", epoch)
        log.info(
            "%s: now leader of epoch %d at tick %d", self.server_id, epoch, self.storage.last_tick()
        )

    async def _follow(self, leader: str, epoch: int) -> None:
        if self.role == Role.FOLLOWER and self.leader_id == leader and self.epoch == epoch:
            return
        was_leader = self.role == Role.LEADER
        self.role = Role.FOLLOWER  # stop taking writes before anything else
        self.lease_start = None
        self.sync.reset(0)
        self.leader_id = leader
        self.epoch = epoch
        self.acks.wake()
        self._record_transition("follower", epoch, leader=leader)
        log.info("%s: following %s in epoch %d", self.server_id, leader, epoch)
        if self._follow_task is not None:
            self._follow_task.cancel()
        self._follow_task = asyncio.create_task(self._start_applier(leader, epoch, was_leader))

    async def _start_applier(self, leader: str, epoch: int, was_leader: bool) -> None:
        async with self._transition_lock:
            await self.applier.stop(0.0)
            if was_leader:
                await asyncio.sleep(STEP_DOWN_QUIET)  # let in-flight local writes land
            while True:
                url = self.cfg.peers.get(leader) or self.servers.get(leader)
                if url:
                    break
                await asyncio.sleep(clock.real_duration(self.cfg.heartbeat_interval))
            if self.role == Role.FOLLOWER and self.leader_id == leader:
                self.applier.start(leader, url, epoch)

    def _record_transition(self, role: str, epoch: int, leader: str | None = None) -> None:
        self.transitions.append(
            {"time": clock.wall_ms(), "role": role, "epoch": epoch, "leader": leader}
        )
        del self.transitions[:-50]
