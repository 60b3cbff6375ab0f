"""Child processes in their own process groups, and tearing them all down at exit.

A node runs in its own session, so one signal to its group reaches all of
it (a kill or a pause never misses a grandchild). :func:`register` keeps an
object with a ``teardown_sync()`` method alive until it unregisters; an
``atexit`` hook tears down whatever is still registered, and SIGTERM/SIGHUP
are turned into ``SystemExit`` so that hook also runs when a CI job is
cancelled. Ctrl-C (``KeyboardInterrupt``) and exceptions reach it anyway.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from types import FrameType
from typing import Protocol

LOG_TAIL_LINES = 20


class TearsDown(Protocol):
    def teardown_sync(self) -> None: ...


# strong references: an owner dropped without teardown must still be torn down at exit
_LIVE: dict[int, TearsDown] = {}
_HOOKS_INSTALLED = False


def spawn_group(
    cmd: list[str], log_path: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session/process group, output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` to the process group (a group already gone is fine)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def kill_and_reap(proc: subprocess.Popen[bytes], grace: float = 0.0) -> None:
    """SIGTERM (if ``grace`` > 0, waiting that long) then SIGKILL the group; reap the leader.

    A stopped (paused) group is continued first, so it can act on SIGTERM."""
    if grace > 0 and proc.poll() is None:
        signal_group(proc, signal.SIGCONT)
        signal_group(proc, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    signal_group(proc, signal.SIGCONT)
    signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def log_tail(path: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file (for error messages)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            text = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _teardown_all() -> None:
    for owner in list(_LIVE.values()):
        owner.teardown_sync()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _install_hooks() -> None:
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_teardown_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _exit_on_signal)


def register(owner: TearsDown) -> None:
    """Tear ``owner`` down at interpreter exit unless it unregisters first."""
    _install_hooks()
    _LIVE[id(owner)] = owner


def unregister(owner: TearsDown) -> None:
    _LIVE.pop(id(owner), None)
