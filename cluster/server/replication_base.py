"""The snapshot base of a follower's log: the ``(tick, epoch)`` its last resync ended at.

After a full resync the local WAL is empty up to the snapshot's tick, so the
entry that names that point is missing. This small file remembers its pair,
so the server can still prove (as follower or, later, as leader) that its log
continues from it. It is written before the snapshot is restored.
"""

from __future__ import annotations

import json
import os
from typing import Protocol

FILE_NAME = "replication-base.json"
# ArangoDB's "start tick not present": the leader pruned the tick a follower asked for
ERROR_REPLICATION_START_TICK_NOT_PRESENT = 1414


def read_base_pair(data_dir: str) -> tuple[int, int] | None:
    """The stored ``(tick, epoch)``, or None when there is none (or it is unreadable)."""
    try:
        with open(os.path.join(data_dir, FILE_NAME), encoding="utf-8") as fh:
            data = json.load(fh)
        return int(data["tick"]), int(data["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_base_pair(data_dir: str, tick: int, epoch: int) -> None:
    """Durably record ``(tick, epoch)`` as the snapshot base."""
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, FILE_NAME)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"tick": tick, "epoch": epoch}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class PairSource(Protocol):
    def pair_epoch(self, tick: int) -> int | None: ...


def present_pairs(
    storage: PairSource, data_dir: str, wanted: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Which of ``wanted`` this server's log holds: by its WAL, its epoch marks for
    pruned entries (see :mod:`cluster.server.storage_retention`) or its snapshot base."""
    base = read_base_pair(data_dir)
    out: list[tuple[int, int]] = []
    for tick, epoch in wanted:
        local = storage.pair_epoch(tick)
        if local is not None:
            if local == epoch:
                out.append((tick, epoch))
        elif base == (tick, epoch):
            out.append((tick, epoch))
    return out


def epoch_at(storage: PairSource, data_dir: str, tick: int, default: int) -> int:
    """The epoch of this log's entry at ``tick`` (``default`` when unknown)."""
    local = storage.pair_epoch(tick)
    if local is not None:
        return local
    base = read_base_pair(data_dir)
    return base[1] if base is not None and base[0] == tick else default
