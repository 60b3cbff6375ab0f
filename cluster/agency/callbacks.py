"""Delivery of observer callbacks (``observe`` URLs) by HTTP POST, at least once.

The agency leader calls :meth:`CallbackDispatcher.notify` after applying an
entry whose changed paths match observers (:meth:`Store.observers_for`).
Each URL has its own worker, so a slow or dead observer never delays the
others. Notifications still pending for a URL are merged into one POST::

    {"index": <highest log index>, "paths": ["/arango/Plan/...", ...]}

An observer answers 2xx to acknowledge; anything else (or no answer within
``request_timeout``) is retried with exponential backoff until
``give_up_after`` seconds after the first undelivered notification, when
the batch is dropped and logged. Only the leader dispatches: when the
``is_leader`` callable says otherwise, pending notifications are dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from cluster.common import clock
from cluster.common.http import client_session

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    index: int
    paths: dict[str, None]
    since: float


@dataclass
class DispatchStats:
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    dropped_not_leader: int = 0
    urls: dict[str, int] = field(default_factory=dict)


class CallbackDispatcher:
    """Per-URL queues of observer notifications, POSTed by background tasks."""

    def __init__(
        self,
        node_id: str,
        is_leader: Callable[[], bool] | None = None,
        request_timeout: float = 5.0,
        give_up_after: float = 30.0,
        initial_backoff: float = 0.1,
        max_backoff: float = 2.0,
    ) -> None:
        self.node_id = node_id
        self._is_leader = is_leader or (lambda: True)
        self.request_timeout = request_timeout
        self.give_up_after = give_up_after
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.stats = DispatchStats()
        self._pending: dict[str, _Pending] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._stopped = False

    async def start(self) -> None:
        """Open the HTTP session (call from the running event loop)."""
        if self._session is None:
            self._session = client_session(self.request_timeout)
        self._stopped = False

    async def stop(self) -> None:
        """Cancel every worker, drop what is pending, close the session."""
        self._stopped = True
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        self._pending.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def pending_urls(self) -> list[str]:
        """URLs with undelivered notifications (including one being delivered)."""
        return sorted(set(self._pending) | set(self._workers))

    def notify(self, url: str, paths: list[str], index: int) -> None:
        """Queue a notification that ``paths`` changed at log ``index`` (never blocks)."""
        if self._stopped or self._session is None:
            log.warning(
                "%s: callback to %s at index %d dropped: dispatcher not running",
                self.node_id,
                url,
                index,
            )
            return
        pending = self._pending.get(url)
        if pending is None:
            self._pending[url] = _Pending(index, dict.fromkeys(paths), clock.monotonic())
        else:
            pending.index = max(pending.index, index)
            pending.paths.update(dict.fromkeys(paths))
        if url not in self._workers:
            self._workers[url] = asyncio.get_running_loop().create_task(self._work(url))

    async def _work(self, url: str) -> None:
        try:
            while url in self._pending:
                batch = self._pending.pop(url)
                await self._deliver(url, batch)
        finally:
            self._workers.pop(url, None)

    async def _deliver(self, url: str, batch: _Pending) -> None:
        body = {"index": batch.index, "paths": list(batch.paths)}
        backoff = self.initial_backoff
        while True:
            if not self._is_leader():
                self.stats.dropped_not_leader += 1
                log.info("%s: callback to %s dropped: no longer leader", self.node_id, url)
                return
            error = await self._post(url, body)
            if error is None:
                self.stats.delivered += 1
                self.stats.urls[url] = self.stats.urls.get(url, 0) + 1
                return
            self.stats.failed_attempts += 1
            waited = clock.monotonic() - batch.since
            if waited + backoff > self.give_up_after:
                self.stats.given_up += 1
                log.warning(
                    "%s: callback POST %s (index %d) given up after %.1f s: %s",
                    self.node_id,
                    url,
                    batch.index,
                    waited,
                    error,
                )
                return
            await asyncio.sleep(clock.real_duration(backoff))
            backoff = min(backoff * 2, self.max_backoff)

    async def _post(self, url: str, body: dict[str, object]) -> str | None:
        """POST once; ``None`` on a 2xx answer, else the reason."""
        session = self._session
        if session is None:
            return "dispatcher stopped"
        try:
            async with asyncio.timeout(self.request_timeout):
                async with session.post(url, json=body) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        return None
                    return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"
