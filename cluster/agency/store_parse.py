"""Validation of agency request bodies into the normalized form the Raft log stores.

A ``/_api/agency/write`` body is an array of transactions; each transaction
is ``[updates]``, ``[updates, preconditions]`` or ``[updates, preconditions,
clientId]``. :func:`parse_write` turns every transaction into one log entry::

    {"kind": "write", "now": <leader wall seconds>,
     "txn": {"ops": [[path, op], ...], "pre": [[path, condition], ...],
             "clientId": str | None}}

with normalized paths (``"/a/b"``) and fully spelled-out operations
(``{"op": "set", "new": v, "ttl": s?}``, ``{"op": "increment", "step": n}``,
``{"op": "push", "new": v}``, ``{"op": "observe", "url": u}``, ...) and
conditions (any of ``old``, ``oldNot``, ``oldEmpty``, ``isArray``). Applying
such an entry never needs to validate again, so every agent applies it the
same way.
"""

from __future__ import annotations

import math
from typing import Any

from cluster.agency.tree_paths import PathError, check_json_value, is_number, normalize_path
from cluster.common.errors import (
    ERROR_AGENCY_MALFORMED_TRANSACTION,
    ERROR_HTTP_BAD_PARAMETER,
    ArangoError,
)

MAX_TTL = 10 * 365 * 24 * 3600.0
MAX_URL_LENGTH = 2048
MAX_CLIENT_ID_LENGTH = 256

VALUE_OPS = frozenset({"set", "push", "prepend"})
STEP_OPS = frozenset({"increment", "decrement"})
BARE_OPS = frozenset({"delete", "pop", "shift"})
URL_OPS = frozenset({"observe", "unobserve"})
ALL_OPS = VALUE_OPS | STEP_OPS | BARE_OPS | URL_OPS
CONDITIONS = ("old", "oldNot", "oldEmpty", "isArray")


def _malformed(message: str) -> ArangoError:
    return ArangoError(400, ERROR_AGENCY_MALFORMED_TRANSACTION, message)


def _path(raw: Any, where: str, allow_root: bool) -> str:
    try:
        path = normalize_path(raw)
    except PathError as exc:
        raise _malformed(f"{where}: {exc}") from exc
    if path == "/" and not allow_root:
        raise _malformed(f"{where}: the root '/' cannot be written")
    return path


def _value(value: Any, where: str) -> Any:
    try:
        check_json_value(value, where)
    except ValueError as exc:
        raise _malformed(str(exc)) from exc
    return value


def _parse_op(raw_path: Any, spec: Any, where: str) -> list[Any]:
    """One update ``path: value-or-operation`` as ``[path, op]``."""
    if not isinstance(spec, dict) or "op" not in spec:
        path = _path(raw_path, where, allow_root=False)
        return [path, {"op": "set", "new": _value(spec, f"{where}: value for '{path}'")}]
    name = spec["op"]
    if not isinstance(name, str) or name not in ALL_OPS:
        raise _malformed(
            f"{where}: unknown operation {name!r} (known: {', '.join(sorted(ALL_OPS))})"
        )
    path = _path(raw_path, where, allow_root=name in URL_OPS)
    at = f"{where}: {name} on '{path}'"
    if "ttl" in spec and name != "set":
        raise _malformed(f"{at}: 'ttl' is only allowed with op 'set'")
    op: dict[str, Any] = {"op": name}
    if name in VALUE_OPS:
        if "new" not in spec:
            raise _malformed(f"{at}: missing 'new'")
        op["new"] = _value(spec["new"], f"{at}: 'new'")
        if "ttl" in spec:
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
        op["step"] = step
    elif name in URL_OPS:
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _malformed(f"{at}: 'url' must be an http:// or https:// URL")
        if len(url) > MAX_URL_LENGTH:
            raise _malformed(f"{at}: 'url' is longer than {MAX_URL_LENGTH} characters")
        op["url"] = url
    return [path, op]


def _parse_condition(raw_path: Any, spec: Any, where: str) -> list[Any]:
    """One precondition ``path: value-or-condition`` as ``[path, condition]``."""
    path = _path(raw_path, where, allow_root=True)
    at = f"{where}: precondition on '{path}'"
    if not isinstance(spec, dict):
        return [path, {"old": _value(spec, at)}]
    if not spec:
        raise _malformed(f'{at} is an empty object (use {{"old": {{}}}} to compare with {{}})')
    unknown = [k for k in spec if k not in CONDITIONS]
    if unknown:
        raise _malformed(
            f"{at}: unknown precondition {unknown[0]!r} (known: {', '.join(CONDITIONS)})"
        )
    cond: dict[str, Any] = {}
    for key in CONDITIONS:
        if key not in spec:
            continue
        if key in ("oldEmpty", "isArray"):
            if not isinstance(spec[key], bool):
                raise _malformed(f"{at}: '{key}' must be true or false")
            cond[key] = spec[key]
        else:
            cond[key] = _value(spec[key], f"{at}: '{key}'")
    return [path, cond]


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
    return {
        "ops": [_parse_op(path, spec, where) for path, spec in updates.items()],
        "pre": [_parse_condition(path, spec, where) for path, spec in preconditions.items()],
        "clientId": client_id,
    }


def parse_write(body: Any, now_wall: float, max_ops: int = 10000) -> list[dict[str, Any]]:
    """Validate a write body; one ``{"kind": "write", ...}`` log entry per transaction.

    Raises :class:`ArangoError` (400) naming the transaction and the reason.
    """
    if not isinstance(body, list):
        raise _malformed("body must be an array of transactions")
    total = 0
    for raw in body:
        if isinstance(raw, list):
            total += sum(len(part) for part in raw[:2] if isinstance(part, dict))
    if total > max_ops:
        raise _malformed(f"body holds {total} operations and preconditions; the limit is {max_ops}")
    return [
        {"kind": "write", "txn": parse_transaction(raw, i), "now": now_wall}
        for i, raw in enumerate(body)
    ]


def parse_transient(body: Any, now_wall: float, max_ops: int = 10000) -> list[dict[str, Any]]:
    """Transient writes are replicated like ordinary writes here (see ``parse_write``)."""
    return parse_write(body, now_wall, max_ops)


def parse_read(body: Any) -> list[list[str]]:
    """Validate a read body ``[["/a", "/b"], ...]``; the normalized paths per query."""
    if not isinstance(body, list):
        raise ArangoError(
            400, ERROR_HTTP_BAD_PARAMETER, "read body must be an array of arrays of paths"
        )
    queries: list[list[str]] = []
    for i, query in enumerate(body):
        if not isinstance(query, list):
            raise ArangoError(
                400, ERROR_HTTP_BAD_PARAMETER, f"read query {i}: must be an array of path strings"
            )
        paths: list[str] = []
        for raw in query:
            try:
                paths.append(normalize_path(raw))
            except PathError as exc:
                raise ArangoError(400, ERROR_HTTP_BAD_PARAMETER, f"read query {i}: {exc}") from exc
        queries.append(paths)
    return queries
