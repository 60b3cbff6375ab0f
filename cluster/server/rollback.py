"""Rollback files: nothing a returning server discards is lost silently.

When a server (typically a returning old leader) holds WAL entries that the
current leader lacks, those entries are written to
``<data-dir>/rollback/<epoch>-<wall_ms>.jsonl`` (one JSON line per entry: tick,
epoch, op, database, collection, key, document and previous document) and
fsynced *before* the server resyncs from the leader.

An entry is identified across servers by its ``(tick, epoch)`` pair: within
one epoch a single leader created the entries and followers only copy a
prefix of its log, so logs that share a pair agree on everything before it.
The divergence point is the highest local pair the leader also holds; every
local entry after it is divergent.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any

from cluster.common import clock

_NAME = re.compile(r"^\d+-\d+(-\d+)?\.jsonl$")
ENTRY_FIELDS = ("tick", "epoch", "time", "op", "db", "collection", "key", "doc", "old")


def divergent_entries(
    local: list[dict[str, Any]], leader_has: Iterable[tuple[int, int]]
) -> tuple[int, list[dict[str, Any]]]:
    """Split ``local`` (ascending ticks) at the highest pair the leader also holds.

    Returns ``(divergence_tick, entries after it)``; ``divergence_tick`` is 0
    when the leader holds none of the local pairs.
    """
    known = set(leader_has)
    point = 0
    for entry in local:
        if (int(entry["tick"]), int(entry["epoch"])) in known:
            point = max(point, int(entry["tick"]))
    return point, [e for e in local if int(e["tick"]) > point]


class RollbackStore:
    """The rollback folder of one server."""

    def __init__(self, data_dir: str) -> None:
        self.dir = os.path.join(data_dir, "rollback")

    def write(self, epoch: int, entries: list[dict[str, Any]]) -> str | None:
        """Write ``entries`` durably to a new file; returns its name (None if no entries)."""
        if not entries:
            return None
        os.makedirs(self.dir, exist_ok=True)
        base = f"{epoch}-{clock.wall_ms()}"
        name = f"{base}.jsonl"
        n = 1
        while os.path.exists(os.path.join(self.dir, name)):
            name = f"{base}-{n}.jsonl"
            n += 1
        path = os.path.join(self.dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            for entry in entries:
                line = {k: entry.get(k) for k in ENTRY_FIELDS}
                fh.write(json.dumps(line, separators=(",", ":"), sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return name

    def files(self) -> list[dict[str, Any]]:
        """Every rollback file with its entry count, oldest first."""
        if not os.path.isdir(self.dir):
            return []
        out: list[tuple[tuple[int, ...], dict[str, Any]]] = []
        for name in os.listdir(self.dir):
            if not _NAME.match(name):
                continue
            path = os.path.join(self.dir, name)
            with open(path, encoding="utf-8") as fh:
                count = sum(1 for line in fh if line.strip())
            parts = [int(p) for p in name.removesuffix(".jsonl").split("-")]
            info = {
                "name": name,
                "epoch": parts[0],
                "time": parts[1],
                "entries": count,
                "size": os.path.getsize(path),
            }
            out.append(((parts[1], parts[0], *parts[2:]), info))
        return [info for _, info in sorted(out, key=lambda item: item[0])]

    def entries(self, name: str) -> list[dict[str, Any]] | None:
        """The entries of one file, or None when there is no such file."""
        if not _NAME.match(name):
            return None
        path = os.path.join(self.dir, name)
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
