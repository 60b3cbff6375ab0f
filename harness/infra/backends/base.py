"""The backend interface: how the harness starts nodes and applies whole-node faults.

A backend owns the node processes (local child processes or Docker
containers) and the Toxiproxy instance through which every directed link
runs. Workloads, nemeses and the runner see only this interface.

Node ids: agents ``a1..aN``, servers ``s1..sM``; the harness's own clients are
the pseudo-node ``c``. A directed link ``(src, dst)`` (e.g. ``("s1", "a2")``)
is the path ``src`` uses to reach ``dst``; with ``proxied=True`` every link
runs through its own Toxiproxy proxy, so a partition is any set of links cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from harness.infra.backends.credentials import Credentials

NodeKind = Literal["agent", "server"]
CLIENT = "c"


@dataclass
class ClusterSpec:
    """What to start. Printed in full into ``test.json``."""

    agents: int = 3
    servers: int = 2  # 0: an agency alone (agency tests, benchmarks, `afcheck cluster up`)
    replication: Literal["async", "sync"] = "async"
    proxied: bool = True
    # extra flags per component, e.g. {"grace-period": "3"}; passed as --key value
    agency_flags: dict[str, str] = field(default_factory=dict)
    server_flags: dict[str, str] = field(default_factory=dict)
    state_dir: str = "store/cluster"
    # True: a random cluster secret and root password per cluster, kept 0600 in the state
    # dir and passed to every node as files; False: every node runs --insecure-no-auth
    auth: bool = True
    # root's password and the cluster secret (None: random ones; tests may fix them)
    root_password: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    # how long start() waits for every node to answer (seconds)
    start_timeout: float = 60.0


@dataclass
class Node:
    """One node as the harness sees it."""

    id: str
    kind: NodeKind
    url: str  # where clients reach it: the client->node proxy when proxied
    direct_url: str  # the node's own listen address (harness observations only)
    data_dir: str
    log_path: str
    clock_file: str
    pid: int | None = None
    container: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "url": self.url,
            "direct_url": self.direct_url,
            "data_dir": self.data_dir,
            "log_path": self.log_path,
            "clock_file": self.clock_file,
            "pid": self.pid,
            "container": self.container,
        }


@dataclass(frozen=True)
class Link:
    """A directed link and the proxy that carries it."""

    src: str
    dst: str
    proxy: str  # Toxiproxy proxy name, e.g. "s1->a2"
    listen: str  # host:port the source connects to
    upstream: str  # host:port of the destination


@runtime_checkable
class Network(Protocol):
    """Toxiproxy-driven link faults. Every method waits for Toxiproxy to confirm."""

    def links(self) -> list[Link]: ...

    async def cut(self, links: list[tuple[str, str]]) -> None:
        """Drop all data on these links (``timeout`` toxic, timeout 0)."""

    async def slow(self, links: list[tuple[str, str]], latency_ms: int, jitter_ms: int) -> None:
        """Add latency with jitter on these links."""

    async def reset_peer(self, links: list[tuple[str, str]], timeout_ms: int) -> None:
        """Reset connections on these links after ``timeout_ms``."""

    async def limit_data(self, links: list[tuple[str, str]], nbytes: int) -> None:
        """Close connections on these links after ``nbytes`` bytes."""

    async def heal(self, links: list[tuple[str, str]] | None = None) -> None:
        """Remove every toxic (on these links, or all), re-enabling the proxies."""


@runtime_checkable
class Backend(Protocol):
    """Starts a cluster and applies whole-node faults. One instance per test."""

    name: str
    # the cluster's secret and root password (authentication off until started)
    credentials: Credentials

    async def start(self, spec: ClusterSpec) -> None:
        """Start Toxiproxy (if proxied), the agents and the servers; wait until all answer."""

    def nodes(self) -> list[Node]: ...

    def node(self, node_id: str) -> Node: ...

    @property
    def net(self) -> Network: ...

    async def kill(self, node_id: str) -> None:
        """SIGKILL the node (or ``docker kill``); returns once it is gone."""

    async def stop(self, node_id: str) -> None:
        """Stop the node gracefully; returns once it is gone."""

    async def start_node(self, node_id: str) -> None:
        """Start a stopped or killed node again on its data; returns once it answers."""

    async def restart(self, node_id: str) -> None: ...

    async def pause(self, node_id: str) -> None:
        """SIGSTOP (or ``docker pause``)."""

    async def resume(self, node_id: str) -> None:
        """SIGCONT (or ``docker unpause``)."""

    async def set_clock(self, node_id: str, offset: float, rate: float = 1.0) -> None:
        """Write the node's clock file (see ``cluster/common/clock.py``)."""

    async def is_running(self, node_id: str) -> bool: ...

    async def collect_logs(self, dest_dir: str) -> None:
        """Copy each node's logs to ``dest_dir/<id>/``."""

    async def teardown(self) -> None:
        """Stop everything this backend started; idempotent; leaves nothing running."""


@runtime_checkable
class Isolating(Protocol):
    """A backend that can take a node off the network entirely (``docker network disconnect``):
    hard isolation, in addition to the per-link Toxiproxy partitions. The Docker backend
    offers it; the local one does not (local processes share the host's loopback)."""

    async def disconnect(self, node_id: str) -> None:
        """Take the node off the cluster's network; returns once the engine confirms."""

    async def connect(self, node_id: str) -> None:
        """Put a disconnected node back at its old address (no-op when connected)."""

    def is_connected(self, node_id: str) -> bool: ...
