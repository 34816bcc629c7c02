"""Fetching what strategies and sizing need from IB: contracts, histories, prices and FX rates.

Coroutines here run on the bridge's loop (pass them to `bridge.run`). Each item fails on its own: a failed lookup is
returned as its exception, so one strategy's missing data does not stop the others.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import date

import pandas as pd
from ib_insync import IB, Contract

from lib.instruments import (ContractNotFound, HistoryRequest, Instrument, PriceUnavailable, bars_frame,
                             fx_pair_for, fx_rate_to_base, ticker_price)


async def resolve(ib: IB, instruments: Iterable[Instrument], today: date) -> dict[Instrument, Contract | Exception]:
    """Each instrument's one contract, from concurrent reqContractDetails requests."""
    unique = list(dict.fromkeys(instruments))

    async def one(instrument: Instrument) -> Contract:
        details = await ib.reqContractDetailsAsync(instrument.contract())
        return instrument.select(details, today)

    results = await asyncio.gather(*(one(instrument) for instrument in unique), return_exceptions=True)
    return dict(zip(unique, results))


async def histories(ib: IB, requests: Mapping[str, tuple[Contract, HistoryRequest]]) -> dict[str, pd.DataFrame]:
    """Bars per request name, oldest first; a request IB refuses gives an empty frame (the strategy decides)."""
    names = list(requests)

    async def one(name: str) -> pd.DataFrame:
        contract, request = requests[name]
        bars = await ib.reqHistoricalDataAsync(
            contract, endDateTime="", durationStr=request.duration, barSizeSetting=request.bar_size,
            whatToShow=request.what_to_show, useRTH=request.use_rth, formatDate=2)
        return bars_frame(bars or [])

    frames = await asyncio.gather(*(one(name) for name in names))
    return dict(zip(names, frames))


async def prices(ib: IB, contracts: Iterable[Contract], market_data_type: int) -> dict[int, float | Exception]:
    """Snapshot prices by conId from one reqTickers request for the whole set."""
    unique = list({contract.conId: contract for contract in contracts}.values())
    if not unique:
        return {}
    ib.reqMarketDataType(market_data_type)
    tickers = await ib.reqTickersAsync(*unique)
    by_con_id: dict[int, float | Exception] = {}
    for ticker in tickers:
        try:
            by_con_id[ticker.contract.conId] = ticker_price(ticker)
        except PriceUnavailable as exc:
            by_con_id[ticker.contract.conId] = exc
    for contract in unique:
        by_con_id.setdefault(contract.conId, PriceUnavailable(f"IB sent no ticker for {contract.localSymbol}"))
    return by_con_id


async def fx_rates(ib: IB, currencies: Iterable[str], base: str, market_data_type: int,
                   today: date) -> dict[str, float | Exception]:
    """Base-currency units per one unit of each currency, from IDEALPRO quotes (1.0 for the base itself)."""
    rates: dict[str, float | Exception] = {}
    pairs = {}
    for currency in sorted(set(currencies)):
        if currency == base:
            rates[currency] = 1.0
        else:
            pairs[currency] = fx_pair_for(currency, base)
    if not pairs:
        return rates
    contracts = await resolve(ib, pairs.values(), today)
    quoted = {currency: contracts[pair] for currency, pair in pairs.items()
              if not isinstance(contracts[pair], Exception)}
    quotes = await prices(ib, quoted.values(), market_data_type)
    for currency, pair in pairs.items():
        contract = contracts[pair]
        if isinstance(contract, Exception):
            rates[currency] = contract
            continue
        price = quotes[contract.conId]
        rates[currency] = price if isinstance(price, Exception) else fx_rate_to_base(currency, base, pair, price)
    return rates


async def min_ticks(ib: IB, contracts: Iterable[Contract]) -> dict[int, float | Exception]:
    """Each contract's minimum price increment by conId, from concurrent reqContractDetails requests."""
    unique = list({contract.conId: contract for contract in contracts}.values())

    async def one(contract: Contract) -> float:
        details = await ib.reqContractDetailsAsync(Contract(conId=contract.conId))
        ticks = sorted({detail.minTick for detail in details})
        if len(ticks) != 1 or not ticks[0] > 0:
            raise ContractNotFound(f"IB gave no single minimum tick for {contract.localSymbol or contract.conId}: "
                                   f"{ticks}")
        return ticks[0]

    results = await asyncio.gather(*(one(contract) for contract in unique), return_exceptions=True)
    return {contract.conId: result for contract, result in zip(unique, results)}
