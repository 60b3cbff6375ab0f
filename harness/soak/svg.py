"""Small inline SVG charts for the store index (no JavaScript, no external resources)."""

from __future__ import annotations

from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
W, H, PAD_L, PAD_B, PAD_T = 560, 200, 44, 46, 14


def _frame(title: str, body: str, ymax: float, unit: str) -> str:
    ticks = "".join(
        f'<text x="{PAD_L - 4}" y="{_y(v, ymax) + 4:.1f}" text-anchor="end" class="ax">{v:g}</text>'
        f'<line x1="{PAD_L}" x2="{W - 6}" y1="{_y(v, ymax):.1f}" y2="{_y(v, ymax):.1f}" class="grid"/>'
        for v in _nice_ticks(ymax)
    )
    return (
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
        f'aria-label="{escape(title)}">{ticks}'
        f'<text x="4" y="{PAD_T - 2}" class="ax">{escape(unit)}</text>{body}</svg></figure>'
    )


def _nice_ticks(ymax: float) -> list[float]:
    if ymax <= 0:
        return [0.0]
    step = 10 ** len(str(int(ymax))) / 10
    for mult in (1, 2, 5, 10):
        if ymax / (step * mult) <= 5:
            step *= mult
            break
    return [i * step for i in range(int(ymax // step) + 2) if i * step <= ymax * 1.05 + 1e-9]


def _y(v: float, ymax: float) -> float:
    return H - PAD_B - (v / ymax if ymax else 0) * (H - PAD_B - PAD_T)


def _xlabels(labels: list[str], xs: list[float]) -> str:
    every = max(1, len(labels) // 8)
    return "".join(
        f'<text x="{x:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" class="ax">{escape(lbl)}</text>'
        for i, (lbl, x) in enumerate(zip(labels, xs, strict=True))
        if i % every == 0
    )


def bars(
    title: str,
    labels: list[str],
    series: dict[str, list[float]],
    unit: str,
    colors: dict[str, str] | None = None,
) -> str:
    """Stacked bars, one per label; ``series`` name -> one value per label."""
    colors = colors or {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(series)}
    if not labels:
        return _frame(title, '<text x="50%" y="50%" class="ax">no data</text>', 1, unit)
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(labels))]
    ymax = max(max(totals), 1.0)
    slot = (W - PAD_L - 6) / len(labels)
    bw = max(2.0, slot * 0.7)
    body, xs = [], []
    for i, label in enumerate(labels):
        x = PAD_L + i * slot + (slot - bw) / 2
        xs.append(x + bw / 2)
        base = 0.0
        for name, vals in series.items():
            v = vals[i]
            if v <= 0:
                continue
            y0, y1 = _y(base, ymax), _y(base + v, ymax)
            body.append(
                f'<rect x="{x:.1f}" y="{y1:.1f}" width="{bw:.1f}" height="{y0 - y1:.1f}" '
                f'fill="{colors[name]}"><title>{escape(label)} {escape(name)}: {v:g}</title></rect>'
            )
            base += v
    return _frame(title, "".join(body) + _xlabels(labels, xs) + legend(colors), ymax, unit)


def hbars(
    title: str,
    labels: list[str],
    series: dict[str, list[float]],
    unit: str,
    colors: dict[str, str] | None = None,
) -> str:
    """Stacked horizontal bars, one row per label (long category names stay readable)."""
    colors = colors or {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(series)}
    row, label_w, top = 16, 170, 8
    height = top + max(1, len(labels)) * row + 40
    if not labels:
        return _frame(title, '<text x="50%" y="50%" class="ax">no data</text>', 1, unit)
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(labels))]
    xmax = max(max(totals), 1.0)
    span = W - label_w - 30
    body = []
    for i, label in enumerate(labels):
        y = top + i * row
        body.append(
            f'<text x="{label_w - 6}" y="{y + row - 5}" text-anchor="end" class="ax">'
            f"{escape(label[:32])}</text>"
        )
        base = 0.0
        for name, vals in series.items():
            v = vals[i]
            if v <= 0:
                continue
            x0 = label_w + base / xmax * span
            body.append(
                f'<rect x="{x0:.1f}" y="{y + 2}" width="{v / xmax * span:.1f}" height="{row - 4}" '
                f'fill="{colors[name]}"><title>{escape(label)} {escape(name)}: {v:g}</title></rect>'
            )
            base += v
        if totals[i]:
            x = label_w + totals[i] / xmax * span + 4
            body.append(f'<text x="{x:.1f}" y="{y + row - 5}" class="ax">{totals[i]:g}</text>')
    axis_y = top + len(labels) * row + 12
    keys = "".join(
        f'<rect x="{label_w + i * 110}" y="{axis_y}" width="10" height="10" fill="{c}"/>'
        f'<text x="{label_w + i * 110 + 14}" y="{axis_y + 9}" class="ax">{escape(n[:16])}</text>'
        for i, (n, c) in enumerate(colors.items())
    )
    return (
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f'<svg viewBox="0 0 {W} {height}" width="{W}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><text x="{W - 6}" y="{axis_y + 9}" text-anchor="end" '
        f'class="ax">{escape(unit)}</text>{"".join(body)}{keys}</svg></figure>'
    )


def legend(colors: dict[str, str]) -> str:
    if len(colors) <= 1:
        return ""
    return "".join(
        f'<rect x="{PAD_L + i * 100}" y="{H - 16}" width="10" height="10" fill="{c}"/>'
        f'<text x="{PAD_L + i * 100 + 14}" y="{H - 7}" class="ax">{escape(n[:14])}</text>'
        for i, (n, c) in enumerate(colors.items())
    )


def boxes(title: str, labels: list[str], samples: list[list[float]], unit: str) -> str:
    """One box per label: min-max whisker, p50 mark, p99 dot."""
    if not labels:
        return _frame(title, '<text x="50%" y="50%" class="ax">no data</text>', 1, unit)
    ymax = max([max(s) for s in samples if s] + [1.0]) * 1.1
    slot = (W - PAD_L - 6) / len(labels)
    body, xs = [], []
    for label, values, i in zip(labels, samples, range(len(labels)), strict=True):
        cx = PAD_L + (i + 0.5) * slot
        xs.append(cx)
        if not values:
            continue
        lo, hi = min(values), max(values)
        p50, p99 = quantile(values, 0.5), quantile(values, 0.99)
        bw = max(4.0, slot * 0.4)
        tip = f"{label}: n={len(values)} p50={p50:.2f}s p99={p99:.2f}s max={hi:.2f}s"
        body.append(
            f"<g><title>{escape(tip)}</title>"
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{_y(lo, ymax):.1f}" y2="{_y(hi, ymax):.1f}" stroke="#555"/>'
            f'<rect x="{cx - bw / 2:.1f}" y="{_y(p99, ymax):.1f}" width="{bw:.1f}" '
            f'height="{max(1.0, _y(p50, ymax) - _y(p99, ymax)):.1f}" fill="#9ecae1" stroke="#1f77b4"/>'
            f'<line x1="{cx - bw / 2:.1f}" x2="{cx + bw / 2:.1f}" y1="{_y(p50, ymax):.1f}" '
            f'y2="{_y(p50, ymax):.1f}" stroke="#08306b" stroke-width="2"/></g>'
        )
    return _frame(title, "".join(body) + _xlabels(labels, xs), ymax, unit)


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))
    return ordered[rank]
