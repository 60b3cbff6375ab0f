"""Detached node processes on 127.0.0.1: free ports, spawn, probe, stop.

Each node runs in its own session (process group), with stdout and stderr
appended to its log file, so it outlives the command that started it and a
signal to the group reaches all of it. Used by ``afcheck cluster`` and the
agency tests and benchmark.

Ports come from :class:`harness.infra.backends.ports.PortPool`, the lock-file pool
every backend draws from, so parallel harness processes do not pick the same
port. :func:`free_port` claims a port only while choosing it; a caller whose
node must keep its port reserved takes it from a pool itself and hands the
lock to the node with ``spawn(..., keep_fds=[pool.lock_fd(port)])``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from harness.infra.backends.ports import PortPool


def free_port(taken: set[int] | None = None) -> int:
    """A TCP port on 127.0.0.1 that is free now, not in ``taken`` nor claimed by a PortPool."""
    pool = PortPool()
    try:
        for _ in range(1000):
            port = pool.take()
            if taken is None or port not in taken:
                if taken is not None:
                    taken.add(port)
                return port
    finally:
        pool.release()
    raise RuntimeError("no free TCP port found on 127.0.0.1")


def spawn(
    cmd: list[str],
    log_path: str,
    env: dict[str, str] | None = None,
    keep_fds: Sequence[int] = (),
) -> int:
    """Start ``cmd`` in a new session, output appended to ``log_path``; its pid.

    ``keep_fds`` are passed on to the child (e.g. a port's lock, see
    :meth:`harness.infra.backends.ports.PortPool.lock_fd`).
    """
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            pass_fds=tuple(keep_fds),
        )
    proc.returncode = 0  # detached on purpose: silence Popen's "still running" warning
    return proc.pid


def agent_command(
    agent_id: str,
    port: int,
    peers: dict[str, str],
    data_dir: str,
    extra: dict[str, str] | None = None,
) -> list[str]:
    """The command line of one agency agent."""
    cmd = [
        sys.executable,
        "-m",
        "cluster.agency",
        "--id",
        agent_id,
        "--listen",
        f"127.0.0.1:{port}",
        "--data-dir",
        data_dir,
    ]
    for peer_id, url in sorted(peers.items()):
        cmd += ["--peer", f"{peer_id}={url}"]
    for key, value in (extra or {}).items():
        cmd += [f"--{key}", value]
    return cmd


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid`` (or the process alone)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    except PermissionError:
        pass


def wait_gone(pid: int, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid):
            return True
        time.sleep(0.02)
    _reap(pid)
    return not alive(pid)


def stop(pid: int, grace: float = 5.0) -> bool:
    """SIGTERM the group, SIGKILL after ``grace`` s; True when nothing is left."""
    if not alive(pid):
        _reap(pid)
        return True
    signal_group(pid, signal.SIGCONT)
    signal_group(pid, signal.SIGTERM)
    if wait_gone(pid, grace):
        return True
    signal_group(pid, signal.SIGKILL)
    return wait_gone(pid, 5.0)


def kill9(pid: int) -> None:
    """SIGKILL the group and reap it."""
    signal_group(pid, signal.SIGKILL)
    wait_gone(pid, 5.0)


def http_json(
    url: str,
    body: Any = None,
    time_limit: float = 2.0,
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, parsed JSON or None) for one request; status 0 if unreachable."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method or ("POST" if data else "GET"), headers=headers or {}
    )
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=time_limit) as resp:
            raw, status = resp.read(), resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])
