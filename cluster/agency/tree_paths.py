"""Agency key paths and JSON value helpers shared by the tree, its parser and supervision.

A path names a node of the agency's key/value tree: ``"/arango/Plan/X"``.
As in ArangoDB (``Node::split``, ``Store::normalize``) leading, trailing and
repeated slashes carry no meaning: ``"//a///b/"`` is ``"/a/b"`` and ``""``,
``"/"`` and ``"///"`` all name the root. The normal form is ``"/a/b/c"``; the
root is ``"/"``. Two restrictions are ours (see ``docs/agency-api.md``): a
segment is never ``.`` or ``..``, and paths are bounded in length and depth.

Keys whose segment starts with ``.`` are *hidden*: reads leave them out unless
the query path itself mentions a hidden segment. ``/.agency`` is reserved for
the agency itself and cannot be written by clients.
"""

from __future__ import annotations

import copy
import math
from typing import Any

MAX_PATH_LENGTH = 1024
MAX_DEPTH = 64
RESERVED = ".agency"


class PathError(ValueError):
    """A path that is not a valid agency key; the message says why."""


def split_path(path: Any) -> list[str]:
    """The non-empty segments of ``path`` (``[]`` for the root); :class:`PathError` if invalid."""
    if not isinstance(path, str):
        raise PathError(f"path must be a string, got {type(path).__name__}")
    if len(path) > MAX_PATH_LENGTH:
        raise PathError(f"path is longer than {MAX_PATH_LENGTH} characters")
    segments = [s for s in path.split("/") if s]
    for segment in segments:
        if segment in (".", ".."):
            raise PathError(f"path '{path}' has a '{segment}' segment")
    if len(segments) > MAX_DEPTH:
        raise PathError(f"path '{path[:80]}' is deeper than {MAX_DEPTH} segments")
    return segments


def normalize_path(path: Any) -> str:
    """``path`` in normal form (``"/a/b"``); :class:`PathError` if invalid."""
    return join_path(split_path(path))


def join_path(segments: list[str]) -> str:
    return "/" + "/".join(segments)


def is_under(path: str, prefix: str) -> bool:
    """Whether normalized ``path`` equals ``prefix`` or lies below it."""
    if prefix == "/":
        return True
    return path == prefix or path.startswith(prefix + "/")


def ancestors(path: str) -> list[str]:
    """``"/a/b"`` -> ``["/", "/a", "/a/b"]``: every normalized path at or above ``path``."""
    segments = [] if path == "/" else path[1:].split("/")
    return [join_path(segments[:i]) for i in range(len(segments) + 1)]


def is_reserved(path: str) -> bool:
    """Whether a write to normalized ``path`` touches the agency's own ``/.agency`` subtree."""
    return path != "/" and path[1:].split("/", 1)[0].startswith(RESERVED)


def shows_hidden(raw_path: str) -> bool:
    """ArangoDB's rule: a read path starting with ``.`` or containing ``/.`` shows hidden keys."""
    return raw_path.startswith(".") or "/." in raw_path


def is_number(value: Any) -> bool:
    """A JSON number (``bool`` is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_count(value: Any) -> bool:
    """A non-negative integral JSON number (``3`` or ``3.0``)."""
    return is_number(value) and math.isfinite(value) and value >= 0 and value == int(value)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values as the agency sees it (VelocyPack's normalized compare).

    Numbers compare by value (``1 == 1.0``), but ``true`` is not ``1``; objects
    compare without regard to key order; arrays element by element.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) or is_number(b):
        return is_number(a) and is_number(b) and a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return False
        return all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def check_json_value(value: Any, what: str, depth: int = 0) -> None:
    """Raise :class:`ValueError` unless ``value`` is plain, finite JSON."""
    if depth > MAX_DEPTH * 2:
        raise ValueError(f"{what} is nested deeper than {MAX_DEPTH * 2} levels")
    if value is None or isinstance(value, bool | str | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} holds a non-finite number")
        return
    if isinstance(value, list):
        for item in value:
            check_json_value(item, what, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{what} has a non-string object key")
            check_json_value(item, what, depth + 1)
        return
    raise ValueError(f"{what} is not a JSON value ({type(value).__name__})")


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value, so the tree never shares structure with callers."""
    if isinstance(value, dict | list):
        return copy.deepcopy(value)
    return value


def sorted_json(value: Any, show_hidden: bool = True, in_tree: bool = True) -> Any:
    """A copy of ``value`` with every object's keys in ArangoDB's output order (byte order).

    ``in_tree`` objects are tree nodes: unless ``show_hidden``, their keys starting
    with ``.`` are left out. Objects inside arrays are plain values and keep every key.
    """
    if isinstance(value, dict):
        return {
            k: sorted_json(value[k], show_hidden, in_tree)
            for k in sorted(value)
            if show_hidden or not in_tree or not k.startswith(".")
        }
    if isinstance(value, list):
        return [sorted_json(item, True, False) for item in value]
    return value
