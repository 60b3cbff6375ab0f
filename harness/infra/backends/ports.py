"""Free TCP ports on 127.0.0.1 that parallel test processes never share.

A node's port must be known before the node binds it (peers and proxies are
configured with it), so there is a gap between choosing a port and using it.
Two things could take the port in that gap: another harness process (pytest
``-n 2``) choosing the same one, and an outgoing connection getting it as its
ephemeral source port. Ports are therefore drawn from below the kernel's
ephemeral range (outgoing connections never get those), and each chosen port
is claimed with an exclusive ``flock`` on a lock file held for as long as the
:class:`PortPool` lives, so no other harness process picks it meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
from typing import IO

LOW, HIGH = 20000, 32000
LOCK_DIR = os.path.join(tempfile.gettempdir(), "afcheck-ports")


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class PortPool:
    """Claims ports for one backend; :meth:`release` frees them all."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._locks: dict[int, IO[str]] = {}
        self._high = min(HIGH, _ephemeral_low())

    def take(self) -> int:
        """A port free now and claimed against every other PortPool on this machine."""
        os.makedirs(LOCK_DIR, exist_ok=True)
        for _ in range(2000):
            port = self._rng.randrange(LOW, self._high)
            if port in self._locks:
                continue
            fh = open(os.path.join(LOCK_DIR, f"{port}.lock"), "a+", encoding="ascii")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            if not _bindable(port):
                fh.close()
                continue
            self._locks[port] = fh
            return port
        raise RuntimeError(f"no free port on 127.0.0.1 in [{LOW}, {self._high})")

    def lock_fd(self, port: int) -> int:
        """The descriptor holding a claimed port's lock.

        A child process that inherits it (``pass_fds``) keeps the claim alive
        after :meth:`release` here, until the child exits: the way a detached
        node keeps its port reserved for as long as it runs.
        """
        return self._locks[port].fileno()

    def taken(self) -> list[int]:
        return sorted(self._locks)

    def release(self) -> None:
        for fh in self._locks.values():
            with contextlib.suppress(OSError):
                fh.close()
        self._locks.clear()
