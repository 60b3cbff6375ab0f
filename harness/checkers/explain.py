"""Counterexamples a person can read: what ``afcheck check --explain`` prints.

For each failing key of a linearizability result: the operation that cannot
be placed, the longest linearizable prefix found (its last operations, with
the state after each), the model states tried at that point, and the window
of operations around it drawn on a per-process timeline, as Porcupine's
visualisation does. The data come from the result's evidence
(``failures[].explain``), so the HTML report can draw the same thing.

For set-full results: each lost or stale element with the operations that
bracket it.
"""

from __future__ import annotations

from typing import Any

_WIDTH = 60


def _op_text(op: dict[str, Any]) -> str:
    value = op.get("value")
    if isinstance(value, list) and len(value) == 2:
        value = value[1]
    shown = "nil" if value is None else value
    return f"{op.get('f')} {shown}"


def timeline(ops: list[dict[str, Any]]) -> list[str]:
    """One row per process: each op as a bar from invocation to completion (history index)."""
    if not ops:
        return []
    starts = [int(o["index"]) for o in ops]
    ends = [int(o["end-index"]) if o.get("end-index") is not None else None for o in ops]
    lo = min(starts)
    hi = max([*starts, *(e for e in ends if e is not None)]) + 1
    scale = max(1.0, (hi - lo) / _WIDTH)
    rows: dict[str, list[str]] = {}
    labels: dict[str, list[str]] = {}
    for op, start, end in zip(ops, starts, ends, strict=True):
        proc = str(op.get("process"))
        row = rows.setdefault(proc, [" "] * (_WIDTH + 2))
        a = int((start - lo) / scale)
        b = _WIDTH + 1 if end is None else max(a, int((end - lo) / scale))
        for x in range(a, min(b, _WIDTH + 1) + 1):
            row[x] = "-"
        row[a] = "|"
        if end is not None:
            row[min(b, _WIDTH + 1)] = "|"
        else:
            row[_WIDTH + 1] = ">"
        outcome = op.get("outcome", "ok")
        mark = "" if outcome == "ok" else f" ({outcome})"
        labels.setdefault(proc, []).append(f"{_op_text(op)}{mark} @{start}")
    width = max(len(p) for p in rows)
    return [
        f"  p{proc:<{width}} {''.join(row)}  {'; '.join(labels[proc])}"
        for proc, row in sorted(rows.items(), key=lambda kv: kv[0])
    ]


def _linearizable_lines(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for failure in result.get("failures", []):
        ex = failure.get("explain") or {}
        lines.append(str(failure.get("explanation", "")))
        blocked = ex.get("blocked")
        if blocked:
            lines.append(
                f"  cannot be placed: {_op_text(blocked)} by process {blocked.get('process')} "
                f"(index {blocked.get('index')}, {blocked.get('outcome')})"
            )
        if ex.get("method") == "search":
            lines.append(
                f"  longest linearizable prefix: {ex.get('prefix-length')} ops "
                f"({ex.get('prefix-completed')} of {ex.get('completed-ops')} completed ops)"
            )
            for op in ex.get("prefix-tail", []):
                lines.append(
                    f"    p{op.get('process')} {_op_text(op):<16} -> {op.get('state-after')}"
                )
            lines.append(f"  model states tried there: {', '.join(ex.get('states-tried', []))}")
        window = ex.get("window-ops") or []
        if window:
            lines.append("  window (history index; | invoked/completed, > never completed):")
            lines.extend(timeline(window))
    for item in result.get("undecided", []):
        lines.append(
            f"key {item.get('key')!r}: undecided: {item.get('reason')} (bound {item.get('bound')}); "
            f"longest prefix proven linearizable covers {item.get('prefix-completed')} of "
            f"{item.get('completed-ops')} completed ops"
        )
    return lines


def lost_text(item: dict[str, Any]) -> str:
    """One lost element with the ops bracketing it (history indices)."""
    parts = [f"lost {item.get('element')!r}:"]
    if item.get("ack_index") is not None:
        parts.append(f"add acknowledged at index {item['ack_index']}")
    else:
        parts.append("add never acknowledged (a read saw it)")
    if item.get("last_seen") is not None:
        parts.append(f"last seen by the read invoked at index {item['last_seen']}")
    parts.append(f"missing from the read invoked at index {item.get('missed_by')}")
    return " ".join(parts[:2]) + "; " + "; ".join(parts[2:])


def _set_lines(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    details = result.get("lost-details")
    for item in details[:50] if isinstance(details, list) else []:
        if isinstance(item, dict):
            lines.append("  " + lost_text(item))
    worst = result.get("worst-stale")
    for item in worst if isinstance(worst, list) else []:
        if isinstance(item, dict):
            lines.append("  " + stale_text(item))
    return lines


def stale_text(item: dict[str, Any]) -> str:
    """One stale element: how long reads missed it, and the ops bracketing that."""
    ms = int(item.get("stable-latency") or 0) / 1e6
    text = f"stale {item.get('element')!r}: reads missed it for {ms:.0f} ms after it was known"
    parts = []
    if item.get("known_index") is not None:
        parts.append(f"known at index {item['known_index']}")
    if item.get("missed_by") is not None:
        parts.append(f"last missed by the read invoked at index {item['missed_by']}")
    if item.get("seen_again") is not None:
        parts.append(f"seen again by the read invoked at index {item['seen_again']}")
    return text + ("; " + "; ".join(parts) if parts else "")


def render(result: dict[str, Any]) -> str:
    """The explanation of one result (``CheckResult.to_json()``) as text."""
    lines = _linearizable_lines(result) if "failures" in result else _set_lines(result)
    return "\n".join(lines)
