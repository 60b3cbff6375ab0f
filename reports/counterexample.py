"""The counterexample of a non-linearizable key, drawn as Porcupine draws it.

For each failing key of ``results.json``'s linearizability result: the
operation that cannot be placed, the longest linearizable prefix the search
found (its last operations with the model's state after each), the states the
model could be in there, and the smallest window of operations around the
point on a per-process timeline with the stuck operation outlined. A key
decided by the unique-value fast path shows its reason and the operations
that conflict instead of a prefix. Undecided keys list the bound that stopped
them. For set-full: each lost element with the operations bracketing it (the
add's acknowledgement, the last read that saw it, the read that missed it), and
the stalest elements. The same data ``afcheck check --explain`` prints as text.
"""

from __future__ import annotations

from harness.checkers.linearizable_result import Counterexample, UndecidedKey, WindowOp
from harness.checkers.set_full_result import SetFullResult
from reports import charts
from reports.html import code, h, long_table, note, raw, table


def _value(op: WindowOp) -> str:
    value = op.value
    if isinstance(value, list) and len(value) == 2:
        value = value[1]  # an independent [key value] tuple: the key is the heading
    if isinstance(value, list):
        return " -> ".join("nil" if v is None else str(v) for v in value)
    return "nil" if value is None else str(value)


def op_text(op: WindowOp) -> str:
    """``read 44``, ``cas 1 -> 2``: an operation as the explanation names it."""
    return f"{op.f} {_value(op)}"


def _where(op: WindowOp) -> str:
    done = "never completed" if op.end_index is None else f"completed at {op.end_index}"
    return f"invoked at history index {op.index}, {done}, {op.outcome}"


def _op_rows(ops: list[WindowOp], with_state: bool = False) -> list[list[object]]:
    rows: list[list[object]] = []
    for op in ops:
        row: list[object] = [
            f"p{op.process}",
            raw(code(op_text(op))),
            raw(h("" if op.index is None else op.index), True),
            raw(h("" if op.end_index is None else op.end_index), True),
            op.outcome,
        ]
        if with_state:
            row.append(raw(code(op.state_after or "")))
        rows.append(row)
    return rows


_OP_HEADERS = ["process", "operation", "invoked (index)", "completed (index)", "outcome"]


def counterexample(ex: Counterexample) -> str:
    """The HTML of one failing key's counterexample."""
    body = ""
    blocked = ex.blocked
    if blocked is not None:
        body += (
            '<p class="blocked">Cannot be placed: '
            f"<b>{h(f'p{blocked.process} ')}{code(op_text(blocked))}</b> "
            f"({h(_where(blocked))})</p>"
        )
    if ex.method == "search":
        body += (
            f"<h4>Longest linearizable prefix: {h(ex.prefix_length)} operations</h4>"
            f"<p>They cover {h(ex.prefix_completed)} of the key's {h(ex.completed_ops)} "
            "completed operations. Its last operations, each with the register's value "
            "after it:</p>"
        )
        if ex.prefix_tail:
            body += table([*_OP_HEADERS, "state after"], _op_rows(ex.prefix_tail, True), (2, 3))
        else:
            body += note("the prefix is empty: the key's first operations already conflict")
        states = ", ".join(ex.states_tried) or "none"
        body += (
            f"<p>Model states tried after the prefix: {code(states)}. "
            f"In none of them can {code(op_text(blocked) if blocked else '?')} take effect, "
            "and no other order of the concurrent operations gets further.</p>"
        )
    else:
        body += f"<p>Decided by the unique-value check (zones): {h(ex.reason)}.</p>"
        if ex.conflicting:
            body += "<h4>Operations in conflict</h4>" + table(
                _OP_HEADERS, _op_rows(ex.conflicting), (2, 3)
            )
    if ex.window:
        body += (
            f"<h4>Smallest failing window ({len(ex.window)} operations)</h4>"
            + charts.op_window(ex.window, blocked.index if blocked else None)
            + note(
                "one row per process; a bar runs from invocation to completion "
                "(blue ok, orange info: may take effect until the end); the outlined bar "
                "is the operation that cannot be placed"
            )
        )
    return f'<div class="counterexample">{body}</div>'


def undecided(keys: list[UndecidedKey]) -> str:
    """Keys the search left undecided, each with the bound that stopped it."""
    if not keys:
        return ""
    rows = [
        [
            raw(code(u.key)),
            u.reason,
            u.bound,
            raw(h(f"{u.prefix_completed} of {u.completed_ops}"), True),
        ]
        for u in keys
    ]
    return "<h3>Undecided keys</h3>" + table(
        ["key", "why", "bound", "longest linearizable prefix (completed ops)"], rows, (3,)
    )


def _index(value: int | None) -> object:
    return raw(h("" if value is None else value), True)


def set_elements(result: SetFullResult) -> str:
    """Lost elements with the reads around them, and the stalest elements."""
    body = ""
    if result.lost_details:
        rows = [
            [
                raw(code(d.element)),
                _index(d.ack_index),
                _index(d.last_seen),
                _index(d.missed_by),
            ]
            for d in result.lost_details
        ]
        body += "<h3>Lost elements and the operations around them</h3>" + long_table(
            [
                "element",
                "add acknowledged (index)",
                "last read that saw it (invoked, index)",
                "read that missed it (invoked, index)",
            ],
            rows,
            shown=12,
            what="lost elements",
        )
    if result.worst_stale:
        rows = [
            [
                raw(code(w.element)),
                raw(h(f"{w.latency / 1e6:.0f}"), True),
                _index(w.known_index),
                _index(w.missed_by),
                _index(w.seen_again),
            ]
            for w in result.worst_stale
        ]
        body += "<h3>Stalest elements and the operations around them</h3>" + table(
            [
                "element",
                "reads missed it after it was known for (ms)",
                "known (index)",
                "last read that missed it (invoked, index)",
                "first read after that saw it (invoked, index)",
            ],
            rows,
            (1, 2, 3, 4),
        )
    return body
