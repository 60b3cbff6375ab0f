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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp

from cluster.common.errors import ArangoError
from cluster.server.config import ServerConfig
from cluster.server.replication_base import read_base_pair, write_base_pair
from cluster.server.rollback import RollbackStore, divergent_entries

log = logging.getLogger(__name__)

MATCH_CHUNK = 1000  # local pairs sent per match request
MATCH_SCAN_LIMIT = 200_000  # most local entries scanned back for a common point
RETRY_PAUSE = 0.2


class ReplicationError(Exception):
    """The leader could not be used right now; the message names both ends."""


class ApplierStorage(Protocol):
    def last_tick(self) -> int: ...

    @property
    def epoch(self) -> int: ...

    def wal_entry(self, tick: int) -> dict[str, Any] | None: ...

    def entries_after(self, tick: int) -> list[dict[str, Any]]: ...

    def apply_replicated(self, entries: list[dict[str, Any]]) -> int: ...

    def reset_from_snapshot(self, tick: int, epoch: int, snapshot: dict[str, Any]) -> None: ...


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
    ) -> None:
        self.cfg = cfg
        self.node_id = cfg.id
        self.storage = storage
        self.session = session
        self.token = token
        self.rollbacks = rollbacks
        self.on_newer_epoch = on_newer_epoch
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
            "lastError": self.last_error,
        }

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while not self._stopping:
            try:
                next_tick = await self._join()
                await self._tail(next_tick)
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), RETRY_PAUSE)

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
                raise ReplicationError(f"{method} {path} answered HTTP {resp.status}: {msg}")
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
            return pair[0] + 1
        divergent: list[dict[str, Any]] = []
        if pair is not None:
            # Epoch 0 holds only the start-up entries every server writes alike
            # (the _system database and its _users collection): nothing to keep.
            divergent = [e for e in await self._find_divergent(pair[0]) if int(e["epoch"]) > 0]
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
        return await self._resync()

    async def _find_divergent(self, last: int) -> list[dict[str, Any]]:
        """Local entries whose pairs the leader lacks, after the highest common pair."""
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
                return divergent
            window *= 4

    async def _resync(self) -> int:
        """Replace local data with the leader's snapshot; returns the next tick to fetch."""
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
        await asyncio.to_thread(write_base_pair, self.cfg.data_dir, tick, epoch)
        await self._run_storage(self.storage.reset_from_snapshot, tick, epoch, snapshot)
        self.resyncs += 1
        log.info("%s: resynced from %s at tick %d", self.node_id, self.leader_id, tick)
        return tick + 1

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
            if not entries:
                continue  # (a batch that arrives while stopping is still applied: drain)
            if self.storage.last_tick() >= next_tick:
                # a local write landed after we joined (a demoted leader's last write)
                raise ReplicationError("local log moved while following; joining again")
            last = await self._run_storage(self.storage.apply_replicated, entries)
            self.applied_batches += 1
            next_tick = int(last) + 1
