"""The Docker backend: agents, servers and Toxiproxy as containers on a network of their own.

One backend instance is one run (a short random run id). It creates:

* a bridge network ``afcheck-<run>`` with its own /24 subnet, marked
  ``internal`` (no route out of this machine; the host still reaches every
  container's address on the bridge);
* a Toxiproxy container at ``.2`` whose API the harness uses directly;
* a container per node with a fixed address (agents ``.11..``, servers
  ``.101..``), so an address survives a kill, a restart and a network
  disconnect. Agents listen on 8531 and servers on 8529 inside their
  containers, and every directed link goes through its own Toxiproxy proxy,
  exactly as on the local backend (see :mod:`harness.infra.net`).

On the host, under ``spec.state_dir``: ``nodes/<id>/data`` (bind-mounted at
``/afcheck/data``, so rollback files are readable by the harness),
``nodes/<id>/ctl/clock.json`` (the clock file, bind-mounted read-only at
``/afcheck/ctl``, with copies of the cluster secret and root's password,
mode 0600), and ``nodes/<id>/<id>.log`` (the container's output, saved
by :meth:`collect_logs` and at teardown).

Containers run as a non-root user (the image's ``afcheck`` user, or the
caller's own uid when the harness does not run as root), with every
capability dropped and no privileged mode. Every container and the network
carry the run and owner labels of :mod:`harness.infra.backends.docker_engine`:
teardown removes them (also from an ``atexit`` hook and on SIGTERM/SIGHUP),
and the next run sweeps away those of a run whose process died.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cluster.common.clock import Skew, write_skew
from harness.infra.backends.base import ClusterSpec, Node
from harness.infra.backends.commands import agent_args, server_args
from harness.infra.backends.docker_engine import DockerError
from harness.infra.backends.docker_run import STOP_GRACE, RunEngine
from harness.infra.backends.node_table import BackendBase, NodeStartError, fresh_state_dir, node_ids
from harness.infra.backends.readiness import Readiness
from harness.infra.net import ToxiproxyNetwork, directed_links
from harness.infra.procs import unregister
from harness.infra.toxiproxy import ToxiproxyClient, ToxiproxyError

AGENT_PORT = 8531
SERVER_PORT = 8529
TOXIPROXY_API_PORT = 8474
LINK_PORT_BASE = 20000
IMAGE_UID = 10001  # the node image's afcheck user
CONTAINER_DATA = "/afcheck/data"
CONTAINER_CTL = "/afcheck/ctl"
CONTAINER_CLOCK = f"{CONTAINER_CTL}/clock.json"
CONTAINER_SECRET = f"{CONTAINER_CTL}/cluster-secret"
CONTAINER_PASSWORD = f"{CONTAINER_CTL}/root-password"
TOXIPROXY_START = 15.0  # seconds Toxiproxy's API gets to answer


@dataclass
class _Container:
    node: Node
    ip: str
    port: int
    command: list[str] = field(default_factory=list)
    id: str | None = None
    paused: bool = False
    connected: bool = True


class DockerBackend(BackendBase[_Container]):
    """Implements :class:`harness.infra.backends.base.Backend` with Docker containers."""

    name = "docker"

    def __init__(
        self,
        node_image: str | None = None,
        toxiproxy_image: str | None = None,
        store: str = "store",
        toxiproxy_seed: int | None = None,
        call_timeout: float = 30.0,
    ) -> None:
        super().__init__()
        self.node_image = node_image
        self.toxiproxy_image = toxiproxy_image
        self.store = store
        self.toxiproxy_seed = toxiproxy_seed
        self.engine = RunEngine(call_timeout)
        self.run_id = self.engine.run_id
        self.network_name = self.engine.network
        self.subnet: ipaddress.IPv4Network | None = None
        self._toxiproxy_id: str | None = None
        self._state: Path | None = None

    async def _before_start(self) -> None:
        await self.engine.connect()

    async def _start(self, spec: ClusterSpec) -> None:
        agents, servers = node_ids(spec, self.name)
        if spec.agents > 89 or spec.servers > 89:
            raise ValueError("docker backend: at most 89 agents and 89 servers")
        await self.engine.sweep_stale()
        if self.node_image is None or self.toxiproxy_image is None:
            from harness.infra.images import ensure_images

            node_image, toxiproxy_image = await asyncio.to_thread(ensure_images, self.store)
            self.node_image = self.node_image or node_image
            self.toxiproxy_image = self.toxiproxy_image or toxiproxy_image
        self._state = fresh_state_dir(spec.state_dir)
        self._make_credentials(self._state)
        self.subnet = await self.engine.create_network()
        hosts = list(self.subnet.hosts())
        for i, a in enumerate(agents):
            self._entries[a] = self._layout(a, str(hosts[10 + i]), AGENT_PORT)
        for i, s in enumerate(servers):
            self._entries[s] = self._layout(s, str(hosts[100 + i]), SERVER_PORT)
        addr: dict[tuple[str, str], str] = {}
        if spec.proxied:
            addr = await self._start_network(str(hosts[1]), agents, servers)
        self._assign_commands(
            agents, servers, addr, lambda dst: f"{self._entries[dst].ip}:{self._entries[dst].port}"
        )

        ready = self._readiness()
        deadline = ready.deadline()
        await asyncio.gather(*(self._create_and_start(a) for a in agents))
        await ready.agency(deadline)
        await asyncio.gather(*(self._create_and_start(s) for s in servers))
        await ready.servers(deadline)

    def _layout(self, node_id: str, ip: str, port: int) -> _Container:
        assert self._state is not None
        home = self._state / "nodes" / node_id
        data, ctl = home / "data", home / "ctl"
        data.mkdir(parents=True, exist_ok=True)
        ctl.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:  # the container runs as the image's user: let it write its data
            os.chown(data, IMAGE_UID, IMAGE_UID)
        clock_file = str(ctl / "clock.json")
        write_skew(clock_file, Skew())
        self._copy_credentials(ctl)
        node = Node(
            id=node_id,
            kind="agent" if node_id.startswith("a") else "server",
            url=f"http://{ip}:{port}",
            direct_url=f"http://{ip}:{port}",
            data_dir=str(data),
            log_path=str(home / f"{node_id}.log"),
            clock_file=clock_file,
            container=self.engine.container_name(node_id),
        )
        return _Container(node=node, ip=ip, port=port)

    def _copy_credentials(self, ctl: Path) -> None:
        """The secret files, 0600, readable by the container's user, in its read-only mount."""
        creds = self.credentials
        if not creds.enabled:
            return
        for source in (creds.secret_file, creds.password_file):
            target = ctl / os.path.basename(source)
            shutil.copyfile(source, target)
            os.chmod(target, 0o600)
            if os.getuid() == 0:
                os.chown(target, IMAGE_UID, IMAGE_UID)

    async def _start_network(
        self, toxiproxy_ip: str, agents: list[str], servers: list[str]
    ) -> dict[tuple[str, str], str]:
        await self._start_toxiproxy(toxiproxy_ip)
        net = ToxiproxyNetwork(ToxiproxyClient(f"http://{toxiproxy_ip}:{TOXIPROXY_API_PORT}"))
        self._net = net
        addr: dict[tuple[str, str], str] = {}
        for k, (src, dst) in enumerate(directed_links(agents, servers)):
            c = self._entries[dst]
            listen = f"{toxiproxy_ip}:{LINK_PORT_BASE + k}"
            link = await net.create(src, dst, listen, f"{c.ip}:{c.port}")
            addr[(src, dst)] = link.listen
        return addr

    async def _start_toxiproxy(self, ip: str) -> None:
        command = ["-host", "0.0.0.0", "-port", str(TOXIPROXY_API_PORT)]
        if self.toxiproxy_seed is not None:
            command += ["-seed", str(self.toxiproxy_seed)]
        image = str(self.toxiproxy_image)
        self._toxiproxy_id = await self.engine.create(
            "toxiproxy", image, command, ip, as_caller=False
        )
        await self.engine.start(self._toxiproxy_id, "toxiproxy")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TOXIPROXY_START
        async with ToxiproxyClient(f"http://{ip}:{TOXIPROXY_API_PORT}", timeout=1.0) as client:
            while True:
                try:
                    await client.version()
                    return
                except ToxiproxyError as exc:
                    if loop.time() > deadline:
                        logs = await self.engine.logs_tail(self._toxiproxy_id)
                        raise NodeStartError(
                            f"docker backend: toxiproxy did not answer within "
                            f"{TOXIPROXY_START:g} s ({exc}); "
                            f"last log lines:\n{logs}"
                        ) from exc
                await asyncio.sleep(0.1)

    def _agent_command(self, node_id: str, peers: list[str]) -> list[str]:
        c = self._entries[node_id]
        args = agent_args(
            node_id,
            f"0.0.0.0:{c.port}",
            CONTAINER_DATA,
            CONTAINER_CLOCK,
            peers,
            self.spec.agency_flags,
            self.credentials.agent_flags(CONTAINER_SECRET),
            advertise=c.node.direct_url,
        )
        return ["cluster.agency", *args]

    def _server_command(self, node_id: str, peers: list[str], agency: list[str]) -> list[str]:
        c = self._entries[node_id]
        args = server_args(
            node_id,
            f"0.0.0.0:{c.port}",
            c.node.url,
            agency,
            CONTAINER_DATA,
            self.spec.replication,
            CONTAINER_CLOCK,
            peers,
            self.spec.server_flags,
            self.spec.agency_flags,
            self.credentials.server_flags(CONTAINER_SECRET, CONTAINER_PASSWORD),
        )
        return ["cluster.server", *args]

    async def _create_and_start(self, node_id: str) -> None:
        c = self._entry(node_id)
        home = str(Path(c.node.data_dir).parent)
        binds = {
            c.node.data_dir: {"bind": CONTAINER_DATA, "mode": "rw"},
            os.path.join(home, "ctl"): {"bind": CONTAINER_CTL, "mode": "ro"},
        }
        c.id = await self.engine.create(node_id, str(self.node_image), c.command, c.ip, binds)
        await self.engine.start(c.id, node_id)

    # -- readiness ---------------------------------------------------------

    async def _fail(self, node_id: str, reason: str) -> NodeStartError:
        c = self._entry(node_id)
        tail = await self.engine.logs_tail(c.id)
        return NodeStartError(
            f"docker backend: {node_id} ({c.node.container}) {reason}; last log lines:\n{tail}"
        )

    async def _state_of(self, node_id: str) -> dict[str, object]:
        c = self._entry(node_id)
        if c.id is None:
            return {}
        return await self.engine.state(c.id, node_id)

    def _readiness(self) -> Readiness:
        return Readiness(self, self.spec.start_timeout, self._check_alive, self._fail)

    async def _check_alive(self, node_ids: list[str]) -> None:
        for node_id in node_ids:
            state = await self._state_of(node_id)
            if not state.get("Running"):
                raise await self._fail(
                    node_id, f"exited during start-up (exit code {state.get('ExitCode')})"
                )

    # -- whole-node faults -------------------------------------------------

    def _id(self, node_id: str) -> str:
        c = self._entry(node_id)
        if c.id is None:
            raise RuntimeError(f"docker backend: {node_id} has no container (cluster not started)")
        return c.id

    async def _unpause(self, node_id: str) -> None:
        c = self._entry(node_id)
        state = await self._state_of(node_id)
        if state.get("Paused"):
            await self.engine.unpause(self._id(node_id), node_id)
        c.paused = False

    async def _wait_exited(self, node_id: str, within: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (await self._state_of(node_id)).get("Running"):
            if loop.time() > deadline:
                raise DockerError(f"docker: {node_id} still running {within:g} s after a stop")
            await asyncio.sleep(0.05)

    async def kill(self, node_id: str) -> None:
        """``docker kill`` (SIGKILL); a paused container is unpaused first, as Docker requires."""
        await self._unpause(node_id)
        if (await self._state_of(node_id)).get("Running"):
            with contextlib.suppress(DockerError):  # it may exit between inspect and kill
                await self.engine.kill(self._id(node_id), node_id)
        await self._wait_exited(node_id, 10)

    async def stop(self, node_id: str) -> None:
        """``docker stop``: SIGTERM, then SIGKILL after the grace period."""
        await self._unpause(node_id)
        await self.engine.stop(self._id(node_id), node_id)
        await self._wait_exited(node_id, STOP_GRACE + 10)

    async def start_node(self, node_id: str) -> None:
        state = await self._state_of(node_id)
        if state.get("Running"):
            raise RuntimeError(f"docker backend: {node_id} is already running")
        await self.engine.start(self._id(node_id), node_id)
        await self._readiness().node(node_id)

    async def restart(self, node_id: str) -> None:
        await self.stop(node_id)
        await self.start_node(node_id)

    async def pause(self, node_id: str) -> None:
        """``docker pause`` (the cgroup freezer stops every process of the container)."""
        if not (await self._state_of(node_id)).get("Running"):
            raise RuntimeError(f"docker backend: cannot pause {node_id}: not running")
        await self.engine.pause(self._id(node_id), node_id)
        self._entry(node_id).paused = True

    async def resume(self, node_id: str) -> None:
        await self._unpause(node_id)

    def is_paused(self, node_id: str) -> bool:
        return self._entry(node_id).paused

    async def disconnect(self, node_id: str) -> None:
        """Hard isolation: take the container off the run's network (only loopback is left)."""
        await self.engine.disconnect(self._id(node_id), node_id)
        self._entry(node_id).connected = False

    async def connect(self, node_id: str) -> None:
        """Put a disconnected container back on the run's network, at its old address."""
        c = self._entry(node_id)
        if not c.connected:
            await self.engine.reconnect(self._id(node_id), node_id, c.ip)
            c.connected = True

    def is_connected(self, node_id: str) -> bool:
        return self._entry(node_id).connected

    async def is_running(self, node_id: str) -> bool:
        if self._entry(node_id).id is None:
            return False
        return bool((await self._state_of(node_id)).get("Running"))

    # -- logs and teardown -------------------------------------------------

    async def collect_logs(self, dest_dir: str) -> None:
        await asyncio.to_thread(self._collect_logs, dest_dir)

    def _collect_logs(self, dest_dir: str) -> None:
        if self.engine.client is None:
            return
        for c in self._entries.values():
            if c.id is None:
                continue
            self.engine.save_log(c.id, Path(c.node.log_path))
            target = Path(dest_dir) / c.node.id
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(c.node.log_path, target / f"{c.node.id}.log")
        if self._toxiproxy_id is not None:
            self.engine.save_log(self._toxiproxy_id, Path(dest_dir) / "toxiproxy" / "toxiproxy.log")

    def teardown_sync(self) -> None:
        """Save node logs, then remove every container and the network of this run (idempotent)."""
        if self.engine.client is None:
            unregister(self)
            return
        for c in self._entries.values():
            if c.id is not None:
                with contextlib.suppress(DockerError, OSError):
                    self.engine.save_log(c.id, Path(c.node.log_path))
        try:
            self.engine.remove_all()
        finally:
            for c in self._entries.values():
                c.paused = False
            self.engine.close()
            unregister(self)
