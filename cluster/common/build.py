"""Which build of the ``cluster`` package this process runs: a hash of its source.

``source_id()`` is the first 12 hex digits of a sha256 over the sorted relative
paths and bytes of every ``.py`` file of the package the running code was
imported from. Two servers answering the same id run the same source; a
rolling upgrade to a new build is visible as a new id
(``/_api/version?details=true``, key ``afcheck-build``). Computed once, on
first use.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the running ``cluster`` package
ID_LENGTH = 12


def tree_id(package_dir: Path) -> str:
    """sha256 (first 12 hex) over every ``.py`` file under ``package_dir``: path + bytes."""
    digest = hashlib.sha256()
    files = sorted(
        (path.relative_to(package_dir).as_posix(), path)
        for path in package_dir.rglob("*.py")
        if path.is_file() and "__pycache__" not in path.parts
    )
    for relative, path in files:
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:ID_LENGTH]


@functools.cache
def source_id() -> str:
    """The build id of the running ``cluster`` package (cached for the process)."""
    return tree_id(PACKAGE_DIR)
