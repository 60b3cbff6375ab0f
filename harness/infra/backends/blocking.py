"""A local cluster driven from synchronous code: pytest fixtures, benchmarks, the CLI.

:class:`BlockingBackend` runs a :class:`LocalBackend` on an event loop of its
own, in a daemon thread, and offers the backend's operations as blocking
calls. One loop for the backend's whole life matters: the Toxiproxy client's
HTTP session belongs to the loop it was opened on, so ``asyncio.run`` per
call would not do. Every call has a time limit (the backend's own waits,
such as the start timeout, come first).

Link faults go through the backend's Toxiproxy network (one proxy per
directed link; the cluster must be started with ``proxied=True``):
:meth:`BlockingBackend.cut` takes directed links, :meth:`BlockingBackend.isolate`
cuts every link of some nodes to and from the rest of the cluster.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, Self, TypeVar

from harness.infra.backends.base import CLIENT, ClusterSpec, Node
from harness.infra.backends.credentials import Credentials
from harness.infra.backends.local import LocalBackend
from harness.infra.net import LinkKey
from harness.infra.procs import install_exit_hooks

T = TypeVar("T")
CALL_LIMIT = 300.0  # seconds any one call may take, start-up included


class BlockingBackend:
    """Blocking calls onto a :class:`LocalBackend` (``with`` tears it down)."""

    def __init__(self, backend: LocalBackend | None = None, call_limit: float = CALL_LIMIT) -> None:
        self.backend = backend if backend is not None else LocalBackend()
        self.call_limit = call_limit
        install_exit_hooks()  # from this (main) thread, so SIGTERM/SIGHUP tear down too
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="blocking-backend", daemon=True
        )
        self._thread.start()
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, coro: Coroutine[Any, Any, T], limit: float | None = None) -> T:
        """Run ``coro`` on the backend's loop and wait for its result."""
        if self._closed:
            coro.close()
            raise RuntimeError("blocking backend: already closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self.call_limit if limit is None else limit)
        except TimeoutError:
            future.cancel()
            raise

    # -- the cluster ---------------------------------------------------------

    def start(self, spec: ClusterSpec) -> None:
        """Start the cluster and wait until it answers (see ``LocalBackend.start``)."""
        self.call(self.backend.start(spec), spec.start_timeout + self.call_limit)

    @property
    def spec(self) -> ClusterSpec:
        return self.backend.spec

    @property
    def credentials(self) -> Credentials:
        return self.backend.credentials

    def nodes(self) -> list[Node]:
        return self.backend.nodes()

    def node(self, node_id: str) -> Node:
        return self.backend.node(node_id)

    def ids(self, kind: str) -> list[str]:
        """The ids of the agents (``"agent"``) or servers (``"server"``)."""
        return [n.id for n in self.backend.nodes() if n.kind == kind]

    # -- whole-node faults -----------------------------------------------------

    def kill(self, node_id: str) -> None:
        """SIGKILL the node's process group; returns once it is gone."""
        self.call(self.backend.kill(node_id))

    def stop(self, node_id: str) -> None:
        """SIGTERM, then SIGKILL after the grace period; returns once it is gone."""
        self.call(self.backend.stop(node_id))

    def start_node(self, node_id: str) -> None:
        """Start a stopped or killed node on its data; returns once it answers."""
        self.call(self.backend.start_node(node_id))

    def start_nodes(self, node_ids: list[str]) -> None:
        """Start several stopped nodes together; returns once each answers."""
        self.call(self.backend.start_nodes(node_ids))

    def restart(self, node_id: str) -> None:
        self.call(self.backend.restart(node_id))

    def pause(self, node_id: str) -> None:
        """SIGSTOP the node's process group."""
        self.call(self.backend.pause(node_id))

    def resume(self, node_id: str) -> None:
        self.call(self.backend.resume(node_id))

    def is_paused(self, node_id: str) -> bool:
        return self.backend.is_paused(node_id)

    def is_running(self, node_id: str) -> bool:
        """The node's process runs (paused or not)."""
        return self.call(self.backend.is_running(node_id))

    def running(self) -> list[str]:
        """The ids of the nodes whose processes run, paused ones included."""
        return [n.id for n in self.backend.nodes() if self.is_running(n.id)]

    def set_clock(self, node_id: str, offset: float, rate: float = 1.0) -> None:
        self.call(self.backend.set_clock(node_id, offset, rate))

    # -- link faults -----------------------------------------------------------

    def cut(self, links: list[LinkKey]) -> None:
        """Drop every byte on these directed links until :meth:`heal`."""
        self.call(self.backend.net.cut(links))

    def heal(self, links: list[LinkKey] | None = None) -> None:
        """Remove the faults on these links (on every link when None)."""
        self.call(self.backend.net.heal(links))

    def links_of(self, node_ids: Iterable[str]) -> list[LinkKey]:
        """Every proxied link between ``node_ids`` and the other nodes, both directions."""
        inside = set(node_ids)
        return [
            (lk.src, lk.dst)
            for lk in self.backend.net.links()
            if (lk.src in inside) != (lk.dst in inside) and CLIENT not in (lk.src, lk.dst)
        ]

    def isolate(self, node_ids: Iterable[str]) -> list[LinkKey]:
        """Cut ``node_ids`` off from the rest of the cluster (clients still reach them)."""
        links = self.links_of(node_ids)
        self.cut(links)
        return links

    # -- the end ---------------------------------------------------------------

    def collect_logs(self, dest_dir: str) -> None:
        self.call(self.backend.collect_logs(dest_dir))

    def detach(self) -> None:
        """Let the cluster outlive this process (see ``LocalBackend.detach``), then close."""
        self.call(self.backend.detach())
        self._stop_loop()

    def close(self) -> None:
        """Tear the cluster down (idempotent) and stop the loop."""
        if self._closed:
            return
        try:
            self.call(self.backend.teardown())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()
