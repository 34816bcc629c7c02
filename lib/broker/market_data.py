"""Fetching what strategies and sizing need from IB: contracts, histories, prices and FX rates.

Coroutines here run on the bridge's loop (pass them to `bridge.run`). Each item fails on its own: a failed lookup is
returned as its exception, so one strategy's missing data does not stop the others.
"""
from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable, Mapping
from datetime import date

from ib_insync import IB, Contract, ContractDetails

from lib.broker.instruments import HistoryRequest, Instrument, PriceUnavailable, fx_pair_for, fx_rate_to_base, ticker_price


async def resolve_details(ib: IB, instruments: Iterable[Instrument],
                          today: date) -> dict[Instrument, ContractDetails | Exception]:
    """Each instrument's one contract with its details (minimum tick, ...), from concurrent reqContractDetails
    requests."""
    unique = list(dict.fromkeys(instruments))

    async def one(instrument: Instrument) -> ContractDetails:
        return instrument.select_detail(await ib.reqContractDetailsAsync(instrument.contract()), today)

    results = await asyncio.gather(*(one(instrument) for instrument in unique), return_exceptions=True)
    return dict(zip(unique, results))


async def resolve(ib: IB, instruments: Iterable[Instrument], today: date) -> dict[Instrument, Contract | Exception]:
    """Each instrument's one contract (see `resolve_details`)."""
    return contracts_of(await resolve_details(ib, instruments, today))


def contracts_of(details: Mapping[Instrument, ContractDetails | Exception]) -> dict[Instrument, Contract | Exception]:
    return {instrument: found if isinstance(found, Exception) else found.contract
            for instrument, found in details.items()}


async def histories(ib: IB, requests: Mapping[Hashable, tuple[Contract, HistoryRequest]]) -> dict[Hashable, list]:
    """Bars per request key as IB sent them; a request IB refuses gives no bars (the strategy decides).

    Turn them into frames with `bars_frame` once back from the loop: pandas has no business on the IB thread.
    """
    keys = list(requests)

    async def one(key: Hashable) -> list:
        contract, request = requests[key]
        bars = await ib.reqHistoricalDataAsync(
            contract, endDateTime="", durationStr=request.duration, barSizeSetting=request.bar_size,
            whatToShow=request.what_to_show, useRTH=request.use_rth, formatDate=2)
        return list(bars or [])

    return dict(zip(keys, await asyncio.gather(*(one(key) for key in keys))))


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

