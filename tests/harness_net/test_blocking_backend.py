"""BlockingBackend over LocalBackend, with stand-in nodes (real processes, real Toxiproxy):
an agency alone, agent-to-agent link cuts, restarting several nodes, and a detached cluster
that outlives the backend and is stopped by pid."""

from __future__ import annotations

import fcntl
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.infra import procs
from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.blocking import BlockingBackend
from harness.infra.backends.local import LocalBackend
from harness.infra.backends.ports import LOCK_DIR

pytestmark = pytest.mark.integration

FAKE = "tests.harness_net.fake_node"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{path}" if path else str(ROOT))


@pytest.fixture
def cluster() -> Iterator[BlockingBackend]:
    backend = BlockingBackend(LocalBackend(agent_module=FAKE, server_module=FAKE))
    try:
        yield backend
    finally:
        backend.close()


def answers(url: str, wait: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_api/version", timeout=wait) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def claimed(port: int) -> bool:
    """Some process holds the PortPool lock of ``port``."""
    with open(os.path.join(LOCK_DIR, f"{port}.lock"), "a+", encoding="ascii") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_an_agency_alone_with_every_agent_link_proxied(
    cluster: BlockingBackend, tmp_path: Path
) -> None:
    cluster.start(ClusterSpec(agents=3, servers=0, state_dir=str(tmp_path), start_timeout=30))
    assert cluster.ids("agent") == ["a1", "a2", "a3"] and cluster.ids("server") == []
    links = {(lk.src, lk.dst): lk for lk in cluster.backend.net.links()}
    assert sorted(links) == sorted(
        (a, b) for a in "a1 a2 a3".split() for b in "a1 a2 a3".split() if a != b
    )
    a2_to_a1 = f"http://{links[('a2', 'a1')].listen}"
    assert answers(a2_to_a1)

    cut = cluster.isolate(["a1"])
    assert sorted(cut) == [("a1", "a2"), ("a1", "a3"), ("a2", "a1"), ("a3", "a1")]
    assert not answers(a2_to_a1)  # the proxy passes no byte
    assert answers(cluster.node("a1").direct_url)  # the harness still sees a1
    assert answers(f"http://{links[('a2', 'a3')].listen}")  # other links untouched
    cluster.heal()
    assert answers(a2_to_a1, wait=5.0)


def test_stop_and_start_several_nodes_on_their_data(
    cluster: BlockingBackend, tmp_path: Path
) -> None:
    cluster.start(ClusterSpec(agents=3, servers=1, state_dir=str(tmp_path), start_timeout=30))
    old = {n.id: n.pid for n in cluster.nodes()}
    for node_id in ("a1", "a2", "a3"):
        cluster.stop(node_id)
    assert cluster.running() == ["s1"]
    cluster.start_nodes(["a1", "a2", "a3"])
    assert cluster.running() == ["a1", "a2", "a3", "s1"]
    for node_id in ("a1", "a2", "a3"):
        node = cluster.node(node_id)
        assert node.pid != old[node_id] and answers(node.direct_url)
        assert Path(node.data_dir).is_dir()
    cluster.pause("s1")
    assert cluster.is_paused("s1") and not answers(cluster.node("s1").direct_url)
    cluster.resume("s1")
    assert answers(cluster.node("s1").direct_url, wait=5.0)


def test_a_detached_cluster_outlives_its_backend_and_stops_by_pid(
    cluster: BlockingBackend, tmp_path: Path
) -> None:
    cluster.start(ClusterSpec(agents=1, servers=1, state_dir=str(tmp_path), start_timeout=30))
    proxy = cluster.backend.toxiproxy
    assert proxy is not None and proxy.proc is not None
    pids = [n.pid for n in cluster.nodes() if n.pid is not None] + [proxy.proc.pid]
    ports = [port_of(n.direct_url) for n in cluster.nodes()]
    ports += [port_of(lk.listen) for lk in cluster.backend.net.links()]
    cluster.detach()
    cluster.close()  # does nothing to a detached cluster
    try:
        assert len(pids) == 3 and all(procs.alive(p) for p in pids)
        assert all(answers(n.direct_url) for n in cluster.nodes())
        # each process holds its ports' locks: no other harness process takes them
        assert all(claimed(p) for p in ports)
    finally:
        stopped = [procs.stop(p) for p in pids]
    assert all(stopped) and not any(procs.alive(p) for p in pids)
    assert not any(claimed(p) for p in ports)
