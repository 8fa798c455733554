"""The dashboard's charts: one matplotlib figure per chart, saved as inline SVG for the HTML and as PNG files.

Charts only draw what a computation returned (plus bin counts). matplotlib is imported when a chart is drawn and
figures are built without pyplot, so no global backend or figure state is touched; PNGs are rendered by Agg.
Output is byte-for-byte repeatable: a fixed SVG hash salt per chart (which also keeps element ids unique across
the inline SVGs), no dates or software names in the metadata, and the DejaVu font matplotlib ships.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from customer_health.tools.base.formats import money, percent

if TYPE_CHECKING:
    from customer_health.tools.reports.portfolio import TierShare
    from customer_health.tools.usage.adoption import AdoptionRow
    from customer_health.tools.usage.cohorts import CohortTable
    from customer_health.tools.usage.funnel import FunnelStep
    from customer_health.tools.usage.seats import SeatRow
    from matplotlib.figure import Figure

TIER_COLOURS = {
    "thriving": "#1a7f37",
    "healthy": "#56a64b",
    "neutral": "#d4a72c",
    "at_risk": "#e16f24",
    "critical": "#c62828",
}
INK, MUTED, GRID = "#1f2328", "#656d76", "#d0d7de"
PRESENT, ADOPTED = "#8c959f", "#0969da"
UTILIZATION_BINS = [f"{k * 10}–{k * 10 + 10}%" for k in range(10)] + [">100%"]
ADOPTION_LEVELS = (
    ("wide", "30%+ of seats", "#1a7f37"),
    ("thin", "under 30%", "#d4a72c"),
    ("none", "not used", GRID),
)
LOW_N_MARK = "*"
DPI = 100
_RC = {
    "font.family": ["DejaVu Sans"],
    "font.size": 10,
    "svg.fonttype": "none",  # text stays text: selectable, searchable, and small
    "text.parse_math": False,  # a '$' in a feature or account name is just a dollar sign
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "text.color": INK,
    "path.simplify": False,
}


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    svg: str
    png: bytes


def render(name: str, title: str, draw, *args) -> Chart:
    """Draw a chart with `draw(fig, *args)` under the house style and save it both ways."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"chart-{name}"}):
        fig = Figure(dpi=DPI, layout="constrained")
        draw(fig, *args)
        svg, png = io.BytesIO(), io.BytesIO()
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        fig.savefig(png, format="png", metadata={"Software": None})
    return Chart(name, title, _inline(svg.getvalue().decode("utf-8"), title), png.getvalue())


def _inline(svg: str, title: str) -> str:
    """The <svg> element alone, scaling to its container, with an accessible title."""
    from html import escape

    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'<svg[^>]*?\swidth="[^"]*"\s+height="[^"]*"', _sized, svg, count=1)
    return svg.replace(">", f' role="img" aria-label="{escape(title)}">', 1)


def _sized(match: re.Match) -> str:
    return re.sub(r'\swidth="[^"]*"\s+height="[^"]*"', ' class="chart"', match.group(0))


def _bar_labels(ax, bars, labels: Sequence[str]) -> None:
    ax.bar_label(bars, labels=list(labels), padding=3, fontsize=9, color=INK)


def _count(n: int) -> str:
    """1,234 → 1.2k: bar labels stay narrower than their bars (the tables carry the exact counts)."""
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def health_distribution(fig: Figure, tiers: list[TierShare]) -> None:
    """ARR and account count per health tier, side by side, best tier on top."""
    names = [t.tier.replace("_", " ") for t in tiers][::-1]
    colours = [TIER_COLOURS.get(t.tier, PRESENT) for t in tiers][::-1]
    fig.set_size_inches(10, 3.2)
    arr_ax, n_ax = fig.subplots(1, 2, sharey=True)
    arr = [t.arr for t in tiers][::-1]
    bars = arr_ax.barh(names, arr, color=colours)
    shares = [t.arr_share for t in tiers][::-1]
    _bar_labels(
        arr_ax,
        bars,
        [
            f"{money(v)} · {percent(s)}" if s is not None else money(v)
            for v, s in zip(arr, shares, strict=True)
        ],
    )
    arr_ax.set_title("ARR by health tier", loc="left", fontsize=11)
    count = [t.accounts for t in tiers][::-1]
    bars = n_ax.barh(names, count, color=colours)
    _bar_labels(n_ax, bars, [f"{c:,}" for c in count])
    n_ax.set_title("Accounts by health tier", loc="left", fontsize=11)
    for ax, top in ((arr_ax, max(arr, default=0)), (n_ax, max(count, default=0))):
        ax.set_xlim(0, (top or 1) * 1.3)
        ax.set_xticks([])
        ax.spines["bottom"].set_visible(False)
        ax.tick_params(axis="y", length=0)


def utilization_bins(rows: list[SeatRow]) -> dict[str, list[int]]:
    """Accounts per 10-point band of present and of adopted utilization (100% exactly is the 90–100% band)."""
    out = {"present": [0] * len(UTILIZATION_BINS), "adopted": [0] * len(UTILIZATION_BINS)}
    for r in rows:
        for key, value in (("present", r.present_utilization), ("adopted", r.adopted_utilization)):
            if value is not None:
                pct = round(value * 100, 6)
                out[key][10 if pct > 100 else min(int(pct // 10), 9)] += 1
    return out


def seat_utilization(fig: Figure, bins: dict[str, list[int]], low: float, good: float) -> None:
    """How many accounts sit in each utilization band, present (any event) beside adopted (core features)."""
    import numpy as np

    fig.set_size_inches(10, 3.4)
    ax = fig.subplots()
    x = np.arange(len(UTILIZATION_BINS))
    ax.axvspan(-0.5, low * 10 - 0.5, color="#ffebe9", zorder=0)
    ax.axvspan(good * 10 - 0.5, len(x) - 0.5, color="#dafbe1", zorder=0)
    for offset, key, colour, label in (
        (-0.2, "present", PRESENT, "present (any event)"),
        (0.2, "adopted", ADOPTED, "adopted (core feature)"),
    ):
        bars = ax.bar(x + offset, bins[key], width=0.4, color=colour, label=label, zorder=2)
        _bar_labels(ax, bars, [_count(v) if v else "" for v in bins[key]])
    ax.set_xticks(x, UTILIZATION_BINS, fontsize=8.5)
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_ylabel("accounts")
    ax.set_xlabel(
        f"active users ÷ seats purchased (red: below {percent(low)}, green: {percent(good)} and up)"
    )
    ax.legend(frameon=False, ncols=2, loc="lower right", bbox_to_anchor=(1, 1.0))
    ax.set_title("Seat utilization", loc="left", fontsize=11)
    ax.margins(y=0.15)


def adoption_levels(core: list[str], rows: list[AdoptionRow]) -> dict[str, dict[str, int]]:
    """Per core feature, accounts using it with 30%+ of seats ('wide'), below that ('thin'), or not at all."""
    out = {f: {key: 0 for key, _, _ in ADOPTION_LEVELS} for f in core}
    for r in rows:
        for use in r.features:
            if use.feature in out:
                out[use.feature]["none" if use.users == 0 else ("thin" if use.underused else "wide")] += 1
    return out


def feature_adoption(fig: Figure, levels: dict[str, dict[str, int]]) -> None:
    """A stacked bar per core feature: accounts using it widely, thinly, or not at all."""
    features = list(levels)[::-1]
    fig.set_size_inches(10, 0.9 + 0.45 * max(len(features), 1))
    ax = fig.subplots()
    left = [0] * len(features)
    for key, label, colour in ADOPTION_LEVELS:
        values = [levels[f][key] for f in features]
        bars = ax.barh(features, values, left=left, color=colour, label=label)
        ax.bar_label(bars, labels=[f"{v:,}" if v else "" for v in values], label_type="center", fontsize=9)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("accounts")
    ax.tick_params(axis="y", length=0)
    ax.legend(frameon=False, ncols=3, loc="lower right", bbox_to_anchor=(1, 1.0))
    ax.set_title("Core-feature adoption", loc="left", fontsize=11)


def cohort_heatmap(fig: Figure, tables: list[CohortTable]) -> None:
    """One heatmap per retention table, stacked: cohorts down, months since signup across, each cell labelled."""
    import numpy as np
    from matplotlib.colors import Normalize

    heights = [max(len(t.rows), 1) + 2.5 for t in tables]
    fig.set_size_inches(10, 0.22 * sum(heights) + 0.3)
    axes = fig.subplots(len(tables), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, table in zip(axes, tables, strict=True):
        width = max((len(r.values) for r in table.rows), default=1)
        grid = np.full((len(table.rows), width), np.nan)
        for i, row in enumerate(table.rows):
            grid[i, : len(row.values)] = [np.nan if v is None else v for v in row.values]
        seen = grid[~np.isnan(grid)]
        low = min(float(seen.min()) if seen.size else 0.0, 0.5)
        high = max(float(seen.max()) if seen.size else 1.0, 1.0)
        # vector cells (not imshow): the SVG stays free of embedded bitmaps and sharp at any zoom
        ax.pcolormesh(np.ma.masked_invalid(grid), cmap="YlGnBu", norm=Normalize(low, high))
        for (i, j), v in np.ndenumerate(grid):
            if v == v:
                dark = (v - low) / ((high - low) or 1) > 0.55
                colour = "white" if dark else INK
                ax.text(j + 0.5, i + 0.5, percent(v), ha="center", va="center", fontsize=7.5, color=colour)
        labels = [f"{r.cohort} ({r.size}){LOW_N_MARK if r.low_confidence else ''}" for r in table.rows]
        ax.set_yticks([i + 0.5 for i in range(len(labels))], labels, fontsize=8)
        ax.set_xticks([m + 0.5 for m in range(width)], [str(m) for m in range(width)], fontsize=8)
        ax.set_xlim(0, width)
        ax.set_ylim(len(labels), 0)
        ax.xaxis.tick_top()
        ax.set_title(
            f"{table.metric.replace('_', ' ')} by signup month, months since signup across",
            loc="left",
            fontsize=11,
        )
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)


def funnel(fig: Figure, steps: list[FunnelStep], broken: str | None, title: str) -> None:
    """Users reaching each step, with the share of starters and the step-to-step conversion; the broken step red."""
    fig.set_size_inches(10, 3.4)
    ax = fig.subplots()
    names = [s.step for s in steps]
    users = [s.users for s in steps]
    colours = [TIER_COLOURS["critical"] if s.step == broken else ADOPTED for s in steps]
    bars = ax.bar(range(len(steps)), users, color=colours, width=0.6)
    labels = [
        f"{s.users:,}"
        + (
            f"\n{percent(s.conversion_from_start)} of starters"
            if i and s.conversion_from_start is not None
            else ""
        )
        for i, s in enumerate(steps)
    ]
    ax.bar_label(bars, labels=labels, padding=3, fontsize=9)
    for i, s in enumerate(steps[1:], 1):
        if s.conversion_from_previous is not None:
            y = max(users[i - 1], users[i]) * 0.5
            ax.annotate(
                f"→ {percent(s.conversion_from_previous)}", (i - 0.5, y), ha="center", fontsize=9, color=MUTED
            )
    ax.set_xticks(range(len(steps)), names)
    ax.set_ylim(0, max(max(users, default=0), 1) * 1.3)
    ax.set_ylabel("users")
    ax.set_title(title, loc="left", fontsize=11)
    ax.tick_params(axis="x", length=0)
