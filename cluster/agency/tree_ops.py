"""The agency's key/value tree as nested JSON objects, and what each operation does to a value.

Objects are inner nodes; every other JSON value is a leaf. Setting a deep
path creates the missing objects on the way and replaces any non-object it
passes through. Deleting removes one node and leaves its parents in place.
"""

from __future__ import annotations

from typing import Any, Final

from cluster.agency.tree_paths import copy_json, is_number


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""Returned by :func:`lookup` for a path that is not in the tree."""


def lookup(root: dict[str, Any], segments: list[str]) -> Any:
    """The value at ``segments`` (shared, not copied) or :data:`MISSING`."""
    node: Any = root
    for segment in segments:
        if not isinstance(node, dict) or segment not in node:
            return MISSING
        node = node[segment]
    return node


def store_value(root: dict[str, Any], segments: list[str], value: Any) -> None:
    """Put ``value`` (already owned by the tree) at ``segments``; ``segments`` is never empty."""
    node = root
    for segment in segments[:-1]:
        child = node.get(segment)
        if not isinstance(child, dict):
            child = {}
            node[segment] = child
        node = child
    node[segments[-1]] = value


def remove(root: dict[str, Any], segments: list[str]) -> bool:
    """Delete the node at ``segments``; whether there was one."""
    parent = lookup(root, segments[:-1])
    if not isinstance(parent, dict) or segments[-1] not in parent:
        return False
    del parent[segments[-1]]
    return True


def operated(name: str, current: Any, op: dict[str, Any]) -> Any:
    """The new value after a value-changing operation on ``current`` (may be :data:`MISSING`).

    * ``set``: ``new``.
    * ``increment`` / ``decrement``: a missing or non-number value counts as 0.
    * ``push`` / ``prepend``: append / insert ``new``; a non-array becomes ``[]`` first.
    * ``pop`` / ``shift``: drop the last / first element; a non-array becomes ``[]``.
    """
    if name == "set":
        return copy_json(op["new"])
    if name in ("increment", "decrement"):
        base = current if is_number(current) else 0
        step = op["step"]
        return base + step if name == "increment" else base - step
    items: list[Any] = list(current) if isinstance(current, list) else []
    if name == "push":
        items.append(copy_json(op["new"]))
    elif name == "prepend":
        items.insert(0, copy_json(op["new"]))
    elif name == "pop":
        items = items[:-1]
    elif name == "shift":
        items = items[1:]
    else:
        raise ValueError(f"'{name}' does not compute a value")
    return items


def nest(segments: list[str], value: Any) -> Any:
    """``value`` wrapped under ``segments``: ``nest(["a", "b"], 1) == {"a": {"b": 1}}``."""
    out = value
    for segment in reversed(segments):
        out = {segment: out}
    return out


def merge_into(target: dict[str, Any], addition: dict[str, Any]) -> None:
    """Deep-merge ``addition`` into ``target`` (objects merge, anything else replaces)."""
    for key, value in addition.items():
        existing = target.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            merge_into(existing, value)
        else:
            target[key] = value
