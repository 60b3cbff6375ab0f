"""``index.html``: one self-contained, offline page over every run in a store (or several).

Inline CSS and SVG only; no JavaScript, no external resource. Top down: the
headline, totals, trends (loss per hour by fault family, failover times per
night, anomalies by fault, rounds per hour), results per commit, flaky
cases, and the table of rounds with a link to each report.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from html import escape
from pathlib import Path

from harness.soak import export, svg
from harness.soak.store_index import (
    ROWS_FILE,
    Row,
    load_rows,
    merge_rows,
    read_store,
    rebase,
    save_rows,
)

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;max-width:1250px}
h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:22px 0 6px;border-bottom:1px solid #ddd}
.headline{font-size:17px;padding:10px 14px;border-radius:6px;margin:8px 0 14px}
.bad{background:#fde0dd;border-left:6px solid #d62728}.good{background:#e5f5e0;border-left:6px solid #2ca02c}
.tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{background:#f5f5f5;padding:8px 12px;border-radius:6px}
.tile b{display:block;font-size:18px}
.charts{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0}figcaption{font-weight:600;font-size:13px}
svg .ax{font-size:10px;fill:#555}svg .grid{stroke:#eee}
table{border-collapse:collapse;font-size:12.5px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}
th{background:#f0f0f0}tr.invalid td{background:#fde0dd}tr.error td,tr.unknown td{background:#fff3cd}
td.num{text-align:right}.v-valid{color:#2ca02c}.v-invalid{color:#d62728;font-weight:700}
.cell{display:inline-block;width:12px;height:12px;margin-right:2px;border-radius:2px}
.c-valid{background:#74c476}.c-invalid{background:#d62728}.c-error,.c-unknown{background:#fdae6b}
small{color:#666}code{font-size:11.5px}
"""

VERDICT_COLORS = {
    "valid": "#74c476",
    "invalid": "#d62728",
    "error": "#fd8d3c",
    "unknown": "#fdd0a2",
}
ANOMALY_COLORS = {"invalid": "#d62728", "lost writes": "#fdae6b", "error/unknown": "#969696"}


def _link(href: str | None, text: str) -> str:
    if not href:
        return "<small>not kept</small>"
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def _p(values: list[float], q: float) -> str:
    return f"{svg.quantile(values, q):.2f}" if values else "–"


HOURLY_SPAN_H = 72  # up to three days of rounds: one bar per hour; beyond: one per night


def time_axis(rows: list[Row]) -> tuple[list[str], list[str], str]:
    """Every bucket from the first round to the last, empty ones included, so a gap in the
    soak shows as a gap: (bucket keys, labels, unit). Hours when the rounds span at most
    three days, nights beyond that."""
    if not rows:
        return [], [], "hour"
    first = dt.datetime.fromisoformat(min(r.hour for r in rows) + ":00")
    last = dt.datetime.fromisoformat(max(r.hour for r in rows) + ":00")
    if (last - first).total_seconds() <= HOURLY_SPAN_H * 3600:
        step, unit, width = dt.timedelta(hours=1), "hour", 13
    else:
        first = first.replace(hour=0)
        step, unit, width = dt.timedelta(days=1), "night", 10
    keys: list[str] = []
    t = first
    while t <= last:
        keys.append(t.isoformat()[:width])
        t += step
    if unit == "hour":
        labels = [k[5:].replace("T", " ") + "h" for k in keys]
    else:
        labels = [k[5:] for k in keys]
    return keys, labels, unit


def _bucket(row: Row, unit: str) -> str:
    return row.hour if unit == "hour" else row.night


def _trends(rows: list[Row]) -> str:
    keys, labels, unit = time_axis(rows)
    families = sorted({r.family for r in rows})
    lost = {
        fam: [
            float(sum(r.lost or 0 for r in rows if _bucket(r, unit) == k and r.family == fam))
            for k in keys
        ]
        for fam in families
    }
    nights = time_axis(rows)[0] if unit == "night" else sorted({r.night for r in rows})
    fo = [[f for r in rows if r.night == n for f in r.failovers] for n in nights]
    faults = sorted({r.nemesis for r in rows})
    anomalies = {
        "invalid": [
            float(sum(r.verdict == "invalid" for r in rows if r.nemesis == f)) for f in faults
        ],
        "lost writes": [
            float(sum(r.verdict == "valid" and bool(r.lost) for r in rows if r.nemesis == f))
            for f in faults
        ],
        "error/unknown": [
            float(sum(r.verdict in ("error", "unknown") for r in rows if r.nemesis == f))
            for f in faults
        ],
    }
    per_bucket = {
        v: [float(sum(r.verdict == v for r in rows if _bucket(r, unit) == k)) for k in keys]
        for v in ("valid", "invalid", "error", "unknown")
    }
    return "".join(
        [
            svg.bars(
                f"Acknowledged writes lost per {unit}, by fault family", labels, lost, "writes"
            ),
            svg.boxes(
                "Failover time per night (whisker min–max, box p50–p99)",
                [n[5:] for n in nights],
                fo,
                "seconds",
            ),
            svg.hbars("Anomalies by fault (rounds)", faults, anomalies, "rounds", ANOMALY_COLORS),
            svg.bars(
                f"Rounds per {unit}, by verdict", labels, per_bucket, "rounds", VERDICT_COLORS
            ),
        ]
    )


def _commits(rows: list[Row]) -> str:
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by[r.commit].append(r)
    body = []
    for commit, rs in sorted(by.items(), key=lambda kv: kv[1][0].time, reverse=True):
        fo = [f for r in rs for f in r.failovers]
        body.append(
            f"<tr><td><code>{escape(commit[:12])}</code></td><td>{escape(rs[0].time[:16])}</td>"
            f"<td class=num>{len(rs)}</td><td class=num>{sum(r.verdict == 'invalid' for r in rs)}</td>"
            f"<td class=num>{sum(r.lost or 0 for r in rs)}</td><td class=num>{_p(fo, 0.5)}</td>"
            f"<td class=num>{_p(fo, 0.99)}</td></tr>"
        )
    return (
        "<table><tr><th>commit</th><th>first round</th><th>rounds</th><th>invalid</th>"
        "<th>lost writes</th><th>failover p50 s</th><th>failover p99 s</th></tr>"
        + "".join(body)
        + "</table>"
    )


def _flaky(rows: list[Row]) -> str:
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by[r.case].append(r)
    body = []
    for case, rs in sorted(by.items()):
        verdicts = {r.verdict for r in rs}
        if verdicts == {"valid"}:
            continue
        kind = "flaky" if "valid" in verdicts else "always fails"
        broke = sorted({r.night for r in rs if r.verdict != "valid"})
        cells = "".join(
            f'<span class="cell c-{escape(r.verdict)}" title="{escape(r.time)} {escape(r.verdict)}"></span>'
            for r in rs[-30:]
        )
        body.append(
            f"<tr><td>{escape(case)}</td><td>{kind}</td><td>{cells}</td>"
            f"<td>{escape(', '.join(broke))}</td><td class=num>{len(rs)}</td></tr>"
        )
    if not body:
        return "<p>No case broke on any night.</p>"
    return (
        "<table><tr><th>case (workload/fault/mode/backend)</th><th>kind</th>"
        "<th>rounds, oldest first</th><th>nights it broke</th><th>rounds</th></tr>"
        + "".join(body)
        + "</table>"
    )


def _rounds(rows: list[Row]) -> str:
    body = []
    for r in reversed(rows):
        fo = r.failovers
        what = ", ".join(r.broken) or r.error
        body.append(
            f'<tr class="{escape(r.verdict)}"><td>{escape(r.time[:19].replace("T", " "))}</td>'
            f'<td class="v-{escape(r.verdict)}">{escape(r.verdict)}</td><td>{escape(r.workload)}</td>'
            f"<td>{escape(r.nemesis)}</td><td>{escape(r.mode)}</td><td>{escape(r.backend)}</td>"
            f"<td class=num>{r.seed if r.seed is not None else '–'}</td>"
            f"<td class=num>{'–' if r.lost is None else r.lost}</td>"
            f"<td class=num>{len(fo)}</td><td class=num>{_p(fo, 0.5)}</td><td class=num>{_p(fo, 0.99)}</td>"
            f"<td><code>{escape(r.commit[:10])}</code></td><td>{_link(r.report, 'report')}</td>"
            f"<td><small>{escape(what)}</small></td></tr>"
        )
    return (
        "<table><tr><th>time (UTC)</th><th>verdict</th><th>workload</th><th>nemesis</th>"
        "<th>mode</th><th>backend</th><th>seed</th><th>lost writes</th><th>failovers</th>"
        "<th>p50 s</th><th>p99 s</th><th>commit</th><th>report</th><th>broken / error</th></tr>"
        + "".join(body)
        + "</table>"
    )


def render(rows: list[Row], title: str = "afcheck soak index") -> str:
    night = export.last_night(rows)
    bad = export.any_broken(rows, night)
    fo = [f for r in rows for f in r.failovers]
    tiles = [
        ("rounds", str(len(rows))),
        ("invalid", str(sum(r.verdict == "invalid" for r in rows))),
        ("harness errors", str(sum(r.verdict == "error" for r in rows))),
        ("acknowledged writes lost", str(sum(r.lost or 0 for r in rows))),
        ("failovers", str(len(fo))),
        ("failover p50 / p99 s", f"{_p(fo, 0.5)} / {_p(fo, 0.99)}"),
        ("nights", str(len({r.night for r in rows}))),
    ]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><small>generated {now}</small>"
        f'<p class="headline {"bad" if bad else "good"}">{escape(export.headline(rows))}</p>'
        '<div class="tiles">'
        + "".join(f'<div class="tile">{escape(k)}<b>{escape(v)}</b></div>' for k, v in tiles)
        + "</div><h2>Trends</h2><div class=charts>"
        + _trends(rows)
        + "</div><h2>By commit under test</h2>"
        + _commits(rows)
        + "<h2>Flaky and failing cases, across nights</h2>"
        + _flaky(rows)
        + "<h2>Rounds, newest first</h2>"
        + _rounds(rows)
        + "</body></html>\n"
    )


def write_index(stores: list[Path], out: Path, history: Path | None = None) -> list[Row]:
    """Write ``index.html``, ``junit.xml``, ``summary.md`` and ``index-rows.json`` into ``out``
    over the runs of ``stores`` plus the rows of earlier nights (``history``, else
    ``out/index-rows.json``). Returns this time's rows (the stores' runs)."""
    out.mkdir(parents=True, exist_ok=True)
    # a store's own rows keep the rounds retention evicted since
    kept = [
        rebase(load_rows(s / ROWS_FILE, s), s, out) for s in stores if s.resolve() != out.resolve()
    ]
    fresh = merge_rows(*kept, read_store(stores, out))
    earlier_file = history if history is not None else out / ROWS_FILE
    earlier = load_rows(earlier_file, out) if earlier_file.exists() else []
    rows = merge_rows(earlier, fresh)
    save_rows(rows, out / ROWS_FILE)
    tmp = out / ".index.html.tmp"
    tmp.write_text(render(rows), encoding="utf-8")
    os.replace(tmp, out / "index.html")
    (out / "junit.xml").write_bytes(export.junit_xml(fresh))
    (out / "summary.md").write_text(export.summary_md(rows), encoding="utf-8")
    return fresh
