"""Hand-written inline SVG: scales, ticks and a plot canvas that escapes every string.

No JavaScript and no external resources: each chart is an ``<svg>`` element
embedded in the page. Tooltips are native ``<title>`` children.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

FONT = "font-family:system-ui,sans-serif"


def attr(value: object) -> str:
    """An attribute value, escaped (quotes included)."""
    return escape(str(value), quote=True)


def num(value: float) -> str:
    """A coordinate with two decimals, trailing zeros trimmed."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass
class Scale:
    """Maps a domain (lo, hi) to pixels (start, stop); ``log`` for positive log10 scales."""

    lo: float
    hi: float
    start: float
    stop: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.log:
            self.lo = max(self.lo, 1e-9)
            self.hi = max(self.hi, self.lo * 10)
        if not self.hi > self.lo:
            self.hi = self.lo + 1.0

    def _t(self, value: float) -> float:
        return math.log10(max(value, 1e-12)) if self.log else value

    def __call__(self, value: float) -> float:
        lo, hi = self._t(self.lo), self._t(self.hi)
        frac = (self._t(value) - lo) / (hi - lo)
        return self.start + frac * (self.stop - self.start)

    def clamp(self, value: float) -> float:
        return self(min(max(value, self.lo), self.hi))

    def ticks(self, count: int = 6) -> list[float]:
        if self.log:
            first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            return [10.0**e for e in range(first, last + 1) if self.lo <= 10.0**e <= self.hi]
        return nice_ticks(self.lo, self.hi, count)


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round tick values (1, 2, 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return [lo]
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    ticks: list[float] = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def tick_label(value: float) -> str:
    """A compact label: 0.001, 0.5, 12, 1.5k, 2M."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


@dataclass
class Canvas:
    """One SVG element: a list of shapes and the plot area (margins in px)."""

    width: int
    height: int
    left: int = 56
    right: int = 16
    top: int = 10
    bottom: int = 34
    label: str = "chart"
    parts: list[str] = field(default_factory=list)

    @property
    def x0(self) -> float:
        return float(self.left)

    @property
    def x1(self) -> float:
        return float(self.width - self.right)

    @property
    def y0(self) -> float:
        return float(self.top)

    @property
    def y1(self) -> float:
        return float(self.height - self.bottom)

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str,
        title: str = "",
        opacity: float = 1.0,
        stroke: str = "",
        extra: str = "",
    ) -> None:
        shape = (
            f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(w, 0.0))}" '
            f'height="{num(max(h, 0.0))}" fill="{attr(fill)}"'
        )
        if opacity < 1.0:
            shape += f' fill-opacity="{num(opacity)}"'
        if stroke:
            shape += f' stroke="{attr(stroke)}" stroke-width="1.5"'
        shape += extra
        self.parts.append(_with_title(shape, "rect", title))

    def circle(self, x: float, y: float, r: float, fill: str, title: str = "") -> None:
        shape = f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(r)}" fill="{attr(fill)}"'
        self.parts.append(_with_title(shape, "circle", title))

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        stroke: str,
        width: float = 1.0,
        dash: str = "",
    ) -> None:
        extra = f' stroke-dasharray="{attr(dash)}"' if dash else ""
        self.parts.append(
            f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
            f'stroke="{attr(stroke)}" stroke-width="{num(width)}"{extra}/>'
        )

    def text(
        self,
        x: float,
        y: float,
        content: str,
        size: int = 11,
        anchor: str = "start",
        fill: str = "#333",
        weight: str = "normal",
        rotate: bool = False,
    ) -> None:
        transform = f' transform="rotate(-90 {num(x)} {num(y)})"' if rotate else ""
        self.parts.append(
            f'<text x="{num(x)}" y="{num(y)}" font-size="{size}" text-anchor="{attr(anchor)}" '
            f'fill="{attr(fill)}" font-weight="{attr(weight)}"{transform}>{escape(content)}</text>'
        )

    def x_axis(self, scale: Scale, caption: str, fmt: Callable[[float], str] = tick_label) -> None:
        self.line(self.x0, self.y1, self.x1, self.y1, "#888")
        for value in scale.ticks(max(2, int((self.x1 - self.x0) / 90))):
            x = scale(value)
            self.line(x, self.y1, x, self.y1 + 4, "#888")
            self.text(x, self.y1 + 15, fmt(value), size=10, anchor="middle", fill="#555")
        self.text((self.x0 + self.x1) / 2, self.height - 4, caption, size=11, anchor="middle")

    def y_axis(
        self,
        scale: Scale,
        caption: str,
        fmt: Callable[[float], str] = tick_label,
        grid: bool = True,
    ) -> None:
        self.line(self.x0, self.y0, self.x0, self.y1, "#888")
        for value in scale.ticks(max(2, int((self.y1 - self.y0) / 40))):
            y = scale(value)
            if grid:
                self.line(self.x0, y, self.x1, y, "#eee")
            self.text(self.x0 - 5, y + 3, fmt(value), size=10, anchor="end", fill="#555")
        self.text(13, (self.y0 + self.y1) / 2, caption, size=11, anchor="middle", rotate=True)

    def legend(
        self, items: Sequence[tuple[str, str]], x: float | None = None, y: float | None = None
    ) -> None:
        """Colour swatches with labels, laid out left to right from (x, y)."""
        cx = self.x0 + 6 if x is None else x
        cy = self.y0 + 4 if y is None else y
        for name, colour in items:
            self.rect(cx, cy, 10, 10, colour)
            self.text(cx + 14, cy + 9, name, size=10)
            cx += 24 + 6.5 * len(name)

    def render(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{attr(self.label)}" '
            f'width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
            f'style="{FONT}">'
        )
        return head + "".join(self.parts) + "</svg>"


def _with_title(shape: str, tag: str, title: str) -> str:
    if not title:
        return shape + "/>"
    return f"{shape}><title>{escape(title)}</title></{tag}>"
