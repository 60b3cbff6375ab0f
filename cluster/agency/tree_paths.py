"""Agency key paths and JSON value helpers shared by the tree, its parser and supervision.

A path names a node of the agency's key/value tree: ``"/arango/Plan/X"``.
The leading ``/`` is optional and one trailing ``/`` is tolerated; segments
are non-empty and never ``.`` or ``..``. The normal form is ``"/a/b/c"``;
the root is ``"/"``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

MAX_PATH_LENGTH = 1024
MAX_DEPTH = 64


class PathError(ValueError):
    """A path that is not a valid agency key; the message says why."""


def split_path(path: Any) -> list[str]:
    """The segments of ``path`` (``[]`` for the root); :class:`PathError` if invalid."""
    if not isinstance(path, str):
        raise PathError(f"path must be a string, got {type(path).__name__}")
    if len(path) > MAX_PATH_LENGTH:
        raise PathError(f"path is longer than {MAX_PATH_LENGTH} characters")
    body = path[1:] if path.startswith("/") else path
    if body.endswith("/"):
        body = body[:-1]
    if body == "":
        return []
    segments = body.split("/")
    for segment in segments:
        if segment == "":
            raise PathError(f"path '{path}' has an empty segment")
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


def is_number(value: Any) -> bool:
    """A JSON number (``bool`` is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values as the agency sees it.

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
