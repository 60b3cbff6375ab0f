"""The report's "Client" section: which client sent the workload's requests, and what a
real driver handed the application.

A run with ``--client python-arango`` or ``--client arangojs`` (harness/drivers)
sent its requests through that driver; the history's ``error`` of each failed or
unknown operation names the driver's error (class, HTTP code, errorNum). This
section counts the completions by outcome and the driver's errors by kind, from
``test.json`` and ``history.jsonl`` only. A native run shows nothing here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from reports.context import Context
from reports.html import code, note, section, table

NATIVE = "native"


def client_mode(test: dict[str, Any]) -> str:
    """The run's client mode (``native`` for runs from before client modes)."""
    client = test.get("client")
    return client if isinstance(client, str) and client else NATIVE


def error_kind(error: Any) -> tuple[str, str, str] | None:
    """(class, HTTP code, errorNum) of a driver's error in the history, else ``None``."""
    if not isinstance(error, dict) or "driver" not in error:
        return None
    code_ = error.get("code")
    num = error.get("errorNum")
    return (
        str(error.get("class", "?")),
        "" if code_ is None else str(code_),
        "" if num is None else str(num),
    )


def tally(history: list[dict[str, Any]]) -> tuple[Counter[str], Counter[tuple[str, ...]]]:
    """Client completions by type, and the driver's errors by (type, class, code, errorNum)."""
    outcomes: Counter[str] = Counter()
    errors: Counter[tuple[str, ...]] = Counter()
    for op in history:
        kind = op.get("type")
        if op.get("process") == "nemesis" or kind not in ("ok", "fail", "info"):
            continue
        outcomes[str(kind)] += 1
        found = error_kind(op.get("error"))
        if found is not None:
            errors[(str(kind), *found)] += 1
    return outcomes, errors


def client_section(ctx: Context) -> str:
    mode = client_mode(ctx.test)
    if mode == NATIVE:
        return ""
    outcomes, errors = tally(ctx.run.history)
    counts = ", ".join(f"{k} {outcomes.get(k, 0):,}" for k in ("ok", "fail", "info"))
    body = (
        f"<p>The workload's requests went through {code(mode)}, not afcheck's own client: "
        f"this is what an application using that driver saw (completions: {counts}). Set-up "
        "and the final reads (counted here) used afcheck's client (docs/drivers.md).</p>"
    )
    rows = [[*key, n] for key, n in sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))]
    if rows:
        body += table(["outcome", "driver error", "HTTP code", "errorNum", "operations"], rows, [4])
    else:
        body += note("the driver raised no error")
    return section("client", f"Client: {mode}", body)
