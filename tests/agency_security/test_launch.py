"""Issue 10 rows 5 and 11: secrets at launch, and ``cluster down`` killing a reused pid.

Row 5: with no secret servers fell back to one in the source, and neither
``afcheck cluster up`` nor the harness passed one. Now a node without a
secret refuses to start (unless ``--insecure-no-auth``), and every cluster
the harness starts has its own random secret and root password, kept 0600
in the state directory and passed to the nodes as files.
Row 11: ``cluster down`` killed whatever pid ``cluster.json`` named. Now it
signals a pid only when its start time and command line are the recorded ones.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli.cluster_state import process_identity, write_state
from harness.infra import procs
from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.blocking import BlockingBackend
from tests.server_api.serving import free_port

pytestmark = [pytest.mark.timeout(180)]


def test_an_agent_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    cmd = [
        sys.executable, "-m", "cluster.agency", "--id", "a1",
        "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path / "d"),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "--jwt-secret-file" in done.stderr
    short = tmp_path / "short"
    short.write_text("abc")
    done = subprocess.run(
        [*cmd, "--jwt-secret-file", str(short)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3 and "shorter" in done.stderr, done.stderr


@pytest.mark.integration
def test_the_harness_gives_every_cluster_its_own_secret(tmp_path: Path) -> None:
    secrets = []
    for name in ("one", "two"):
        backend = BlockingBackend()
        spec = ClusterSpec(agents=1, servers=1, proxied=False, state_dir=str(tmp_path / name))
        try:
            backend.start(spec)
            creds = backend.credentials
            for path in (creds.secret_file, creds.password_file):
                assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
            secrets.append(creds.secret)
            assert len(bytes.fromhex(creds.secret)) == 32 and len(creds.root_password) >= 16
            for node in backend.nodes():
                cmdline = Path(f"/proc/{node.pid}/cmdline").read_bytes().split(b"\0")
                assert b"--jwt-secret-file" in cmdline and creds.secret.encode() not in cmdline
        finally:
            backend.close()
    assert secrets[0] != secrets[1]


def test_cluster_down_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        identity = process_identity(bystander.pid)
        assert identity is not None
        stale = dict(identity, start_time=identity["start_time"] - 1)  # an earlier process
        write_state(
            {
                "backend": "local",
                "state_dir": str(tmp_path),
                "agents": [
                    {"id": "a1", "url": "http://127.0.0.1:1", "pid": bystander.pid, **stale}
                ],
                "servers": [],
                "toxiproxy": None,
            }
        )
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "cluster", "down", "--state-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "left alone" in done.stderr
        assert bystander.poll() is None and procs.alive(bystander.pid)
        assert not (tmp_path / "cluster.json").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_up_json_shows_how_to_authenticate(tmp_path: Path) -> None:
    state = tmp_path / "c"
    up = subprocess.run(
        [sys.executable, "-m", "harness.cli", "cluster", "up", "--agents", "1", "--json",
         "--state-dir", str(state), "--root-password", "given-pw"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    try:
        assert up.returncode == 0, up.stderr
        auth = json.loads(up.stdout)["auth"]
        assert auth["enabled"] and auth["user"] == "root" and auth["password"] == "given-pw"
        assert "Basic" in auth["how"] and "bearer" in auth["how"]
        assert Path(auth["secret_file"]).parent == state
    finally:
        subprocess.run(
            [sys.executable, "-m", "harness.cli", "cluster", "down", "--state-dir", str(state)],
            capture_output=True,
            timeout=60,
        )
