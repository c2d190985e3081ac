"""Listens per month as a bar chart in SVG, small enough to travel inside Dagster metadata.

The Dagster UI renders Markdown metadata with images whose source is a ``data:`` URI (its
sanitiser allows that protocol for ``src``; raw HTML, an inline ``<svg>`` included, is shown
as text). So the chart is an SVG document wrapped in a data URI in a Markdown image. Months
without listens inside the span are marked under the axis in red: an export with a hole in it
is the most common sign of an incomplete download.

The UI shows Markdown under 1,000 characters in place and longer Markdown behind a "Show
Markdown" link, so the chart (kilobytes) is one click away; a sparkline of block characters,
one per month, fits in place.
"""

from __future__ import annotations

import base64
import math
from xml.sax.saxutils import escape

from koito_assets.defs.reports.months import Month

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 46  # margins around the plot area
BAR = "#4f43dd"
GAP = "#d93025"
INK = "#3b3f4a"
GRID = "#e4e6eb"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'


def _nice_ceiling(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def month_chart_svg(months: list[tuple[Month, int]], title: str) -> str:
    """Bars for ``months`` (every month of the span, in order, zero where none), as SVG text."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="20" {FONT} font-size="14" font-weight="600" fill="{INK}">'
        f"{escape(title)}</text>",
    ]
    top = _nice_ceiling(max((count for _, count in months), default=0))
    baseline = TOP + plot_h
    for fraction in (0.0, 0.5, 1.0):
        y = baseline - fraction * plot_h
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" {FONT} font-size="11" fill="{INK}" '
            f'text-anchor="end">{round(top * fraction):,}</text>'
        )
    slot = plot_w / max(len(months), 1)
    bar_w = max(slot * 0.8, 1.0)
    gaps = 0
    for index, (month, count) in enumerate(months):
        x = LEFT + index * slot + (slot - bar_w) / 2
        if count:
            height = max(count / top * plot_h, 1.0)
            parts.append(
                f'<rect x="{x:.1f}" y="{baseline - height:.1f}" width="{bar_w:.1f}" '
                f'height="{height:.1f}" fill="{BAR}"><title>{month}: {count:,}</title></rect>'
            )
        else:
            gaps += 1
            parts.append(
                f'<rect x="{x:.1f}" y="{baseline + 2}" width="{bar_w:.1f}" height="6" '
                f'fill="{GAP}"><title>{month}: no listens</title></rect>'
            )
        if month.month == 1 or index == 0:
            parts.append(
                f'<text x="{LEFT + index * slot:.1f}" y="{baseline + 22}" {FONT} font-size="11" '
                f'fill="{INK}">{month.year if month.month == 1 else month}</text>'
            )
    legend_y = HEIGHT - 8
    parts.append(
        f'<rect x="{LEFT}" y="{legend_y - 9}" width="10" height="10" fill="{BAR}"/>'
        f'<text x="{LEFT + 14}" y="{legend_y}" {FONT} font-size="11" fill="{INK}">listens</text>'
    )
    if gaps:
        parts.append(
            f'<rect x="{LEFT + 80}" y="{legend_y - 7}" width="10" height="6" fill="{GAP}"/>'
            f'<text x="{LEFT + 94}" y="{legend_y}" {FONT} font-size="11" fill="{INK}">'
            f"no listens ({gaps} month{'s' if gaps != 1 else ''})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_markdown_image(svg: str, alt: str) -> str:
    """``svg`` as a Markdown image with a base64 data URI (what the Dagster UI displays)."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![{escape(alt)}](data:image/svg+xml;base64,{encoded})"


BLOCKS = "▁▂▃▄▅▆▇█"
EMPTY = "·"
INLINE_LIMIT = 1000  # characters of Markdown the Dagster UI shows in place
MAX_SPARK_MONTHS = 480  # forty years a character each; longer histories get a character a year


def sparkline_markdown(months: list[tuple[Month, int]]) -> str:
    """One block character per month (``·`` for none), short enough to show in place."""
    if not months:
        return "no listens"
    if len(months) <= MAX_SPARK_MONTHS:
        points, unit = [(str(m), c) for m, c in months], "month"
    else:
        years: dict[int, int] = {}
        for month, count in months:
            years[month.year] = years.get(month.year, 0) + count
        points, unit = [(str(y), c) for y, c in years.items()], "year"
    top = max(count for _, count in points) or 1
    line = "".join(
        EMPTY if count == 0 else BLOCKS[min(len(BLOCKS), math.ceil(count / top * len(BLOCKS))) - 1]
        for _, count in points
    )
    text = f"`{line}`\n\n{points[0][0]} to {points[-1][0]}, a {unit} a character; {EMPTY} none"
    return text[:INLINE_LIMIT]
