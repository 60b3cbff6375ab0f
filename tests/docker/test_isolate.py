"""The isolation faults: on Docker the victim really has no network until healed;
on a backend that cannot disconnect a node they skip with the reason and touch nothing."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from harness.cli.registry import FAULTS
from harness.core import observe
from harness.core.fault import NemesisContext
from harness.core.recovery import heal_everything
from harness.infra.backends.docker import TOXIPROXY_API_PORT, DockerBackend
from nemesis.faults.isolate import IsolateAgencyLeader, IsolateLeader
from tests.docker.conftest import RunCluster
from tests.docker.probes import exec_in, inspect, status, until, version_url

# a connection attempt from inside a container, printing "connected" or the error's name
PROBE = (
    "import socket,sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()\n"
    "    print('connected')\n"
    "except OSError as exc:\n"
    "    print(type(exc).__name__)\n"
)


def _ctx(backend: Any) -> NemesisContext:
    return NemesisContext(backend=backend, rng=random.Random(1))


class _NoIsolationBackend:
    """A backend without disconnect/connect (like the local one) that records what is asked of it."""

    name = "local"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getattr__(self, item: str) -> Any:
        self.asked.append(item)
        raise AttributeError(item)


def test_isolation_faults_are_registered_as_needing_isolation() -> None:
    assert {"isolate-leader", "isolate-agency-leader"} <= set(FAULTS)
    needing = {name for name, cls in FAULTS.items() if "isolation" in cls.needs}
    assert needing == {"isolate-leader", "isolate-agency-leader"}


@pytest.mark.parametrize("fault", [IsolateLeader, IsolateAgencyLeader])
def test_isolation_skips_with_the_reason_where_the_backend_cannot_disconnect(fault: Any) -> None:
    backend = _NoIsolationBackend()
    ctx = _ctx(backend)
    injected = asyncio.run(fault().inject(ctx))
    assert injected["nodes"] == [] and injected["links"] == []
    reason = injected["detail"]["skipped"]
    assert "docker" in reason and "local backend cannot" in reason
    assert asyncio.run(fault().heal(ctx)) == {"nodes": [], "links": [], "detail": {}}
    # only the isolation protocol was looked for: no node was chosen or touched
    assert set(backend.asked) <= {"disconnect", "connect", "is_connected"}


def _ip(backend: DockerBackend, node_id: str) -> str:
    return backend.node(node_id).direct_url.removeprefix("http://").rsplit(":", 1)[0]


@pytest.mark.docker
@pytest.mark.integration
def test_isolate_leader_cuts_the_container_off_and_heal_reconnects_it(
    run_cluster: RunCluster,
) -> None:
    async def scenario(backend: DockerBackend) -> None:
        assert backend.subnet is not None
        toxiproxy_ip = str(list(backend.subnet.hosts())[1])
        ctx = _ctx(backend)
        fault = IsolateLeader()
        injected = await fault.inject(ctx)
        (leader,) = injected["nodes"]
        other = "s2" if leader == "s1" else "s1"
        assert injected["detail"]["container"] == backend.node(leader).container
        assert not backend.is_connected(leader)
        # nobody reaches it: not the host directly, not clients through its proxy
        assert backend.network_name not in inspect(backend, leader)["NetworkSettings"]["Networks"]
        assert await status(*version_url(backend, leader), wait=1.5) is None
        assert await status(*version_url(backend, leader, direct=False), wait=1.5) is None
        # and it reaches nobody: not Toxiproxy (every link it uses), not the other server
        outgoing = ["python3", "-c", PROBE, toxiproxy_ip, str(TOXIPROXY_API_PORT)]
        assert exec_in(backend, leader, outgoing).strip() != "connected"
        # the rest of the cluster is untouched
        assert await status(*version_url(backend, other)) == 200
        assert exec_in(backend, other, outgoing).strip() == "connected"

        healed = await fault.heal(ctx)
        assert healed["nodes"] == [leader] and backend.is_connected(leader)
        nets = inspect(backend, leader)["NetworkSettings"]["Networks"]
        assert nets[backend.network_name]["IPAddress"] == _ip(backend, leader)
        assert await until(lambda: _answers(*version_url(backend, leader)), within=20)
        assert await until(lambda: _answers(*version_url(backend, leader, direct=False)), 20)
        assert exec_in(backend, leader, outgoing).strip() == "connected"
        # the cluster names a leader again once the old one is back
        assert await until(lambda: _one_leader(backend), within=60, every=0.5)

    run_cluster(scenario)


@pytest.mark.docker
@pytest.mark.integration
def test_heal_everything_reconnects_an_isolated_node(run_cluster: RunCluster) -> None:
    async def scenario(backend: DockerBackend) -> None:
        await backend.disconnect("a3")
        assert await status(*version_url(backend, "a3"), wait=1.0) is None
        assert await heal_everything(backend) == []
        assert backend.is_connected("a3")
        assert await until(lambda: _answers(*version_url(backend, "a3")), within=20)

    run_cluster(scenario)


async def _answers(url: str, headers: dict[str, str]) -> bool:
    code = await status(url, headers, wait=1.0)
    return code == 200


async def _one_leader(backend: DockerBackend) -> bool:
    roles = await observe.server_roles(backend)
    return sum(1 for r in roles if r["role"] == "leader") == 1
