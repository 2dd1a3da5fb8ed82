"""Bar charts as inline SVG, drawn on the server: no JavaScript, no build step, no chart library.

Each chart is an `<svg role="img">` named by its `<title>` and summarised by its `<desc>` (what a
screen reader announces); every bar has its own `<title>` (the browser's tooltip) and a printed
value. The dashboard always puts a table of the same figures next to a chart, so nothing is only
readable as a picture. Text is escaped here (format_html); the result is safe to render.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# The admin's blue, and an orange readable beside it by colour-blind viewers.
SERIES_COLOURS = ("#417690", "#d97706")
MUTED = "#6e7781"
GRID = "#d0d7de"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as printed (e.g. "4 min 30 s")


def _svg(width: int, height: int, title: str, desc: str, body: SafeString) -> SafeString:
    uid = f"hitl-chart-{next(_ids)}"
    return format_html(
        '<svg class="hitl-chart" role="img" aria-labelledby="{uid}-t {uid}-d" viewBox="0 0 {w} {h}" '
        'width="100%" style="max-width:{w}px;{font}" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{uid}-t">{title}</title><desc id="{uid}-d">{desc}</desc>{body}</svg>',
        uid=uid,
        w=width,
        h=height,
        font=FONT,
        title=title,
        desc=desc,
        body=body,
    )


def nice_ceiling(value: float) -> float:
    """The axis maximum: 1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def column_chart(title: str, desc: str, bars: list[Bar], *, label_every: int = 1) -> SafeString:
    """Vertical bars (a time series): one column per bar, x labels every `label_every` bars."""
    left, right, top, bottom = 40, 10, 12, 34
    plot_h = 180
    step = max(8, min(40, 760 // max(len(bars), 1)))
    width = left + right + step * max(len(bars), 1)
    height = top + plot_h + bottom
    peak = nice_ceiling(max((b.value for b in bars), default=0))
    parts = []
    for fraction in (0, 0.5, 1):
        y = top + plot_h - plot_h * fraction
        tick = peak * fraction
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="{}">{}</text>',
                left,
                width - right,
                y,
                y,
                GRID,
                left - 6,
                y + 4,
                MUTED,
                _number(tick),
            )
        )
    for i, bar in enumerate(bars):
        x = left + i * step
        h = plot_h * bar.value / peak if peak else 0
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
                x + 1,
                top + plot_h - h,
                max(step - 2, 1),
                h,
                SERIES_COLOURS[0],
                bar.label,
                bar.text,
            )
        )
        if bar.value and step >= 16:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="#24292f">{}</text>',
                    x + step / 2,
                    top + plot_h - h - 3,
                    bar.text,
                )
            )
        if i % label_every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="{}">{}</text>',
                    x + step / 2,
                    top + plot_h + 14,
                    MUTED,
                    bar.label,
                )
            )
    return _svg(width, height, title, desc, mark_safe("".join(parts)))  # noqa: S308 - parts are format_html


def bar_chart(title: str, desc: str, bars: list[Bar]) -> SafeString:
    """Horizontal bars, one per row (counts per reason)."""
    return grouped_bar_chart(title, desc, [(b.label, [b]) for b in bars], series=())


def grouped_bar_chart(
    title: str, desc: str, groups: list[tuple[str, list[Bar]]], *, series: tuple[str, ...]
) -> SafeString:
    """Horizontal bars grouped per row (e.g. median and p90 per inbox), with a legend if `series`."""
    label_w, value_w, plot_w = 290, 90, 360
    bar_h, gap = 16, 14
    legend_h = 22 if series else 0
    per_group = max((len(bars) for _, bars in groups), default=1)
    group_h = per_group * bar_h + gap
    width = label_w + plot_w + value_w
    height = legend_h + max(len(groups), 1) * group_h + 4
    peak = max((b.value for _, bars in groups for b in bars), default=0) or 1
    parts = []
    for i, name in enumerate(series):
        x = label_w + i * 140
        parts.append(
            format_html(
                '<rect x="{}" y="4" width="12" height="12" fill="{}"/>'
                '<text x="{}" y="14" font-size="12" fill="#24292f">{}</text>',
                x,
                SERIES_COLOURS[i % len(SERIES_COLOURS)],
                x + 17,
                name,
            )
        )
    if not groups:
        parts.append(
            format_html('<text x="{}" y="{}" font-size="12" fill="{}">{}</text>', 0, 16, MUTED, "No data")
        )
    for g, (label, bars) in enumerate(groups):
        y0 = legend_h + g * group_h
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="#24292f">{}</text>',
                label_w - 8,
                y0 + per_group * bar_h / 2 + 4,
                _shorten(label, 42),
            )
        )
        for b, bar in enumerate(bars):
            y = y0 + b * bar_h
            w = plot_w * bar.value / peak
            name = f"{series[b]} · " if series else ""
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}{}</title></rect>'
                    '<text x="{}" y="{}" font-size="11" fill="#24292f">{}</text>',
                    label_w,
                    y + 1,
                    max(w, 1 if bar.value else 0),
                    bar_h - 2,
                    SERIES_COLOURS[b % len(SERIES_COLOURS)],
                    label,
                    name,
                    bar.text,
                    label_w + w + 5,
                    y + bar_h - 4,
                    bar.text,
                )
            )
    return _svg(width, height, title, desc, mark_safe("".join(parts)))  # noqa: S308 - parts are format_html


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["Bar", "bar_chart", "column_chart", "grouped_bar_chart", "nice_ceiling"]
