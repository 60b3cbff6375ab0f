"""In-memory cache of committed schema (databases, collection properties).

Every request checks that its database and collection exist; asking SQLite
each time costs more than the insert itself on a busy machine. The writer
invalidates the cache after committing a transaction that changed the schema.
A reader only stores what it read if no invalidation happened meanwhile
(generation check), so a stale value can never outlive a commit.
``users_generation`` changes whenever ``_system/_users`` changed, so the
authentication layer can cache verified credentials safely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 10_000


class SchemaCache:
    """Committed databases and collection properties, by name."""

    def __init__(self) -> None:
        self.generation = 0
        self.users_generation = 0
        self._entries: dict[tuple[str, ...], Any] = {}

    def lookup(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        """The cached value of ``key``, else ``load()`` (cached if still current)."""
        try:
            return self._entries[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        generation = self.generation
        value = load()
        if generation == self.generation and len(self._entries) < MAX_ENTRIES:
            self._entries[key] = value
        return value

    def schema_changed(self) -> None:
        self.generation += 1
        self._entries = {}

    def users_changed(self) -> None:
        self.users_generation += 1
