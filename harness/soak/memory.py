"""Memory hygiene for a long-lived harness process between soak rounds.

* **first use imports.** A round imports the modules of its workload, fault,
  checkers and report the first time a cell needs them. :func:`import_all`
  imports every module of the named packages once, before the first round,
  and freezes what was imported out of the collector's way.
* **freed memory the allocator keeps.** After a round its history, results and
  report are garbage, but glibc keeps freed pages in its arenas.
  :func:`release` collects cycles and asks glibc to return every free page
  (``malloc_trim(0)``) after each round.

Measured: a soak repeating one cell kept the harness at 46 to 47 MB over 17
rounds, but a soak over the whole matrix still climbed slowly (52 MB after the
first round, 80 MB after 70). Traced Python objects grew by no more than tens
of kB a round at any call site: the likely cause is allocator arenas kept by a
few long-lived objects from rounds of every shape, which neither measure can
return. So ``afcheck soak`` now runs each round in a process of its own
(:mod:`harness.cli.soak_round`); these measures remain for the marathon,
whose one long round runs in the soak's process, and between rounds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release() -> bool:
    """Collect garbage, then return free heap pages to the OS; ``True`` if glibc trimmed."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    return bool(trim(0))


def import_all(packages: Iterable[str]) -> list[str]:
    """Import every module of ``packages`` (and the packages); the names that failed.

    A module that cannot be imported (an optional dependency missing) is left for
    the round that needs it to report; the soak goes on. Afterwards everything
    alive is moved to the collector's permanent generation (``gc.freeze``)."""
    failed: list[str] = []
    for name in packages:
        try:
            pkg = importlib.import_module(name)
        except Exception:
            failed.append(name)
            continue
        paths = [str(Path(p)) for p in getattr(pkg, "__path__", [])]
        for info in pkgutil.walk_packages(paths, f"{name}."):
            if info.name.rsplit(".", 1)[-1].startswith("test_"):
                continue  # pytest modules of a plugin package are not round code
            try:
                importlib.import_module(info.name)
            except Exception:
                failed.append(info.name)
    with contextlib.suppress(AttributeError):
        gc.freeze()
    return failed
