"""Small server-rendered SVG charts (bars and lines). Every label is escaped; the page shows
the same figures in a table beside each chart, so the chart is never the only way to read them."""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 30, 14, 44
TICKS = 4
# steps between gridlines that read well: minutes, hours, days
DURATION_STEPS = [60 * m for m in (1, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 7200)]
BAR = "#2f6fb0"
LINE = "#b0542f"


def _frame(title: str, body: list[str]) -> SafeString:
    label = escape(title)
    # every text part of `body` and `title` is escaped where it is built
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>' + "".join(body) + "</svg>"
    )


def _axis(top: float, fmt: Callable[[float], str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = TOP + plot_h - plot_h * i / TICKS
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6470">{escape(fmt(value))}</text>'
        )
    return parts


def _top(values: list[float], fmt: Callable[[float], str]) -> float:
    """The axis maximum: a round number of round steps above the highest value."""
    peak = max(values, default=0.0)
    if fmt is percent_text:
        return 1.0
    if peak <= 0:
        return float(TICKS)
    if fmt is duration_text:
        step = next((s for s in DURATION_STEPS if s * TICKS >= peak), None)
        if step is None:
            step = math.ceil(peak / TICKS / 86400) * 86400
        return float(step * TICKS)
    return float(math.ceil(peak / TICKS) * TICKS)


def _label(x: float, text: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
        f'fill="#1f2328">{escape(text)}</text>'
    )


def bars(
    title: str, items: list[tuple[str, float | None]], fmt: Callable[[float], str]
) -> SafeString:
    """One bar per (label, value); a missing value is drawn as "no data"."""
    if not items:
        return _frame(title, [_empty()])
    values = [v for _, v in items if v is not None]
    top = _top(values, fmt)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(items)
    body = _axis(top, fmt)
    for i, (name, value) in enumerate(items):
        x = LEFT + step * i + step * 0.15
        center = LEFT + step * i + step / 2
        if value is None:
            body.append(
                f'<text x="{center:.1f}" y="{TOP + plot_h - 4}" text-anchor="middle" '
                f'font-size="10" fill="#5b6470">no data</text>'
            )
        else:
            h = plot_h * value / top
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{BAR}"><title>{escape(name)}: {escape(fmt(value))}'
                f"</title></rect>"
            )
        body.append(_label(center, name))
    return _frame(title, body)


def line(
    title: str, points: list[tuple[str, float | None]], fmt: Callable[[float], str]
) -> SafeString:
    """A line through (label, value) points; gaps where a value is missing."""
    if not points:
        return _frame(title, [_empty()])
    values = [v for _, v in points if v is not None]
    top = _top(values, fmt)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points) - 1, 1)
    body = _axis(top, fmt)
    segment: list[str] = []
    segments: list[list[str]] = []
    every = max(1, len(points) // 8)
    for i, (name, value) in enumerate(points):
        x = LEFT + step * i if len(points) > 1 else LEFT + plot_w / 2
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            y = TOP + plot_h - plot_h * value / top
            segment.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}"><title>{escape(name)}: '
                f"{escape(fmt(value))}</title></circle>"
            )
        if i % every == 0:
            body.append(_label(x, name))
    if segment:
        segments.append(segment)
    for seg in segments:
        body.append(
            f'<polyline points="{" ".join(seg)}" fill="none" stroke="{LINE}" stroke-width="2"/>'
        )
    return _frame(title, body)


def _empty() -> str:
    return (
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="13" '
        f'fill="#5b6470">No incidents in this range</text>'
    )


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def percent_text(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def count_text(value: float) -> str:
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.1f}"
