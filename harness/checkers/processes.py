"""The multiprocessing context for checking in worker processes.

``fork`` is the cheapest start (the parent's imports and parsed history come
for free), but it is safe only from a single-threaded process: a child forked
while another thread holds a lock (an allocator's, a stream's, a logging
handler's) may wait on it forever, and a pool that terminates such a child
then waits forever in ``join``. ``afcheck check`` is single-threaded and
forks; a check made inside a longer-lived process (a run that still has its
clients' or backends' threads, a test worker) spawns fresh interpreters.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from multiprocessing.context import BaseContext


def thread_count() -> int:
    """This process's threads as the OS counts them (``/proc/self/task`` where there is one).

    :func:`threading.active_count` misses threads started with
    ``_thread.start_new_thread`` or by C code, such as pytest-xdist's
    execnet receiver, and forking beside one of those can hang the child.
    """
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def start_method() -> str:
    """``fork`` from a single-threaded POSIX process, else ``spawn``."""
    if os.name == "posix" and thread_count() == 1:
        return "fork"
    return "spawn"


def context() -> BaseContext:
    """The :mod:`multiprocessing` context :func:`start_method` names."""
    return multiprocessing.get_context(start_method())
