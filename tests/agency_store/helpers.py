"""Small helpers to drive a Store the way the Raft log does."""

from __future__ import annotations

from typing import Any

from cluster.agency.store import ApplyResult, Store, parse_write


class Driver:
    """A Store plus a log index counter: ``write(body)`` parses and applies like an agent."""

    def __init__(self) -> None:
        self.store = Store()
        self.index = 0

    def entry(self, entry: dict[str, Any]) -> ApplyResult:
        self.index += 1
        return self.store.apply(entry, self.index)

    def write(self, body: Any, now: float = 1000.0) -> list[ApplyResult]:
        return [self.entry(e) for e in parse_write(body, now)]

    def one(self, updates: dict[str, Any], pre: dict[str, Any] | None = None) -> ApplyResult:
        txn: list[Any] = [updates] if pre is None else [updates, pre]
        return self.write([txn])[0]

    def get(self, path: str) -> Any:
        return self.store.get(path)
