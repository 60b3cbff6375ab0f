"""Pieces of the Docker tier that need no engine: owners, subnets, hashes, commands, errors."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.commands import agent_args, server_args
from harness.infra.backends.docker import DockerBackend
from harness.infra.backends.docker_engine import (
    DockerUnavailable,
    connect,
    engine_answers,
    host_routes_overlap,
    owner_alive,
    owner_label,
)
from harness.infra.images import tree_hash

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "unix:///nonexistent/afcheck-docker.sock"


def test_owner_label_names_this_process_and_only_a_live_one_counts() -> None:
    label = owner_label()
    host, pid, start = label.split(":")
    assert host == socket.gethostname() and int(pid) == os.getpid()
    assert owner_alive(label)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not owner_alive(f"{host}:{dead.pid}:{start}")
    # the same pid with another start time is a reused pid, not the owner
    assert not owner_alive(f"{host}:{os.getpid()}:{int(start or 0) + 1}")
    # an owner on another machine (a shared engine) is never judged from here
    assert owner_alive(f"not-{host}:1:1")
    assert not owner_alive("garbage")


def test_subnets_routed_by_the_host_are_avoided(tmp_path: Path) -> None:
    routes = tmp_path / "route"
    header = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT"
    rows = [
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",  # default route
        "eth0\t0000D50A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",  # 10.213.0.0/16
    ]
    routes.write_text("\n".join([header, *rows]) + "\n")
    assert host_routes_overlap(ipaddress.IPv4Network("10.213.7.0/24"), str(routes))
    assert not host_routes_overlap(ipaddress.IPv4Network("10.214.7.0/24"), str(routes))
    assert not host_routes_overlap(ipaddress.IPv4Network("10.213.7.0/24"), str(tmp_path / "no"))


def test_tree_hash_follows_content_and_names(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    first = tree_hash(tmp_path, ["base=b"])
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert tree_hash(tmp_path, ["base=b"]) == first  # byte code is not source
    assert tree_hash(tmp_path, ["base=c"]) != first
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    second = tree_hash(tmp_path, ["base=b"])
    assert second != first
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert tree_hash(tmp_path, ["base=b"]) != second


def test_node_commands_pass_the_grace_period_on_to_servers() -> None:
    agent = agent_args("a1", "0.0.0.0:8531", "/d", "/c", ["a2=http://x"], {"grace-period": "3"}, [])
    assert agent[:2] == ["--id", "a1"] and agent[-2:] == ["--grace-period", "3"]
    assert "--peer" in agent and "a2=http://x" in agent
    server = server_args(
        "s1",
        "0.0.0.0:8529",
        "http://p",
        ["http://x", "http://y"],
        "/d",
        "sync",
        "/c",
        [],
        {},
        {"grace-period": "3"},
        [],
    )
    assert server[server.index("--agency") + 1] == "http://x,http://y"
    assert server[-2:] == ["--agency-grace-period", "3"]


def test_no_engine_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    reason = engine_answers(timeout=2)
    assert reason is not None and "\n" not in reason and NOWHERE in reason
    with pytest.raises(DockerUnavailable):
        connect(timeout=2)

    async def start() -> None:
        await DockerBackend("img", "img").start(ClusterSpec(state_dir="unused"))

    with pytest.raises(DockerUnavailable, match="no Docker engine answers"):
        asyncio.run(start())


def _images_cli_without_engine(*args: str) -> list[str]:
    """``afcheck images ARGS`` where no engine answers: asserts exit 3; its stderr lines."""
    env = dict(os.environ, DOCKER_HOST=NOWHERE, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "images", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    return proc.stderr.strip().splitlines()


def test_images_build_without_engine_exits_3_with_one_line(tmp_path: Path) -> None:
    lines = _images_cli_without_engine("build", "--store", str(tmp_path))
    assert len(lines) == 1 and "no Docker engine answers" in lines[0], lines


@pytest.mark.parametrize(
    ("args", "says"),
    [([], "no Docker engine answers"), (["--keep", "-1"], "--keep must be 0 or more")],
)
def test_images_prune_without_engine_or_with_a_bad_keep_exits_3(args: list[str], says: str) -> None:
    lines = _images_cli_without_engine("prune", *args)
    assert len(lines) == 1 and says in lines[0], lines
