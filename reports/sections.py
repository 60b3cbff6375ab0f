"""The report's verdict sections: header, checkers, promises, lost writes, split-brain, availability."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from reports.analysis import failovers_from_roles
from reports.context import Context, as_list, ns_to_s, verdict
from reports.html import badge, code, h, long_table, note, raw, secs, section, table, text
from reports.nodes import containers

FACT_KEYS = (
    ("workload", ("workload",)),
    ("nemesis", ("nemesis",)),
    ("replication", ("replication",)),
    ("backend", ("backend",)),
    ("seed", ("seed",)),
    ("concurrency", ("concurrency",)),
)


def _fact(test: dict[str, Any], keys: tuple[str, ...]) -> Any:
    value = _raw_fact(test, keys)
    if isinstance(value, dict):  # e.g. {"workload": "set", "batch_size": ...}
        for key in (*keys, "name"):
            if isinstance(value.get(key), str | int):
                return value[key]
    return value


def _raw_fact(test: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in test:
            return test[key]
    for nested in ("config", "cluster"):
        inner = test.get(nested)
        if isinstance(inner, dict):
            for key in keys:
                if key in inner:
                    return inner[key]
    return None


def title(ctx: Context) -> str:
    name = ctx.test.get("name")
    return text(name) if name else ctx.run.path.name


def _headline(ctx: Context) -> list[str]:
    """Plain sentences: what was lost, by whom, under which fault."""
    lines: list[str] = []
    if ctx.lost:
        by_node = Counter(w.node or "?" for w in ctx.lost)
        by_fault = Counter(w.fault.name if w.fault else "no fault" for w in ctx.lost)
        nodes = ", ".join(f"{n} ({c})" for n, c in by_node.most_common())
        faults = ", ".join(f"{f} ({c})" for f, c in by_fault.most_common())
        lines.append(
            f"<b>{len(ctx.lost)} acknowledged writes lost</b>, acknowledged by {h(nodes)}; "
            f"preceding fault: {h(faults)}."
        )
    elif any("lost" in c for c in ctx.checkers.values()):
        lines.append("No acknowledged write was lost.")
    sb = ctx.checkers.get("split-brain") or {}
    claims = len(ctx.claims)
    claim_text = f"{claims} overlapping leadership claim{'s' if claims != 1 else ''}"
    if not ctx.claims_from_checker and claims:
        claim_text += " (from roles.jsonl)"
    writes = sb.get("overlapping-writes")
    if isinstance(writes, list) and writes:
        lines.append(
            f"<b>split-brain: {len(writes)} pairs of overlapping acknowledged writes</b>; "
            f"{h(claim_text)}."
        )
    elif isinstance(writes, list):
        lines.append(f"No overlapping acknowledged writes; {h(claim_text)}.")
    elif ctx.run.roles:
        lines.append(f"Overlapping writes not checked; {h(claim_text)}.")
    if ctx.unavailable:
        longest = max(b - a for a, b in ctx.unavailable)
        n = len(ctx.unavailable)
        lines.append(
            f"{n} window{'s' if n != 1 else ''} without a successful operation, "
            f"the longest {longest:.2f} s."
        )
    lin = ctx.checkers.get("linearizable")
    if lin is not None and isinstance(lin.get("failures"), list) and lin["failures"]:
        lines.append(f"<b>{len(lin['failures'])} non-linearizable keys.</b>")
    dirty = ctx.checkers.get("dirty-reads")
    if dirty is not None:
        bad = sum(len(as_list(dirty.get(k))) for k in ("unmarked", "never-written", "rolled-back"))
        lines.append(f"Dirty reads: {h(dirty.get('reads', '?'))} checked, {bad} anomalies.")
    return lines


def header(ctx: Context) -> str:
    overall = verdict((ctx.run.results or {}).get("valid"))
    facts = [
        f"<span>{h(label)}: <b>{h(text(_fact(ctx.test, keys)) or '?')}</b></span>"
        for label, keys in FACT_KEYS
    ]
    facts.append(f"<span>duration: <b>{ctx.end:.1f} s</b></span>")
    facts.append(f"<span>operations: <b>{len(ctx.ops):,}</b></span>")
    facts.append(f"<span>faults: <b>{len(ctx.faults)}</b></span>")
    facts.append(f"<span>run: <b>{h(ctx.run.path.name)}</b></span>")
    names = containers(ctx.test)
    if names:
        prefix = os.path.commonprefix(names) if len(names) > 1 else names[0]
        shown = f"{prefix}*" if len(names) > 1 else prefix
        facts.append(f'<span>containers: <b><a href="#nodes">{h(shown)}</a></b></span>')
    lines = "".join(f"<li>{line}</li>" for line in _headline(ctx))
    return (
        f"<header><h1>{h(title(ctx))} {badge(overall, big=True)}</h1>"
        f'<div class="facts">{"".join(facts)}</div>'
        + (f'<ul class="headline">{lines}</ul>' if lines else "")
        + "</header>"
    )


def notes(ctx: Context) -> str:
    if not ctx.notes:
        return ""
    items = "".join(f"<li>{h(n)}</li>" for n in ctx.notes)
    return f'<section class="notes"><h2>Notes on the input</h2><ul>{items}</ul></section>'


def _counts(result: dict[str, Any]) -> str:
    parts = []
    for key, value in result.items():
        if key.endswith("-count") and isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key[:-6]}: {value}")
    for key in ("keys-checked", "reads", "check-time-s"):
        if key in result and not isinstance(result[key], dict | list):
            parts.append(f"{key}: {text(result[key])}")
    longest = ns_to_s(result.get("longest-unavailable-ns"))
    if longest is not None:
        parts.append(f"longest unavailable: {longest:.2f} s")
    return "; ".join(parts)


def verdicts(ctx: Context) -> str:
    if not ctx.checkers:
        return section(
            "verdicts", "Checkers", note("no checker results (results.json missing or empty)")
        )
    rows = [
        [raw(h(name)), raw(badge(verdict(r.get("valid")))), text(r.get("summary", "")), _counts(r)]
        for name, r in sorted(ctx.checkers.items())
    ]
    return section(
        "verdicts", "Checkers", table(["checker", "verdict", "summary", "evidence"], rows)
    )


def _evidence(value: Any) -> str:
    """Evidence in a few words: counts and scalars; lists as their length."""
    if isinstance(value, list):
        return f"{len(value)} items"
    if not isinstance(value, dict):
        return text(value)
    parts = []
    for key, item in value.items():
        if isinstance(item, list):
            if f"{key}-count" not in value and "count" not in value:
                parts.append(f"{key}: {len(item)}")
        elif isinstance(item, dict):
            parts.append(f"{key}: {text(item, 60)}")
        elif item is not None and item != "":
            parts.append(f"{key}: {text(item, 80)}")
    return "; ".join(parts)


def promises(ctx: Context) -> str:
    mode = text(_fact(ctx.test, ("replication",))) or "?"
    if not ctx.promises:
        return section(
            "promises", f"Promise table ({mode})", note("results.json names no promises")
        )
    rows = []
    for name, p in ctx.promises.items():
        status = p.get("status")
        holds = p.get("holds")
        state = "held" if holds is True else "broken" if holds is False else "unevaluated"
        label = "not evaluated" if state == "unevaluated" else state
        description = p.get("description")
        prop = (
            h(description) + f' <span class="status">({h(name)})</span>' if description else h(name)
        )
        kind = "promised" if status == "promised" else "status"
        rows.append(
            [
                raw(prop),
                raw(f'<span class="{kind}">{h(status or "?")}</span>'),
                raw(f'<span class="badge {state}">{h(label)}</span>'),
                _evidence(p.get("evidence")),
            ]
        )
    body = table(["property", "promised or measured", "result", "evidence"], rows)
    body += note(
        "A broken promised property fails the test; measured properties are reported, not asserted."
    )
    return section("promises", f"Promise table ({mode} replication)", body)


def _fault_cell(fault: Any) -> str:
    if fault is None:
        return "none recorded"
    span = (
        f"{fault.start:.2f}–{fault.end:.2f} s"
        if fault.end == fault.end
        else f"from {fault.start:.2f} s"
    )
    nodes = f" on {', '.join(fault.nodes)}" if fault.nodes else ""
    return f"{fault.name}{nodes} ({span})"


def lost_writes(ctx: Context) -> str:
    if not ctx.lost:
        if not any("lost" in c for c in ctx.checkers.values()):
            return ""  # no checker of this workload looks for lost writes
        body = '<p class="empty">No acknowledged write was lost.</p>'
        return section("lost", "Lost acknowledged writes", body)
    keyed = any(w.key is not None for w in ctx.lost)
    headers = (
        ["#"]
        + (["key"] if keyed else [])
        + ["value", "acknowledged at (s)", "by server", "preceding fault", "checker"]
    )
    rows: list[list[Any]] = []
    for i, w in enumerate(sorted(ctx.lost, key=lambda w: (w.ack is None, w.ack or 0.0)), start=1):
        fault = _fault_cell(w.fault) + (f" ({w.fault_note})" if w.fault_note else "")
        rows.append(
            [i]
            + ([raw(code(w.key))] if keyed else [])
            + [raw(code(w.value)), raw(secs(w.ack), True), w.node or "?", fault, w.checker]
        )
    return section(
        "lost",
        f"Lost acknowledged writes ({len(ctx.lost)})",
        long_table(headers, rows, shown=12, what="lost writes"),
    )


def _op_text(op: Any) -> str:
    if not isinstance(op, dict):
        return text(op)
    t = ns_to_s(op.get("time"))
    when = f" at {t:.3f} s" if t is not None else ""
    return f"p{text(op.get('process'))} {text(op.get('f'))} {text(op.get('value'), 60)}{when}"


def split_brain(ctx: Context) -> str:
    sb = ctx.checkers.get("split-brain")
    if sb is None and not ctx.run.roles:
        return ""
    writes = as_list((sb or {}).get("overlapping-writes"))
    body = "<h3>Overlapping acknowledged writes from two servers</h3>"
    if sb is None or "overlapping-writes" not in sb:
        reason = text(sb.get("summary")) if sb else "the split-brain checker did not run"
        body += note(f"not checked: {reason}")
    elif writes:
        rows = []
        for w in writes:
            if not isinstance(w, dict):
                continue
            nodes = as_list(w.get("nodes"))
            overlap = ns_to_s(w.get("overlap_ns"))
            rows.append(
                [
                    " / ".join(text(n) for n in nodes),
                    raw(code(_op_text(w.get("a")))),
                    raw(code(_op_text(w.get("b")))),
                    raw(secs(overlap * 1000 if overlap is not None else None, 1), True),
                ]
            )
        body += long_table(["servers", "write a", "write b", "overlap (ms)"], rows, what="pairs")
    else:
        body += '<p class="empty">None: no two servers acknowledged writes in overlapping time.</p>'
    body += "<h3>Overlapping leadership claims (harmless if writes are fenced)</h3>"
    if ctx.claims:
        rows = [
            [
                ", ".join(n),
                raw(secs(a), True),
                raw(secs(b), True),
                raw(secs((b - a) * 1000, 1), True),
            ]
            for n, a, b in ctx.claims
        ]
        body += long_table(
            ["servers claiming", "from (s)", "to (s)", "duration (ms)"], rows, what="claims"
        )
    else:
        body += '<p class="empty">None.</p>'
    if not ctx.claims_from_checker:
        body += note("claims computed from roles.jsonl samples")
    return section("split-brain", "Split-brain windows", body)


def availability(ctx: Context) -> str:
    av = ctx.checkers.get("availability", {})
    body = ""
    if ctx.unavailable:
        windows = av.get("windows") if ctx.unavailable_from_checker else None
        rows = []
        for i, (a, b) in enumerate(ctx.unavailable):
            fault = None
            if isinstance(windows, list) and i < len(windows) and isinstance(windows[i], dict):
                fault = windows[i].get("fault")
            label = (
                text(fault.get("fault", fault))
                if isinstance(fault, dict)
                else text(fault) or "none"
            )
            rows.append([raw(secs(a), True), raw(secs(b), True), raw(secs(b - a, 2), True), label])
        body += long_table(["from (s)", "to (s)", "duration (s)", "fault"], rows, what="windows")
        if not ctx.unavailable_from_checker:
            body += note(
                "computed from the history: gaps of 1 s or more with no successful operation"
            )
    else:
        body += '<p class="empty">No window without a successful operation.</p>'
    failovers = av.get("failovers")
    body += "<h3>Failovers</h3>"
    if not isinstance(failovers, list):
        failovers = [
            {"from": f["from"], "to": f["to"], "start": f["start"] * 1e9, "end": f["end"] * 1e9}
            for f in failovers_from_roles(ctx.segments, ctx.faults)
        ]
        if failovers:
            body += note(
                "computed from roles.jsonl: from the fault (else the old leader's last claim)"
                " to the new leader's first claim"
            )
    rows = []
    for f in failovers:
        if isinstance(f, dict):
            began = ns_to_s(f.get("start"))
            ended = ns_to_s(f.get("end"))
            dur = (ended - began) if began is not None and ended is not None else None
            rows.append(
                [
                    text(f.get("from")),
                    text(f.get("to")),
                    raw(secs(began), True),
                    raw(secs(ended), True),
                    raw(secs(dur, 2), True),
                ]
            )
    body += (
        long_table(["from", "to", "start (s)", "end (s)", "duration (s)"], rows, what="failovers")
        if rows
        else note("no failover")
    )
    return section("availability", "Availability and failovers", body)
