"""Small HTML builders. Every value passes through :func:`h`: run data is user data."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

MAX_TEXT = 240


def h(value: Any) -> str:
    """Escaped text of any value."""
    return escape(value if isinstance(value, str) else text(value), quote=True)


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """A value as short plain text: strings as they are, the rest as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, str):
        out = value
    else:
        out = json.dumps(value, default=str, sort_keys=True, separators=(",", ":"))
    return out if len(out) <= limit else out[: limit - 1] + "…"


def code(value: Any) -> str:
    return f"<code>{h(text(value))}</code>"


def secs(value: float | None, digits: int = 3) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.{digits}f}"


class Cell:
    """A table cell: raw (already-escaped) HTML and a numeric flag for right alignment."""

    def __init__(self, html: str, numeric: bool = False) -> None:
        self.html = html
        self.numeric = numeric


def cell(value: Any) -> Cell:
    """A cell from a plain value (escaped); numbers are right-aligned."""
    if isinstance(value, Cell):
        return value
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return Cell(h(value), numeric)


def raw(html: str, numeric: bool = False) -> Cell:
    return Cell(html, numeric)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()
) -> str:
    """A table; ``numeric`` lists header columns to right-align."""
    head = "".join(
        f'<th class="num">{h(name)}</th>' if i in numeric else f"<th>{h(name)}</th>"
        for i, name in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for value in row:
            c = cell(value)
            cells.append(f'<td class="num">{c.html}</td>' if c.numeric else f"<td>{c.html}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def long_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    shown: int = 25,
    what: str = "rows",
    limit: int = 1000,
) -> str:
    """A table showing the first ``shown`` rows, up to ``limit`` more folded under a <details>."""
    if len(rows) <= shown:
        return table(headers, rows)
    folded = rows[shown:limit]
    out = (
        table(headers, rows[:shown])
        + f"<details><summary>show {len(folded)} more {h(what)}</summary>"
        + table(headers, folded)
        + "</details>"
    )
    if len(rows) > limit:
        out += note(f"{len(rows) - limit} more {what} not shown; see results.json")
    return out


def badge(verdict: str, big: bool = False) -> str:
    size = " big" if big else ""
    return f'<span class="badge {h(verdict)}{size}">{h(verdict)}</span>'


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{h(anchor)}"><h2>{h(title)}</h2>{body}</section>'


def note(message: str) -> str:
    return f'<p class="note">{h(message)}</p>'
