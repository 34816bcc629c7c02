"""Encode streaming additions to market data: generic ticks (tickGeneric, RTVolume) and historicalDataUpdate."""

from __future__ import annotations

from simulator.protocol.messages import Fields
from simulator.protocol.messages_market import format_bar_time, whole

# outgoing message ids (ibapi message.IN)
TICK_GENERIC = 45
HISTORICAL_DATA_UPDATE = 90


def tick_generic(req_id: int, tick_type: int, value: float) -> Fields:
    return [TICK_GENERIC, 6, req_id, tick_type, value]


def historical_data_update(req_id: int, bar, *, daily: bool, format_date: int, zone: str) -> Fields:
    """One bar of a keepUpToDate request: barCount, date, open, close, high, low, WAP, volume (the order
    ibapi's and ib_async's decoders read)."""
    return [HISTORICAL_DATA_UPDATE, req_id, int(bar.count),
            format_bar_time(bar.time, daily=daily, format_date=format_date, zone=zone),
            bar.open, bar.close, bar.high, bar.low, bar.wap, whole(bar.volume)]
