"""Worker processes are forked only from a single-threaded process."""

from __future__ import annotations

import subprocess
import sys
import threading

from harness.checkers import processes


def test_a_process_with_other_threads_spawns() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert processes.start_method() == "spawn"
    finally:
        stop.set()
        other.join()


def test_a_single_threaded_process_forks() -> None:
    code = "from harness.checkers import processes; print(processes.start_method())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("fork" if sys.platform != "win32" else "spawn")


def test_a_thread_threading_does_not_know_of_still_means_spawn() -> None:
    """pytest-xdist's execnet receiver is such a thread: forking beside it hung a pool."""
    code = (
        "import _thread, threading, time\n"
        "from harness.checkers import processes\n"
        "_thread.start_new_thread(time.sleep, (30,))\n"
        "time.sleep(0.2)\n"
        "print(threading.active_count(), processes.start_method())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["1", "spawn"]
