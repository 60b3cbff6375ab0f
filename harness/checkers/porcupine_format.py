"""Porcupine's operation format, both ways.

Porcupine (``github.com/anishathalye/porcupine``) checks a list of
``Operation{ClientId, Input, Call, Output, Return}``. Its JSON form here is
that struct as Go's ``encoding/json`` writes it, with register inputs and
outputs::

    {"ClientId": 0, "Call": 3, "Return": 7,
     "Input": {"Op": "cas", "Key": "1", "Value": "", "Old": "4", "New": "5"},
     "Output": {"Value": "", "Unknown": false}}

``Key``, ``Value``, ``Old`` and ``New`` are the JSON text of our values (so
Go compares them as strings; the initial state is ``"null"``). ``Call`` and
``Return`` are history indices. What does not constrain a linearization is
left out, as our checker does: ``fail`` ops, and reads that did not complete
``ok``. An op that ended ``info`` (or never completed) has ``Unknown: true``
and a ``Return`` after every other op: it may take effect at any time, and
taking effect at the very end is the same as never.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harness.checkers.lin_prepare import is_keyed
from harness.core.history import Op, pair_ops

FORMAT = "porcupine"


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def to_porcupine(ops: Sequence[Op]) -> list[dict[str, Any]]:
    """Our (or Jepsen's) register history as Porcupine operations."""
    pairs = pair_ops(ops)
    keyed = is_keyed(pairs)
    late = max((op.index for op in ops), default=0) + 1
    clients: dict[Any, int] = {}
    out: list[dict[str, Any]] = []
    for pair in pairs:
        inv, done = pair.invoke, pair.complete
        kind = pair.type
        if kind == "fail" or (inv.f == "read" and kind != "ok"):
            continue
        raw = done.value if inv.f == "read" and done is not None else inv.value
        key: Any = None
        if keyed and isinstance(raw, list | tuple) and len(raw) == 2:
            key, raw = raw[0], raw[1]
        elif keyed and isinstance(inv.value, list | tuple) and inv.value:
            key = inv.value[0]
        entry_in: dict[str, str] = {
            "Op": inv.f,
            "Key": _text(key),
            "Value": "",
            "Old": "",
            "New": "",
        }
        entry_out: dict[str, Any] = {"Value": "", "Unknown": kind != "ok"}
        if inv.f == "read":
            entry_out["Value"] = _text(raw)
        elif inv.f == "write":
            entry_in["Value"] = _text(raw)
        elif inv.f == "cas" and isinstance(raw, list | tuple) and len(raw) == 2:
            entry_in["Old"], entry_in["New"] = _text(raw[0]), _text(raw[1])
        else:
            raise ValueError(f"index {inv.index}: {inv.f!r} is not a register operation")
        client = clients.setdefault(inv.process, len(clients))
        out.append(
            {
                "ClientId": client,
                "Input": entry_in,
                "Call": inv.index,
                "Output": entry_out,
                "Return": done.index if kind == "ok" and done is not None else late,
            }
        )
        if kind != "ok":
            late += 1
    return out


def dumps(ops: Sequence[Op]) -> str:
    """Porcupine JSON text for a history."""
    return json.dumps(to_porcupine(ops), separators=(",", ":"))


def looks_like_porcupine(head: str) -> bool:
    """Whether the start of a file is Porcupine JSON (a list of objects with ``ClientId``)."""
    text = head.lstrip()
    return text.startswith("[") and '"ClientId"' in text[:2000]


def from_porcupine(data: Any, source: str = "<porcupine>") -> list[Op]:
    """Porcupine operations (decoded JSON) as a history of invocations and completions."""
    if not isinstance(data, list):
        raise ValueError(f"{source}: expected a JSON list of operations")
    events: list[tuple[int, int, int, Op]] = []
    for n, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ValueError(f"{source}: operation {n} is not an object")
        inp, outp = entry.get("Input"), entry.get("Output")
        call, ret = entry.get("Call"), entry.get("Return")
        if not isinstance(inp, dict) or not isinstance(call, int) or not isinstance(ret, int):
            raise ValueError(f"{source}: operation {n} needs Input, Call and Return")
        outp = outp if isinstance(outp, dict) else {}
        f = inp.get("Op")
        if f not in ("read", "write", "cas"):
            raise ValueError(f"{source}: operation {n}: unknown Op {f!r}")
        process = entry.get("ClientId", n)
        key = _value(inp.get("Key", "null"), source, n)
        if f == "read":
            arg: Any = None
        elif f == "write":
            arg = _value(inp.get("Value"), source, n)
        else:
            arg = [_value(inp.get("Old"), source, n), _value(inp.get("New"), source, n)]
        unknown = bool(outp.get("Unknown"))
        result: Any = arg
        if f == "read" and not unknown:
            result = _value(outp.get("Value"), source, n)
        invoke = Op(0, "invoke", process, f, [key, arg])
        events.append((call, 0, n, invoke))
        if not unknown:
            events.append((ret, 1, n, Op(0, "ok", process, f, [key, result])))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    ops: list[Op] = []
    for index, (t, _, _, op) in enumerate(events):
        op.index = index
        op.time = t
        ops.append(op)
    return ops


def _value(text: Any, source: str, n: int) -> Any:
    if not isinstance(text, str):
        raise ValueError(f"{source}: operation {n}: expected JSON text, got {text!r}")
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: operation {n}: bad JSON value {text!r}: {exc.msg}") from None
