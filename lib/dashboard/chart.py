"""The NetLiquidation chart as SVG geometry, drawn by the page's template: the service renders it, so the page
needs no script and nothing from another host.

The samples are a line over time; the start of day and the drawdown limit are horizontal lines; the value axis
spans all of them, so both marks are always in view.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from lib.dashboard import model

WIDTH, HEIGHT = 1000, 300
LEFT, RIGHT, TOP, BOTTOM = 96, 24, 16, 32
# a series shorter than this is labelled to the second
SHORT_SPAN_S = 3600
Y_TICKS = 5


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Tick:
    """A label on an axis; `anchor` is its SVG text-anchor (the time axis keeps its end labels inside)."""

    at: float
    label: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Mark:
    """A horizontal line: `kind` is its CSS class ("start-of-day" or "drawdown-limit")."""

    y: float
    kind: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    points: list[Point]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    marks: list[Mark]

    @property
    def line(self) -> str:
        """The polyline's points attribute."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def nice_step(span: float, ticks: int = Y_TICKS) -> float:
    """A round step (1, 2 or 5 times a power of ten) that cuts `span` into about `ticks - 1` parts."""
    raw = span / max(1, ticks - 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def value_range(values: list[float]) -> tuple[float, float]:
    """The value axis: every value inside, padded by a twentieth of the span (a flat series gets +-0.5%)."""
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        pad = max(abs(high) * 0.005, 1.0)
        return low - pad, high + pad
    return low - span / 20, high + span / 20


def build(panel: model.NetLiquidation) -> Chart | None:
    """The chart of `panel`, or None when it has no sample."""
    if not panel.samples:
        return None
    times = [datetime.fromisoformat(s.at).timestamp() for s in panel.samples]
    marks = []
    if panel.start_of_day is not None:
        marks.append(("start-of-day", panel.start_of_day.value,
                      f"start of day {panel.start_of_day.date}: {panel.start_of_day.value:,.2f}"))
    if panel.drawdown_limit is not None:
        marks.append(("drawdown-limit", panel.drawdown_limit,
                      f"drawdown limit -{panel.max_daily_drawdown_percent:g}%: {panel.drawdown_limit:,.2f}"))
    low, high = value_range([s.value for s in panel.samples] + [value for _, value, _ in marks])
    x_of = _scale(min(times), max(times), LEFT, WIDTH - RIGHT)
    y_of = _scale(low, high, HEIGHT - BOTTOM, TOP)
    points = [Point(x_of(t), y_of(s.value), f"{s.value:,.2f} {s.currency} at {_when(s.at, seconds=True)} ({s.source})")
              for t, s in zip(times, panel.samples)]
    step = nice_step(high - low)
    first = math.ceil(low / step) * step
    y_ticks = [Tick(y_of(first + i * step), f"{first + i * step:,.0f}")
               for i in range(int((high - first) / step) + 1)]
    short = max(times) - min(times) < SHORT_SPAN_S
    spread = _spread(times, panel.samples)
    x_ticks = _distinct([Tick(x_of(t), _when(s.at, seconds=short), _anchor(index, len(spread)))
                         for index, (t, s) in enumerate(spread)])
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM, points, y_ticks, x_ticks,
                 [Mark(y_of(value), kind, label) for kind, value, label in marks])


def _scale(low: float, high: float, start: float, end: float):
    if high == low:
        return lambda value: (start + end) / 2
    return lambda value: start + (value - low) / (high - low) * (end - start)


def _spread(times: list[float], samples: list[model.Sample]) -> list[tuple[float, model.Sample]]:
    """The first, the middle and the last sample (each time once) for the time axis' labels."""
    picked = sorted({0, len(samples) // 2, len(samples) - 1})
    seen, ticks = set(), []
    for index in picked:
        if times[index] not in seen:
            seen.add(times[index])
            ticks.append((times[index], samples[index]))
    return ticks


def _distinct(ticks: list[Tick]) -> list[Tick]:
    """Each label once (samples a moment apart read the same to the second)."""
    distinct, seen = [], set()
    for tick in ticks:
        if tick.label not in seen:
            seen.add(tick.label)
            distinct.append(tick)
    return distinct


def _anchor(index: int, count: int) -> str:
    if count == 1:
        return "middle"
    return "start" if index == 0 else ("end" if index == count - 1 else "middle")


def _when(iso: str, *, seconds: bool = False) -> str:
    return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime(
        "%m-%d %H:%M:%S UTC" if seconds else "%m-%d %H:%M UTC")
