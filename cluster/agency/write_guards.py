"""Writes the agency refuses before proposing them: overflowing arithmetic, stray observers.

* ``increment`` / ``decrement`` whose result would leave the signed 64-bit
  range (ArangoDB keeps agency integers as ``int64``; a JSON reader such as
  JavaScript would see ``Infinity``): the whole request is refused with 400
  and nothing changes. The store checks the same when it applies an entry
  (a race with another write between the check and the commit): such a
  transaction then fails like a failed precondition, on every agent alike.
* ``observe`` callbacks go only to cluster members (the agents' pool, the
  endpoints servers registered in ``Sync/ServerStates``) or to URLs under an
  ``--observer-allow`` prefix (403 otherwise: the agency would POST wherever
  an observer points, a server-side request forgery), and the agency keeps
  at most ``--max-observers`` registrations (400 beyond).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from cluster.agency.tree_ops import INT64_MAX, INT64_MIN, as_int64, expand, lookup
from cluster.agency.tree_paths import ancestors
from cluster.common.errors import ERROR_FORBIDDEN, ArangoError, bad_parameter

SERVER_STATES = "/arango/Sync/ServerStates"
STEP_OPS = ("increment", "decrement")


def _base(txn: dict[str, Any], before: int, path: str, current: Callable[[str], Any]) -> Any:
    """The value at ``path`` once the ops of ``txn`` before position ``before`` are applied.

    Ops apply in normalized-path order, so only ops at ancestors of ``path``
    come earlier; of those only a ``set`` leaves something below itself.
    """
    above = set(ancestors(path))
    for prior, op in reversed(txn["ops"][:before]):
        if prior in above:
            if op["op"] != "set":
                return None
            rest = [s for s in path[len(prior) :].split("/") if s]
            return lookup(expand(op["new"]), rest)
    return current(path)


def increment_overflow(txn: dict[str, Any], current: Callable[[str], Any]) -> str | None:
    """The path of the first ``increment``/``decrement`` of ``txn`` leaving int64, else None."""
    for i, (path, op) in enumerate(txn["ops"]):
        if op["op"] not in STEP_OPS:
            continue
        base = as_int64(_base(txn, i, path, current))
        result = base + op["step"] if op["op"] == "increment" else base - op["step"]
        if not INT64_MIN <= result <= INT64_MAX:
            return str(path)
    return None


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme, (parts.hostname or "").lower(), port


def observer_allowed(url: str, members: Iterable[str], allow: Iterable[str]) -> bool:
    """Whether callbacks may go to ``url``: a member's origin, or under an allowed prefix."""
    origin = _origin(url)
    if origin is None:
        return False
    if any(_origin(m) == origin for m in members):
        return True
    path = urlsplit(url).path or "/"
    for prefix in allow:
        if _origin(prefix) == origin and path.startswith(urlsplit(prefix).path or "/"):
            return True
    return False


def member_urls(pool: Iterable[str], server_states: Any) -> list[str]:
    """The agents' URLs and the endpoints servers registered under ``Sync/ServerStates``."""
    urls = list(pool)
    if isinstance(server_states, dict):
        for state in server_states.values():
            endpoint = state.get("endpoint") if isinstance(state, dict) else None
            if isinstance(endpoint, str):
                urls.append(endpoint)
    return urls


def check_writes(
    entries: list[dict[str, Any]],
    current: Callable[[str], Any],
    members: list[str],
    allow: list[str],
    observers: int,
    max_observers: int,
) -> None:
    """Raise the answer (400/403) for write entries the agency refuses; None if all may go."""
    added = 0
    for entry in entries:
        txn = entry["txn"]
        path = increment_overflow(txn, current)
        if path is not None:
            raise bad_parameter(f"{path}: the result would leave the 64-bit integer range")
        for path, op in txn["ops"]:
            if op["op"] != "observe":
                continue
            if not observer_allowed(op["url"], members, allow):
                raise ArangoError(
                    403,
                    ERROR_FORBIDDEN,
                    f"{path}: observer URL {op['url'][:200]!r} is neither a cluster member "
                    "nor on the agency's --observer-allow list",
                )
            added += 1
    if added and observers + added > max_observers:
        raise bad_parameter(
            f"too many observers: {observers} registered, at most {max_observers} allowed"
        )
