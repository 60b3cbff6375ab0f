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
