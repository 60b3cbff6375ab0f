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

When part of the local log was pruned before the comparison (the leader
knows none of the local entries nor the pair just below them), the entries
themselves are gone; :func:`state_differences` then keeps every local
document the resync would replace or drop as an entry with ``op`` ``"state"``
(``doc``: the local version; ``tick``/``epoch``: the local log's last).

A resync that keeps failing finds the same divergent entries on every retry:
:meth:`RollbackStore.write` keeps identical content (same bytes, compared by
SHA-256 among files of the same size) in one file and returns its name.
"""

from __future__ import annotations

import hashlib
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
        self._digests: dict[tuple[str, int, int], str] = {}  # (name, size, mtime_ns) -> sha256

    @staticmethod
    def encode(entries: list[dict[str, Any]]) -> bytes:
        """The file content for ``entries`` (one sorted-key JSON line each)."""
        lines = (
            json.dumps({k: e.get(k) for k in ENTRY_FIELDS}, separators=(",", ":"), sort_keys=True)
            + "\n"
            for e in entries
        )
        return "".join(lines).encode("utf-8")

    def find_same(self, content: bytes) -> str | None:
        """The name of an existing rollback file holding exactly ``content``, if any."""
        if not os.path.isdir(self.dir):
            return None
        digest = hashlib.sha256(content).hexdigest()
        for name in sorted(os.listdir(self.dir)):
            if not _NAME.match(name):
                continue
            path = os.path.join(self.dir, name)
            try:
                st = os.stat(path)
                if st.st_size != len(content):
                    continue
                key = (name, st.st_size, st.st_mtime_ns)
                if key not in self._digests:
                    with open(path, "rb") as fh:
                        self._digests[key] = hashlib.sha256(fh.read()).hexdigest()
            except OSError:
                continue
            if self._digests[key] == digest:
                return name
        return None

    def write(self, epoch: int, entries: list[dict[str, Any]]) -> str | None:
        """Write ``entries`` durably to a new file; returns its name (None if no entries).

        When a file with exactly these entries exists already (a retried
        resync), nothing is written and that file's name is returned.
        """
        if not entries:
            return None
        content = self.encode(entries)
        same = self.find_same(content)
        if same is not None:
            return same
        os.makedirs(self.dir, exist_ok=True)
        base = f"{epoch}-{clock.wall_ms()}"
        name = f"{base}.jsonl"
        n = 1
        while os.path.exists(os.path.join(self.dir, name)):
            name = f"{base}-{n}.jsonl"
            n += 1
        path = os.path.join(self.dir, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(content)
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


def state_differences(
    local: dict[str, Any], leader: dict[str, Any], tick: int, epoch: int
) -> list[dict[str, Any]]:
    """``state`` entries for the local documents that ``leader``'s snapshot lacks or changes.

    Both arguments are snapshots as :meth:`cluster.server.storage.Storage.dump_all`
    returns them (``{"databases": {db: {"collections": {c: {"documents": [...]}}}}}``).
    """
    theirs: dict[tuple[str, str, str], Any] = {}
    for db, item in (leader.get("databases") or {}).items():
        for coll, citem in (item.get("collections") or {}).items():
            for doc in citem.get("documents") or []:
                theirs[(db, coll, str(doc.get("_key")))] = doc
    out: list[dict[str, Any]] = []
    for db, item in sorted((local.get("databases") or {}).items()):
        for coll, citem in sorted((item.get("collections") or {}).items()):
            for doc in citem.get("documents") or []:
                key = str(doc.get("_key"))
                if theirs.get((db, coll, key)) != doc:
                    out.append(
                        {
                            "tick": tick,
                            "epoch": epoch,
                            "time": None,
                            "op": "state",
                            "db": db,
                            "collection": coll,
                            "key": key,
                            "doc": doc,
                            "old": None,
                        }
                    )
    return out
