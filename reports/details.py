"""The report's chart and detail sections: timeline, latency, throughput, dirty reads,
linearizability windows, set anomalies, other checkers and the file links."""

from __future__ import annotations

from typing import Any

from harness.checkers.availability import AvailabilityResult
from harness.checkers.dirty_reads import DirtyReadsResult
from harness.checkers.follower_choice_result import FollowerChoiceResult
from harness.checkers.jobs_result import JobsResult
from harness.checkers.linearizable_result import LinearizableResult
from harness.checkers.performance import OUTCOMES, PerformanceResult
from harness.checkers.result import TypedResult
from harness.checkers.set_full import SetFullResult
from harness.checkers.split_brain import SplitBrainResult
from reports import charts, counterexample
from reports.context import Context
from reports.html import code, h, long_table, note, raw, secs, section, table, text
from reports.rundir import HISTORY, HISTORY_EDN, NEMESIS, RESULTS, ROLES, TEST

# results with a section of their own
SHOWN = (
    SetFullResult,
    LinearizableResult,
    DirtyReadsResult,
    SplitBrainResult,
    AvailabilityResult,
    PerformanceResult,
    JobsResult,  # reports/jobs.py
    FollowerChoiceResult,  # reports/follower_choice.py
)


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
    perf = ctx.result(PerformanceResult)
    if not ctx.operations or (perf is not None and not perf.operations):
        return section(
            "latency", "Latency and throughput", note("no client operation in the history")
        )
    if perf is None:
        why = "results.json has no performance result (a run checked before it was measured)"
        return section("latency", "Latency and throughput", note(why))
    points = perf.latency_points
    body = "<h3>Latency</h3>" + charts.latency(points, ctx.faults, ctx.end)
    if perf.completed > len(points):
        rare = sum(1 for p in points if p.outcome != "ok")
        every = (perf.completed - rare) // max(len(points) - rare, 1)
        body += note(
            f"showing {len(points):,} of {perf.completed:,} completed operations "
            f"({rare:,} fail/info, every ~{every}th ok); shaded bands are faults"
        )
    tp = perf.throughput
    body += "<h3>Throughput</h3>" + charts.throughput(tp, ctx.faults, ctx.end)
    if tp.bin_s > 1:
        body += note(f"bins of {tp.bin_s:g} s")
    columns = [c for c in (*OUTCOMES, "pending") if any(c in by for by in perf.outcomes.values())]
    rows = [[f, *(by.get(c, 0) for c in columns)] for f, by in perf.outcomes.items()]
    body += "<h3>Operations by outcome</h3>" + table(
        ["f", *columns], rows, numeric=range(1, len(columns) + 1)
    )
    quant = [
        [f] + [raw(secs(_ms(q.get(p)), 1), True) for p in ("0.5", "0.95", "0.99", "1")]
        for f, q in perf.latency_quantiles.items()
    ]
    if quant:
        body += "<h3>Latency of ok operations (ms)</h3>" + table(
            ["f", "median", "p95", "p99", "max"], quant, numeric=range(1, 5)
        )
    return section("latency", "Latency and throughput", body)


def dirty_reads(ctx: Context) -> str:
    d = ctx.result(DirtyReadsResult)
    if d is None:
        return ""
    rows: list[list[Any]] = [
        ["reads checked", d.reads, ""],
        ["unmarked", d.unmarked_count, ""],
        ["never-written", d.never_written_count, ""],
        ["rolled-back", d.rolled_back_count, ""],
        ["stale reads", d.stale_count, ""],
    ]
    for q in ("p50", "p99", "max"):
        rows.append(
            [
                f"staleness {q}",
                _number(getattr(d.staleness_ms, q)),
                _number(getattr(d.versions_behind, q)),
            ]
        )
    body = table(["", "reads / ms", "versions"], rows, numeric=(1, 2))
    ms = [s.staleness_ms for s in d.stale_reads]
    versions = [float(s.versions_behind) for s in d.stale_reads]
    if ms:
        body += '<div class="charts">' + charts.histogram(ms, "staleness (ms)")
        if versions:
            body += charts.histogram(
                versions, "versions behind", bins=max(1, min(24, int(max(versions)) + 1))
            )
        body += "</div>"
        body += note(f"distribution of the {len(ms)} stale reads listed by the checker")
    for key, ops in (
        ("unmarked", d.unmarked),
        ("never-written", d.never_written),
        ("rolled-back", d.rolled_back),
    ):
        if ops:
            body += f"<h3>{h(key)} reads</h3>" + long_table(
                ["op"], [[raw(code(op))] for op in ops], shown=10, what="reads"
            )
    return section("dirty-reads", "Dirty reads", body)


def linearizability(ctx: Context) -> str:
    lin = ctx.result(LinearizableResult)
    if lin is None:
        return ""
    failures = lin.failures
    if not failures:
        body = '<p class="empty">Every key checked is linearizable.</p>'
        if lin.verdict.value == "unknown":
            body = note(f"undecided: {lin.summary}") + counterexample.undecided(lin.undecided)
        return section("linearizable", "Linearizability", body)
    body = ""
    for failure in failures[:20]:
        body += f"<h3>key {code(failure.key)}</h3><p>{h(failure.explanation)}</p>"
        ops = failure.ops
        if failure.explain is not None:
            body += counterexample.counterexample(failure.explain)
        elif ops:
            body += charts.op_window(ops)
        if ops:
            rows = [
                [
                    f"p{o.process}",
                    o.f,
                    raw(code(o.value)),
                    raw(secs(o.start / 1e9), True),
                    raw(secs(o.end / 1e9) if o.end is not None else "", True),
                    o.outcome,
                ]
                for o in ops
            ]
            if failure.explain is not None:
                body += "<h4>History lines around the point</h4>"
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
    body += counterexample.undecided(lin.undecided)
    return section("linearizable", f"Linearizability failures ({len(failures)})", body)


def set_anomalies(ctx: Context) -> str:
    s = ctx.result(SetFullResult)
    if s is None:
        return ""
    anomalies: list[tuple[str, Any]] = [
        ("stale", s.stale),
        ("never-read", s.never_read),
        ("recovered", s.recovered),
        ("unexpected", s.unexpected),
        ("duplicated", s.duplicated),
    ]
    rows = [
        [key, raw(h(len(value)), True), raw(code(value) if value else "")]
        for key, value in anomalies
    ]
    body = table(["anomaly", "count", "elements"], rows) + counterexample.set_elements(s)
    lat_rows = []
    for key, q in (("stable-latencies", s.stable_latencies), ("lost-latencies", s.lost_latencies)):
        if q:
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
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1e6
    return None


def other_checkers(ctx: Context) -> str:
    body = ""
    for name, result in sorted(ctx.results.items()):
        if isinstance(result, SHOWN):
            continue
        evidence = result.to_json() if isinstance(result, TypedResult) else result.evidence
        rows = [
            [key, raw(code(value))]
            for key, value in evidence.items()
            if key not in ("valid", "summary", "checker")
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
