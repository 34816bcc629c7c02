"""Fetching what strategies and sizing need from IB: contracts, histories, prices and FX rates.

Coroutines here run on the bridge's loop (pass them to `bridge.run`). Each item is its own broker request with its
own deadline (`ITEM_TIMEOUT_S`) and fails on its own: a refused or unanswered request (IB's 162 pacing or no data,
200 no security definition, 354 not subscribed, 10197 competing session, or no answer through a connectivity loss)
is returned as that item's exception, so one strategy's missing data does not stop the others.
"""
from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable, Mapping
from datetime import date

from ib_async import IB, Contract, ContractDetails

from lib.broker.instruments import HistoryRequest, Instrument, fx_pair_for, fx_rate_to_base, ticker_price

# one item's request: IB answers contract details, a snapshot or a history in well under a second when healthy
ITEM_TIMEOUT_S = 20.0


class ItemTimeout(TimeoutError):
    """IB did not answer one item's request within ITEM_TIMEOUT_S."""


async def _item(request, what: str):
    try:
        return await asyncio.wait_for(request, ITEM_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise ItemTimeout(f"IB did not answer the {what} request within {ITEM_TIMEOUT_S:g} s") from None


async def resolve_details(ib: IB, instruments: Iterable[Instrument],
                          today: date) -> dict[Instrument, ContractDetails | Exception]:
    """Each instrument's one contract with its details (minimum tick, ...), from concurrent reqContractDetails
    requests."""
    unique = list(dict.fromkeys(instruments))

    async def one(instrument: Instrument) -> ContractDetails:
        details = await _item(ib.reqContractDetailsAsync(instrument.contract()), f"contract details of {instrument}")
        return instrument.select_detail(details, today)

    results = await asyncio.gather(*(one(instrument) for instrument in unique), return_exceptions=True)
    return dict(zip(unique, results))


async def resolve(ib: IB, instruments: Iterable[Instrument], today: date) -> dict[Instrument, Contract | Exception]:
    """Each instrument's one contract (see `resolve_details`)."""
    return contracts_of(await resolve_details(ib, instruments, today))


def contracts_of(details: Mapping[Instrument, ContractDetails | Exception]) -> dict[Instrument, Contract | Exception]:
    return {instrument: found if isinstance(found, Exception) else found.contract
            for instrument, found in details.items()}


async def histories(ib: IB, requests: Mapping[Hashable, tuple[Contract, HistoryRequest]]
                    ) -> dict[Hashable, list | Exception]:
    """Bars per request key as IB sent them, or the error of that request (e.g. IB's 162).

    Turn them into frames with `bars_frame` once back from the loop: pandas has no business on the IB thread.
    """
    keys = list(requests)

    async def one(key: Hashable) -> list:
        contract, request = requests[key]
        bars = await _item(ib.reqHistoricalDataAsync(
            contract, endDateTime=request.end, durationStr=request.duration, barSizeSetting=request.bar_size,
            whatToShow=request.what_to_show, useRTH=request.use_rth, formatDate=2),
            f"history of {contract.localSymbol or contract.symbol}")
        return list(bars or [])

    return dict(zip(keys, await asyncio.gather(*(one(key) for key in keys), return_exceptions=True)))


async def prices(ib: IB, contracts: Iterable[Contract], market_data_type: int) -> dict[int, float | Exception]:
    """Snapshot prices by conId, one concurrent snapshot request per contract (ib_async's reqTickers for a set
    fails the whole set on one contract's error)."""
    unique = list({contract.conId: contract for contract in contracts}.values())
    if not unique:
        return {}
    ib.reqMarketDataType(market_data_type)

    async def one(contract: Contract) -> float:
        [ticker] = await _item(ib.reqTickersAsync(contract), f"snapshot of {contract.localSymbol}")
        return ticker_price(ticker)

    results = await asyncio.gather(*(one(contract) for contract in unique), return_exceptions=True)
    return {contract.conId: result for contract, result in zip(unique, results)}



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

