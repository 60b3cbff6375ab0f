"""The report's charts, each a function from analysed data to one inline SVG string.

Every time chart shares the same width and left margin and spans 0..end
seconds, so fault bands line up vertically from chart to chart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.checkers.linearizable_result import WindowOp
from harness.checkers.performance import LatencyPoint, Throughput
from reports.context import LostWrite
from reports.display import Fault, RoleSegment
from reports.svg import Canvas, Scale, tick_label

WIDTH = 1100
LEFT = 64
OUTCOME_COLOURS = {"ok": "#2f6fbf", "fail": "#d6453d", "info": "#f0a020", "pending": "#f0a020"}
# "fenced": a leader whose lease expired; it claims nothing and takes no writes
ROLE_COLOURS = {
    "leader": "#2e9d4f",
    "fenced": "#a6d9b3",
    "follower": "#a9cbe8",
    "unknown": "#c8c8c8",
    "down": "#3a3a3a",
}
FAULT_PALETTE = ("#e5533c", "#8e5bd0", "#d08a1c", "#1f9c9c", "#c0477d", "#6b8e23")
UNAVAILABLE = "#b22222"


def fault_colours(faults: Sequence[Fault]) -> dict[str, str]:
    """One colour per fault name, in order of first appearance."""
    colours: dict[str, str] = {}
    for fault in faults:
        if fault.name not in colours:
            colours[fault.name] = FAULT_PALETTE[len(colours) % len(FAULT_PALETTE)]
    return colours


def seconds(value: float) -> str:
    return f"{value:.3f} s"


def fault_title(fault: Fault) -> str:
    links = " ".join(f"{a}->{b}" for a, b in fault.links[:12])
    more = f" (+{len(fault.links) - 12} links)" if len(fault.links) > 12 else ""
    until = "never healed" if fault.open else f"{fault.end:.2f} s"
    text = f"{fault.name} on {', '.join(fault.nodes) or 'no node named'}: {fault.start:.2f} s to {until}"
    return text + (f"; links {links}{more}" if links else "")


def _shade_faults(
    canvas: Canvas, x: Scale, faults: Sequence[Fault], top: float, bottom: float
) -> None:
    colours = fault_colours(faults)
    for fault in faults:
        x0, x1 = x.clamp(fault.start), x.clamp(fault.end)
        canvas.rect(
            x0, top, max(x1 - x0, 1.0), bottom - top, colours[fault.name], fault_title(fault), 0.10
        )


def _lanes(faults: Sequence[Fault]) -> list[int]:
    """A row per fault so that overlapping faults do not share a row."""
    row_ends: list[float] = []
    rows: list[int] = []
    for fault in faults:
        for i, busy_until in enumerate(row_ends):
            if fault.start >= busy_until:
                row_ends[i] = fault.end
                rows.append(i)
                break
        else:
            row_ends.append(fault.end)
            rows.append(len(row_ends) - 1)
    return rows


@dataclass
class TimelineData:
    faults: Sequence[Fault]
    segments: Sequence[RoleSegment]
    servers: Sequence[str]
    end: float
    lost: Sequence[LostWrite]
    claims: Sequence[tuple[list[str], float, float]]  # overlapping leadership claims
    unavailable: Sequence[tuple[float, float]]


def timeline(data: TimelineData) -> str:
    """Fault bands, per-server role lanes, unavailability, lost-write acks and claim overlaps."""
    fault_rows = _lanes(data.faults)
    nfault = max(fault_rows, default=-1) + 1
    lane_h, gap = 22, 6
    lanes = ["faults"] * max(nfault, 1) + ["clients"] + list(data.servers)
    height = 10 + len(lanes) * (lane_h + gap) + 60
    canvas = Canvas(WIDTH, height, left=LEFT, bottom=60, label="timeline of faults and leadership")
    x = Scale(0.0, max(data.end, 1e-3), canvas.x0, canvas.x1)

    def lane_y(i: int) -> float:
        return canvas.y0 + i * (lane_h + gap)

    _shade_faults(canvas, x, data.faults, canvas.y0, canvas.y1)
    for i, name in enumerate(lanes):
        if i == 0 or name != "faults":
            canvas.text(canvas.x0 - 6, lane_y(i) + 15, name, size=11, anchor="end", weight="bold")
    colours = fault_colours(data.faults)
    for fault, row in zip(data.faults, fault_rows, strict=True):
        x0, x1 = x.clamp(fault.start), x.clamp(fault.end)
        canvas.rect(
            x0,
            lane_y(row),
            max(x1 - x0, 2.0),
            lane_h,
            colours[fault.name],
            fault_title(fault),
            0.85,
        )
        label = fault.label()
        if x1 - x0 > 7 * len(label) or x1 - x0 > 60:
            canvas.text(
                x0 + 4,
                lane_y(row) + 15,
                label[: max(4, int((x1 - x0) / 7))],
                size=11,
                fill="#fff",
                weight="bold",
            )
    client_lane = max(nfault, 1)
    cy = lane_y(client_lane)
    canvas.rect(
        canvas.x0,
        cy,
        canvas.x1 - canvas.x0,
        lane_h,
        "#dff0d8",
        "clients: some operation succeeded",
        0.7,
    )
    for start, stop in data.unavailable:
        x0, x1 = x.clamp(start), x.clamp(stop)
        canvas.rect(
            x0,
            cy,
            max(x1 - x0, 2.0),
            lane_h,
            UNAVAILABLE,
            f"no successful operation from {start:.2f} s to {stop:.2f} s ({stop - start:.2f} s)",
            0.85,
        )
    lane_of = {name: lane_y(client_lane + 1 + i) for i, name in enumerate(data.servers)}
    for seg in data.segments:
        if seg.node not in lane_of:
            continue
        x0, x1 = x.clamp(seg.start), x.clamp(seg.end)
        colour = ROLE_COLOURS.get(seg.role, ROLE_COLOURS["unknown"])
        title = (
            f"{seg.node}: {seg.role} from {seg.start:.2f} s to {seg.end:.2f} s; "
            f"epoch {seg.epoch or '?'}; names leader {seg.leader or '?'}"
        )
        canvas.rect(x0, lane_of[seg.node], max(x1 - x0, 1.0), lane_h, colour, title)
    for lost in data.lost:
        if lost.ack is None:
            continue
        lane = lane_of.get(lost.node or "", cy)
        px = x.clamp(lost.ack)
        canvas.line(px, lane - 3, px, lane + lane_h + 3, UNAVAILABLE, 1.5)
    for nodes, start, stop in data.claims:
        ys = [lane_of[n] for n in nodes if n in lane_of]
        if not ys:
            continue
        x0, x1 = x.clamp(start), x.clamp(stop)
        canvas.rect(
            x0 - 2,
            min(ys) - 3,
            max(x1 - x0, 2.0) + 4,
            max(ys) - min(ys) + lane_h + 6,
            "none",
            f"overlapping leadership claims by {', '.join(nodes)}: {start:.2f} s to {stop:.2f} s",
            stroke="#000",
            extra=' stroke-dasharray="4 2"',
        )
    axis_y = canvas.y1
    canvas.x_axis(x, "")
    canvas.text(
        (canvas.x0 + canvas.x1) / 2,
        axis_y + 30,
        "seconds since test start",
        size=11,
        anchor="middle",
    )
    legend = [(r, c) for r, c in ROLE_COLOURS.items()] + [("no successful op", UNAVAILABLE)]
    legend += [(name, colour) for name, colour in colours.items()]
    canvas.legend(legend, x=canvas.x0, y=height - 18)
    canvas.text(
        canvas.x1,
        height - 9,
        "red tick: a lost write was acknowledged; dashed box: overlapping leadership claims",
        size=10,
        anchor="end",
        fill="#555",
    )
    return canvas.render()


def latency(
    points: Sequence[LatencyPoint], faults: Sequence[Fault], end: float, height: int = 300
) -> str:
    """Latency of each operation (log ms) at its invoke time, coloured by outcome."""
    canvas = Canvas(WIDTH, height, left=LEFT, label="latency over time")
    ms = [p.latency / 1e6 for p in points]
    lo = min(ms) if ms else 0.1
    hi = max(ms) if ms else 10.0
    x = Scale(0.0, max(end, 1e-3), canvas.x0, canvas.x1)
    y = Scale(max(lo * 0.8, 0.01), max(hi * 1.25, 1.0), canvas.y1, canvas.y0, log=True)
    _shade_faults(canvas, x, faults, canvas.y0, canvas.y1)
    canvas.y_axis(y, "latency (ms, log)")
    canvas.x_axis(x, "invoke time (s since test start)")
    for outcome in ("ok", "info", "pending", "fail"):
        colour = OUTCOME_COLOURS[outcome]
        for p in points:
            if p.outcome != outcome:
                continue
            start, lat = p.start / 1e9, p.latency / 1e9
            title = ""
            if outcome != "ok":
                title = f"{p.f} {outcome} at {start:.3f} s after {lat * 1000:.1f} ms; node {_plain(p.node)}; {_plain(p.error)}"
            canvas.circle(x(start), y(max(lat * 1000.0, y.lo)), 1.8, colour, title)
    canvas.legend([(o, OUTCOME_COLOURS[o]) for o in ("ok", "fail", "info")], x=canvas.x1 - 180)
    return canvas.render()


def throughput(tp: Throughput, faults: Sequence[Fault], end: float, height: int = 220) -> str:
    """Completions per second, stacked by outcome."""
    canvas = Canvas(WIDTH, height, left=LEFT, label="throughput")
    outcomes = [o for o in OUTCOME_COLOURS if o in tp.rates]
    totals = [sum(tp.rates[o][i] for o in outcomes if i < len(tp.rates[o])) for i in range(tp.bins)]
    x = Scale(0.0, max(end, 1e-3), canvas.x0, canvas.x1)
    y = Scale(0.0, max(max(totals, default=1.0), 1.0) * 1.1, canvas.y1, canvas.y0)
    _shade_faults(canvas, x, faults, canvas.y0, canvas.y1)
    canvas.y_axis(y, "ops/s")
    canvas.x_axis(x, "completion time (s since test start)")
    width_s = tp.bin_s
    bar = max(x(width_s) - x(0.0) - 1.0, 1.0)
    for i in range(tp.bins):
        t = i * width_s
        base = 0.0
        for outcome in outcomes:
            rate = tp.rates[outcome][i] if i < len(tp.rates[outcome]) else 0.0
            if rate <= 0:
                continue
            top = base + rate
            canvas.rect(
                x(t),
                y(top),
                bar,
                y(base) - y(top),
                OUTCOME_COLOURS[outcome],
                f"{t:.0f}-{t + width_s:.0f} s: {rate:.1f} {outcome}/s",
            )
            base = top
    canvas.legend([(o, OUTCOME_COLOURS[o]) for o in ("ok", "fail", "info")], x=canvas.x1 - 180)
    return canvas.render()


def _bins(data: Sequence[float], bins: int) -> tuple[list[int], list[float]]:
    """Counts and edges of a histogram: one bar per whole number when the values are few
    whole numbers, else ``bins`` equal bars."""
    lo, hi = min(data), max(data)
    if all(v == round(v) for v in data) and hi - lo <= bins:
        edges = [lo - 0.5 + i for i in range(int(hi - lo) + 2)]
    else:
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    n = len(edges) - 1
    counts = [0] * n
    for v in data:
        i = int((v - edges[0]) / (edges[-1] - edges[0]) * n)
        counts[min(max(i, 0), n - 1)] += 1
    return counts, edges


def histogram(values: Sequence[float], caption: str, bins: int = 24, height: int = 200) -> str:
    """Distribution of ``values`` as bars."""
    canvas = Canvas(520, height, left=LEFT, label=caption)
    data = [float(v) for v in values if math.isfinite(v)]
    if not data:
        canvas.text(canvas.x0, canvas.y0 + 20, "no values")
        return canvas.render()
    counts, edges = _bins(data, bins)
    x = Scale(edges[0], edges[-1], canvas.x0, canvas.x1)
    y = Scale(0.0, max(counts) * 1.1, canvas.y1, canvas.y0)
    canvas.y_axis(y, "reads")
    canvas.x_axis(x, caption)
    for count, lo, hi in zip(counts, edges[:-1], edges[1:], strict=True):
        if count:
            canvas.rect(
                x(lo) + 0.5,
                y(float(count)),
                max(x(hi) - x(lo) - 1.0, 1.0),
                y(0.0) - y(float(count)),
                "#6a5acd",
                f"{lo:.1f} to {hi:.1f}: {count}",
            )
    return canvas.render()


def op_window(window: Sequence[WindowOp], blocked: int | None = None) -> str:
    """Porcupine-like view: one row per process, each op a bar from invoke to completion;
    the op invoked at history index ``blocked`` (the one that cannot be placed) outlined."""
    ops = [_Bar(o.process, o.f, o.value, o.start / 1e9, _s(o.end), o.outcome) for o in window]
    processes = sorted({op.process for op in ops}, key=lambda p: (len(p), p))
    row_h = 26
    height = 24 + len(processes) * row_h + 40
    canvas = Canvas(WIDTH, height, left=LEFT, label="failing window")
    t0 = min(op.start for op in ops)
    t1 = max(max(op.end if op.end is not None else op.start for op in ops), t0 + 1e-6)
    pad = (t1 - t0) * 0.04
    x = Scale(0.0, (t1 - t0 + pad) * 1000, canvas.x0, canvas.x1)
    canvas.x_axis(x, f"ms after {t0:.3f} s", fmt=tick_label)
    rows = {p: canvas.y0 + i * row_h for i, p in enumerate(processes)}
    for p, y in rows.items():
        canvas.text(canvas.x0 - 6, y + 16, f"p{p}", anchor="end", weight="bold")
        canvas.line(canvas.x0, y + row_h - 2, canvas.x1, y + row_h - 2, "#eee")
    for op, source in zip(ops, window, strict=True):
        y = rows[op.process]
        x0 = x((op.start - t0) * 1000)
        x1 = x(((op.end if op.end is not None else t1 + pad) - t0) * 1000)
        label = f"{op.f} {_plain(op.value)}"
        stuck = blocked is not None and source.index == blocked
        canvas.rect(
            x0,
            y + 2,
            max(x1 - x0, 3.0),
            row_h - 8,
            OUTCOME_COLOURS.get(op.outcome, "#999"),
            f"p{op.process} {label} -> {op.outcome}" + (" (cannot be placed)" if stuck else ""),
            0.8,
            stroke="#b00000" if stuck else "",
        )
        canvas.text(x0 + 3, y + 15, ("✗ " if stuck else "") + label[:40], size=10, fill="#111")
    return canvas.render()


@dataclass
class _Bar:
    process: str
    f: str
    value: Any
    start: float  # s
    end: float | None
    outcome: str


def _s(ns: int | None) -> float | None:
    return ns / 1e9 if ns is not None else None


def _plain(value: Any) -> str:
    """User data as short text (escaped later by the canvas)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)
