"""The follower's applier: one server-level loop copying the leader's WAL.

On start (and after any error) it checks whether the local log can continue
the leader's log: the leader confirms which local ``(tick, epoch)`` pairs it
holds (``POST /_api/replication/match``). When the last local pair is known
to the leader, tailing continues after it. Otherwise the local entries after
the highest common pair are divergent: they go to a rollback file (see
:mod:`cluster.server.rollback`) and the server resyncs from a full snapshot of
the leader (``GET /_api/replication/snapshot``). Then it long-polls
``GET /_api/wal/tail?from=N&serverId=ME&epoch=E`` and applies every batch in
one transaction (``Storage.apply_replicated``).

Fencing: an answer whose ``X-Arango-Epoch`` is older than the Plan epoch this
follower knows is refused, so an old leader (paused or partitioned) can never
feed it, nor count it as an acknowledgement.

A follower that fell behind the leader's WAL retention asks for a pruned tick;
the leader answers 410 / errorNum 1414 and the follower joins again with a
forced resync (the divergence check still runs first, so a local write that
landed meanwhile goes to a rollback file). Failed attempts back off
exponentially (``RETRY_PAUSE`` doubling up to ``RETRY_CAP`` seconds of node
time), and identical divergent entries are kept in one rollback file however
often the resync is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp

from cluster.common import clock
from cluster.common.errors import ArangoError
from cluster.server.config import ServerConfig
from cluster.server.replication_base import (
    ERROR_REPLICATION_START_TICK_NOT_PRESENT,
    read_base_pair,
    write_base_pair,
)
from cluster.server.rollback import RollbackStore, divergent_entries, state_differences

log = logging.getLogger(__name__)

MATCH_CHUNK = 1000  # local pairs sent per match request
MATCH_SCAN_LIMIT = 200_000  # most local entries scanned back for a common point
RETRY_PAUSE = 0.2  # first pause after a failed attempt (s)
RETRY_CAP = 2.0  # longest pause between attempts (s)


class ReplicationError(Exception):
    """The leader could not be used right now; the message names both ends."""


class StartTickGone(ReplicationError):
    """The leader no longer holds the tick we asked for (pruned): resync."""


def next_pause(pause: float) -> float:
    """The pause after ``pause`` (exponential backoff with a cap)."""
    return min(RETRY_CAP, max(RETRY_PAUSE, pause * 2))


class ApplierStorage(Protocol):
    def last_tick(self) -> int: ...

    @property
    def epoch(self) -> int: ...

    def wal_entry(self, tick: int) -> dict[str, Any] | None: ...

    def entries_after(self, tick: int) -> list[dict[str, Any]]: ...

    def apply_replicated(self, entries: list[dict[str, Any]]) -> int: ...

    def reset_from_snapshot(self, tick: int, epoch: int, snapshot: dict[str, Any]) -> None: ...

    def first_tick(self) -> int: ...

    def pair_epoch(self, tick: int) -> int | None: ...

    def dump_all(self) -> tuple[int, dict[str, Any]]: ...


class Applier:
    """Tails one leader for one epoch; restarted by leadership on every change."""

    def __init__(
        self,
        cfg: ServerConfig,
        storage: ApplierStorage,
        session: aiohttp.ClientSession,
        token: Callable[[], str],
        rollbacks: RollbackStore,
        on_newer_epoch: Callable[[], None] = lambda: None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.node_id = cfg.id
        self.storage = storage
        self.session = session
        self.token = token
        self.rollbacks = rollbacks
        self.on_newer_epoch = on_newer_epoch
        # waits this many seconds of node time (or until stopped); tests inject their own
        self.sleep = sleep or self._pause
        self.retry_pause = RETRY_PAUSE
        self.retries = 0
        self._force_resync = False
        self.leader_id: str | None = None
        self.leader_url = ""
        self.epoch = 0
        self.phase = "stopped"
        self.last_error = ""
        self.applied_batches = 0
        self.resyncs = 0
        self.leader_last_tick = 0
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._applying: asyncio.Future[Any] | None = None

    # ------------------------------------------------------------ control

    def start(self, leader_id: str, leader_url: str, epoch: int) -> None:
        if self._task is not None and not self._task.done():
            raise RuntimeError(f"{self.node_id}: applier already running")
        self.leader_id, self.leader_url, self.epoch = leader_id, leader_url.rstrip("/"), epoch
        self._stopping = False
        self._stop_event = asyncio.Event()
        self.retry_pause = RETRY_PAUSE
        self._force_resync = False
        self.phase = "starting"
        self._task = asyncio.create_task(self._run(), name=f"{self.node_id}-applier")

    async def stop(self, drain_timeout: float) -> None:
        """Stop after the current batch (waiting up to ``drain_timeout``), then cancel."""
        task = self._task
        self._stopping = True
        self._stop_event.set()
        if task is not None and not task.done():
            if drain_timeout > 0:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(task), drain_timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # a batch being written in a worker thread finishes before we return
        if self._applying is not None:
            with contextlib.suppress(Exception):
                await self._applying
        self._task = None
        self.phase = "stopped"

    def status(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "leader": self.leader_id,
            "epoch": self.epoch,
            "leaderLastTick": self.leader_last_tick,
            "resyncs": self.resyncs,
            "retries": self.retries,
            "retryPause": self.retry_pause,
            "lastError": self.last_error,
        }

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while not self._stopping:
            try:
                next_tick = await self._join()
                await self._tail(next_tick)
            except StartTickGone as exc:
                self._note_error(f"{self.node_id}: {exc}; resyncing")
                self._force_resync = True
            except (ReplicationError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                self._note_error(f"{self.node_id}: replication from {self.leader_id}: {exc}")
            except ArangoError as exc:  # the storage refused what the leader sent
                self._note_error(
                    f"{self.node_id}: applying {self.leader_id}'s entries failed: {exc.message}"
                )
            except Exception as exc:  # a bug: keep replicating, say what went wrong
                log.exception("%s: applier failed", self.node_id)
                self._note_error(f"{self.node_id}: applier failed: {exc!r}")
            if self._stop_event.is_set():
                break
            self.phase = "retrying"
            self.retries += 1
            pause, self.retry_pause = self.retry_pause, next_pause(self.retry_pause)
            await self.sleep(pause)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` of node time, or until stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), clock.real_duration(seconds))

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            log.warning("%s", message)
        self.last_error = message

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"bearer {self.token()}"}

    async def _request(
        self, method: str, path: str, seconds: float, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, str]]:
        url = f"{self.leader_url}{path}"
        async with self.session.request(
            method,
            url,
            headers=self._headers(),
            timeout=aiohttp.ClientTimeout(total=seconds),
            **kwargs,
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200 or not isinstance(body, dict):
                msg = body.get("errorMessage") if isinstance(body, dict) else body
                text = f"{method} {path} answered HTTP {resp.status}: {msg}"
                if (
                    isinstance(body, dict)
                    and body.get("errorNum") == ERROR_REPLICATION_START_TICK_NOT_PRESENT
                ):
                    raise StartTickGone(text)
                raise ReplicationError(text)
            headers = {k.lower(): v for k, v in resp.headers.items()}
        self._check_epoch(headers)
        return body, headers

    def _check_epoch(self, headers: dict[str, str]) -> None:
        try:
            leader_epoch = int(headers.get("x-arango-epoch", "-1"))
        except ValueError as exc:
            raise ReplicationError("leader sent a malformed X-Arango-Epoch") from exc
        if leader_epoch < self.epoch:
            raise ReplicationError(
                f"refusing data from {self.leader_id} at epoch {leader_epoch}, "
                f"older than the Plan epoch {self.epoch}"
            )
        if leader_epoch > self.epoch:
            self.on_newer_epoch()
            raise ReplicationError(
                f"{self.leader_id} is at epoch {leader_epoch}, newer than our {self.epoch}"
            )

    async def _run_storage(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a storage write in a thread; :meth:`stop` waits for it to finish."""
        fut = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        self._applying = fut
        try:
            return await asyncio.shield(fut)
        finally:
            if fut.done():
                self._applying = None

    # ------------------------------------------------------- join / resync

    def _last_pair(self) -> tuple[int, int] | None:
        last = self.storage.last_tick()
        if last == 0:
            return None
        entry = self.storage.wal_entry(last)
        if entry is not None:
            return last, int(entry["epoch"])
        base = read_base_pair(self.cfg.data_dir)
        if base is not None and base[0] == last:
            return base
        return last, self.storage.epoch

    async def _leader_has(self, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
        body, _ = await self._request(
            "POST",
            "/_api/replication/match",
            self.cfg.agency_timeout * 5,
            json={"pairs": [list(p) for p in pairs]},
        )
        present = body.get("present")
        if not isinstance(present, list):
            raise ReplicationError("match answer lacks 'present'")
        return {(int(p[0]), int(p[1])) for p in present}

    async def _join(self) -> int:
        """Make the local log a prefix of the leader's; returns the next tick to fetch."""
        self.phase = "checking"
        pair = self._last_pair()
        if pair is not None and pair in await self._leader_has([pair]):
            if not self._force_resync:
                return pair[0] + 1
            return await self._resync()  # our log is a prefix of the leader's: nothing diverged
        divergent: list[dict[str, Any]] = []
        gap = False
        if pair is not None:
            # Epoch 0 holds only the start-up entries every server writes alike
            # (the _system database and its _users collection): nothing to keep.
            point, found = await self._find_divergent(pair[0])
            divergent = [e for e in found if int(e["epoch"]) > 0]
            gap = point == 0 and await self._pruned_history_unknown()
        if divergent:
            name = await asyncio.to_thread(
                self.rollbacks.write, int(divergent[-1]["epoch"]), divergent
            )
            log.warning(
                "%s: %d local entries (ticks %d..%d) are unknown to leader %s: kept in "
                "rollback/%s before resync",
                self.node_id,
                len(divergent),
                divergent[0]["tick"],
                divergent[-1]["tick"],
                self.leader_id,
                name,
            )
        return await self._resync(keep_state=gap)

    async def _pruned_history_unknown(self) -> bool:
        """True when entries this server pruned may be unknown to the leader.

        The leader confirmed none of the local WAL: if the pair just below the
        local WAL (known from the epoch marks or the snapshot base) is not the
        leader's either, divergent entries may have been pruned here already.
        """
        first = await asyncio.to_thread(self.storage.first_tick)
        if first <= 1:
            return False  # nothing pruned (an empty log was judged by its last pair)
        boundary = first - 1
        epoch = await asyncio.to_thread(self.storage.pair_epoch, boundary)
        if epoch is None:
            base = read_base_pair(self.cfg.data_dir)
            if base is None or base[0] != boundary:
                return True
            epoch = base[1]
        if epoch == 0:
            return False
        return (boundary, epoch) not in await self._leader_has([(boundary, epoch)])

    async def _find_divergent(self, last: int) -> tuple[int, list[dict[str, Any]]]:
        """The highest common tick, and the local entries after it (the leader lacks them)."""
        window = MATCH_CHUNK
        while True:
            base = max(0, last - window)
            local = await asyncio.to_thread(self.storage.entries_after, base)
            present: set[tuple[int, int]] = set()
            pairs = [(int(e["tick"]), int(e["epoch"])) for e in local]
            # ask newest first: the common point is usually near the end
            for i in range(len(pairs), 0, -MATCH_CHUNK):
                present |= await self._leader_has(pairs[max(0, i - MATCH_CHUNK) : i])
                if present:
                    break
            point, divergent = divergent_entries(local, present)
            if point > 0 or base == 0 or window >= MATCH_SCAN_LIMIT:
                return point, divergent
            window *= 4

    async def _resync(self, keep_state: bool = False) -> int:
        """Replace local data with the leader's snapshot; returns the next tick to fetch.

        With ``keep_state`` (divergent entries may have been pruned from the
        local WAL), every local document the snapshot would change or drop is
        first kept in a rollback file as a ``state`` entry.
        """
        self.phase = "resyncing"
        body, _ = await self._request("GET", "/_api/replication/snapshot", 120.0)
        tick, epoch, snapshot = body.get("tick"), body.get("epoch"), body.get("snapshot")
        if (
            not isinstance(tick, int)
            or not isinstance(epoch, int)
            or not isinstance(snapshot, dict)
        ):
            raise ReplicationError("snapshot answer lacks tick, epoch or snapshot")
        if self._stopping:
            raise ReplicationError("stopping")
        if keep_state:
            await self._keep_local_state(snapshot)
        await asyncio.to_thread(write_base_pair, self.cfg.data_dir, tick, epoch)
        await self._run_storage(self.storage.reset_from_snapshot, tick, epoch, snapshot)
        self._force_resync = False
        self.resyncs += 1
        log.info("%s: resynced from %s at tick %d", self.node_id, self.leader_id, tick)
        return tick + 1

    async def _keep_local_state(self, snapshot: dict[str, Any]) -> None:
        local_tick, local = await asyncio.to_thread(self.storage.dump_all)
        lost = state_differences(local, snapshot, local_tick, self.storage.epoch)
        if lost:
            name = await asyncio.to_thread(self.rollbacks.write, self.storage.epoch, lost)
            log.warning(
                "%s: part of the local log was pruned before it could be compared with "
                "leader %s: the %d local documents the resync replaces are kept in rollback/%s",
                self.node_id,
                self.leader_id,
                len(lost),
                name,
            )

    # ------------------------------------------------------------- tailing

    async def _tail(self, next_tick: int) -> None:
        self.phase = "tailing"
        self.last_error = ""
        poll = self.cfg.tail_timeout
        while not self._stopping:
            params = {
                "from": str(next_tick),
                "serverId": self.node_id,
                "epoch": str(self.epoch),
                "limit": str(self.cfg.tail_batch),
                "timeout": str(poll),
            }
            body, headers = await self._request(
                "GET", "/_api/wal/tail", poll + self.cfg.agency_timeout * 5, params=params
            )
            entries = body.get("entries")
            if not isinstance(entries, list):
                raise ReplicationError("tail answer lacks 'entries'")
            with contextlib.suppress(ValueError):
                self.leader_last_tick = int(headers.get("x-arango-replication-lasttick", "0"))
            self.retry_pause = RETRY_PAUSE  # the leader serves us again
            if not entries:
                continue  # (a batch that arrives while stopping is still applied: drain)
            if self.storage.last_tick() >= next_tick:
                # a local write landed after we joined (a demoted leader's last write)
                raise ReplicationError("local log moved while following; joining again")
            last = await self._run_storage(self.storage.apply_replicated, entries)
            self.applied_batches += 1
            next_tick = int(last) + 1
