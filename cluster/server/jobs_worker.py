"""The queue worker: runs queued jobs on the leader only, fenced by the leader's epoch.

Every server has a :class:`QueueWorker`; it acts only while the Gate allows
writes. When it finds itself leading it takes a :class:`Fence` on the epoch it
leads in. Every job state write checks that fence on the writer thread, right
before the write (the Gate allows writes, in the same epoch), so a deposed or
fenced leader cannot record anything. The worker checks the fence every
:data:`WATCH_S` seconds as well and cancels its running tries at once when it
no longer holds: a try cut short stays ``running``, and the next leader, whose
worker never ran it, retries it (the interrupted try is marked ``unknown``).

Scans of ``_jobs`` (every :data:`POLL_S`, or at once after an enqueue) start
due pending jobs and every ``running`` job this worker is not running itself,
at most ``concurrency`` at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import aiohttp

from cluster.common import clock
from cluster.common.errors import ERROR_CLUSTER_NOT_LEADER, ArangoError
from cluster.server import jobs_store as store
from cluster.server.api_common import ClientContext
from cluster.server.gate import Gate
from cluster.server.jobs_model import CallbackPolicy, due_at
from cluster.server.storage_tx import Tx

T = TypeVar("T")
log = logging.getLogger(__name__)

WATCH_S = 0.05  # how often the worker checks it still leads in its epoch
POLL_S = 0.2  # how often it scans for due jobs without being woken
CONCURRENCY = 16


class JobError(Exception):
    """A try of a job failed (its own error, not a lost leadership)."""


def gate_epoch(gate: Gate) -> int:
    epoch = gate.role_info().get("epoch")
    return epoch if isinstance(epoch, int) else -1


class Fence:
    """This server leading in one epoch: holds while the Gate allows writes in that epoch."""

    def __init__(self, gate: Gate, epoch: int) -> None:
        self.gate = gate
        self.epoch = epoch

    def check(self) -> None:
        """Raise 503 unless this server still takes writes in the fence's epoch."""
        self.gate.check_write()
        now = gate_epoch(self.gate)
        if now != self.epoch:
            raise ArangoError(
                503,
                ERROR_CLUSTER_NOT_LEADER,
                f"{self.gate.server_id}: job fenced: epoch is {now}, the worker ran in {self.epoch}",
                headers={"X-Arango-Endpoint": ""},
            )

    def holds(self) -> bool:
        try:
            self.check()
        except ArangoError:
            return False
        return True


def scan_active(ctx: ClientContext) -> list[tuple[str, dict[str, Any]]]:
    """``(database, job)`` of every pending or running job (a read transaction)."""

    def op(tx: Tx) -> list[tuple[str, dict[str, Any]]]:
        dbs = [r[0] for r in tx.cur.execute("SELECT name FROM databases ORDER BY name")]
        return [(db, job) for db in dbs for job in store.active_jobs(tx, db)]

    return ctx.storage.read(op)


class QueueWorker:
    """Runs this server's queue while it leads; ``start()``, ``wake()``, ``stop()``."""

    def __init__(
        self,
        ctx: ClientContext,
        policy: CallbackPolicy,
        concurrency: int = CONCURRENCY,
        poll_s: float = POLL_S,
    ) -> None:
        self.ctx = ctx
        self.policy = policy
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.fence: Fence | None = None
        self.running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.tries_started = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def server_id(self) -> str:
        return self.ctx.gate.server_id

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"{self.server_id}-queue-worker")

    def wake(self) -> None:
        self._wakeup.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._halt()
        if self._session is not None:
            await self._session.close()

    # -- the loop ------------------------------------------------------------
    async def _loop(self) -> None:
        last_scan = 0.0
        while True:
            woken = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), WATCH_S)
                woken = True
            self._wakeup.clear()
            try:
                fence = self._current_fence()
                if fence is None or (self.fence is not None and fence.epoch != self.fence.epoch):
                    await self._halt()
                self.fence = fence
                now = clock.monotonic()
                if fence is not None and (woken or now - last_scan >= self.poll_s):
                    last_scan = now
                    await self._scan(fence)
            except Exception:  # keep the worker alive; the next round tries again
                log.exception("%s: queue worker round failed", self.server_id)

    def _current_fence(self) -> Fence | None:
        try:
            self.ctx.gate.check_write()
        except ArangoError:
            return None
        return Fence(self.ctx.gate, gate_epoch(self.ctx.gate))

    async def _halt(self) -> None:
        """Cancel every running try at once (leadership lost, or stopping)."""
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.running.clear()
        if tasks:
            log.info("%s: queue worker stopped %d running job(s)", self.server_id, len(tasks))

    async def _scan(self, fence: Fence) -> None:
        jobs = await asyncio.to_thread(scan_active, self.ctx)
        now = clock.wall_ms()
        for db, job in jobs:
            if len(self.running) >= self.concurrency:
                return
            key = (db, str(job["_key"]))
            if key in self.running or (job.get("state") == "pending" and due_at(job) > now):
                continue
            task = asyncio.create_task(self._run_job(fence, db, key[1]))
            self.running[key] = task
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        for key, running in list(self.running.items()):
            if running is task:
                del self.running[key]
        self._wakeup.set()  # a slot is free: look for more work

    # -- one try -------------------------------------------------------------
    async def _write(self, fence: Fence, op: Callable[[Tx], T]) -> T:
        """A job state write: fenced on the writer thread, acknowledged as client writes are."""
        ticks: list[int] = []

        def guarded(tx: Tx) -> T:
            fence.check()
            result = op(tx)
            ticks.append(tx.tick)
            return result

        result = await self.ctx.write(guarded)
        await self.ctx.commit(ticks[0] if ticks else 0)
        fence.check()
        return result

    async def _run_job(self, fence: Fence, db: str, job_id: str) -> None:
        server, epoch = self.server_id, fence.epoch
        try:
            started = await self._write(
                fence, lambda tx: store.start_try(tx, db, job_id, server, epoch, clock.wall_ms())
            )
            if started is None or not started[1]:
                return
            job = started[0]
            try_no = int(job["tries"][-1]["try"])
            self.tries_started += 1
            result: Any = None
            error: str | None = None
            try:
                result = await self._effect(fence, db, job, try_no)
            except (JobError, ArangoError) as exc:
                if not fence.holds():
                    return  # leadership lost mid-try: the next leader retries it
                error = exc.message if isinstance(exc, ArangoError) else str(exc)
            await self._write(
                fence,
                lambda tx: store.finish_try(tx, db, job_id, try_no, clock.wall_ms(), result, error),
            )
        except ArangoError as exc:
            log.debug("%s: job %s/%s stopped: %s", server, db, job_id, exc.message)

    async def _effect(self, fence: Fence, db: str, job: dict[str, Any], try_no: int) -> Any:
        job_id, server, epoch = str(job["_key"]), self.server_id, fence.epoch
        if job["type"] == "document":
            return await self._write(
                fence,
                lambda tx: store.apply_document(
                    tx, db, job_id, try_no, server, epoch, clock.wall_ms()
                ),
            )
        return await self._callback(job, try_no)

    async def _callback(self, job: dict[str, Any], try_no: int) -> Any:
        params = job["params"]
        url = str(params["url"])
        if not self.policy.permits(url):
            raise JobError(f"callback URL {url[:200]!r} is no longer on the allow-list")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        payload = {"job": job["_key"], "queue": job["queue"], "try": try_no, "body": params["body"]}
        timeout = aiohttp.ClientTimeout(total=float(params.get("timeout") or 10.0))
        try:
            async with self._session.post(url, json=payload, timeout=timeout) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise JobError(f"callback to {url[:200]} failed: {type(exc).__name__}: {exc}") from exc
        if not 200 <= status < 300:
            raise JobError(f"callback to {url[:200]} answered {status}")
        return {"status": status}
