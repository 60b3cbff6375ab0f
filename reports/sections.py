"""The report's verdict sections: header, checkers, promises, lost writes, split-brain, availability."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from harness.checkers.availability import AvailabilityResult
from harness.checkers.dirty_reads import DirtyReadsResult
from harness.checkers.linearizable_result import LinearizableResult
from harness.checkers.result import CheckResult
from harness.checkers.set_full import SetFullResult
from harness.checkers.split_brain import SplitBrainResult
from reports.context import Context, seconds, verdict
from reports.display import Fault
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
    lost = ctx.lost
    if lost:
        by_node = Counter(w.node or "?" for w in lost)
        by_fault = Counter(w.fault.name if w.fault else "no fault" for w in lost)
        nodes = ", ".join(f"{n} ({c})" for n, c in by_node.most_common())
        faults = ", ".join(f"{f} ({c})" for f, c in by_fault.most_common())
        lines.append(
            f"<b>{len(lost)} acknowledged writes lost</b>, acknowledged by {h(nodes)}; "
            f"preceding fault: {h(faults)}."
        )
    elif ctx.result(SetFullResult) is not None:
        lines.append("No acknowledged write was lost.")
    sb = ctx.result(SplitBrainResult)
    if sb is not None:
        claims = len(sb.overlapping_claims)
        claim_text = f"{claims} overlapping leadership claim{'s' if claims != 1 else ''}"
        if sb.overlap_count:
            lines.append(
                f"<b>split-brain: {sb.overlap_count} pairs of overlapping acknowledged writes</b>; "
                f"{h(claim_text)}."
            )
        else:
            lines.append(f"No overlapping acknowledged writes; {h(claim_text)}.")
    av = ctx.result(AvailabilityResult)
    if av is not None and av.windows:
        n = len(av.windows)
        lines.append(
            f"{n} window{'s' if n != 1 else ''} without a successful operation, "
            f"the longest {av.longest_unavailable_ns / 1e9:.2f} s."
        )
    if av is not None and av.failovers:
        n = len(av.failovers)
        planned = n - len(av.unplanned_failovers)
        lines.append(
            f"{n} failover{'s' if n != 1 else ''}"
            + (f" ({planned} planned)" if planned else "")
            + "."
        )
    lin = ctx.result(LinearizableResult)
    if lin is not None and lin.failures:
        lines.append(f"<b>{len(lin.failures)} non-linearizable keys.</b>")
    dirty = ctx.result(DirtyReadsResult)
    if dirty is not None:
        bad = dirty.unmarked_count + dirty.never_written_count + dirty.rolled_back_count
        lines.append(f"Dirty reads: {dirty.reads} checked, {bad} anomalies.")
    return lines


def header(ctx: Context) -> str:
    overall = verdict((ctx.run.results or {}).get("valid"))
    facts = [
        f"<span>{h(label)}: <b>{h(text(_fact(ctx.test, keys)) or '?')}</b></span>"
        for label, keys in FACT_KEYS
    ]
    facts.append(f"<span>duration: <b>{ctx.end:.1f} s</b></span>")
    facts.append(f"<span>operations: <b>{ctx.operations:,}</b></span>")
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


def _counts(result: CheckResult) -> str:
    evidence = result.to_json()
    parts = []
    for key, value in evidence.items():
        if key.endswith("-count") and isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key[:-6]}: {value}")
    for key in ("keys-checked", "reads", "operations"):
        if key in evidence and not isinstance(evidence[key], dict | list):
            parts.append(f"{key}: {text(evidence[key])}")
    if isinstance(result, AvailabilityResult):
        parts.append(f"longest unavailable: {result.longest_unavailable_ns / 1e9:.2f} s")
    if result.check_time_s is not None:
        parts.append(f"check time: {result.check_time_s:g} s")
    return "; ".join(parts)


def verdicts(ctx: Context) -> str:
    if not ctx.results:
        return section(
            "verdicts", "Checkers", note("no checker results (results.json missing or empty)")
        )
    rows = [
        [raw(h(name)), raw(badge(r.verdict.value)), text(r.summary), _counts(r)]
        for name, r in sorted(ctx.results.items())
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
        label = state
        if state == "unevaluated":
            reason = p.get("not-measured")
            label = "not exercised" if reason == "not-exercised" else "not evaluated"
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


def _fault_cell(fault: Fault | None) -> str:
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
    if ctx.result(SetFullResult) is None:
        return ""  # no checker of this workload looks for lost writes
    lost = ctx.lost
    if not lost:
        body = '<p class="empty">No acknowledged write was lost.</p>'
        return section("lost", "Lost acknowledged writes", body)
    keyed = any(w.key is not None for w in lost)
    headers = (
        ["#"]
        + (["key"] if keyed else [])
        + ["value", "acknowledged at (s)", "by server", "preceding fault"]
    )
    rows: list[list[Any]] = []
    for i, w in enumerate(sorted(lost, key=lambda w: (w.ack is None, w.ack or 0.0)), start=1):
        rows.append(
            [i]
            + ([raw(code(w.key))] if keyed else [])
            + [raw(code(w.value)), raw(secs(w.ack), True), w.node or "?", _fault_cell(w.fault)]
        )
    return section(
        "lost",
        f"Lost acknowledged writes ({len(lost)})",
        long_table(headers, rows, shown=12, what="lost writes"),
    )


def _op_text(op: Any) -> str:
    if not isinstance(op, dict):
        return text(op)
    t = seconds(op.get("time"))
    when = f" at {t:.3f} s" if t is not None else ""
    return f"p{text(op.get('process'))} {text(op.get('f'))} {text(op.get('value'), 60)}{when}"


def split_brain(ctx: Context) -> str:
    sb = ctx.result(SplitBrainResult)
    if sb is None and not ctx.run.roles:
        return ""
    body = "<h3>Overlapping acknowledged writes from two servers</h3>"
    if sb is None:
        reason = ctx.results.get("split-brain")
        why = reason.summary if reason is not None else "the split-brain checker did not run"
        body += note(f"not checked: {why}")
    elif sb.overlapping_writes:
        rows = [
            [
                " / ".join(w.nodes),
                raw(code(_op_text(w.a))),
                raw(code(_op_text(w.b))),
                raw(secs(w.overlap_ns / 1e6, 1), True),
            ]
            for w in sb.overlapping_writes
        ]
        body += long_table(["servers", "write a", "write b", "overlap (ms)"], rows, what="pairs")
        if sb.overlap_count > len(sb.overlapping_writes):
            body += note(f"{sb.overlap_count} overlapping pairs in all; the longest are listed")
    else:
        body += '<p class="empty">None: no two servers acknowledged writes in overlapping time.</p>'
    body += "<h3>Overlapping leadership claims (harmless if writes are fenced)</h3>"
    if sb is None:
        body += note("not checked")
    elif sb.overlapping_claims:
        rows = [
            [
                ", ".join(c.nodes),
                raw(secs(c.start / 1e9), True),
                raw(secs(c.end / 1e9), True),
                raw(secs(c.duration_ns / 1e6, 1), True),
            ]
            for c in sb.overlapping_claims
        ]
        body += long_table(
            ["servers claiming", "from (s)", "to (s)", "duration (ms)"], rows, what="claims"
        )
    else:
        body += '<p class="empty">None.</p>'
    return section("split-brain", "Split-brain windows", body)


def availability(ctx: Context) -> str:
    av = ctx.result(AvailabilityResult)
    if av is None:
        if "availability" not in ctx.results:
            return ""
        body = note(f"not measured: {ctx.results['availability'].summary}")
        return section("availability", "Availability and failovers", body)
    body = ""
    if av.windows:
        rows = [
            [
                raw(secs(w.start / 1e9), True),
                raw(secs(w.end / 1e9), True),
                raw(secs(w.duration_ns / 1e9, 2), True),
                w.fault.fault if w.fault is not None else "none",
            ]
            for w in av.windows
        ]
        body += long_table(["from (s)", "to (s)", "duration (s)", "fault"], rows, what="windows")
    else:
        body += '<p class="empty">No window without a successful operation.</p>'
    body += "<h3>Failovers</h3>"
    rows = []
    for f in av.failovers:
        ended = f.end / 1e9 if f.end is not None else None
        duration = f.duration_ns / 1e9 if f.duration_ns is not None else None
        rows.append(
            [
                f.old,
                f.new,
                "" if f.epoch is None else f.epoch,
                "planned" if f.planned else "unplanned",
                f.fault.fault if f.fault is not None else "none",
                raw(secs(f.start / 1e9), True),
                raw(secs(ended) if ended is not None else "never answered", True),
                raw(secs(duration, 2), True),
            ]
        )
    body += (
        long_table(
            ["from", "to", "epoch", "kind", "cause", "start (s)", "end (s)", "duration (s)"],
            rows,
            what="failovers",
        )
        + note(
            "a failover runs from the fault (else the old leader's last claim) to the first"
            " operation the new leader acknowledged"
        )
        if rows
        else note("no failover")
    )
    return section("availability", "Availability and failovers", body)
