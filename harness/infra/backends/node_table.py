"""What the local and the Docker backend share.

:class:`BackendBase` keeps the node table (id -> entry with the harness's
:class:`Node` and the node's command line), the Toxiproxy network, the clock
skews, the once-only ``start()`` that tears down whatever it started when it
fails, and ``teardown()``. :meth:`BackendBase._assign_commands` wires every
node's peers and agency through the per-link proxy addresses, or directly
when the cluster is not proxied. A backend supplies how a node runs:
``_start``, ``_agent_command``, ``_server_command`` and ``teardown_sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, Self, TypeVar

from cluster.common.clock import Skew, write_skew
from harness.infra.backends import credentials
from harness.infra.backends.base import CLIENT, ClusterSpec, Node
from harness.infra.net import ToxiproxyNetwork
from harness.infra.procs import register


class NodeStartError(RuntimeError):
    """A node did not come up in time; names the node and shows the tail of its log."""


class NodeEntry(Protocol):
    node: Node
    command: list[str]


E = TypeVar("E", bound=NodeEntry)


def node_ids(spec: ClusterSpec, backend: str) -> tuple[list[str], list[str]]:
    """The agent and server ids of ``spec`` (``a1..``, ``s1..``); an agency alone is fine."""
    if spec.agents < 1 or spec.servers < 0:
        raise ValueError(f"{backend} backend: need at least one agent (and servers >= 0)")
    agents = [f"a{i}" for i in range(1, spec.agents + 1)]
    servers = [f"s{i}" for i in range(1, spec.servers + 1)]
    return agents, servers


def fresh_state_dir(path: str) -> Path:
    """The resolved state directory, without the node folders of an earlier cluster."""
    state = Path(path).resolve()
    shutil.rmtree(state / "nodes", ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    return state


class BackendBase(Generic[E]):
    """The node table, network, skews and start/teardown framing of a backend."""

    name = "base"

    def __init__(self) -> None:
        self.spec = ClusterSpec()
        self._entries: dict[str, E] = {}
        self._net: ToxiproxyNetwork | None = None
        self._skews: dict[str, Skew] = {}
        self._started = False
        self.credentials: credentials.Credentials = credentials.NO_AUTH

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.teardown()

    # -- the topology ------------------------------------------------------

    def nodes(self) -> list[Node]:
        return [e.node for e in self._entries.values()]

    def node(self, node_id: str) -> Node:
        return self._entry(node_id).node

    def _entry(self, node_id: str) -> E:
        try:
            return self._entries[node_id]
        except KeyError:
            known = ", ".join(self._entries) or "none"
            raise KeyError(f"{self.name} backend: no node {node_id!r} (nodes: {known})") from None

    @property
    def net(self) -> ToxiproxyNetwork:
        if self._net is None:
            raise RuntimeError(
                f"{self.name} backend: no network (cluster not started, or not proxied)"
            )
        return self._net

    def skew(self, node_id: str) -> Skew:
        """The clock skew last set on a node."""
        return self._skews.get(node_id, Skew())

    async def set_clock(self, node_id: str, offset: float, rate: float = 1.0) -> None:
        skew = Skew(offset, rate)
        write_skew(self.node(node_id).clock_file, skew)
        self._skews[node_id] = skew

    def _assign_commands(
        self,
        agents: list[str],
        servers: list[str],
        addr: dict[tuple[str, str], str],
        direct: Callable[[str], str],
    ) -> None:
        """Point clients at their proxies and give every node its command line.

        ``addr`` maps a directed link ``(src, dst)`` to the host:port ``src``
        uses for ``dst`` (its proxy); ``direct(dst)`` is the host:port used
        without one.
        """
        for (src, dst), listen in addr.items():
            if src == CLIENT:
                self._entries[dst].node.url = f"http://{listen}"

        def via(src: str, dst: str) -> str:
            return f"http://{addr.get((src, dst), direct(dst))}"

        for a in agents:
            peers = [f"{b}={via(a, b)}" for b in agents if b != a]
            self._entries[a].command = self._agent_command(a, peers)
        for s in servers:
            peers = [f"{t}={via(s, t)}" for t in servers if t != s]
            agency = [via(s, a) for a in agents]
            self._entries[s].command = self._server_command(s, peers, agency)

    def _make_credentials(self, state: Path) -> None:
        """A new secret and root password for this cluster, in ``state`` (or none: auth off)."""
        if self.spec.auth:
            self.credentials = credentials.create(state, self.spec.root_password, self.spec.secret)

    # -- start and teardown ------------------------------------------------

    async def start(self, spec: ClusterSpec) -> None:
        """Start the cluster once; on any failure tear down what was started."""
        if self._started:
            raise RuntimeError(f"{self.name} backend: start() called twice; use a new backend")
        self._started = True
        self.spec = spec
        await self._before_start()
        register(self)
        try:
            await self._start(spec)
        except BaseException:
            await self.teardown()
            raise

    async def _before_start(self) -> None:
        """Anything to check before the teardown hooks are installed."""

    async def teardown(self) -> None:
        if self._net is not None:
            with contextlib.suppress(Exception):
                await self._net.client.close()
        await asyncio.to_thread(self.teardown_sync)

    # -- what a backend supplies -------------------------------------------

    async def _start(self, spec: ClusterSpec) -> None:
        raise NotImplementedError

    def _agent_command(self, node_id: str, peers: list[str]) -> list[str]:
        raise NotImplementedError

    def _server_command(self, node_id: str, peers: list[str], agency: list[str]) -> list[str]:
        raise NotImplementedError

    def teardown_sync(self) -> None:
        raise NotImplementedError
