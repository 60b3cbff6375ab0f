"""A Store driven like a single agent's log: parse a write body, apply each entry at the next index."""

from __future__ import annotations

from typing import Any

from cluster.agency.store import ApplyResult, Store, parse_write


class Agency:
    def __init__(self) -> None:
        self.store = Store()
        self.index = 0

    def write(self, *txns: Any, now: float = 1000.0) -> list[ApplyResult]:
        out = []
        for entry in parse_write(list(txns), now):
            self.index += 1
            out.append(self.store.apply(entry, self.index))
        return out

    def put(self, updates: dict[str, Any]) -> ApplyResult:
        (result,) = self.write([updates])
        assert result.ok
        return result

    def read(self, *queries: list[str]) -> list[Any]:
        return self.store.read(list(queries))

    def expire(self, now: float) -> None:
        entry = self.store.due_expiries(now)
        assert entry is not None, "nothing due"
        self.index += 1
        self.store.apply(entry, self.index)
