"""Charts drawn on the server as inline SVG: no script, no library, no CDN, nothing the CSP must allow.

Colours come from classes in ``audit.css`` (never ``style`` attributes, which the CSP forbids), and
every chart is an ``img`` whose title and description say what it shows; the numbers themselves are
in the table printed beside each chart, which is what screen readers and exports rely on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from .reports import REPORTS, AlertsPerDay, OverrideRate, RuleCount, UnrecognisedInputs

WIDTH = 720
BAR_ROW = 26
LABEL_WIDTH = 250
VALUE_WIDTH = 70


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _svg(chart_id: str, title: str, description: str, height: int, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _short(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def stacked_bars(
    chart_id: str,
    title: str,
    days: Sequence[date],
    series: dict[str, list[int]],
) -> Markup:
    """One bar per day, stacked by severity (the least severe at the bottom)."""
    height, top, bottom, left = 280, 16, 48, 48
    plot_h, plot_w = height - top - bottom, WIDTH - left - 12
    totals = [sum(s[i] for s in series.values()) for i in range(len(days))]
    peak = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.75, 1.0)
    body: list[str] = []
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        value = peak * fraction
        body.append(
            f'<line class="grid" x1="{left}" x2="{WIDTH - 12}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{value:g}</text>"
        )
    label_every = max(1, math.ceil(len(days) / 10))
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        base = float(top + plot_h)
        for severity in reversed(list(series)):
            count = series[severity][i]
            if not count:
                continue
            h = plot_h * count / peak
            base -= h
            body.append(
                f'<rect class="bar sev-{escape(severity)}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}"><title>{day.isoformat()}: {count} '
                f"{escape(severity)}</title></rect>"
            )
        if i % label_every == 0:
            body.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{height - bottom + 18}" '
                f'text-anchor="middle">{day.strftime("%m-%d")}</text>'
            )
    description = (
        f"Stacked bars, one per day from {days[0].isoformat()} to {days[-1].isoformat()}; "
        f"the highest day has {max(totals)} alerts. The table beside the chart has every number."
        if days and totals
        else "No days in the period."
    )
    return _svg(chart_id, title, description, height, body)


def horizontal_bars(
    chart_id: str,
    title: str,
    items: Sequence[tuple[str, float, str]],
    *,
    maximum: float | None = None,
) -> Markup:
    """One labelled bar per item: (label, value, the value as printed at the bar's end)."""
    top = 8
    height = top * 2 + BAR_ROW * max(len(items), 1)
    peak = maximum if maximum is not None else _nice_max(max((v for _, v, _ in items), default=0))
    plot_w = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body: list[str] = []
    for i, (label, value, printed) in enumerate(items):
        y = top + i * BAR_ROW
        w = plot_w * value / peak if peak else 0
        body.append(
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">'
            f"{escape(_short(label))}</text>"
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 4}" width="{max(w, 1):.1f}" height="18">'
            f"<title>{escape(label)}: {escape(printed)}</title></rect>"
            f'<text class="value" x="{LABEL_WIDTH + w + 6:.1f}" y="{y + 17}">'
            f"{escape(printed)}</text>"
        )
    if not items:
        body.append(f'<text class="label" x="{LABEL_WIDTH}" y="{top + 17}">Nothing to show.</text>')
    description = f"{len(items)} bars, largest first. The table beside the chart has every number."
    return _svg(chart_id, title, description, height, body)


def _percent(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def per_day_chart(per_day: AlertsPerDay) -> Markup:
    return stacked_bars("chart-per-day", REPORTS["alerts-per-day"], per_day.days, per_day.counts)


def top_rules_chart(rules: list[RuleCount]) -> Markup:
    return horizontal_bars(
        "chart-top-rules",
        REPORTS["top-rules"],
        [(f"{r.rule} {r.title}", r.alerts, str(r.alerts)) for r in rules],
    )


def override_chart(name: str, rates: list[OverrideRate]) -> Markup:
    """Override rates of one report (by rule or by client), on a 0-100% axis."""
    labels = [f"{r.key} {r.label}" if name == "override-by-rule" else r.label for r in rates]
    return horizontal_bars(
        f"chart-{name}",
        REPORTS[name],
        [(label, r.rate, _percent(r.rate)) for label, r in zip(labels, rates, strict=True)],
        maximum=1.0,
    )


def unrecognised_chart(unrecognised: UnrecognisedInputs) -> Markup:
    return horizontal_bars(
        "chart-unrecognised",
        REPORTS["unrecognised-inputs"],
        [(i.text, i.times, str(i.times)) for i in unrecognised.inputs],
    )
