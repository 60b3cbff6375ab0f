"""The agency's key/value tree as nested JSON, and what each operation does to a value.

Objects are inner nodes; every other JSON value is a leaf. The root is a
node like any other: it is normally an object, but ``{"/": 5}`` makes it the
leaf ``5`` (as in ArangoDB). Setting a deep path creates the missing objects
on the way and replaces any non-object it passes through. Deleting removes
one node and leaves its parents in place; deleting the root empties it.

Object values written into the tree are *expanded* as ArangoDB does: a key
holding slashes names a path below the object (``{"b//c": 1}`` stores
``{"b": {"c": 1}}``), keys are taken in byte order, and a key made only of
slashes replaces the whole object by its value. Objects inside arrays are
stored as they are.
"""

from __future__ import annotations

import math
from typing import Any, Final

from cluster.agency.tree_paths import copy_json, is_number, json_equal


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""Returned by :func:`lookup` for a path that is not in the tree."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def lookup(root: Any, segments: list[str]) -> Any:
    """The value at ``segments`` (shared, not copied) or :data:`MISSING`."""
    node: Any = root
    for segment in segments:
        if not isinstance(node, dict) or segment not in node:
            return MISSING
        node = node[segment]
    return node


def existing_prefix(root: Any, segments: list[str]) -> int:
    """How many leading ``segments`` exist (ArangoDB's ``Node::exists``)."""
    node: Any = root
    for depth, segment in enumerate(segments):
        if not isinstance(node, dict) or segment not in node:
            return depth
        node = node[segment]
    return len(segments)


def put(root: Any, segments: list[str], value: Any) -> Any:
    """Put ``value`` (owned by the tree) at ``segments``; the new root."""
    if not segments:
        return value
    if not isinstance(root, dict):
        root = {}
    node = root
    for segment in segments[:-1]:
        child = node.get(segment)
        if not isinstance(child, dict):
            child = {}
            node[segment] = child
        node = child
    node[segments[-1]] = value
    return root


def remove(root: Any, segments: list[str]) -> tuple[Any, bool]:
    """Delete the node at ``segments``: the new root and whether there was a node."""
    if not segments:
        return {}, True
    parent = lookup(root, segments[:-1])
    if not isinstance(parent, dict) or segments[-1] not in parent:
        return root, False
    del parent[segments[-1]]
    return root, True


def expand(value: Any) -> Any:
    """A copy of ``value`` as the tree stores it (slash keys of objects become paths)."""
    if not isinstance(value, dict):
        return copy_json(value)
    out: Any = {}
    for key in sorted(value):
        if "/" not in key:
            out[key] = expand(value[key])
            continue
        segments = [s for s in key.split("/") if s]
        if not segments:
            return expand(value[key])
        child = out.get(segments[0])
        out[segments[0]] = put(
            child if isinstance(child, dict) else {}, segments[1:], expand(value[key])
        )
    return out


def as_int64(value: Any) -> int:
    """VelocyPack's ``getNumber<int64_t>``: integral part of a number in range, else 0."""
    if not is_number(value) or not math.isfinite(value):
        return 0
    number = int(value)
    return number if INT64_MIN <= number <= INT64_MAX else 0


def operated(name: str, current: Any, op: dict[str, Any]) -> Any:
    """The new value after a value-changing operation on ``current`` (may be :data:`MISSING`).

    As ArangoDB's ``Node::handle<...>``:

    * ``set``: ``new``.
    * ``increment`` / ``decrement``: integer arithmetic; a missing or non-number
      value counts as 0, a fractional one is truncated.
    * ``push`` / ``prepend``: append / insert ``new``; a non-array becomes ``[]`` first.
    * ``pop`` / ``shift``: drop the last / first element; a non-array becomes ``[]``.
    * ``erase``: drop every element equal to ``val``, or the one at ``pos`` (if any).
    * ``replace``: every element equal to ``val`` becomes ``new``.
    * ``push-queue``: append ``new`` and keep only the last ``len`` elements.
    """
    if name == "set":
        return expand(op["new"])
    if name in ("increment", "decrement"):
        base = as_int64(current)
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
    elif name == "erase":
        if "val" in op:
            items = [item for item in items if not json_equal(item, op["val"])]
        elif op["pos"] < len(items):
            del items[op["pos"]]
    elif name == "replace":
        items = [copy_json(op["new"]) if json_equal(i, op["val"]) else i for i in items]
    elif name == "push-queue":
        length = op["len"]
        items.append(copy_json(op["new"]))
        items = items[max(0, len(items) - length) :] if length else []
    else:
        raise ValueError(f"'{name}' does not compute a value")
    return items


def nest(segments: list[str], value: Any) -> Any:
    """``value`` wrapped under ``segments``: ``nest(["a", "b"], 1) == {"a": {"b": 1}}``."""
    out = value
    for segment in reversed(segments):
        out = {segment: out}
    return out
