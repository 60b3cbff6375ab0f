"""Group commit: concurrent write requests share one SQLite transaction and one fsync.

A request hands its operation to :meth:`WriteBatcher.run` and awaits it. While
a batch is being written on the writer thread, new operations queue up; when
it finishes, everything queued so far goes into the next batch. Each
operation keeps its own result and ticks, and a failing operation (say a
duplicate key) is undone alone (see :meth:`Storage.run_batch`). Nothing is
acknowledged before its batch has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from cluster.common.errors import ArangoError
from cluster.server.storage import Storage
from cluster.server.storage_tx import Tx

T = TypeVar("T")
MAX_BATCH = 512


class WriteBatcher:
    """Merges concurrent write operations into few transactions."""

    def __init__(self, storage: Storage, max_batch: int = MAX_BATCH) -> None:
        self.storage = storage
        self.max_batch = max_batch
        self._pending: list[tuple[Callable[[Tx], Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage-writer")
        self.batches = 0
        self.operations = 0

    async def run(self, op: Callable[[Tx], T]) -> T:
        """Run ``op`` in a write transaction; raise its ArangoError, return its result."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        result = await future
        if isinstance(result, ArangoError):
            raise result
        return cast(T, result)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            ops = [op for op, _ in batch]
            try:
                results = await loop.run_in_executor(self._executor, self.storage.run_batch, ops)
            except Exception as exc:  # the whole transaction failed: every op fails
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.operations += len(ops)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
