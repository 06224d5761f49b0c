"""Inline SVG charts for the HTML report: stacked bars over time, horizontal bars, lines.

No JavaScript: every mark (``class="mark"``) carries a ``<title>`` element, which browsers show
as the hover text. Coordinates are SVG user units in a ``viewBox`` of ``width`` x ``height``;
the ``<svg>`` scales to its container's width. Every text (labels, titles) is escaped with
``html.escape``. Time axes take UTC ``pd.Timestamp`` values and label ticks in units that
suit the span drawn (dates for days, ``HH:MM`` for hours and minutes, seconds only below a
minute; never fractions of a second).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import pandas as pd

FONT = 12
"""Font size of tick labels, in user units."""
CHAR = 7.0
"""Width of one character of a label at ``FONT`` (an estimate for the margin)."""
MAX_LABEL = 34
"""Longer bar labels are cut with an ellipsis (the full text is in the mark's title)."""
STEPS = tuple(pd.Timedelta(s) for s in (
    "1s", "2s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "30min",
    "1h", "2h", "3h", "6h", "12h", "1D", "2D", "7D", "14D", "28D", "91D", "182D", "364D"))
"""Tick spacings of a time axis, smallest first."""


@dataclass(frozen=True)
class Bar:
    """One bar segment: ``value`` (>= 0), its colour, and the hover text ``title``."""

    value: float
    colour: str
    title: str


@dataclass(frozen=True)
class Column:
    """The segments stacked (bottom first) in one x interval ``[start, end)`` of a time axis,
    or in one band of a category axis (``start``/``end`` then unused)."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    bars: Sequence[Bar]
    label: str = ""


@dataclass(frozen=True)
class Point:
    """One point of a line: UTC time, value, hover text."""

    time: pd.Timestamp
    value: float
    title: str


def _f(v: float) -> str:
    return f"{v:.1f}".removesuffix(".0")


def _text(x: float, y: float, text: str, anchor: str = "middle", cls: str = "tick",
          extra: str = "") -> str:
    return (f'<text class="{cls}" x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}"{extra}>'
            f"{escape(text)}</text>")


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg class="chart-svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
            f'font-size="{FONT}">{"".join(body)}</svg>')


def nice_ticks(top: float, count: int = 5, integer: bool = True) -> list[float]:
    """Tick values from 0 to at least ``top`` (>= 0) at a 1, 2 or 5 times a power of ten
    spacing, at most about ``count`` + 1 of them; integers only when ``integer``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, float(round(step)))
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _tick_number(v: float, percent: bool) -> str:
    return f"{100 * v:.0f}%" if percent else f"{v:g}"


def time_step(span: pd.Timedelta, count: int, least: pd.Timedelta | None = None
              ) -> pd.Timedelta:
    """The smallest of ``STEPS`` that puts at most ``count`` ticks on ``span`` and is not
    shorter than ``least`` (when ``least`` is one of ``STEPS``: a bucket's width); beyond
    the longest step, a whole number of them (so a span of centuries still gets ``count``)."""
    floor = least if least in STEPS else STEPS[0]
    found = next((s for s in STEPS if span / s <= count and s >= floor), None)
    return found or STEPS[-1] * math.ceil(span / STEPS[-1] / max(count, 1))


def time_ticks(start: pd.Timestamp, end: pd.Timestamp, count: int = 6,
               least: pd.Timedelta | None = None) -> list[tuple[pd.Timestamp, str, str]]:
    """``(time, label, second line)`` ticks on ``[start, end]`` (UTC): ``24 Nov`` for steps of
    a day or more (the year on the first tick and where it changes), ``HH:MM`` (with the date
    as a second line on the first tick and where the day changes) down to a minute, and
    ``HH:MM:SS`` below. Ticks fall on multiples of the step since the epoch, which is never
    shorter than ``least`` when that is one of ``STEPS`` (see ``time_step``)."""
    span = max(end - start, pd.Timedelta(seconds=1))
    step = time_step(span, count, least)
    first = pd.Timestamp((-(-start.value // step.value)) * step.value, unit="ns", tz="UTC")
    out: list[tuple[pd.Timestamp, str, str]] = []
    previous: pd.Timestamp | None = None
    t = first
    while t <= end:
        if step >= pd.Timedelta(days=1):
            label = t.strftime("%d %b").lstrip("0")
            second = str(t.year) if previous is None or previous.year != t.year else ""
        else:
            label = t.strftime("%H:%M:%S" if step < pd.Timedelta(minutes=1) else "%H:%M")
            new_day = previous is None or previous.date() != t.date()
            second = t.strftime("%d %b %Y").lstrip("0") if new_day else ""
        out.append((t, label, second))
        previous = t
        t = t + step
    return out


class _Frame:
    """A plot area inside margins, with a y axis from 0 to ``ticks[-1]``."""

    def __init__(self, width: int, height: int, left: float, bottom: float,
                 ticks: list[float]) -> None:
        self.width, self.height = width, height
        self.x0, self.x1 = left, width - 40.0
        self.y0, self.y1 = height - bottom, 12.0
        self.top = ticks[-1] or 1.0
        self.ticks = ticks

    def y(self, v: float) -> float:
        return self.y0 - (self.y0 - self.y1) * v / self.top

    def y_axis(self, title: str, percent: bool = False) -> list[str]:
        out = []
        for v in self.ticks:
            y = self.y(v)
            out.append(f'<line class="grid" x1="{_f(self.x0)}" x2="{_f(self.x1)}" '
                       f'y1="{_f(y)}" y2="{_f(y)}"/>')
            out.append(_text(self.x0 - 6, y + 4, _tick_number(v, percent), "end"))
        mid = (self.y0 + self.y1) / 2
        out.append(_text(14, mid, title, "middle", "axis-title",
                         f' transform="rotate(-90 14 {_f(mid)})"'))
        return out


def time_bars(columns: Sequence[Column], title: str, y_title: str, x_title: str,
              width: int = 1240, height: int = 320) -> str:
    """Stacked bars over a UTC time axis: each ``Column`` spans ``[start, end)`` (its bucket);
    one ``<rect class="mark">`` per bar with its title. Raises ValueError without columns."""
    if not columns:
        raise ValueError("no columns to draw")
    start = min(c.start for c in columns if c.start is not None)
    end = max(c.end for c in columns if c.end is not None)
    totals = [sum(b.value for b in c.bars) for c in columns]
    frame = _Frame(width, height, 56, 54, nice_ticks(max(totals)))
    span = (end - start).value or 1

    def x(t: pd.Timestamp) -> float:
        return frame.x0 + (frame.x1 - frame.x0) * (t - start).value / span

    body = frame.y_axis(y_title)
    for column in columns:
        a, b = x(column.start), x(column.end)
        gap = min(4.0, (b - a) * 0.15)
        bottom = 0.0
        for bar in column.bars:
            top_y, low_y = frame.y(bottom + bar.value), frame.y(bottom)
            body.append(f'<rect class="mark" x="{_f(a + gap)}" y="{_f(top_y)}" '
                        f'width="{_f(max(b - a - 2 * gap, 1.0))}" '
                        f'height="{_f(max(low_y - top_y, 0.5))}" fill="{bar.colour}">'
                        f"<title>{escape(bar.title)}</title></rect>")
            bottom += bar.value
    body += _time_axis(frame, start, end, x, x_title, end - max(c.start for c in columns
                                                                if c.start is not None))
    return _svg(width, height, title, body)


def _time_axis(frame: _Frame, start: pd.Timestamp, end: pd.Timestamp, x, title: str,
               least: pd.Timedelta) -> list[str]:
    out = [f'<line class="axis" x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" y1="{_f(frame.y0)}" '
           f'y2="{_f(frame.y0)}"/>']
    count = max(2, int((frame.x1 - frame.x0) // 110))
    for t, label, second in time_ticks(start, end, count, least):
        px = x(t)
        out.append(f'<line class="axis" x1="{_f(px)}" x2="{_f(px)}" y1="{_f(frame.y0)}" '
                   f'y2="{_f(frame.y0 + 4)}"/>')
        out.append(_text(px, frame.y0 + 17, label))
        if second:
            out.append(_text(px, frame.y0 + 31, second, cls="tick sub"))
    out.append(_text((frame.x0 + frame.x1) / 2, frame.height - 6, title, cls="axis-title"))
    return out


def band_bars(columns: Sequence[Column], title: str, y_title: str, x_title: str,
              width: int = 620, height: int = 300) -> str:
    """Stacked vertical bars, one band per ``Column`` labelled with ``Column.label``; one
    ``<rect class="mark">`` per bar. Raises ValueError without columns."""
    if not columns:
        raise ValueError("no columns to draw")
    totals = [sum(b.value for b in c.bars) for c in columns]
    frame = _Frame(width, height, 56, 54, nice_ticks(max(totals)))
    band = (frame.x1 - frame.x0) / len(columns)
    body = frame.y_axis(y_title)
    for i, column in enumerate(columns):
        a = frame.x0 + i * band
        w = min(band * 0.6, 120.0)
        left = a + (band - w) / 2
        bottom = 0.0
        for bar in column.bars:
            top_y, low_y = frame.y(bottom + bar.value), frame.y(bottom)
            body.append(f'<rect class="mark" x="{_f(left)}" y="{_f(top_y)}" width="{_f(w)}" '
                        f'height="{_f(max(low_y - top_y, 0.5))}" fill="{bar.colour}">'
                        f"<title>{escape(bar.title)}</title></rect>")
            bottom += bar.value
        body.append(_text(a + band / 2, frame.y0 + 17, _cut(column.label, int(band // CHAR))))
    body.append(f'<line class="axis" x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" '
                f'y1="{_f(frame.y0)}" y2="{_f(frame.y0)}"/>')
    body.append(_text((frame.x0 + frame.x1) / 2, height - 6, x_title, cls="axis-title"))
    return _svg(width, height, title, body)


def _cut(label: str, limit: int = MAX_LABEL) -> str:
    limit = max(limit, 4)
    return label if len(label) <= limit else label[:limit - 1] + "\u2026"


def hbars(rows: Sequence[tuple[str, Bar, str]], title: str, x_title: str,
          width: int = 620, integer: bool = True) -> str:
    """Horizontal bars, one per ``(label, bar, text at the bar's end)`` row, top to bottom;
    one ``<rect class="mark">`` per row and a ``<text class="bar-label">`` when the text is not
    empty. Raises ValueError without rows."""
    if not rows:
        raise ValueError("no rows to draw")
    labels = [_cut(label) for label, _, _ in rows]
    left = min(CHAR * max(len(s) for s in labels) + 14, width * 0.45)
    row_h = 24
    height = row_h * len(rows) + 56
    ticks = nice_ticks(max(b.value for _, b, _ in rows), 4, integer)
    x0, x1 = left, width - 76.0
    top = ticks[-1] or 1.0

    def x(v: float) -> float:
        return x0 + (x1 - x0) * v / top

    body = []
    for v in ticks:
        body.append(f'<line class="grid" x1="{_f(x(v))}" x2="{_f(x(v))}" y1="8" '
                    f'y2="{_f(height - 44)}"/>')
        body.append(_text(x(v), height - 28, f"{v:g}"))
    for i, ((_, bar, text), label) in enumerate(zip(rows, labels, strict=True)):
        y = 8 + i * row_h
        body.append(_text(x0 - 6, y + row_h / 2 + 4, label, "end", "tick label"))
        body.append(f'<rect class="mark" x="{_f(x0)}" y="{_f(y + 4)}" '
                    f'width="{_f(max(x(bar.value) - x0, 1.0))}" height="{row_h - 8}" '
                    f'fill="{bar.colour}"><title>{escape(bar.title)}</title></rect>')
        if text:
            body.append(_text(x(bar.value) + 5, y + row_h / 2 + 4, text, "start", "bar-label"))
    body.append(_text((x0 + x1) / 2, height - 8, x_title, cls="axis-title"))
    return _svg(width, height, title, body)


def time_lines(series: Sequence[tuple[str, str, Sequence[Point]]], title: str, y_title: str,
               x_title: str, pad: pd.Timedelta, width: int = 620, height: int = 300,
               percent: bool = True) -> str:
    """Lines over a UTC time axis, one per ``(name, colour, points)``; one
    ``<circle class="mark">`` per point, drawn ``pad / 2`` after its time (the middle of a
    bucket ``pad`` wide); the axis reaches ``pad`` beyond the last point. Values are
    fractions when ``percent`` (axis 0..100%). Raises ValueError without points."""
    points = [p for _, _, ps in series for p in ps]
    if not points:
        raise ValueError("no points to draw")
    start = min(p.time for p in points)
    end = max(p.time for p in points) + pad
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0] if percent else nice_ticks(max(p.value for p in points))
    frame = _Frame(width, height, 56, 54, ticks)
    span = (end - start).value or 1

    def x(t: pd.Timestamp) -> float:
        return frame.x0 + (frame.x1 - frame.x0) * (t - start).value / span

    def mid(t: pd.Timestamp) -> float:
        return x(t + pad / 2)

    body = frame.y_axis(y_title, percent)
    for _, colour, pts in series:
        coords = " ".join(f"{_f(mid(p.time))},{_f(frame.y(p.value))}" for p in pts)
        if len(pts) > 1:
            body.append(f'<polyline class="line" points="{coords}" stroke="{colour}"/>')
        for p in pts:
            body.append(f'<circle class="mark" cx="{_f(mid(p.time))}" cy="{_f(frame.y(p.value))}"'
                        f' r="4.5" fill="{colour}"><title>{escape(p.title)}</title></circle>')
    body += _time_axis(frame, start, end, x, x_title, pad)
    return _svg(width, height, title, body)


def legend(items: Sequence[tuple[str, str]], heading: str = "") -> str:
    """An HTML legend: ``(label, colour)`` swatches in order, after an optional heading."""
    head = f'<span class="legend-head">{escape(heading)}</span>' if heading else ""
    return (f'<ul class="legend">{head}' + "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{escape(label)}</li>'
        for label, colour in items) + "</ul>")
