"""The store index's words and CI exports: the headline, ``junit.xml`` and ``summary.md``.

All of them read :class:`~harness.soak.store_index.Row` values only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from harness.soak.store_index import Row


def last_night(rows: list[Row]) -> str | None:
    return max((r.night for r in rows), default=None)


def loss_per_hour(rows: list[Row]) -> float:
    """Acknowledged writes lost per hour of rounds (by the hours the rounds ran in)."""
    hours = {r.hour for r in rows}
    return sum(r.lost or 0 for r in rows) / len(hours) if hours else 0.0


def headline(rows: list[Row]) -> str:
    """One sentence: did anything break last night, and is loss trending up or down?"""
    night = last_night(rows)
    if night is None:
        return "No complete rounds in this store yet."
    tonight = [r for r in rows if r.night == night]
    broken = [r for r in tonight if r.verdict == "invalid"]
    errors = [r for r in tonight if r.verdict == "error"]
    if broken:
        cases = sorted({f"{r.workload}/{r.nemesis}/{r.mode}" for r in broken})
        more = f" (+{len(cases) - 3} more)" if len(cases) > 3 else ""
        first = f"{len(broken)} of {len(tonight)} rounds on {night} broke a promise: {', '.join(cases[:3])}{more}"
    else:
        first = f"Nothing broke on {night}: {len(tonight)} rounds kept every promise"
    if errors:
        first += f" ({len(errors)} harness errors)"
    earlier = [r for r in rows if r.night < night]
    now = loss_per_hour(tonight)
    if earlier:
        before = loss_per_hour([r for r in earlier if r.night == max(e.night for e in earlier)])
        if now > before * 1.2 + 0.5:
            trend = f"acknowledged-write loss is trending up ({now:.1f}/h vs {before:.1f}/h the night before)"
        elif now < before * 0.8 - 0.5:
            trend = f"acknowledged-write loss is trending down ({now:.1f}/h vs {before:.1f}/h the night before)"
        else:
            trend = (
                f"acknowledged-write loss is flat ({now:.1f}/h vs {before:.1f}/h the night before)"
            )
    else:
        trend = f"acknowledged-write loss was {now:.1f}/h (no earlier night to compare)"
    return f"{first}; {trend}."


def failure_text(row: Row) -> str:
    lines = []
    if row.broken:
        lines.append("broken promises: " + ", ".join(row.broken))
    elif row.verdict == "unknown":
        lines.append("verdict unknown: the checkers could not decide")
    if row.error:
        lines.append(f"harness error: {row.error}")
    if row.lost:
        lines.append(f"acknowledged writes lost: {row.lost}")
    lines.append(f"repeat with: {row.repeat}")
    if row.run_dir:
        lines.append(f"or: afcheck run --replay {row.run_dir}")
    return "\n".join(lines)


def junit_xml(rows: list[Row], name: str = "afcheck-soak") -> bytes:
    """One testcase per round; failures carry the broken promises and the repeat command."""
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(rows)),
        failures=str(sum(r.verdict == "invalid" for r in rows)),
        errors=str(sum(r.verdict in ("error", "unknown") for r in rows)),
        skipped="0",
    )
    for r in rows:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"soak.{r.workload}.{r.mode}.{r.backend}",
            name=f"{r.nemesis} seed={r.seed} {r.time}",
            time=str(r.extra.get("time_limit") or 0),  # seconds of workload
        )
        if r.verdict == "invalid":
            msg = ", ".join(r.broken) or "invalid"
            ET.SubElement(case, "failure", message=msg, type="broken-promise").text = failure_text(
                r
            )
        elif r.verdict in ("error", "unknown"):
            ET.SubElement(
                case, "error", message=r.error or r.verdict, type=r.verdict
            ).text = failure_text(r)
        out = f"lost={r.lost} failovers={len(r.failovers)} commit={r.commit} report={r.report}"
        ET.SubElement(case, "system-out").text = out
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def summary_md(rows: list[Row], index_link: str = "index.html") -> str:
    """A CI job summary: the headline, counts per night, and every broken round."""
    out = ["# afcheck nightly soak", "", f"**{headline(rows)}**", ""]
    by_night: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_night[r.night].append(r)
    out += [
        "| night | rounds | invalid | errors | lost writes | failovers |",
        "|---|---|---|---|---|---|",
    ]
    for day in sorted(by_night, reverse=True)[:7]:
        rs = by_night[day]
        out.append(
            f"| {day} | {len(rs)} | {sum(r.verdict == 'invalid' for r in rs)} | "
            f"{sum(r.verdict == 'error' for r in rs)} | {sum(r.lost or 0 for r in rs)} | "
            f"{sum(len(r.failovers) for r in rs)} |"
        )
    night = last_night(rows)
    bad = [r for r in rows if r.night == night and r.verdict != "valid"]
    if bad:
        out += ["", "## Rounds that did not pass", ""]
        for r in bad:
            what = ", ".join(r.broken) or r.error or r.verdict
            out.append(f"- **{r.workload}/{r.nemesis}/{r.mode}** ({r.verdict}): {what}")
            out.append(f"  - repeat: `{r.repeat}`")
    out += ["", f"Full index: `{index_link}` (in the soak artifact).", ""]
    return "\n".join(out)


def any_broken(rows: list[Row], night: str | None = None) -> bool:
    return any(r.verdict == "invalid" for r in rows if night is None or r.night == night)


def write_exports(rows: list[Row], out: Path) -> None:
    (out / "junit.xml").write_bytes(junit_xml(rows))
    (out / "summary.md").write_text(summary_md(rows), encoding="utf-8")
