"""DockerBackend on real containers: topology, faults proven by their effect, logs, cleanup."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.core import observe
from harness.infra.backends.base import Backend
from harness.infra.backends.docker import IMAGE_UID, DockerBackend
from harness.infra.backends.docker_engine import LABEL_RUN, labelled
from tests.docker.conftest import RunCluster
from tests.docker.probes import exec_in, inspect, process_uid, state, status, until, version_url

pytestmark = [pytest.mark.docker, pytest.mark.integration]


def test_cluster_starts_on_its_own_network_and_leaves_nothing(
    run_cluster: RunCluster, engine: Any, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def scenario(backend: DockerBackend) -> None:
        assert isinstance(backend, Backend)
        seen["run"] = backend.run_id
        assert [n.id for n in backend.nodes()] == ["a1", "a2", "a3", "s1", "s2"]
        assert all(n.container and backend.run_id in n.container for n in backend.nodes())
        assert len(backend.net.links()) == 16
        containers, networks = labelled(backend.engine.client, f"{LABEL_RUN}={backend.run_id}")
        assert len(containers) == 6  # five nodes and Toxiproxy
        assert [n["Name"] for n in networks] == [backend.network_name]
        net = backend.engine.client.inspect_network(backend.network_name)
        assert net["Internal"] is True
        assert net["IPAM"]["Config"][0]["Subnet"] == str(backend.subnet)
        # clients reach each server through its c->sK proxy; the harness sees a leader
        for s in ("s1", "s2"):
            assert await status(*version_url(backend, s, direct=False)) == 200
        roles = await observe.server_roles(backend)
        assert sum(r["role"] == "leader" for r in roles) == 1
        # no privilege: every capability dropped, not privileged, a non-root user
        info = inspect(backend, "s1")
        assert info["HostConfig"]["Privileged"] is False
        assert info["HostConfig"]["CapDrop"] == ["ALL"]
        expected = IMAGE_UID if os.getuid() == 0 else os.getuid()
        assert process_uid(int(info["State"]["Pid"])) == expected
        await backend.collect_logs(str(tmp_path / "logs"))

    run_cluster(scenario)
    for node_id in ("a1", "s1", "s2"):
        log = tmp_path / "logs" / node_id / f"{node_id}.log"
        assert log.stat().st_size > 0, f"{log} is empty"
    assert (tmp_path / "logs" / "toxiproxy" / "toxiproxy.log").exists()
    containers, networks = labelled(engine, f"{LABEL_RUN}={seen['run']}")
    assert containers == [] and networks == []


def test_partition_cuts_the_link_and_heal_restores_it(run_cluster: RunCluster) -> None:
    async def scenario(backend: DockerBackend) -> None:
        through_proxy = version_url(backend, "s1", direct=False)
        await backend.net.cut([("c", "s1")])
        assert await status(*through_proxy, wait=1.5) is None  # no byte passes
        assert await status(*version_url(backend, "s1")) == 200  # the node itself is fine
        await backend.net.heal()
        assert await until(lambda: _answers(*through_proxy), within=10)

    run_cluster(scenario)


def test_kill_stops_the_container_and_start_brings_it_back(run_cluster: RunCluster) -> None:
    async def scenario(backend: DockerBackend) -> None:
        leader = await observe_leader(backend)
        await backend.kill(leader)
        assert not await backend.is_running(leader)
        st = state(backend, leader)
        assert st["Running"] is False and st["ExitCode"] == 137
        assert await status(*version_url(backend, leader), wait=1.0) is None
        await backend.start_node(leader)
        assert await backend.is_running(leader)
        assert await status(*version_url(backend, leader)) == 200
        # the data directory on the host survived the kill
        assert os.listdir(backend.node(leader).data_dir)

    run_cluster(scenario)


def test_pause_freezes_the_container_and_resume_thaws_it(run_cluster: RunCluster) -> None:
    async def scenario(backend: DockerBackend) -> None:
        await backend.pause("a1")
        assert state(backend, "a1")["Paused"] is True
        assert backend.is_paused("a1")
        assert await status(*version_url(backend, "a1"), wait=1.0) is None
        await backend.resume("a1")
        assert state(backend, "a1")["Paused"] is False
        assert await until(lambda: _answers(*version_url(backend, "a1")), within=10)
        # a paused node can be killed (it is unpaused first, as Docker requires)
        await backend.pause("s2")
        await backend.kill("s2")
        assert not await backend.is_running("s2")

    run_cluster(scenario)


def test_disconnect_isolates_the_container_and_connect_restores_it(
    run_cluster: RunCluster,
) -> None:
    async def scenario(backend: DockerBackend) -> None:
        await backend.disconnect("a2")
        assert not backend.is_connected("a2")
        assert await status(*version_url(backend, "a2"), wait=1.0) is None
        assert backend.network_name not in inspect(backend, "a2")["NetworkSettings"]["Networks"]
        await backend.connect("a2")
        assert await until(lambda: _answers(*version_url(backend, "a2")), within=15)
        nets = inspect(backend, "a2")["NetworkSettings"]["Networks"]
        assert nets[backend.network_name]["IPAddress"] == backend.node("a2").direct_url[7:-5]

    run_cluster(scenario)


def test_clock_file_reaches_the_container_and_restart_keeps_the_node(
    run_cluster: RunCluster,
) -> None:
    async def scenario(backend: DockerBackend) -> None:
        await backend.set_clock("s1", 12.5, 1.0)
        seen = json.loads(exec_in(backend, "s1", ["cat", "/afcheck/ctl/clock.json"]))
        assert seen == {"offset": 12.5, "rate": 1.0}
        assert backend.skew("s1").offset == 12.5
        await backend.restart("s1")
        assert state(backend, "s1")["Running"] is True
        assert await status(*version_url(backend, "s1")) == 200

    run_cluster(scenario)


async def _answers(url: str, headers: dict[str, str]) -> bool:
    return await status(url, headers, wait=1.0) == 200


async def observe_leader(backend: DockerBackend) -> str:
    roles = await observe.server_roles(backend)
    leaders = [str(r["node"]) for r in roles if r["role"] == "leader"]
    assert leaders, roles
    return leaders[0]
