"""The report's chart and detail sections: timeline, latency, throughput, dirty reads,
linearizability windows, set anomalies, other checkers and the file links."""

from __future__ import annotations

from typing import Any

from reports import analysis, charts
from reports.context import MAX_LATENCY_POINTS, Context, as_dict, as_list, ns_to_s, window_ops
from reports.html import code, h, long_table, note, raw, secs, section, table, text
from reports.rundir import HISTORY, HISTORY_EDN, NEMESIS, RESULTS, ROLES, TEST

KNOWN_CHECKERS = ("set-full", "linearizable", "dirty-reads", "split-brain", "availability")


def timeline(ctx: Context) -> str:
    data = charts.TimelineData(
        faults=ctx.faults,
        segments=ctx.segments,
        servers=ctx.servers,
        end=ctx.end,
        lost=ctx.lost,
        claims=ctx.claims,
        unavailable=ctx.unavailable,
    )
    body = charts.timeline(data)
    if ctx.faults:
        rows = [
            [
                f.name,
                ", ".join(f.nodes),
                raw(secs(f.start, 2), True),
                raw("never healed" if f.open else secs(f.end, 2), True),
                raw(code(" ".join(f"{a}->{b}" for a, b in f.links) or f.detail or "")),
            ]
            for f in ctx.faults
        ]
        body += long_table(
            ["fault", "nodes", "start (s)", "end (s)", "links / detail"],
            rows,
            shown=10,
            what="faults",
        )
    else:
        body += note("no fault was applied")
    return section("timeline", "Timeline: faults and leadership", body)


def performance(ctx: Context) -> str:
    if ctx.ops.empty:
        return section(
            "latency", "Latency and throughput", note("no client operation in the history")
        )
    points, sampled = analysis.latency_points(ctx.ops, MAX_LATENCY_POINTS)
    body = "<h3>Latency</h3>" + charts.latency(points, ctx.faults, ctx.end)
    if sampled:
        body += note(sampled + "; shaded bands are faults")
    rates, width = analysis.throughput(ctx.ops, ctx.end)
    body += "<h3>Throughput</h3>" + charts.throughput(rates, width, ctx.faults, ctx.end)
    if width > 1:
        body += note(f"bins of {width:g} s")
    counts = analysis.outcome_counts(ctx.ops)
    rows = [[f, *(int(v) for v in counts.loc[f])] for f in counts.index]
    body += "<h3>Operations by outcome</h3>" + table(
        ["f", *counts.columns], rows, numeric=range(1, len(counts.columns) + 1)
    )
    return section("latency", "Latency and throughput", body)


def dirty_reads(ctx: Context) -> str:
    d = ctx.checkers.get("dirty-reads")
    if d is None:
        return ""
    st = as_dict(d.get("staleness"))
    tm = as_dict(st.get("time-ms"))
    vs = as_dict(st.get("versions"))
    rows: list[list[Any]] = [["reads checked", _number(d.get("reads")), ""]]
    for key in ("unmarked", "never-written", "rolled-back"):
        value = d.get(key)
        rows.append([key, len(value) if isinstance(value, list) else _number(value), ""])
    rows.append(["stale reads", _number(st.get("count")), ""])
    for q in ("p50", "p99", "max"):
        rows.append([f"staleness {q}", _number(tm.get(q)), _number(vs.get(q))])
    body = table(["", "reads / ms", "versions"], rows, numeric=(1, 2))
    stale = as_list(d.get("stale-reads"))
    ms = [
        float(s["staleness_ms"])
        for s in stale
        if isinstance(s, dict) and isinstance(s.get("staleness_ms"), int | float)
    ]
    versions = [
        float(s["versions_behind"])
        for s in stale
        if isinstance(s, dict) and isinstance(s.get("versions_behind"), int | float)
    ]
    if ms:
        body += '<div class="charts">' + charts.histogram(ms, "staleness (ms)")
        if versions:
            body += charts.histogram(
                versions, "versions behind", bins=max(1, min(24, int(max(versions)) + 1))
            )
        body += "</div>"
        body += note(f"distribution of the {len(ms)} stale reads listed by the checker")
    for key in ("unmarked", "never-written", "rolled-back"):
        value = d.get(key)
        if isinstance(value, list) and value:
            body += f"<h3>{h(key)} reads</h3>" + long_table(
                ["op"], [[raw(code(op))] for op in value], shown=10, what="reads"
            )
    return section("dirty-reads", "Dirty reads", body)


def linearizability(ctx: Context) -> str:
    lin = ctx.checkers.get("linearizable")
    if lin is None:
        return ""
    failures = as_list(lin.get("failures"))
    if not failures:
        return section(
            "linearizable",
            "Linearizability",
            '<p class="empty">Every key checked is linearizable.</p>',
        )
    body = ""
    for failure in failures[:20]:
        if not isinstance(failure, dict):
            continue
        body += f"<h3>key {code(failure.get('key'))}</h3><p>{h(failure.get('explanation', ''))}</p>"
        ops = window_ops(failure.get("window"), ctx)
        if ops:
            body += charts.op_window(ops)
            rows = [
                [
                    f"p{o.process}",
                    o.f,
                    raw(code(o.value)),
                    raw(secs(o.start), True),
                    raw(secs(o.end), True),
                    o.outcome,
                ]
                for o in ops
            ]
            body += long_table(
                ["process", "f", "value", "invoked (s)", "completed (s)", "outcome"],
                rows,
                shown=12,
                what="ops",
            )
        else:
            body += note("the failure names no operations")
    if len(failures) > 20:
        body += note(f"{len(failures) - 20} more failing keys are in results.json")
    return section("linearizable", f"Linearizability failures ({len(failures)})", body)


def set_anomalies(ctx: Context) -> str:
    s = ctx.checkers.get("set-full")
    if s is None:
        return ""
    rows = []
    for key in ("stale", "never-read", "recovered", "unexpected", "duplicated"):
        value = s.get(key)
        count = s.get(f"{key}-count", len(value) if isinstance(value, list | dict) else "")
        rows.append([key, raw(h(count), True), raw(code(value) if value else "")])
    body = table(["anomaly", "count", "elements"], rows)
    lat_rows = []
    for key in ("stable-latencies", "lost-latencies"):
        q = s.get(key)
        if isinstance(q, dict):
            lat_rows.append(
                [key]
                + [raw(secs(_ms(q.get(p)), 1), True) for p in ("0", "0.5", "0.95", "0.99", "1")]
            )
    if lat_rows:
        body += "<h3>Time from add to first read that shows the element (ms)</h3>"
        body += table(["", "min", "median", "p95", "p99", "max"], lat_rows, numeric=range(1, 6))
    return section("set-full", "Set anomalies", body)


def _number(value: Any) -> Any:
    """Numbers rounded for reading (floats to 1 decimal); anything else as text."""
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return text(value)


def _ms(value: Any) -> float | None:
    s = ns_to_s(value)
    return None if s is None else s * 1000


def other_checkers(ctx: Context) -> str:
    body = ""
    for name, result in sorted(ctx.checkers.items()):
        if name in KNOWN_CHECKERS:
            continue
        rows = [
            [key, raw(code(value))]
            for key, value in result.items()
            if key not in ("valid", "summary")
        ]
        body += f"<h3>{h(name)}</h3>" + (
            table(["key", "value"], rows) if rows else note("no evidence")
        )
    return section("other", "Other checkers", body) if body else ""


def files(ctx: Context) -> str:
    links = []
    for name in (HISTORY, HISTORY_EDN, NEMESIS, ROLES, TEST, RESULTS):
        if ctx.run.has(name):
            links.append(f'<a href="{h(name)}">{h(name)}</a>')
        else:
            links.append(f'<span class="missing">{h(name)} (missing)</span>')
    body = '<nav class="files">' + "".join(links) + "</nav>"
    if ctx.run.node_logs:
        logs = "".join(f'<a href="{h(path)}">{h(path)}</a>' for path in ctx.run.node_logs)
        body += f'<h3>Node logs</h3><nav class="files">{logs}</nav>'
    return section("files", "Files", body)
