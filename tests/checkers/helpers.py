"""Build tiny histories by hand: one tuple per entry, indices and times filled in."""

from __future__ import annotations

from typing import Any

from harness.core.history import Op

MS = 1_000_000


def history(*entries: tuple[Any, ...]) -> list[Op]:
    """Entries ``(process, type, f, value[, extra fields])``; entry i happens at ``i`` ms."""
    ops: list[Op] = []
    for i, entry in enumerate(entries):
        process, kind, f, value = entry[:4]
        fields: dict[str, Any] = dict(entry[4]) if len(entry) > 4 else {}
        time = fields.pop("time", i * MS)
        node = fields.pop("node", None)
        dirty = fields.pop("dirty", None)
        ops.append(Op(i, kind, process, f, value, time, node=node, dirty=dirty, extra=fields))
    return ops


S = 1_000_000_000


def line(
    i: int, kind: str, process: Any, f: str, value: Any, t: float, **extra: Any
) -> dict[str, Any]:
    """One history line as ``history.jsonl`` holds it, at ``t`` seconds."""
    return {
        "index": i,
        "type": kind,
        "process": process,
        "f": f,
        "value": value,
        "time": int(t * S),
        **extra,
    }
