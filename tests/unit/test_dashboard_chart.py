"""The NetLiquidation chart's geometry: every sample and both marks inside the plot, round ticks, edge cases."""
import pytest

from lib.dashboard import chart, model


def panel(values, *, start=None, limit=None, percent=5.0):
    samples = [model.Sample(at=f"2026-11-24T15:{i:02d}:00+00:00", value=v, currency="USD", source="risk-check")
               for i, v in enumerate(values)]
    start_model = None if start is None else model.StartOfDay(date="2026-11-24", value=start, currency="USD",
                                                               recorded_at="2026-11-24T14:45:00+00:00", today=True)
    return model.NetLiquidation(current=values[-1] if values else None, currency="USD", samples=samples,
                                start_of_day=start_model, max_daily_drawdown_percent=percent,
                                drawdown_limit=limit, drawdown_percent=None)


def inside(c: chart.Chart, x: float, y: float) -> bool:
    return c.left <= x <= c.right and c.top <= y <= c.bottom


def test_no_sample_no_chart():
    assert chart.build(panel([])) is None


def test_samples_run_left_to_right_and_higher_values_sit_higher():
    c = chart.build(panel([100.0, 110.0, 105.0]))
    xs, ys = [p.x for p in c.points], [p.y for p in c.points]
    assert xs == sorted(xs) and xs[0] == c.left and xs[-1] == c.right
    assert ys[1] < ys[2] < ys[0]
    assert all(inside(c, p.x, p.y) for p in c.points)
    assert c.line.split()[0] == f"{xs[0]:.1f},{ys[0]:.1f}"
    assert "110.00 USD at 11-24 15:01:00 UTC (risk-check)" == c.points[1].title


def test_the_start_of_day_and_the_limit_are_always_in_view():
    c = chart.build(panel([1_000_000.0, 1_001_000.0], start=1_000_000.0, limit=950_000.0))
    marks = {m.kind: m for m in c.marks}
    assert set(marks) == {"start-of-day", "drawdown-limit"}
    assert all(inside(c, c.left, m.y) for m in marks.values())
    assert marks["drawdown-limit"].y > marks["start-of-day"].y
    assert marks["drawdown-limit"].label == "drawdown limit -5%: 950,000.00"
    assert c.points[0].y == pytest.approx(marks["start-of-day"].y)


def test_one_sample_or_a_flat_series_sits_in_the_middle():
    c = chart.build(panel([500.0]))
    [point] = c.points
    assert point.x == pytest.approx((c.left + c.right) / 2) and c.top < point.y < c.bottom
    assert [t.anchor for t in c.x_ticks] == ["middle"]


def test_ticks_are_round_and_inside():
    c = chart.build(panel([1_000_000.0, 1_003_500.0, 998_000.0]))
    values = [float(t.label.replace(",", "")) for t in c.y_ticks]
    steps = {round(b - a, 6) for a, b in zip(values, values[1:])}
    assert len(steps) == 1 and steps.pop() in (1000.0, 2000.0, 5000.0)
    assert all(c.top <= t.at <= c.bottom for t in c.y_ticks)
    assert [t.anchor for t in c.x_ticks] == ["start", "middle", "end"]


@pytest.mark.parametrize("span, step", [(4, 1), (9, 5), (40, 10), (45_000, 20_000), (0.3, 0.1)])
def test_nice_step(span, step):
    assert chart.nice_step(span) == pytest.approx(step)


def test_samples_a_moment_apart_get_one_time_label():
    samples = [model.Sample(at=f"2026-11-24T15:00:00.{i}00000+00:00", value=v, currency="USD", source="reconcile")
               for i, v in enumerate((1.0, 2.0, 3.0))]
    c = chart.build(model.NetLiquidation(current=3.0, currency="USD", samples=samples, start_of_day=None,
                                         max_daily_drawdown_percent=None, drawdown_limit=None, drawdown_percent=None))
    assert [(t.label, t.anchor) for t in c.x_ticks] == [("11-24 15:00:00 UTC", "start")]
