"""Compacting a finished round's run directory, and the files the soak adds to it.

A passing round keeps its history, results, report and gzip-compressed node
logs; the cluster's data directories and Toxiproxy's debug log go. A failing
(or unknown, or interrupted) round keeps everything, compressed: the node logs
gzipped and the cluster directory as ``cluster.tar.gz``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

from harness.core.run_files import point_latest

TOXIPROXY_LOG = "toxiproxy.log"


def dir_size(path: Path) -> int:
    """Bytes under ``path`` (files only; symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _gzip_file(path: Path) -> None:
    target = path.with_name(path.name + ".gz")
    with path.open("rb") as src, gzip.open(target, "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst)
    path.unlink()


def compact(run_dir: Path, passing: bool) -> None:
    """Shrink ``run_dir`` once its round is over (see the module docstring)."""
    nodes = run_dir / "nodes"
    cluster = run_dir / "cluster"
    if passing:
        shutil.rmtree(cluster, ignore_errors=True)
        for log in list(nodes.rglob(TOXIPROXY_LOG)):
            log.unlink()
            with contextlib.suppress(OSError):
                log.parent.rmdir()  # only when nothing else is in it
    elif cluster.is_dir():
        with tarfile.open(run_dir / "cluster.tar.gz", "w:gz") as tar:
            tar.add(cluster, arcname="cluster")
        shutil.rmtree(cluster, ignore_errors=True)
    if nodes.is_dir():
        for log in sorted(nodes.rglob("*.log")):  # sorted: a list, walked after
            if log.is_file():
                _gzip_file(log)
    for edn in run_dir.glob("history.edn"):  # a derived copy of history.jsonl
        _gzip_file(edn)


def amend_json(path: Path, extra: dict[str, Any]) -> None:
    """Add keys to a JSON object file (atomically); a missing file becomes ``extra``."""
    data: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            data = loaded
    data.update(extra)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def find_run_dir(runs: Path, name: str) -> Path | None:
    """The run directory the runner made for test ``name`` under ``runs`` (newest)."""
    base = runs / name
    if not base.is_dir():
        return None
    found = sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink())
    return found[-1] if found else None


def point_link(link: Path, target: Path | None) -> None:
    """Point ``link`` (relative symlink) at ``target``, or remove it when there is none."""
    if target is None:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        return
    point_latest(link, target)
