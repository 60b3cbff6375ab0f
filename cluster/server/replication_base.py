"""The snapshot base of a follower's log: the ``(tick, epoch)`` its last resync ended at.

After a full resync the local WAL is empty up to the snapshot's tick, so the
entry that names that point is missing. This small file remembers its pair,
so the server can still prove (as follower or, later, as leader) that its log
continues from it. It is written before the snapshot is restored.
"""

from __future__ import annotations

import json
import os

FILE_NAME = "replication-base.json"


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
