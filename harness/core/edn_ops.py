"""A fast path for the common line of a Jepsen ``history.edn``: one flat op map.

Jepsen (and our writer) put one op per line with the same keys in the same
order, e.g. ``{:type :ok, :f :read, :value [1 2], :process 3, :time 9, :index 4}``.
The key order of the first line becomes one regular expression, run over the
whole text in C; each line either matches it (keyword type and f, integer
index and time, an integer or keyword process, a value of integers, ``nil``
and vectors) or is handed back to the general EDN reader. The matched values
are turned into one JSON array and decoded at once. Anything unexpected
(another key order, strings, sets, tags, a value JSON cannot read) returns
``None`` for that part, so the result is always what the full reader gives.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FIELD = {
    "index": r"(-?\d+)",
    "time": r"(-?\d+)",
    "type": r":(invoke|ok|fail|info)",
    "f": r":([A-Za-z][\w.?!*+<>=/-]*)",
    "process": r"(-?\d+|:[A-Za-z][\w.-]*)",
    "value": r"([^,{}#;\\:\n]*)",
}
_FIRST_KEYS = re.compile(r"\s*\{((?::[a-z]+ [^,{}]*?, )*:[a-z]+ [^,{}]*?)\}\s*\n")
_KEY = re.compile(r"(?:^|, ):([a-z]+) ")
_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}
_STRING = re.compile(r'"[^"]*"')
_UNSAFE = re.compile(r"[\s\\]|nil")
_BAD = object()


@dataclass
class FastOps:
    """The ops of a history as columns (index, type, process, f, value, time), in
    file order, and the lines of another shape: ``(position, text, line number)``,
    each to be read by the general reader and put at ``position`` in the list."""

    columns: tuple[list[Any], ...]
    others: list[tuple[int, str, int]]


def _pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _PATTERNS.get(keys)
    if pattern is None:
        body = ", ".join(f":{k} {_FIELD[k]}" for k in keys)
        # each line is the fast shape (groups 1..n) or anything else (the last group)
        pattern = re.compile(rf"^(?:[ \t]*\{{{body}\}}[ \t,]*|(.*))$", re.M)
        _PATTERNS[keys] = pattern
    return pattern


def _keys(text: str) -> tuple[str, ...] | None:
    first = _FIRST_KEYS.match(text)
    if first is None:
        return None
    keys = tuple(_KEY.findall(first.group(1)))
    if len(set(keys)) != len(keys) or not {"type", "f", "process"} <= set(keys):
        return None
    if not set(keys) <= _FIELD.keys():
        return None
    return keys


def _values(texts: list[str]) -> list[Any] | None:
    """EDN values of numbers, nil, booleans, strings and vectors, decoded as JSON at once."""
    joined = ",".join(texts)
    if '"' in joined and any(_UNSAFE.search(t) for t in _STRING.findall(joined)):
        # a string holding a space, "nil" or an escape: each value on its own
        return [_one_value(t) for t in texts] if _all_read(texts) else None
    js = "[" + joined.replace(" ", ",").replace("nil", "null") + "]"
    js = js.replace("[,", "[").replace(",]", "]")
    while ",," in js:
        js = js.replace(",,", ",")
    try:
        decoded: list[Any] = json.loads(js)
    except ValueError:
        return None
    return decoded if len(decoded) == len(texts) else None


def _all_read(texts: list[str]) -> bool:
    return all(_one_value(t) is not _BAD for t in texts)


def _one_value(text: str) -> Any:
    from harness.core import edn

    try:
        return edn.loads(text)
    except edn.EdnError:
        return _BAD


def fast_ops(text: str) -> FastOps | None:
    """The history's lines as :class:`FastOps`, or ``None`` when the fast path does
    not apply (a whole-file vector, another shape on the first line)."""
    keys = _keys(text)
    if keys is None:
        return None
    rows = _pattern(keys).findall(text)
    at = {k: i for i, k in enumerate(keys)}
    other, it = len(keys), at["type"]
    others: list[tuple[int, str, int]] = []
    fast = rows
    if any(row[other] for row in rows):
        fast = []
        for n, row in enumerate(rows, 1):
            if row[it]:
                fast.append(row)
            elif row[other].strip(" \t\r,"):
                others.append((len(fast) + len(others), row[other], n))
    else:
        fast = [row for row in rows if row[it]]
    if not fast:
        return None
    cols = list(zip(*fast, strict=True))
    values = _values(list(cols[at["value"]])) if "value" in at else [None] * len(fast)
    if values is None:
        return None
    index = list(map(int, cols[at["index"]])) if "index" in at else _positions(fast, others)
    time = list(map(int, cols[at["time"]])) if "time" in at else [0] * len(fast)
    process = [p[1:] if p[0] == ":" else int(p) for p in cols[at["process"]]]
    columns = (index, list(cols[it]), process, list(cols[at["f"]]), values, time)
    return FastOps(columns, others)


def _positions(fast: list[Any], others: list[tuple[int, str, int]]) -> list[int]:
    """Without ``:index``, an op's index is its position among all ops."""
    taken = {pos for pos, _, _ in others}
    return [i for i in range(len(fast) + len(others)) if i not in taken]
