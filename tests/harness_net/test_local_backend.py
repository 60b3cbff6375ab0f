"""LocalBackend's process handling, with stand-in nodes (real processes, real Toxiproxy)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from cluster.common.clock import Skew
from harness.infra.backends.base import Backend, ClusterSpec, Node
from harness.infra.backends.local import LocalBackend
from harness.infra.backends.node_table import NodeStartError

pytestmark = pytest.mark.integration

FAKE = "tests.harness_net.fake_node"
ROOT = Path(__file__).resolve().parents[2]
# starts the teardown script in a mode; returns the process and its children's pids
StartHarness = Callable[[str], tuple[subprocess.Popen[str], list[int]]]


@pytest.fixture(autouse=True)
def _importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{path}" if path else str(ROOT))


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def fake_backend() -> LocalBackend:
    return LocalBackend(agent_module=FAKE, server_module=FAKE)


def spec(tmp_path: Path) -> ClusterSpec:
    return ClusterSpec(state_dir=str(tmp_path / "state"), start_timeout=30)


async def answers(url: str, wait: float = 1.0) -> bool:
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(wait):
                async with session.get(f"{url}/_api/version") as resp:
                    return resp.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


def all_pids(backend: LocalBackend) -> list[int]:
    pids = [n.pid for n in backend.nodes() if n.pid is not None]
    if backend._toxiproxy is not None and backend._toxiproxy.proc is not None:
        pids.append(backend._toxiproxy.proc.pid)
    return pids


def test_start_builds_the_proxied_topology(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_backend() as backend:
            await backend.start(spec(tmp_path))
            assert isinstance(backend, Backend)
            nodes.extend(backend.nodes())
            ids = [n.id for n in backend.nodes()]
            assert ids == ["a1", "a2", "a3", "s1", "s2"]
            links = {(lk.src, lk.dst): lk for lk in backend.net.links()}
            assert len(links) == 16
            s1 = backend.node("s1")
            # clients reach s1 through the c->s1 proxy, the harness directly
            assert s1.url == f"http://{links[('c', 's1')].listen}"
            assert s1.url != s1.direct_url
            assert await answers(s1.url) and await answers(s1.direct_url)
            # s1 was told to reach a2 and s2 through its own proxies
            cmd = backend._entries["s1"].command
            assert f"http://{links[('s1', 'a2')].listen}" in cmd[cmd.index("--agency") + 1]
            assert f"s2=http://{links[('s1', 's2')].listen}" in cmd
            assert "--advertise" in cmd and s1.url in cmd
            # cutting c->s1 hides s1 from clients but not from the harness
            await backend.net.cut([("c", "s1")])
            assert not await answers(s1.url)
            assert await answers(s1.direct_url)
            await backend.net.heal()
            assert await answers(s1.url)

    nodes: list[Node] = []
    asyncio.run(scenario())
    for node in nodes:
        assert Path(node.data_dir).is_dir()
        assert Skew.parse(Path(node.clock_file).read_text()) == Skew()
        assert f"{node.id} listening on" in Path(node.log_path).read_text()


def test_kill_pause_clock_and_logs(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_backend() as backend:
            await backend.start(spec(tmp_path))
            s2 = backend.node("s2")
            old_pid = s2.pid
            assert old_pid is not None and alive(old_pid)

            await backend.kill("s2")
            assert not alive(old_pid) and not await backend.is_running("s2")
            assert not await answers(s2.direct_url)
            await backend.start_node("s2")
            assert s2.pid != old_pid and s2.pid is not None and alive(s2.pid)
            assert await answers(s2.direct_url)

            await backend.pause("a2")
            a2 = backend.node("a2")
            assert not await answers(a2.direct_url)
            assert await backend.is_running("a2") and backend.is_paused("a2")
            await backend.resume("a2")
            assert await answers(a2.direct_url, wait=5.0)

            await backend.set_clock("s1", 42.5, 2.0)
            text = await asyncio.to_thread(Path(backend.node("s1").clock_file).read_text)
            assert Skew.parse(text) == Skew(42.5, 2.0)

            await backend.restart("s1")
            assert await answers(backend.node("s1").direct_url)

            await backend.collect_logs(str(tmp_path / "logs"))

    asyncio.run(scenario())
    for node_id in ("a1", "a2", "a3", "s1", "s2"):
        log = tmp_path / "logs" / node_id / f"{node_id}.log"
        assert f"{node_id} listening on" in log.read_text()
    assert (tmp_path / "logs" / "toxiproxy" / "toxiproxy.log").is_file()


def test_nothing_left_after_an_exception(tmp_path: Path) -> None:
    pids: list[int] = []

    async def scenario() -> None:
        async with fake_backend() as backend:
            await backend.start(spec(tmp_path))
            await backend.pause("s1")  # a paused node must be killed too
            pids.extend(all_pids(backend))
            raise RuntimeError("the test failed")

    with pytest.raises(RuntimeError, match="the test failed"):
        asyncio.run(scenario())
    assert len(pids) == 6
    assert [p for p in pids if alive(p)] == []


def test_teardown_is_idempotent(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = fake_backend()
        await backend.start(spec(tmp_path))
        pids = all_pids(backend)
        await backend.teardown()
        await backend.teardown()
        backend.teardown_sync()
        assert [p for p in pids if alive(p)] == []

    asyncio.run(scenario())


def test_a_node_that_cannot_start_is_named_with_its_log(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = LocalBackend(agent_module="tests.harness_net.no_such_node", server_module=FAKE)
        with pytest.raises(NodeStartError) as err:
            await backend.start(spec(tmp_path))
        text = str(err.value)
        assert re.search(r"\ba[123] exited during start-up", text), text
        assert "No module named" in text
        assert [p for p in all_pids(backend) if alive(p)] == []

    asyncio.run(scenario())


@pytest.fixture
def harness_process(tmp_path: Path) -> Iterator[StartHarness]:
    """Yields a function starting the teardown script; kills whatever is left at the end."""
    procs: list[subprocess.Popen[str]] = []
    children: list[int] = []

    def start(mode: str) -> tuple[subprocess.Popen[str], list[int]]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.harness_net.teardown_script", mode, str(tmp_path / mode)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=30)
            raise AssertionError(
                f"harness script failed: {proc.stderr.read() if proc.stderr else ''}"
            )
        pids: list[int] = json.loads(line)
        children.extend(pids)
        return proc, pids

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("mode", "sig"),
    [("wait", signal.SIGINT), ("wait", signal.SIGTERM), ("raise", None)],
    ids=["sigint", "sigterm", "exception"],
)
def test_harness_process_leaves_nothing_running(
    harness_process: StartHarness, mode: str, sig: signal.Signals | None
) -> None:
    proc, pids = harness_process(mode)
    assert len(pids) == 6 and all(alive(p) for p in pids)
    if sig is not None:
        os.kill(proc.pid, sig)  # as Ctrl-C (SIGINT) or a CI job's cancel (SIGTERM)
    else:
        assert proc.stdin is not None
        proc.stdin.write("raise now\n")
        proc.stdin.flush()
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert [p for p in pids if alive(p)] == []
