"""Acknowledged writes survive kill -9 of a real server process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from cluster.server.storage import Storage
from tests.server_api.serving import free_port

READY_TIMEOUT_S = 20.0
CLIENTS = 8
MAX_INSERTS = 3000
RUN_S = 1.5


def start_launcher(data_dir: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.server_api.launcher",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--no-auth",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip() == "ready":
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"launcher exited with {proc.returncode}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("launcher did not become ready")


async def insert_until_killed(url: str, proc: subprocess.Popen[str]) -> list[str]:
    acked: list[str] = []
    stop_at = time.monotonic() + RUN_S
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.post(f"{url}/_api/collection", json={"name": "c"}) as resp:
            assert resp.status == 200

        async def client(n: int) -> None:
            for i in range(MAX_INSERTS // CLIENTS):
                key = f"c{n}-{i}"
                try:
                    async with http.post(f"{url}/_api/document/c", json={"_key": key}) as resp:
                        if resp.status == 202:
                            acked.append(key)
                except (TimeoutError, aiohttp.ClientError):
                    return

        async def killer() -> None:
            await asyncio.sleep(RUN_S)
            os.killpg(proc.pid, signal.SIGKILL)

        await asyncio.gather(killer(), *(client(n) for n in range(CLIENTS)))
    assert time.monotonic() >= stop_at
    return acked


@pytest.mark.integration
def test_acknowledged_inserts_survive_sigkill(tmp_path: Path) -> None:
    port = free_port()
    proc = start_launcher(tmp_path, port)
    try:
        acked = asyncio.run(insert_until_killed(f"http://127.0.0.1:{port}", proc))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) > 0
    storage = Storage(str(tmp_path / "data.sqlite"))
    try:
        stored = set(storage.all_keys("_system", "c"))
        missing = [k for k in acked if k not in stored]
        assert missing == [], f"{len(missing)} acknowledged inserts lost"
        ticks = [e["tick"] for e in storage.tail(0, 1_000_000)]
        assert ticks == sorted(set(ticks)) and ticks[-1] == storage.last_tick()
    finally:
        storage.close()
