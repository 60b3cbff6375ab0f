"""The local backend: agents, servers and Toxiproxy as child processes on 127.0.0.1.

Layout under ``spec.state_dir``::

    toxiproxy.log
    cluster-secret           the cluster secret (0600), passed as --jwt-secret-file
    root-password            root's password (0600), passed as --root-password-file
    nodes/<id>/data/         the node's data directory
    nodes/<id>/<id>.log      its stdout and stderr
    nodes/<id>/clock.json    its clock-skew file

Every child runs in its own process group, so a kill or pause reaches the
whole node, and inherits the lock of the port it listens on (Toxiproxy: of
its API and proxy ports), so no other harness process takes a port while
the cluster lives. Teardown (idempotent) resumes paused nodes, kills every
group, reaps them and stops Toxiproxy. It runs from ``async with``, from an
``atexit`` hook, and on SIGTERM/SIGHUP (turned into ``SystemExit``), so
Ctrl-C, an exception or a termination signal leaves nothing running --
unless the cluster was handed over with :meth:`LocalBackend.detach`
(``afcheck cluster up``), after which it outlives this process and is
stopped by pid (``afcheck cluster down``).

``spec.servers`` may be 0 (an agency alone). With ``spec.proxied`` every
directed link, agent to agent included, runs through its own Toxiproxy
proxy (:mod:`harness.infra.net`). :class:`harness.infra.backends.blocking.BlockingBackend`
drives this backend from synchronous code (pytest fixtures, benchmarks, the CLI).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cluster.common.clock import Skew, write_skew
from harness.infra.backends.base import ClusterSpec, Node
from harness.infra.backends.commands import agent_args, server_args
from harness.infra.backends.node_table import BackendBase, NodeStartError, fresh_state_dir, node_ids
from harness.infra.backends.ports import PortPool
from harness.infra.backends.readiness import Readiness
from harness.infra.net import ToxiproxyNetwork, directed_links
from harness.infra.procs import kill_and_reap, let_go, log_tail, signal_group, spawn, unregister
from harness.infra.toxiproxy import ToxiproxyClient, ToxiproxyServer

STOP_GRACE = 10.0  # seconds a node gets to exit on SIGTERM before SIGKILL


@dataclass
class _Process:
    node: Node
    listen_port: int
    command: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False


class LocalBackend(BackendBase[_Process]):
    """Implements :class:`harness.infra.backends.base.Backend` with local child processes."""

    name = "local"

    def __init__(
        self,
        python: str | None = None,
        toxiproxy_seed: int | None = None,
        agent_module: str = "cluster.agency",
        server_module: str = "cluster.server",
    ) -> None:
        super().__init__()
        self.python = python or sys.executable
        self.agent_module = agent_module
        self.server_module = server_module
        self.toxiproxy_seed = toxiproxy_seed
        self._ports = PortPool()
        self._toxiproxy: ToxiproxyServer | None = None

    # -- start -------------------------------------------------------------

    async def _start(self, spec: ClusterSpec) -> None:
        agents, servers = node_ids(spec, self.name)
        state = fresh_state_dir(spec.state_dir)
        self._make_credentials(state)
        for node_id in agents + servers:
            self._entries[node_id] = self._layout(state, node_id)
        addr: dict[tuple[str, str], str] = {}  # (src, dst) -> host:port src uses for dst
        if spec.proxied:
            addr = await self._start_network(state, agents, servers)
        self._assign_commands(
            agents, servers, addr, lambda dst: f"127.0.0.1:{self._entries[dst].listen_port}"
        )

        ready = self._readiness()
        deadline = ready.deadline()
        for a in agents:
            self._spawn(a)
        await ready.agency(deadline)
        for s in servers:
            self._spawn(s)
        await ready.servers(deadline)

    def _layout(self, state: Path, node_id: str) -> _Process:
        home = state / "nodes" / node_id
        (home / "data").mkdir(parents=True, exist_ok=True)
        clock_file = str(home / "clock.json")
        write_skew(clock_file, Skew())
        port = self._ports.take()
        node = Node(
            id=node_id,
            kind="agent" if node_id.startswith("a") else "server",
            url=f"http://127.0.0.1:{port}",
            direct_url=f"http://127.0.0.1:{port}",
            data_dir=str(home / "data"),
            log_path=str(home / f"{node_id}.log"),
            clock_file=clock_file,
        )
        return _Process(node=node, listen_port=port)

    async def _start_network(
        self, state: Path, agents: list[str], servers: list[str]
    ) -> dict[tuple[str, str], str]:
        api_port = self._ports.take()
        listen_ports = {link: self._ports.take() for link in directed_links(agents, servers)}
        locks = [self._ports.lock_fd(p) for p in (api_port, *listen_ports.values())]
        self._toxiproxy = ToxiproxyServer(
            api_port, str(state / "toxiproxy.log"), self.toxiproxy_seed, keep_fds=locks
        )
        await self._toxiproxy.start()
        net = ToxiproxyNetwork(ToxiproxyClient(self._toxiproxy.api))
        self._net = net
        addr: dict[tuple[str, str], str] = {}
        for (src, dst), port in listen_ports.items():
            upstream = f"127.0.0.1:{self._entries[dst].listen_port}"
            link = await net.create(src, dst, f"127.0.0.1:{port}", upstream)
            addr[(src, dst)] = link.listen
        return addr

    @property
    def toxiproxy(self) -> ToxiproxyServer | None:
        """The Toxiproxy process (None when the cluster is not proxied)."""
        return self._toxiproxy

    def _agent_command(self, node_id: str, peers: list[str]) -> list[str]:
        p = self._entries[node_id]
        listen = f"127.0.0.1:{p.listen_port}"
        args = agent_args(
            node_id,
            listen,
            p.node.data_dir,
            p.node.clock_file,
            peers,
            self.spec.agency_flags,
            self.credentials.agent_flags(),
        )
        return [self.python, "-m", self.agent_module, *args]

    def _server_command(self, node_id: str, peers: list[str], agency: list[str]) -> list[str]:
        p = self._entries[node_id]
        args = server_args(
            node_id,
            f"127.0.0.1:{p.listen_port}",
            p.node.url,
            agency,
            p.node.data_dir,
            self.spec.replication,
            p.node.clock_file,
            peers,
            self.spec.server_flags,
            self.spec.agency_flags,
            self.credentials.server_flags(),
        )
        return [self.python, "-m", self.server_module, *args]

    def _spawn(self, node_id: str) -> None:
        p = self._entry(node_id)
        if p.proc is not None and p.proc.poll() is None:
            raise RuntimeError(f"local backend: {node_id} is already running (pid {p.proc.pid})")
        env = dict(os.environ, AFCHECK_CLOCK_FILE=p.node.clock_file, PYTHONUNBUFFERED="1")
        with open(p.node.log_path, "ab") as log:
            log.write(f"--- starting {node_id}: {' '.join(p.command)}\n".encode())
        p.proc = spawn(p.command, p.node.log_path, env, [self._ports.lock_fd(p.listen_port)])
        p.paused = False
        p.node.pid = p.proc.pid

    # -- readiness ---------------------------------------------------------

    async def _fail(self, node_id: str, reason: str) -> NodeStartError:
        p = self._entry(node_id)
        return NodeStartError(
            f"local backend: {node_id} {reason}; last lines of {p.node.log_path}:\n"
            + log_tail(p.node.log_path)
        )

    async def _check_alive(self, node_ids: list[str]) -> None:
        for node_id in node_ids:
            proc = self._entry(node_id).proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                raise await self._fail(node_id, f"exited during start-up (exit code {code})")

    def _readiness(self) -> Readiness:
        return Readiness(self, self.spec.start_timeout, self._check_alive, self._fail)

    # -- whole-node faults -------------------------------------------------

    async def kill(self, node_id: str) -> None:
        p = self._entry(node_id)
        if p.proc is not None:
            await asyncio.to_thread(kill_and_reap, p.proc)
        p.paused = False

    async def stop(self, node_id: str) -> None:
        p = self._entry(node_id)
        if p.proc is not None:
            await asyncio.to_thread(kill_and_reap, p.proc, STOP_GRACE)
        p.paused = False

    async def start_node(self, node_id: str) -> None:
        self._spawn(node_id)
        await self._readiness().node(node_id)

    async def start_nodes(self, node_ids: list[str]) -> None:
        """Start several stopped nodes at once (e.g. a whole agency), then wait for each."""
        for node_id in node_ids:
            self._spawn(node_id)
        ready = self._readiness()
        for node_id in node_ids:
            await ready.node(node_id)

    async def restart(self, node_id: str) -> None:
        await self.stop(node_id)
        await self.start_node(node_id)

    async def pause(self, node_id: str) -> None:
        p = self._entry(node_id)
        if p.proc is None or p.proc.poll() is not None:
            raise RuntimeError(f"local backend: cannot pause {node_id}: not running")
        signal_group(p.proc.pid, signal.SIGSTOP)
        p.paused = True

    async def resume(self, node_id: str) -> None:
        p = self._entry(node_id)
        if p.proc is not None:
            signal_group(p.proc.pid, signal.SIGCONT)
        p.paused = False

    def is_paused(self, node_id: str) -> bool:
        return self._entry(node_id).paused

    async def is_running(self, node_id: str) -> bool:
        proc = self._entry(node_id).proc
        return proc is not None and proc.poll() is None

    # -- logs and teardown -------------------------------------------------

    async def collect_logs(self, dest_dir: str) -> None:
        await asyncio.to_thread(self._collect_logs, dest_dir)

    def _collect_logs(self, dest_dir: str) -> None:
        for node in self.nodes():
            target = Path(dest_dir) / node.id
            target.mkdir(parents=True, exist_ok=True)
            if os.path.exists(node.log_path):
                shutil.copy2(node.log_path, target / os.path.basename(node.log_path))
        if self._toxiproxy is not None and os.path.exists(self._toxiproxy.log_path):
            target = Path(dest_dir) / "toxiproxy"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self._toxiproxy.log_path, target / "toxiproxy.log")

    def teardown_sync(self) -> None:
        """Kill every node and Toxiproxy, reap them, free the ports (idempotent)."""
        for p in self._entries.values():
            if p.proc is not None:
                signal_group(p.proc.pid, signal.SIGCONT)
                signal_group(p.proc.pid, signal.SIGKILL)
        for p in self._entries.values():
            if p.proc is not None:
                kill_and_reap(p.proc)
            p.paused = False
        if self._toxiproxy is not None:
            self._toxiproxy.stop()
        self._ports.release()
        unregister(self)

    # -- handing the cluster over ------------------------------------------

    async def detach(self) -> None:
        """Let the started cluster outlive this process (``afcheck cluster up``).

        Nothing is torn down at exit any more; every node and Toxiproxy keep
        running, each holding its own ports' locks. Stop them by pid
        (:func:`harness.infra.procs.stop`); this backend must not be used again.
        """
        unregister(self)
        if self._net is not None:
            await self._net.client.close()
        for p in self._entries.values():
            if p.proc is not None:
                let_go(p.proc)
            p.proc = None
        if self._toxiproxy is not None and self._toxiproxy.proc is not None:
            let_go(self._toxiproxy.proc)
            self._toxiproxy.proc = None
        self._ports.release()
