"""Range-query results rendered to PNG with matplotlib's Agg canvas (no pyplot, display or network).

Sized and styled to stay readable at Slack's thumbnail width: large fonts, thick lines, a capped
legend (the busiest series are drawn, the rest summarised as "+N more"), the unit on the y axis.
"""

from __future__ import annotations

import io
import math

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from integrations.prometheus import RangeResult, Series, scale_for_axis

MAX_SERIES = 8
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.2, 110
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _peak(series: Series) -> float:
    finite = [v for _, v in series.points if not (math.isnan(v) or math.isinf(v))]
    return max(finite, default=-math.inf)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_range(result: RangeResult, *, title: str | None = None, max_series: int = MAX_SERIES) -> bytes:
    """One line per series (busiest first, at most ``max_series``), unit on the axis → PNG bytes."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    all_values = [v for s in result.series for _, v in s.points]
    divisor, unit_label = scale_for_axis(all_values, result.unit)

    ranked = sorted(result.series, key=_peak, reverse=True)
    shown, hidden = ranked[:max_series], ranked[max_series:]
    for series in shown:
        xs = mdates.date2num([t for t, _ in series.points])
        ys = [v / divisor for _, v in series.points]
        ax.plot(xs, ys, linewidth=2.2, label=_short(series.name))

    ax.set_title(_short(title or result.query, 70), fontsize=15, loc="left")
    if unit_label:
        ax.set_ylabel(unit_label, fontsize=13)
    ax.tick_params(labelsize=12)
    ax.grid(True, alpha=0.3)
    ax.set_xlim(float(mdates.date2num(result.start)), float(mdates.date2num(result.end)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=result.start.tzinfo))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=7))
    ax.set_xlabel("UTC" if result.start.tzinfo is not None else "", fontsize=11)
    if not shown or not any(s.points for s in shown):
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", fontsize=20, alpha=0.6)
    else:
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        handles, labels = ax.get_legend_handles_labels()
        if hidden:
            (extra,) = ax.plot([], [], linestyle="none")
            handles.append(extra)
            labels.append(f"+{len(hidden)} more")
        if len(shown) > 1 or hidden:
            ax.legend(
                handles,
                labels,
                fontsize=10,
                loc="upper left",
                framealpha=0.8,
                ncol=2 if len(labels) > 4 else 1,
            )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
