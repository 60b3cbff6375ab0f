"""The agency's replicated state machine: the key/value tree plus TTLs, observers and client ids.

Every agent applies the same committed Raft log entries in the same order
with :meth:`Store.apply` and ends in the same state; nothing here reads a
clock. Entry kinds (JSON, as stored in the log):

* ``{"kind": "write", "txn": ..., "now": s}``: one transaction from
  :func:`parse_write`. Its preconditions are checked against the state before
  it; if one fails nothing is applied (``ok`` is false). The leader checks
  them before proposing too (:meth:`Store.precheck`), so a transaction whose
  preconditions already fail never takes a log index, as in ArangoDB. ``now``
  is the leader's wall clock when it proposed the entry; ``set`` with ``ttl``
  records ``expires_at = now + ttl`` for that exact path.
* ``{"kind": "expire", "keys": [[path, expires_at], ...]}``: proposed by the
  leader from :meth:`Store.due_expiries`; deletes each path only if its
  recorded expiry is still ``expires_at`` (a refresh that raced it wins).
* ``{"kind": "noop"}``: a new leader's first entry of its term.

Semantics follow ArangoDB's ``Store.cpp`` / ``Node.cpp`` (see
``docs/agency-api.md``): updates of a transaction apply in normalized-path
order; ``delete``, ``erase`` and ``replace`` on a missing path do nothing;
preconditions compare a missing node as ``{}``; reads answer with the part
of each path that exists, in ArangoDB's key order, without hidden keys.

TTL bookkeeping: a ``set`` without ``ttl`` or a ``delete`` at a path clears
the TTL of that path and of everything below it (the old nodes are gone);
``increment``, ``push`` and the other in-place operations keep the path's TTL.

Client ids (for ``/_api/agency/inquire``) are recorded only for transactions
that were applied: as in ArangoDB, where a transaction whose preconditions
fail never reaches the log, a known id means "this write took effect".
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cluster.agency.store_parse import (
    MISSING_ONLY_SKIPPED,
    parse_read,
    parse_transact,
    parse_transient,
    parse_write,
)
from cluster.agency.tree_ops import MISSING, existing_prefix, lookup, nest, operated, put, remove
from cluster.agency.tree_paths import (
    ancestors,
    copy_json,
    is_under,
    json_equal,
    normalize_path,
    shows_hidden,
    sorted_json,
    split_path,
)
from cluster.agency.write_guards import increment_overflow

__all__ = [
    "ApplyResult",
    "Store",
    "parse_read",
    "parse_transact",
    "parse_transient",
    "parse_write",
]

log = logging.getLogger(__name__)

MAX_CLIENT_IDS = 100_000
HISTORY = 10_000
"""Applied log entries kept in memory for ``/_api/agency/poll`` (not part of snapshots)."""
SNAPSHOT_VERSION = 1


@dataclass
class ApplyResult:
    """What applying one log entry did."""

    ok: bool
    """Preconditions held (always true for ``expire`` and ``noop``)."""
    changed: list[str] = field(default_factory=list)
    """Normalized paths written or deleted, in order, without duplicates."""
    failed_precondition: str | None = None
    """The normalized path of the first precondition that failed, for the error message."""
    failed: list[str] = field(default_factory=list)
    """Every failed precondition's path as the client wrote it (``transact`` reads them)."""
    skipped: bool = False
    """The entry's index was at or below ``applied_index``; nothing was done."""
    forbidden: bool = False
    """The transaction writes below ``/.agency`` (never proposed by the API)."""


def _segments(path: str) -> list[str]:
    return [] if path == "/" else path[1:].split("/")


def _touch(root: Any, segments: list[str]) -> Any:
    """ArangoDB's ``getOrCreate`` on a read's result tree: create ``segments`` as objects."""
    if not segments:
        return root
    if not isinstance(root, dict):
        root = {}
    node = root
    for depth, segment in enumerate(segments):
        child = node.get(segment, MISSING)
        if child is MISSING or (not isinstance(child, dict) and depth < len(segments) - 1):
            child = {}
            node[segment] = child
        node = child
    return root


class Store:
    """The key/value tree with ArangoDB agency semantics (see the module docstring)."""

    def __init__(self) -> None:
        self._tree: Any = {}
        self._ttl: dict[str, float] = {}
        self._observers: dict[str, list[str]] = {}
        self._client_ids: dict[str, list[int]] = {}
        self._history: deque[dict[str, Any]] = deque()
        self._history_from = 1
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
                return self._apply_expire(entry["keys"], index)
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
        """One precondition, as ArangoDB's ``Store::check`` (a missing node compares as ``{}``)."""
        current = lookup(self._tree, _segments(path))
        found = current is not MISSING
        node = current if found else {}
        is_array = isinstance(current, list)
        for name, operand in cond.items():
            if name == "old":
                ok = json_equal(node, operand)
            elif name == "oldNot":
                ok = not json_equal(node, operand)
            elif name == "oldEmpty":
                ok = found != operand
            elif name == "isArray":
                ok = is_array == operand
            elif name == "in":
                ok = is_array and any(json_equal(x, operand) for x in current)
            elif name == "notin":
                ok = not found or (is_array and not any(json_equal(x, operand) for x in current))
            elif name == "intersectionEmpty":
                ok = isinstance(operand, list) and not (
                    is_array and any(json_equal(x, y) for x in current for y in operand)
                )
            else:  # "unknown": operators ArangoDB does not know fail
                ok = False
            if not ok:
                return False
        return True

    def failed_preconditions(self, pre: list[list[Any]]) -> list[list[Any]]:
        """The ``[path, condition, key?]`` items of ``pre`` that do not hold now."""
        return [item for item in pre if not self._holds(item[0], item[1])]

    def precheck(self, entries: list[dict[str, Any]]) -> list[bool]:
        """Per write entry of one request: False if it would surely fail if proposed now.

        Used by the leader to keep transactions whose preconditions fail out of
        the log. An entry's preconditions are judged on the current state unless
        an earlier entry of the same request writes at, above or below one of
        their paths; then the entry is proposed and judged when applied.
        """
        verdicts: list[bool] = []
        written: set[str] = set()
        below: set[str] = set()  # every ancestor of a written path
        for entry in entries:
            txn = entry["txn"]
            if txn.get("forbidden"):
                verdicts.append(False)
                continue
            ok = True
            for item in self.failed_preconditions(txn["pre"]):
                path = item[0]
                if path not in below and not any(a in written for a in ancestors(path)):
                    ok = False
                    break
            verdicts.append(ok)
            if ok:
                for path, op in txn["ops"]:
                    if op["op"] not in ("observe", "unobserve"):
                        written.add(path)
                        below.update(ancestors(path))
        return verdicts

    def _apply_write(self, txn: dict[str, Any], now: float, index: int) -> ApplyResult:
        if txn.get("forbidden"):
            return ApplyResult(ok=False, forbidden=True)
        failed = self.failed_preconditions(txn["pre"])
        if failed:
            keys = [str(item[2]) if len(item) > 2 else str(item[0]) for item in failed]
            return ApplyResult(ok=False, failed_precondition=failed[0][0], failed=keys)
        overflow = increment_overflow(txn, self.get)
        if overflow is not None:  # refused before proposing; here only after a race
            return ApplyResult(ok=False, failed_precondition=overflow, failed=[overflow])
        changed: list[str] = []
        query: dict[str, Any] = {}
        for path, op in txn["ops"]:
            name = op["op"]
            segments = _segments(path)
            query[path] = op
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
            elif name in MISSING_ONLY_SKIPPED and existing_prefix(self._tree, segments) < len(
                segments
            ):
                continue
            elif name == "delete":
                self._clear_ttls(path, include_self=True)
                self._tree, removed = remove(self._tree, segments)
                if removed:
                    changed.append(path)
            else:
                current = lookup(self._tree, segments)
                self._tree = put(self._tree, segments, operated(name, current, op))
                self._clear_ttls(path, include_self=name == "set")
                if name == "set" and "ttl" in op:
                    self._ttl[path] = now + float(op["ttl"])
                changed.append(path)
        client_id = txn.get("clientId")
        if client_id is not None:
            self._record_client_id(client_id, index)
        record: dict[str, Any] = {"index": index, "query": query}
        if client_id is not None:
            record["clientId"] = client_id
        self._remember(record)
        return ApplyResult(ok=True, changed=list(dict.fromkeys(changed)))

    def _apply_expire(self, keys: list[list[Any]], index: int) -> ApplyResult:
        changed: list[str] = []
        for path, expires_at in keys:
            if path in self._ttl and self._ttl[path] == float(expires_at):
                self._clear_ttls(path, include_self=True)
                self._tree, removed = remove(self._tree, _segments(path))
                if removed:
                    changed.append(path)
        if changed:
            self._remember({"index": index, "query": {p: {"op": "delete"} for p in changed}})
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
        """ArangoDB read: per query, the existing part of each path under its full path."""
        return [self.read_one(paths) for paths in queries]

    def read_one(self, raw_paths: list[str]) -> Any:
        """One query, exactly as ArangoDB's ``Store::read``.

        Paths are taken as written: sorted, exact duplicates and empty strings
        dropped. One path: the value nested under its path, or ``{}`` nested under
        the part of the path that exists. Several paths: a copy of each existing
        one, and for a missing one the objects ArangoDB creates on the way (it
        pops about half of the missing segments). Hidden keys (``.x``) are left
        out unless a path mentions one; keys come in byte order.
        """
        show_hidden = any(shows_hidden(p) for p in raw_paths)
        paths: list[str] = []
        for raw in sorted(raw_paths):
            if raw and (not paths or paths[-1] != raw):
                paths.append(raw)
        if len(paths) == 1:
            segments = split_path(paths[0])
            have = existing_prefix(self._tree, segments)
            if have == len(segments):
                inner = sorted_json(lookup(self._tree, segments), show_hidden)
            else:
                inner = {}
            return nest(segments[:have], inner)
        result: Any = {}
        for raw in paths:
            segments = split_path(raw)
            have = existing_prefix(self._tree, segments)
            if have == len(segments):
                result = put(_touch(result, segments), segments, lookup(self._tree, segments))
                continue
            popped = list(segments)
            count = 0
            while count < len(popped) - have + 1:
                popped.pop()
                count += 1
            result = _touch(result, popped)
        return sorted_json(result, show_hidden)

    def get(self, path: str) -> Any | None:
        """The plain value at ``path`` (a copy), or ``None`` if absent."""
        value = lookup(self._tree, split_path(path))
        return None if value is MISSING else copy_json(value)

    def dump(self) -> Any:
        """The whole tree, hidden keys included, in ArangoDB's key order (a copy)."""
        return sorted_json(self._tree)

    def history_since(self, index: int) -> list[dict[str, Any]] | None:
        """Applied writes and expiries from log ``index`` on, or ``None`` if no longer kept."""
        if index < self._history_from:
            return None
        return [copy_json(r) for r in self._history if r["index"] >= index]

    def _remember(self, record: dict[str, Any]) -> None:
        if len(self._history) >= HISTORY:
            self._history_from = self._history.popleft()["index"] + 1
        self._history.append(record)

    def stores_view(self) -> list[Any]:
        """ArangoDB's ``dumpToBuilder``: ``[tree, {path: expiry}, [{url: path}], [{path: url}]]``."""
        observers = [{url: path} for path, urls in self._observers.items() for url in urls]
        observed = [{path: url} for path, urls in self._observers.items() for url in urls]
        return [self.dump(), dict(sorted(self._ttl.items())), observers, observed]

    def due_expiries(self, now_wall: float) -> dict[str, Any] | None:
        """An ``expire`` entry for every path whose TTL passed by ``now_wall``, or ``None``."""
        keys = [[p, e] for p, e in sorted(self._ttl.items()) if e <= now_wall]
        return {"kind": "expire", "keys": keys} if keys else None

    def ttl_of(self, path: str) -> float | None:
        """The recorded expiry (leader wall seconds) of ``path``, if it has one."""
        return self._ttl.get(normalize_path(path))

    def observer_count(self) -> int:
        return sum(len(urls) for urls in self._observers.values())

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
            if not isinstance(index, int) or index < 0 or "tree" not in snap:
                raise ValueError("applied_index must be a non-negative int and tree present")
            store.applied_index = index
            store._history_from = index + 1
            store._tree = copy_json(tree)
            store._ttl = {normalize_path(p): float(e) for p, e in snap["ttls"]}
            store._observers = {
                normalize_path(p): [str(u) for u in urls] for p, urls in snap["observers"]
            }
            store._client_ids = {str(c): [int(i) for i in idx] for c, idx in snap["client_ids"]}
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed agency snapshot: {type(exc).__name__}: {exc}") from exc
        return store
