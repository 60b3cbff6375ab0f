"""Validation of agency request bodies into the normalized form the Raft log stores.

A ``/_api/agency/write`` body is an array of transactions; each transaction
is ``[updates]``, ``[updates, preconditions]`` or ``[updates, preconditions,
clientId]``. :func:`parse_write` turns every transaction into one log entry::

    {"kind": "write", "now": <leader wall seconds>,
     "txn": {"ops": [[path, op], ...], "pre": [[path, condition, key], ...],
             "clientId": str | None, "forbidden": bool}}

with normalized paths (``"/a/b"``, repeated slashes collapsed), updates in
ArangoDB's application order (sorted by normalized path, as ``Store::applies``
does), fully spelled-out operations (``{"op": "set", "new": v, "ttl": s?}``,
``{"op": "increment", "step": n}``, ``{"op": "erase", "val": v}`` or ``"pos"``,
``{"op": "push-queue", "new": v, "len": n}``, ``{"op": "observe", "url": u}``,
...) and conditions (any of ``old``, ``oldNot``, ``oldEmpty``, ``isArray``,
``in``, ``notin``, ``intersectionEmpty``; an operator ArangoDB does not know
is kept under ``unknown`` and fails, as in ArangoDB). ``key`` is the
precondition's path as the client wrote it (reported by ``transact``).
``forbidden`` marks a transaction that writes below ``/.agency``: it is
answered 403 and never proposed. Applying an entry never needs to validate
again, so every agent applies it the same way.

A ``/_api/agency/transact`` body mixes such transactions with reads (an array
of path strings); :func:`parse_transact` tells them apart.
"""

from __future__ import annotations

import math
from typing import Any

from cluster.agency.tree_ops import as_int64
from cluster.agency.tree_paths import (
    PathError,
    check_json_value,
    is_count,
    is_number,
    is_reserved,
    normalize_path,
    split_path,
)
from cluster.common.errors import (
    ERROR_AGENCY_MALFORMED_TRANSACTION,
    ERROR_HTTP_BAD_PARAMETER,
    ArangoError,
)

MAX_TTL = 10 * 365 * 24 * 3600.0
MAX_URL_LENGTH = 2048
MAX_CLIENT_ID_LENGTH = 256
MAX_OPS = 1_000_000
"""Most updates plus preconditions in one body (ArangoDB's own test writes 20,000 transactions)."""

VALUE_OPS = frozenset({"set", "push", "prepend"})
STEP_OPS = frozenset({"increment", "decrement"})
BARE_OPS = frozenset({"delete", "pop", "shift"})
ARRAY_OPS = frozenset({"erase", "replace", "push-queue"})
URL_OPS = frozenset({"observe", "unobserve"})
ALL_OPS = VALUE_OPS | STEP_OPS | BARE_OPS | ARRAY_OPS | URL_OPS
MISSING_ONLY_SKIPPED = frozenset({"delete", "erase", "replace"})
"""Operations ArangoDB skips when their path does not exist (they create nothing)."""
BOOL_CONDITIONS = ("oldEmpty", "isArray")
VALUE_CONDITIONS = ("old", "oldNot", "in", "notin", "intersectionEmpty")
CONDITIONS = ("old", "oldNot", "oldEmpty", "isArray", "in", "notin", "intersectionEmpty")


def _malformed(message: str) -> ArangoError:
    return ArangoError(400, ERROR_AGENCY_MALFORMED_TRANSACTION, message)


def _path(raw: Any, where: str) -> str:
    try:
        return normalize_path(raw)
    except PathError as exc:
        raise _malformed(f"{where}: {exc}") from exc


def _value(value: Any, where: str) -> Any:
    try:
        check_json_value(value, where)
    except ValueError as exc:
        raise _malformed(str(exc)) from exc
    return value


def _parse_op(raw_path: Any, spec: Any, where: str) -> list[Any]:
    """One update ``path: value-or-operation`` as ``[path, op]``."""
    path = _path(raw_path, where)
    if not isinstance(spec, dict) or "op" not in spec:
        return [path, {"op": "set", "new": _value(spec, f"{where}: value for '{path}'")}]
    name = spec["op"]
    if not isinstance(name, str) or name not in ALL_OPS:
        raise _malformed(
            f"{where}: unknown operation {name!r} on '{path}' (known: {', '.join(sorted(ALL_OPS))})"
        )
    at = f"{where}: {name} on '{path}'"
    if "ttl" in spec and name != "set":
        raise _malformed(f"{at}: 'ttl' is only allowed with op 'set'")
    op: dict[str, Any] = {"op": name}
    if name in VALUE_OPS or name in ("replace", "push-queue"):
        if "new" not in spec:
            raise _malformed(f"{at}: missing 'new'")
        op["new"] = _value(spec["new"], f"{at}: 'new'")
    if name == "set" and "ttl" in spec:
        ttl = spec["ttl"]
        if not is_number(ttl) or not math.isfinite(ttl) or not 0 < ttl <= MAX_TTL:
            raise _malformed(
                f"{at}: 'ttl' must be a positive number of seconds up to {MAX_TTL:.0f}"
            )
        op["ttl"] = float(ttl)
    elif name in STEP_OPS:
        step = spec.get("step", 1)
        if not is_number(step) or not math.isfinite(step):
            raise _malformed(f"{at}: 'step' must be a number")
        op["step"] = as_int64(step)
    elif name == "erase":
        if ("val" in spec) == ("pos" in spec):
            raise _malformed(f"{at}: needs exactly one of 'val' and 'pos'")
        if "val" in spec:
            op["val"] = _value(spec["val"], f"{at}: 'val'")
        elif not is_count(spec["pos"]):
            raise _malformed(f"{at}: 'pos' must be a non-negative integer")
        else:
            op["pos"] = int(spec["pos"])
    elif name == "replace":
        if "val" not in spec:
            raise _malformed(f"{at}: missing 'val'")
        op["val"] = _value(spec["val"], f"{at}: 'val'")
    elif name == "push-queue":
        if not is_count(spec.get("len")):
            raise _malformed(f"{at}: 'len' must be a non-negative integer")
        op["len"] = int(spec["len"])
    elif name in URL_OPS:
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _malformed(f"{at}: 'url' must be an http:// or https:// URL")
        if len(url) > MAX_URL_LENGTH:
            raise _malformed(f"{at}: 'url' is longer than {MAX_URL_LENGTH} characters")
        op["url"] = url
    return [path, op]


def _parse_condition(raw_path: Any, spec: Any, where: str) -> list[Any]:
    """One precondition ``path: value-or-condition`` as ``[path, condition, key]``.

    A non-object compares with ``old``; an object holds operators, all of which
    must hold (an empty object holds). An operator ArangoDB does not know is
    recorded under ``unknown`` and fails the precondition, as in ArangoDB.
    """
    path = _path(raw_path, where)
    at = f"{where}: precondition on '{path}'"
    if not isinstance(spec, dict):
        return [path, {"old": _value(spec, at)}, raw_path]
    cond: dict[str, Any] = {}
    unknown: list[str] = []
    for key in sorted(spec):
        if key in BOOL_CONDITIONS:
            if not isinstance(spec[key], bool):
                raise _malformed(f"{at}: '{key}' must be true or false")
            cond[key] = spec[key]
        elif key in VALUE_CONDITIONS:
            cond[key] = _value(spec[key], f"{at}: '{key}'")
        else:
            unknown.append(key)
    if unknown:
        cond["unknown"] = unknown
    return [path, cond, raw_path]


def parse_transaction(raw: Any, position: int) -> dict[str, Any]:
    """One transaction of a write body in normalized form."""
    where = f"transaction {position}"
    if not isinstance(raw, list) or not 1 <= len(raw) <= 3:
        raise _malformed(f"{where}: must be an array [updates, preconditions?, clientId?]")
    updates = raw[0]
    if not isinstance(updates, dict):
        raise _malformed(
            f"{where}: updates must be an object mapping paths to values or operations"
        )
    preconditions = raw[1] if len(raw) > 1 else {}
    if not isinstance(preconditions, dict):
        raise _malformed(f"{where}: preconditions must be an object mapping paths to conditions")
    client_id = raw[2] if len(raw) > 2 else None
    if client_id is not None:
        if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID_LENGTH:
            raise _malformed(
                f"{where}: clientId must be a non-empty string of at most {MAX_CLIENT_ID_LENGTH} characters"
            )
    ops = [_parse_op(path, spec, where) for path, spec in updates.items()]
    ops.sort(key=lambda item: str(item[0]))  # stable: equal paths keep the body's order
    forbidden = any(is_reserved(path) or _writes_reserved_at_root(path, op) for path, op in ops)
    return {
        "ops": ops,
        "pre": [
            _parse_condition(path, preconditions[path], where) for path in sorted(preconditions)
        ],
        "clientId": client_id,
        "forbidden": forbidden,
    }


def _writes_reserved_at_root(path: str, op: dict[str, Any]) -> bool:
    """A root ``set`` whose new value would create ``/.agency``."""
    if path != "/" or op["op"] != "set" or not isinstance(op["new"], dict):
        return False
    return any(is_reserved(_normalized_or_root(k)) for k in op["new"])


def _normalized_or_root(raw: str) -> str:
    try:
        return normalize_path(raw)
    except PathError:
        return "/"


def _count_ops(body: list[Any], max_ops: int) -> None:
    total = 0
    for raw in body:
        if isinstance(raw, list):
            total += sum(len(part) for part in raw[:2] if isinstance(part, dict))
    if total > max_ops:
        raise _malformed(f"body holds {total} operations and preconditions; the limit is {max_ops}")


def parse_write(body: Any, now_wall: float, max_ops: int = MAX_OPS) -> list[dict[str, Any]]:
    """Validate a write body; one ``{"kind": "write", ...}`` log entry per transaction.

    Raises :class:`ArangoError` (400) naming the transaction and the reason.
    """
    if not isinstance(body, list):
        raise _malformed("body must be an array of transactions")
    _count_ops(body, max_ops)
    return [
        {"kind": "write", "txn": parse_transaction(raw, i), "now": now_wall}
        for i, raw in enumerate(body)
    ]


def parse_transient(body: Any, now_wall: float, max_ops: int = MAX_OPS) -> list[Any]:
    """Transient bodies are transact bodies (writes are replicated like ordinary writes here)."""
    return parse_transact(body, now_wall, max_ops)


def parse_transact(body: Any, now_wall: float, max_ops: int = MAX_OPS) -> list[Any]:
    """Validate a transact body: per item, a write log entry or a read (a list of paths)."""
    if not isinstance(body, list):
        raise _malformed("body must be an array of transactions and reads")
    _count_ops(body, max_ops)
    items: list[Any] = []
    for i, raw in enumerate(body):
        if isinstance(raw, list) and raw and isinstance(raw[0], str):
            items.append(_read_query(raw, i))
        else:
            items.append({"kind": "write", "txn": parse_transaction(raw, i), "now": now_wall})
    return items


def _read_query(query: Any, i: int) -> list[str]:
    if not isinstance(query, list):
        raise ArangoError(
            400, ERROR_HTTP_BAD_PARAMETER, f"read query {i}: must be an array of path strings"
        )
    for raw in query:
        try:
            split_path(raw)
        except PathError as exc:
            raise ArangoError(400, ERROR_HTTP_BAD_PARAMETER, f"read query {i}: {exc}") from exc
    return list(query)


def parse_read(body: Any) -> list[list[str]]:
    """Validate a read body ``[["/a", "/b"], ...]``; the paths per query, as the client wrote them.

    ArangoDB's read works on the paths as written (sorting, duplicate removal and
    the hidden-key rule look at the raw strings), so they are kept raw.
    """
    if not isinstance(body, list):
        raise ArangoError(
            400, ERROR_HTTP_BAD_PARAMETER, "read body must be an array of arrays of paths"
        )
    return [_read_query(query, i) for i, query in enumerate(body)]
