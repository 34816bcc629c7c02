"""What market data subscriptions stream beyond quotes: generic ticks and keepUpToDate historical bars."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.engine import market_stats
from simulator.engine.bars import PERIOD_SIZES, SECONDS_SIZES_S, INTRADAY_SIZES_S, parse_bar_size
from simulator.gateway.session import Session
from simulator.protocol import messages_market, messages_streaming

RT_VOLUME, SHORTABLE, SHORTABLE_SHARES, IMPLIED_VOLATILITY = 48, 46, 89, 24
# generic tick list entries (reqMktData's genericTickList) served
RT_VOLUME_TICKS, SHORTABLE_TICKS, MISC_STATS_TICKS, OPTION_IV_TICKS = "233", "236", "165", "106"


def generic_ticks(text: str) -> frozenset[str]:
    """The generic tick ids of a request's genericTickList ("233,236" -> {"233", "236"})."""
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())


def generic_tick_messages(session: Session, req_id: int, spec, generic: frozenset[str], quote) -> list:
    """The ticks a subscription's generic ticks add to its first answer (IB sends the slow-moving ones once)."""
    batch = []
    if RT_VOLUME_TICKS in generic and spec.sec_type in ("STK", "FUT"):
        batch.append(messages_market.tick_string(req_id, RT_VOLUME, market_stats.rt_volume(quote)))
    if SHORTABLE_TICKS in generic and (values := market_stats.shortable(spec)) is not None:
        batch += [messages_streaming.tick_generic(req_id, SHORTABLE, values[0]),
                  messages_market.tick_size(req_id, SHORTABLE_SHARES, values[1])]
    if MISC_STATS_TICKS in generic:
        prices, average_volume = market_stats.misc_stats(session.world.market, spec)
        batch += [messages_market.tick_price(req_id, tick_type, price) for tick_type, price in prices.items()]
        if average_volume is not None:
            batch.append(messages_market.tick_size(req_id, market_stats.AVERAGE_VOLUME, average_volume))
    if OPTION_IV_TICKS in generic and (volatility := market_stats.implied_volatility(spec)) is not None:
        batch.append(messages_streaming.tick_generic(req_id, IMPLIED_VOLATILITY, volatility))
    return batch


def rt_volume_messages(req_id: int, spec, generic: frozenset[str], quote, previous) -> list:
    """RTVolume for a new trade (the last price, its size or the volume changed)."""
    if RT_VOLUME_TICKS not in generic or spec.sec_type not in ("STK", "FUT"):
        return []
    if (quote.last, quote.volume, quote.time) == (previous.last, previous.volume, previous.time):
        return []
    return [messages_market.tick_string(req_id, RT_VOLUME, market_stats.rt_volume(quote, previous))]


@dataclass
class HistorySubscription:
    """A keepUpToDate reqHistoricalData: how to recompute its last bar, and the last bar sent.

    Parameters:
        spec: the contract.
        bar_size: canonical IB bar size.
        use_rth, what_to_show, format_date: as requested.
        zone: time zone of bar times (formatDate 1).
        last: the last bar sent (the initial answer's last bar, then each update).
    """

    spec: object
    bar_size: str
    use_rth: bool
    what_to_show: str
    format_date: int
    zone: str
    last: object


def _update_duration(bar_size: str) -> str:
    """A duration that covers the last two bars of a size."""
    if bar_size in SECONDS_SIZES_S:
        return f"{2 * SECONDS_SIZES_S[bar_size]} S"
    if bar_size in INTRADAY_SIZES_S:
        return f"{2 * INTRADAY_SIZES_S[bar_size]} S"
    return {"1 day": "2 D", "1 week": "2 W", "1 month": "2 M"}[bar_size]


def latest_bars(session: Session, sub: HistorySubscription) -> list:
    return session.world.market.bars(sub.spec.con_id, end=None, duration=_update_duration(sub.bar_size),
                                     bar_size=sub.bar_size, use_rth=sub.use_rth, what_to_show=sub.what_to_show)


def subscribe_history(session: Session, req_id: int, spec, *, bar_size: str, use_rth: bool, what_to_show: str,
                      format_date: int, zone: str, last) -> None:
    session.subs.histories[req_id] = HistorySubscription(spec, parse_bar_size(bar_size), use_rth, what_to_show,
                                                         format_date, zone, last)


def refresh_histories(session: Session) -> None:
    """historicalDataUpdate (90) for each keepUpToDate request whose last bar changed: the bar in progress as it
    changes and, when a new bar starts, the previous bar's final values and then the new one (ib_async and
    ibapi replace the last bar when the date repeats and append otherwise)."""
    batch = []
    for req_id, sub in session.subs.histories.items():
        bars = latest_bars(session, sub)
        if not bars or bars[-1] == sub.last:
            continue
        changed = bars[-1:]
        if sub.last is not None and bars[-1].time != sub.last.time:
            changed = [bar for bar in bars if bar.time >= sub.last.time]
        daily = sub.bar_size in PERIOD_SIZES
        batch += [messages_streaming.historical_data_update(req_id, bar, daily=daily, format_date=sub.format_date,
                                                            zone=sub.zone) for bar in changed]
        sub.last = bars[-1]
    if batch:
        session.send(*batch)
