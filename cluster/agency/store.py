"""The agency's replicated state machine: the key/value tree plus TTLs, observers and client ids.

Every agent applies the same committed Raft log entries in the same order
with :meth:`Store.apply` and ends in the same state; nothing here reads a
clock. Entry kinds (JSON, as stored in the log):

* ``{"kind": "write", "txn": ..., "now": s}``: one transaction from
  :func:`parse_write`. Its preconditions are checked against the state before
  it; if one fails nothing is applied (``ok`` is false). ``now`` is the
  leader's wall clock when it proposed the entry; ``set`` with ``ttl``
  records ``expires_at = now + ttl`` for that exact path.
* ``{"kind": "expire", "keys": [[path, expires_at], ...]}``: proposed by the
  leader from :meth:`Store.due_expiries`; deletes each path only if its
  recorded expiry is still ``expires_at`` (a refresh that raced it wins).
* ``{"kind": "noop"}``: a new leader's first entry of its term.

TTL bookkeeping: a ``set`` without ``ttl`` or a ``delete`` at a path clears
the TTL of that path and of everything below it (the old nodes are gone);
``increment``, ``push`` and the other in-place operations keep the path's TTL.

Client ids (for ``/_api/agency/inquire``) are recorded only for transactions
that were applied: as in ArangoDB, where a transaction whose preconditions
fail never reaches the log, a known id means "this write took effect".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from cluster.agency.store_parse import parse_read, parse_transient, parse_write
from cluster.agency.tree_ops import MISSING, lookup, merge_into, nest, operated, remove, store_value
from cluster.agency.tree_paths import copy_json, is_under, json_equal, normalize_path, split_path

__all__ = ["ApplyResult", "Store", "parse_read", "parse_transient", "parse_write"]

log = logging.getLogger(__name__)

MAX_CLIENT_IDS = 100_000
SNAPSHOT_VERSION = 1


@dataclass
class ApplyResult:
    """What applying one log entry did."""

    ok: bool
    """Preconditions held (always true for ``expire`` and ``noop``)."""
    changed: list[str] = field(default_factory=list)
    """Normalized paths written or deleted, in order, without duplicates."""
    failed_precondition: str | None = None
    """The path whose precondition failed, for the error message."""
    skipped: bool = False
    """The entry's index was at or below ``applied_index``; nothing was done."""


def _segments(path: str) -> list[str]:
    return [] if path == "/" else path[1:].split("/")


class Store:
    """The key/value tree with ArangoDB agency semantics (see the module docstring)."""

    def __init__(self) -> None:
        self._tree: dict[str, Any] = {}
        self._ttl: dict[str, float] = {}
        self._observers: dict[str, list[str]] = {}
        self._client_ids: dict[str, list[int]] = {}
        self.applied_index: int = 0

    # ----------------------------------------------------------------- apply

    def apply(self, entry: dict[str, Any], index: int) -> ApplyResult:
        """Apply the committed log entry at ``index`` (deterministic)."""
        if index <= self.applied_index:
            return ApplyResult(ok=True, skipped=True)
        self.applied_index = index
        kind = entry.get("kind") if isinstance(entry, dict) else None
        try:
            if kind == "write":
                return self._apply_write(entry["txn"], float(entry["now"]), index)
            if kind == "expire":
                return self._apply_expire(entry["keys"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            # Only a corrupt log gets here; every agent fails the same way, so stay in step.
            log.error(
                "store: log entry %d is malformed (%s: %s); skipped", index, type(exc).__name__, exc
            )
            return ApplyResult(ok=False)
        if kind != "noop":
            log.warning("store: log entry %d has unknown kind %r; treated as noop", index, kind)
        return ApplyResult(ok=True)

    def _holds(self, path: str, cond: dict[str, Any]) -> bool:
        current = lookup(self._tree, _segments(path))
        present = current is not MISSING
        if "oldEmpty" in cond and cond["oldEmpty"] == present:
            return False
        if "isArray" in cond and cond["isArray"] != isinstance(current, list):
            return False
        if "old" in cond and not (present and json_equal(current, cond["old"])):
            return False
        return not ("oldNot" in cond and present and json_equal(current, cond["oldNot"]))

    def _apply_write(self, txn: dict[str, Any], now: float, index: int) -> ApplyResult:
        for path, cond in txn["pre"]:
            if not self._holds(path, cond):
                return ApplyResult(ok=False, failed_precondition=path)
        changed: list[str] = []
        for path, op in txn["ops"]:
            name = op["op"]
            segments = _segments(path)
            if name == "observe":
                urls = self._observers.setdefault(path, [])
                if op["url"] not in urls:
                    urls.append(op["url"])
            elif name == "unobserve":
                urls = self._observers.get(path, [])
                if op["url"] in urls:
                    urls.remove(op["url"])
                if not urls:
                    self._observers.pop(path, None)
            elif name == "delete":
                self._clear_ttls(path, include_self=True)
                if remove(self._tree, segments):
                    changed.append(path)
            else:
                current = lookup(self._tree, segments)
                store_value(self._tree, segments, operated(name, current, op))
                self._clear_ttls(path, include_self=name == "set")
                if name == "set" and "ttl" in op:
                    self._ttl[path] = now + float(op["ttl"])
                changed.append(path)
        client_id = txn.get("clientId")
        if client_id is not None:
            self._record_client_id(client_id, index)
        return ApplyResult(ok=True, changed=list(dict.fromkeys(changed)))

    def _apply_expire(self, keys: list[list[Any]]) -> ApplyResult:
        changed: list[str] = []
        for path, expires_at in keys:
            if path in self._ttl and self._ttl[path] == float(expires_at):
                self._clear_ttls(path, include_self=True)
                if remove(self._tree, _segments(path)):
                    changed.append(path)
        return ApplyResult(ok=True, changed=changed)

    def _clear_ttls(self, path: str, include_self: bool) -> None:
        if not self._ttl:
            return
        doomed = [p for p in self._ttl if is_under(p, path) and (include_self or p != path)]
        for p in doomed:
            del self._ttl[p]

    def _record_client_id(self, client_id: str, index: int) -> None:
        indexes = self._client_ids.pop(client_id, [])
        indexes.append(index)
        self._client_ids[client_id] = indexes
        while len(self._client_ids) > MAX_CLIENT_IDS:
            del self._client_ids[next(iter(self._client_ids))]

    # ----------------------------------------------------------------- reads

    def read(self, queries: list[list[str]]) -> list[Any]:
        """ArangoDB read: per query, one object holding each present path's value under its full path."""
        results: list[Any] = []
        for paths in queries:
            result: dict[str, Any] = {}
            for path in paths:
                segments = split_path(path)
                value = lookup(self._tree, segments)
                if value is MISSING:
                    continue
                wrapped = nest(segments, copy_json(value))
                if isinstance(wrapped, dict):
                    merge_into(result, wrapped)
            results.append(result)
        return results

    def get(self, path: str) -> Any | None:
        """The plain value at ``path`` (a copy), or ``None`` if absent."""
        value = lookup(self._tree, split_path(path))
        return None if value is MISSING else copy_json(value)

    def due_expiries(self, now_wall: float) -> dict[str, Any] | None:
        """An ``expire`` entry for every path whose TTL passed by ``now_wall``, or ``None``."""
        keys = [[p, e] for p, e in sorted(self._ttl.items()) if e <= now_wall]
        return {"kind": "expire", "keys": keys} if keys else None

    def ttl_of(self, path: str) -> float | None:
        """The recorded expiry (leader wall seconds) of ``path``, if it has one."""
        return self._ttl.get(normalize_path(path))

    def observers_for(self, changed: list[str]) -> dict[str, list[str]]:
        """URL -> the changed paths it observes (at, below, or above the observed path)."""
        out: dict[str, list[str]] = {}
        for observed, urls in self._observers.items():
            hits = [c for c in changed if is_under(c, observed) or is_under(observed, c)]
            if not hits:
                continue
            for url in urls:
                seen = out.setdefault(url, [])
                seen.extend(h for h in hits if h not in seen)
        return out

    def client_ids(self, ids: list[str]) -> dict[str, list[int]]:
        """clientId -> log indexes of applied transactions that carried it (``[]`` if none)."""
        return {cid: list(self._client_ids.get(cid, [])) for cid in ids}

    # ------------------------------------------------------------- snapshots

    def snapshot(self) -> dict[str, Any]:
        """The full state as JSON-able data."""
        return {
            "version": SNAPSHOT_VERSION,
            "applied_index": self.applied_index,
            "tree": copy_json(self._tree),
            "ttls": [[p, e] for p, e in sorted(self._ttl.items())],
            "observers": [[p, list(urls)] for p, urls in self._observers.items()],
            "client_ids": [[cid, list(idx)] for cid, idx in self._client_ids.items()],
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Store:
        """A store equal to the one that produced ``snap``; ``ValueError`` if it is malformed."""
        try:
            if snap.get("version") != SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {snap.get('version')!r}")
            store = cls()
            index = snap["applied_index"]
            tree = snap["tree"]
            if not isinstance(index, int) or index < 0 or not isinstance(tree, dict):
                raise ValueError("applied_index must be a non-negative int and tree an object")
            store.applied_index = index
            store._tree = copy_json(tree)
            store._ttl = {normalize_path(p): float(e) for p, e in snap["ttls"]}
            store._observers = {
                normalize_path(p): [str(u) for u in urls] for p, urls in snap["observers"]
            }
            store._client_ids = {str(c): [int(i) for i in idx] for c, idx in snap["client_ids"]}
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed agency snapshot: {type(exc).__name__}: {exc}") from exc
        return store
