"""Values with their units for humans: seconds/ms, bytes, percent, req/s (:func:`format_value`), axis
scaling for graphs (:func:`scale_for_axis`) and short series labels (:func:`series_label`)."""

from __future__ import annotations

import math
from collections.abc import Mapping

_UNIT_ALIASES = {
    "s": "seconds",
    "sec": "seconds",
    "second": "seconds",
    "seconds": "seconds",
    "ms": "ms",
    "milliseconds": "ms",
    "b": "bytes",
    "byte": "bytes",
    "bytes": "bytes",
    "%": "percent",
    "percent": "percent",
    "ratio": "ratio",
    "percentunit": "ratio",
    "req/s": "req/s",
    "rps": "req/s",
    "reqps": "req/s",
    "requests/s": "req/s",
    "ops": "ops/s",
    "ops/s": "ops/s",
    "count": "count",
    "": "count",
}


def normalise_unit(unit: str | None) -> str:
    if unit is None:
        return "count"
    return _UNIT_ALIASES.get(unit.strip().lower(), unit.strip())


def _number(value: float, digits: int = 3) -> str:
    """A compact number: 3 significant digits, no trailing zeros."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _si(value: float) -> str:
    for threshold, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{_number(value / threshold)}{suffix}"
    return _number(value)


def _duration(seconds: float) -> str:
    s = abs(seconds)
    sign = "-" if seconds < 0 else ""
    if s == 0:
        return "0s"
    if s < 1e-3:
        return f"{sign}{_number(s * 1e6)}µs"
    if s < 1:
        return f"{sign}{_number(s * 1e3)}ms"
    if s < 60:
        return f"{sign}{_number(s)}s"
    if s < 3600:
        return f"{sign}{_number(s / 60)}min"
    if s < 86400:
        return f"{sign}{_number(s / 3600)}h"
    return f"{sign}{_number(s / 86400)}d"


def _bytes(value: float) -> str:
    size = abs(value)
    sign = "-" if value < 0 else ""
    for power, suffix in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if size >= 1024**power:
            return f"{sign}{_number(size / 1024**power)} {suffix}"
    return f"{sign}{_number(size)} B"


def format_value(value: float | None, unit: str | None = None) -> str:
    """A value with its unit for people: 0.2345 s → "235ms", 1.5e9 bytes → "1.4 GiB", 0.05 ratio → "5%"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    kind = normalise_unit(unit)
    if kind == "seconds":
        return _duration(value)
    if kind == "ms":
        return _duration(value / 1000)
    if kind == "bytes":
        return _bytes(value)
    if kind == "percent":
        return f"{_number(value)}%"
    if kind == "ratio":
        return f"{_number(value * 100)}%"
    if kind in ("req/s", "ops/s"):
        return f"{_si(value)} {kind}"
    if kind == "count":
        return _si(value)
    return f"{_si(value)} {kind}"


def axis_unit_label(unit: str | None) -> str:
    """The label for a graph axis in the unit the values are drawn in (see :func:`scale_for_axis`)."""
    kind = normalise_unit(unit)
    return {"count": "", "ratio": "%", "percent": "%"}.get(kind, kind)


def scale_for_axis(values: list[float], unit: str | None) -> tuple[float, str]:
    """A (divisor, label) pair so the values on a graph axis read naturally (ms vs s, MiB vs GiB)."""
    kind = normalise_unit(unit)
    finite = [abs(v) for v in values if not math.isnan(v) and not math.isinf(v)]
    peak = max(finite, default=0.0)
    if kind in ("seconds", "ms"):
        per_second = 1000.0 if kind == "ms" else 1.0  # raw units in one second
        seconds_peak = peak / per_second
        if seconds_peak < 1:
            return per_second / 1000.0, "ms"
        if seconds_peak < 120:
            return per_second, "seconds"
        return per_second * 60, "minutes"
    if kind == "bytes":
        for power, suffix in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
            if peak >= 1024**power:
                return float(1024**power), suffix
        return 1.0, "bytes"
    if kind == "ratio":
        return 0.01, "%"
    return 1.0, axis_unit_label(unit)


_TARGET_LABELS = {"instance", "job"}


def series_label(labels: Mapping[str, str]) -> str:
    """A short legend label: labels other than the metric name as ``k=v`` (the bare value when only one).

    The scrape-target labels (instance, job) are left out when other labels tell the series apart."""
    items = [(k, v) for k, v in sorted(labels.items()) if k != "__name__"]
    distinctive = [(k, v) for k, v in items if k not in _TARGET_LABELS]
    if distinctive:
        items = distinctive
    if not items:
        return labels.get("__name__", "value")
    if len(items) == 1:
        return items[0][1]
    return ", ".join(f"{k}={v}" for k, v in items)
