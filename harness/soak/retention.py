"""Keeping the store bounded: evict the oldest passing rounds first, never a failing one.

``--keep-passing N`` keeps the newest N passing rounds; ``--max-store-gb G``
then evicts passing rounds, oldest first, while the store is larger than G.
Failing, unknown, errored and interrupted rounds are evidence and always stay.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Kept:
    """A round as retention sees it."""

    index: int
    run_dir: Path
    passing: bool
    size: int  # bytes


def choose_evictions(
    rounds: list[Kept],
    keep_passing: int | None,
    max_bytes: int | None,
    store_bytes: int,
) -> list[Kept]:
    """Which rounds to evict (oldest passing first), given the store's current size."""
    passing = sorted((r for r in rounds if r.passing), key=lambda r: r.index)
    evict: list[Kept] = []
    if keep_passing is not None and len(passing) > keep_passing:
        evict = passing[: len(passing) - keep_passing]
    size = store_bytes - sum(r.size for r in evict)
    if max_bytes is not None:
        for r in passing[len(evict) :]:
            if size <= max_bytes:
                break
            evict.append(r)
            size -= r.size
    return evict


def evict(rounds: list[Kept], on_evict: Callable[[Kept], None]) -> None:
    """Delete the run directories of ``rounds``, telling ``on_evict`` about each."""
    for r in rounds:
        shutil.rmtree(r.run_dir, ignore_errors=True)
        parent = r.run_dir.parent
        if parent.is_dir() and not any(p for p in parent.iterdir() if not p.is_symlink()):
            shutil.rmtree(parent, ignore_errors=True)
        on_evict(r)
