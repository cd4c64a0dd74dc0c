"""The stats chart: a PNG rendered with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from bot.review.stats import Stats


def stats_png(stats: Stats, labels: dict[str, str] | None = None) -> bytes:
    """Two panels: incidents per severity, and mean minutes to acknowledge / resolve per severity."""
    labels = labels or {}
    names = [labels.get(s.severity, s.severity) for s in stats.by_severity]
    xs = list(range(len(names)))
    fig = Figure(figsize=(9, 4), dpi=100)
    left, right = fig.subplots(1, 2)
    left.bar(xs, [s.count for s in stats.by_severity], color="#d9534f")
    left.set_title("Incidents by severity")
    left.set_xticks(xs, names)
    left.set_ylabel("incidents")
    width = 0.4
    tta = [(s.mean_tta or 0) / 60 for s in stats.by_severity]
    ttr = [(s.mean_ttr or 0) / 60 for s in stats.by_severity]
    right.bar([x - width / 2 for x in xs], tta, width, label="mean time to acknowledge", color="#f0ad4e")
    right.bar([x + width / 2 for x in xs], ttr, width, label="mean time to resolve", color="#5bc0de")
    right.set_title("Response times (minutes)")
    right.set_xticks(xs, names)
    right.legend(fontsize="small")
    fig.suptitle(f"Last {stats.days} days ({stats.since:%Y-%m-%d} to {stats.until:%Y-%m-%d} UTC)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
