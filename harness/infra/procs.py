"""Node processes on 127.0.0.1: spawn in a process group, signal, stop, and tear down at exit.

The one process library of the harness. Each node (and Toxiproxy) runs in
its own session, so one signal to its group reaches all of it (a kill or a
pause never misses a grandchild), with stdout and stderr appended to its log
file. Two kinds of callers use it:

* a backend that owns its children (:class:`subprocess.Popen` objects):
  :func:`spawn`, :func:`kill_and_reap`, and :func:`register`, which keeps
  an object with a ``teardown_sync()`` method alive until it unregisters;
  an ``atexit`` hook tears down whatever is still registered, and
  SIGTERM/SIGHUP are turned into ``SystemExit`` so the hook also runs when a
  CI job is cancelled (Ctrl-C and exceptions reach it anyway);
* a command that stops processes another command started (``afcheck cluster
  down``): :func:`alive`, :func:`stop` and :func:`signal_group` work on a pid.

A child that must keep a port claimed against other harness processes while
it runs inherits the port's lock (``keep_fds``; see
:meth:`harness.infra.backends.ports.PortPool.lock_fd`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Protocol

LOG_TAIL_LINES = 20


class TearsDown(Protocol):
    def teardown_sync(self) -> None: ...


# strong references: an owner dropped without teardown must still be torn down at exit
_LIVE: dict[int, TearsDown] = {}
_HOOKS: dict[str, bool] = {"atexit": False, "signals": False}
_HOOKS_LOCK = threading.Lock()


# -- starting ------------------------------------------------------------------


def spawn(
    cmd: list[str],
    log_path: str,
    env: dict[str, str] | None = None,
    keep_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session/process group, output appended to ``log_path``.

    ``env`` replaces the environment when given; ``keep_fds`` are passed on to
    the child (e.g. a port's lock, held for as long as the child runs).
    """
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            pass_fds=tuple(keep_fds),
        )


def let_go(proc: subprocess.Popen[bytes]) -> None:
    """Forget a child that is meant to outlive this process (no "still running" warning)."""
    proc.returncode = 0


# -- signals and stopping --------------------------------------------------------


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid`` (or to the process alone).

    A group or process that is already gone is fine."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    except PermissionError:
        pass


def kill_and_reap(proc: subprocess.Popen[bytes], grace: float = 0.0) -> None:
    """SIGTERM (if ``grace`` > 0, waiting that long) then SIGKILL the group; reap the leader.

    A stopped (paused) group is continued first, so it can act on SIGTERM."""
    if grace > 0 and proc.poll() is None:
        signal_group(proc.pid, signal.SIGCONT)
        signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    signal_group(proc.pid, signal.SIGCONT)
    signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (works for processes we did not start)."""
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


def wait_gone(pid: int, limit: float) -> bool:
    """Wait up to ``limit`` seconds for ``pid`` to exit; True once it has."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid):
            return True
        time.sleep(0.02)
    _reap(pid)
    return not alive(pid)


KILL_WAIT_S = 20.0  # how long a SIGKILLed process may take to be gone


def stop(pid: int, grace: float = 5.0) -> bool:
    """SIGTERM the group led by ``pid``, SIGKILL after ``grace`` s; True when it is gone."""
    if not alive(pid):
        _reap(pid)
        return True
    signal_group(pid, signal.SIGCONT)
    signal_group(pid, signal.SIGTERM)
    if wait_gone(pid, grace):
        return True
    signal_group(pid, signal.SIGKILL)
    # a SIGKILLed process still in an uninterruptible wait (an fsync on a loaded disk)
    # exits only when that returns
    return wait_gone(pid, KILL_WAIT_S)


# -- logs ----------------------------------------------------------------------


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


# -- teardown at exit ------------------------------------------------------------


def _teardown_all() -> None:
    for owner in list(_LIVE.values()):
        owner.teardown_sync()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def install_exit_hooks() -> None:
    """The ``atexit`` hook, and (from the main thread only) SIGTERM/SIGHUP -> ``SystemExit``.

    :func:`register` calls it; a caller that starts backends from another
    thread calls it first from the main thread, so the signals are covered too.
    """
    with _HOOKS_LOCK:
        if not _HOOKS["atexit"]:
            _HOOKS["atexit"] = True
            atexit.register(_teardown_all)
        if _HOOKS["signals"] or threading.current_thread() is not threading.main_thread():
            return
        _HOOKS["signals"] = True
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _exit_on_signal)


def register(owner: TearsDown) -> None:
    """Tear ``owner`` down at interpreter exit unless it unregisters first."""
    install_exit_hooks()
    _LIVE[id(owner)] = owner


def unregister(owner: TearsDown) -> None:
    _LIVE.pop(id(owner), None)
