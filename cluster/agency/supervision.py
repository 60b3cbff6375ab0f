"""Supervision: server health from heartbeats, and failover of the active-failover leader.

Runs only on the Raft leader of the agency. Every ``interval`` it reads the
committed tree, judges each server's health, and writes what changed.

Keys the single servers write (prefix ``/arango``, configurable):

* ``Sync/ServerStates/<id>``: the heartbeat. Any JSON value that changes on
  every beat, e.g. ``{"time": <wall ms>, "seq": n, "endpoint": "http://..."}``.
  Only *change* matters: supervision never reads the timestamps inside it,
  so a server's skewed clock cannot make it look alive or dead.
* ``AsyncReplication/<id>``: ``{"leader": <id it follows>, "lastTick": n}``
  set with a ``ttl`` (a few heartbeats) on every beat; ``lastTick`` is an
  integer or a decimal string. Failover reads it to pick the follower with
  the most data.
* ``Plan/AsyncReplication/Leader``: the leader's id. At first start the
  servers race for it with one transaction: updates ``{Leader: id, Epoch: 1}``,
  precondition ``{Leader: {"oldEmpty": true}}``.
* ``Plan/AsyncReplication/Epoch``: an integer bumped by every failover (a
  fencing token for followers and the leader lease).
* ``Plan/AsyncReplication/SyncFollower``: in ``sync`` mode the leader names
  the one follower it waits for; supervision then promotes only that server.
  A failover deletes the key; the new leader names a new one.

Keys supervision writes:

* ``Supervision/Health/<id>`` = ``{"Status": "GOOD"|"BAD"|"FAILED",
  "LastHeartbeatAcked": <wall ms of the last heartbeat change seen>,
  "LastHeartbeatSent": <the heartbeat value>, "Timestamp": <wall ms>}``, on
  every status change.
* ``Target/FailedServers/<id>`` = ``{"since": <wall ms>}`` while a server is
  FAILED (removed when it is GOOD again).
* ``Target/FailoverJobs``: an array; each failover pushes ``{"old", "new",
  "reason", "candidates": {id: {"health", "lastTick"}}, "time", "epoch",
  "sync", "eligible"}`` (``eligible``: the servers the rule allowed to choose from).

Health is measured on this agent's own monotonic clock: a server is GOOD
if its heartbeat value changed within ``ok_threshold`` seconds, BAD up to
``grace_period``, FAILED after. A newly elected agency leader starts from
scratch: its first sight of a heartbeat counts as a change at that moment,
and until it has seen a server's heartbeat actually change it never reports
that server healthier than the stored status, nor promotes it.

Time this agent could not watch does not count against the servers: when the
loop's ticks are more than ``ok_threshold`` apart (the process was paused,
its event loop blocked, or its clock jumped), every server's silence is
shortened by the stall (:meth:`Supervision.discount`). Without it, a paused
agency leader failed over a healthy leader on the first tick after it resumed,
before the heartbeats queued meanwhile had been read.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from cluster.agency.tree_paths import json_equal
from cluster.common import clock

log = logging.getLogger(__name__)

GOOD = "GOOD"
BAD = "BAD"
FAILED = "FAILED"
_BADNESS = {GOOD: 0, BAD: 1, FAILED: 2}


class AgencyHandle(Protocol):
    """What supervision needs from the agent it runs in."""

    def is_leader(self) -> bool: ...

    def read_local(self, path: str) -> Any | None: ...

    async def write(self, transactions: list[list[Any]]) -> list[int]: ...


@dataclass
class SupervisionConfig:
    """Supervision timing (seconds on the agent's monotonic clock) and key prefix."""

    interval: float = 0.25
    ok_threshold: float = 1.5
    grace_period: float = 3.0
    prefix: str = "/arango"
    write_timeout: float = 5.0

    def validate(self) -> None:
        if not 0 < self.interval <= 60:
            raise ValueError("supervision interval must be in (0, 60] seconds")
        if not 0 < self.ok_threshold < self.grace_period:
            raise ValueError("need 0 < ok_threshold < grace_period")
        if not self.prefix.startswith("/") or self.prefix.endswith("/"):
            raise ValueError("supervision prefix must look like '/arango'")
        if self.write_timeout <= 0:
            raise ValueError("supervision write_timeout must be positive")


@dataclass
class _Observation:
    value: Any
    changed_at: float
    seen_change: bool = False


@dataclass
class _Candidate:
    server: str
    health: str
    last_tick: int | None
    alive_seen: bool


def parse_tick(raw: Any) -> int | None:
    """A ``lastTick`` as an int (ArangoDB sends ticks as decimal strings), or ``None``."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None


@dataclass
class Supervision:
    """The supervision loop; :meth:`step` is the testable core."""

    handle: AgencyHandle
    config: SupervisionConfig = field(default_factory=SupervisionConfig)
    _seen: dict[str, _Observation] = field(default_factory=dict, init=False)
    _last_reason: str | None = field(default=None, init=False)
    _pending_failover: bool = field(default=False, init=False)

    def key(self, *parts: str) -> str:
        return "/".join((self.config.prefix, *parts))

    def reset(self) -> None:
        """Forget every observation (called when this agent becomes leader)."""
        self._seen.clear()
        self._last_reason = None

    def discount(self, seconds: float) -> None:
        """Take ``seconds`` this agent could not watch off every server's silence."""
        for obs in self._seen.values():
            obs.changed_at += seconds

    # ------------------------------------------------------------------ health

    def _observe(self, server: str, value: Any, now: float) -> _Observation:
        obs = self._seen.get(server)
        if obs is None:
            obs = _Observation(value, now)
            self._seen[server] = obs
        elif not json_equal(obs.value, value):
            obs.value = value
            obs.changed_at = now
            obs.seen_change = True
        return obs

    def _judge(self, obs: _Observation, stored: str | None, now: float) -> str:
        elapsed = now - obs.changed_at
        if elapsed <= self.config.ok_threshold:
            status = GOOD
        elif elapsed <= self.config.grace_period:
            status = BAD
        else:
            status = FAILED
        if not obs.seen_change and stored in _BADNESS and _BADNESS[stored] > _BADNESS[status]:
            return stored
        return status

    def health(self, now_mono: float) -> dict[str, str]:
        """Status per server from the heartbeats as of ``now_mono`` (updates observations)."""
        states = self.handle.read_local(self.key("Sync", "ServerStates"))
        if not isinstance(states, dict):
            return {}
        stored = self.handle.read_local(self.key("Supervision", "Health"))
        stored = stored if isinstance(stored, dict) else {}
        out: dict[str, str] = {}
        for server, value in sorted(states.items()):
            obs = self._observe(server, value, now_mono)
            record = stored.get(server)
            old = record.get("Status") if isinstance(record, dict) else None
            out[server] = self._judge(obs, old if isinstance(old, str) else None, now_mono)
        for gone in set(self._seen) - set(states):
            del self._seen[gone]
        return out

    def _health_transactions(
        self, health: dict[str, str], now_mono: float, now_wall_ms: int
    ) -> list[list[Any]]:
        stored = self.handle.read_local(self.key("Supervision", "Health"))
        stored = stored if isinstance(stored, dict) else {}
        failed = self.handle.read_local(self.key("Target", "FailedServers"))
        failed = failed if isinstance(failed, dict) else {}
        txns: list[list[Any]] = []
        for server, status in health.items():
            record = stored.get(server)
            old = record.get("Status") if isinstance(record, dict) else None
            updates: dict[str, Any] = {}
            if old != status:
                obs = self._seen[server]
                acked = now_wall_ms - round((now_mono - obs.changed_at) * 1000)
                updates[self.key("Supervision", "Health", server)] = {
                    "Status": status,
                    "LastHeartbeatAcked": acked,
                    "LastHeartbeatSent": obs.value,
                    "Timestamp": now_wall_ms,
                }
                log.info("supervision: server %s is %s (was %s)", server, status, old)
            if status == FAILED and server not in failed:
                updates[self.key("Target", "FailedServers", server)] = {"since": now_wall_ms}
            elif status == GOOD and server in failed:
                updates[self.key("Target", "FailedServers", server)] = {"op": "delete"}
            if updates:
                txns.append([updates])
        return txns

    # ---------------------------------------------------------------- failover

    def _candidates(self, leader: str, health: dict[str, str]) -> list[_Candidate]:
        reports = self.handle.read_local(self.key("AsyncReplication"))
        reports = reports if isinstance(reports, dict) else {}
        out: list[_Candidate] = []
        for server, status in sorted(health.items()):
            if server == leader:
                continue
            report = reports.get(server)
            tick = parse_tick(report.get("lastTick")) if isinstance(report, dict) else None
            obs = self._seen.get(server)
            out.append(_Candidate(server, status, tick, obs is not None and obs.seen_change))
        return out

    def _failover_transaction(
        self, health: dict[str, str], now_wall_ms: int
    ) -> tuple[list[Any] | None, str]:
        """The promotion transaction, or ``None`` and the reason there is none."""
        leader = self.handle.read_local(self.key("Plan", "AsyncReplication", "Leader"))
        if not isinstance(leader, str) or not leader:
            return None, "no leader in Plan"
        if health.get(leader) != FAILED:
            return None, f"leader {leader} is {health.get(leader, 'unknown')}"
        sync = self.handle.read_local(self.key("Plan", "AsyncReplication", "SyncFollower"))
        candidates = self._candidates(leader, health)
        eligible = [c for c in candidates if c.health == GOOD and c.alive_seen]
        if isinstance(sync, str) and sync:
            eligible = [c for c in eligible if c.server == sync]
            reason = f"leader {leader} FAILED; promoting sync follower {sync}"
            if not eligible:
                return None, f"leader {leader} FAILED; sync follower {sync} is not GOOD"
        else:
            eligible = [c for c in eligible if c.last_tick is not None]
            if not eligible:
                return None, f"leader {leader} FAILED; no GOOD follower reports a lastTick"
            reason = (
                f"leader {leader} FAILED; promoting the GOOD follower with the highest lastTick"
            )
        best = min(eligible, key=lambda c: (-(c.last_tick or 0), c.server))
        epoch = self.handle.read_local(self.key("Plan", "AsyncReplication", "Epoch"))
        epoch_now = epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None
        job = {
            "old": leader,
            "new": best.server,
            "reason": reason,
            "candidates": {
                c.server: {"health": c.health, "lastTick": c.last_tick} for c in candidates
            },
            "time": now_wall_ms,
            "epoch": (epoch_now or 0) + 1,
            # what the follower-choice checker compares: who could have been chosen
            "sync": sync if isinstance(sync, str) and sync else None,
            "eligible": [c.server for c in eligible],
        }
        plan = self.key("Plan", "AsyncReplication")
        updates: dict[str, Any] = {
            f"{plan}/Leader": best.server,
            f"{plan}/Epoch": {"op": "increment"},
            f"{plan}/SyncFollower": {"op": "delete"},
            self.key("Target", "FailoverJobs"): {"op": "push", "new": job},
        }
        preconditions: dict[str, Any] = {
            self.key("Supervision", "Health", leader, "Status"): {"old": FAILED},
            self.key("Supervision", "Health", best.server, "Status"): {"old": GOOD},
            f"{plan}/Leader": {"old": leader},
            f"{plan}/Epoch": {"old": epoch} if epoch is not None else {"oldEmpty": True},
            f"{plan}/SyncFollower": {"old": sync} if sync is not None else {"oldEmpty": True},
        }
        return [updates, preconditions], f"{reason}: {best.server} (lastTick {best.last_tick})"

    # -------------------------------------------------------------------- loop

    def step(self, now_mono: float, now_wall_ms: int | None = None) -> list[list[Any]]:
        """The transactions to write now: health changes first, then at most one failover."""
        wall_ms = clock.wall_ms() if now_wall_ms is None else now_wall_ms
        health = self.health(now_mono)
        txns = self._health_transactions(health, now_mono, wall_ms)
        failover, reason = self._failover_transaction(health, wall_ms)
        self._pending_failover = failover is not None
        if failover is not None:
            log.warning("supervision: failover: %s", reason)
            txns.append(failover)
            self._last_reason = None
            return txns
        if reason != self._last_reason and FAILED in reason:
            log.warning("supervision: no failover: %s", reason)
        self._last_reason = reason
        return txns

    async def run(self, stop: asyncio.Event) -> None:
        """Supervise while this agent leads, until ``stop`` is set."""
        leading = False
        last_tick: float | None = None
        while not stop.is_set():
            if self.handle.is_leader():
                if not leading:
                    self.reset()
                    leading = True
                    log.info("supervision: started on the agency leader")
                now = clock.monotonic()
                if last_tick is not None and now - last_tick > self.config.ok_threshold:
                    stalled = now - last_tick - self.config.interval
                    log.warning(
                        "supervision: this agent could not watch for %.1f s; that time "
                        "does not count against any server",
                        stalled,
                    )
                    self.discount(stalled)
                last_tick = now
                await self._tick()
            elif leading:
                leading = False
                last_tick = None
                log.info("supervision: paused, this agent is no longer leader")
            try:
                await asyncio.wait_for(stop.wait(), clock.real_duration(self.config.interval))
            except TimeoutError:
                pass

    async def _tick(self) -> None:
        txns = self.step(clock.monotonic())
        if not txns:
            return
        try:
            results = await asyncio.wait_for(self.handle.write(txns), self.config.write_timeout)
        except Exception as exc:  # keep supervising; the next tick retries
            log.warning("supervision: write of %d transactions failed: %r", len(txns), exc)
            return
        if self._pending_failover and results and results[-1] == 0:
            log.warning("supervision: failover transaction refused (precondition failed)")
