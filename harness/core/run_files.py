"""Writing a run directory: ``store/<test-name>/<timestamp>/`` and its files.

The JSON Lines files are appended and flushed line by line as the test
runs, so a crash leaves an analysable prefix.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from pathlib import Path
from typing import IO, Any


def make_run_dir(store: str, test_name: str) -> Path:
    """Create ``store/<test_name>/<timestamp>/`` (unique) and point ``store/latest`` at it."""
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    base = Path(store) / test_name
    base.mkdir(parents=True, exist_ok=True)
    run = base / stamp
    n = 1
    while True:
        try:
            run.mkdir()
            break
        except FileExistsError:
            n += 1
            run = base / f"{stamp}-{n}"
    point_latest(Path(store) / "latest", run)
    point_latest(base / "latest", run)
    return run


def point_latest(link: Path, target: Path) -> None:
    """Atomically (re)point a relative symlink ``link`` at ``target``."""
    rel = os.path.relpath(target, link.parent)
    tmp = link.with_name(f".{link.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        tmp.symlink_to(rel)
        os.replace(tmp, link)
    except OSError:  # a filesystem without symlinks: the run itself is what matters
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class JsonlFile:
    """Appends one JSON object per line and flushes each line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = path.open("a", encoding="utf-8")

    def write(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON Lines file written by this harness (a torn last line is dropped)."""
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def collect_rollbacks(data_dirs: dict[str, str]) -> list[dict[str, Any]]:
    """Every entry of every server's ``<data-dir>/rollback/*.jsonl``, tagged with the server."""
    entries: list[dict[str, Any]] = []
    for node_id, data_dir in sorted(data_dirs.items()):
        folder = Path(data_dir) / "rollback"
        if not folder.is_dir():
            continue
        for file in sorted(folder.glob("*.jsonl")):
            for entry in read_jsonl(file):
                entries.append({"server": node_id, "file": file.name, **entry})
    return entries
