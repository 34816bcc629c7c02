"""Request handlers for contracts and market data: details, symbols, quotes, history, market rules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from simulator.engine import ib_messages, options, trading_hours
from simulator.engine.bars import parse_duration, select_sessions
from simulator.engine.catalog import Catalog, ContractQuery
from simulator.engine.ib_time import END_OF_DAY, TWS_TIME_ZONE, parse_ib_time
from simulator.gateway.market_streams import (
    generic_tick_messages, generic_ticks, refresh_histories, rt_volume_messages, subscribe_history)
from simulator.gateway.session import Session
from simulator.protocol import messages, messages_contracts, messages_market, messages_reference
from simulator.protocol.messages_reference import (
    ASK_OPTION_COMPUTATION, BID_OPTION_COMPUTATION, LAST_OPTION_COMPUTATION, MODEL_OPTION_COMPUTATION)
from simulator.protocol.requests_common import ContractFields
from simulator.protocol.requests_market import (
    CancelHeadTimestamp, CancelHistoricalData, CancelMktData, ReqContractDetails, ReqHeadTimestamp,
    ReqHistoricalData, ReqMarketRule, ReqMatchingSymbols, ReqMktData)
from simulator.protocol.wire import format_ib_datetime

NO_SECURITY_DEFINITION = "No security definition has been found for the request"
MATCHING_SYMBOLS_LIMIT = 16


@dataclass
class Ticker:
    """A streaming market data subscription.

    Parameters:
        spec: the contract.
        quote: the last quote sent (updates carry only what changed).
        generic: the generic tick ids requested that stream (RTVolume).
    """

    spec: object
    quote: object
    generic: frozenset = frozenset()


def find_contracts(catalog: Catalog, fields: ContractFields) -> list:
    """Catalog specs matching a request's contract, like IB (conId alone suffices)."""
    continuous = fields.sec_type == "CONTFUT"
    if fields.con_id and not continuous:
        return catalog.match(ContractQuery(con_id=fields.con_id, exchange=fields.exchange))
    query = ContractQuery(
        con_id=0, symbol=fields.symbol, sec_type="FUT" if continuous else fields.sec_type,
        last_trade_date="" if continuous else fields.last_trade_date, strike=fields.strike,
        right=fields.right, multiplier=fields.multiplier, exchange=fields.exchange,
        primary_exchange=fields.primary_exchange, currency=fields.currency,
        local_symbol="" if continuous else fields.local_symbol, trading_class=fields.trading_class,
        include_expired=fields.include_expired)
    specs = catalog.match(query)
    if continuous and specs:
        front = min(specs, key=lambda spec: spec.last_trade_date)
        return [dataclasses.replace(front, sec_type="CONTFUT")]
    return specs


def resolve_one(session: Session, req_id: int, fields: ContractFields):
    """The single spec a request names, or None after sending IB's error 200."""
    specs = find_contracts(session.world.catalog, fields)
    if len(specs) == 1:
        return specs[0]
    if not specs:
        session.error(req_id, 200, NO_SECURITY_DEFINITION)
    else:
        session.error(req_id, 200, f"The contract description specified for "
                                   f"{fields.symbol or fields.local_symbol} is ambiguous.")
    return None


def _handle_contract_details(session: Session, request: ReqContractDetails) -> None:
    specs = find_contracts(session.world.catalog, request.contract)
    if not specs:
        session.error(request.req_id, 200, NO_SECURITY_DEFINITION)
        return
    catalog = session.world.catalog
    batch = []
    for spec in specs:
        under = catalog.by_con_id(spec.under_con_id) if spec.under_con_id else None
        batch.append(messages_contracts.contract_data(
            session.server_version, request.req_id, spec,
            under_symbol=under.symbol if under else "", under_sec_type=under.sec_type if under else ""))
    batch.append(messages_contracts.contract_data_end(request.req_id))
    session.send(*batch)


def _handle_matching_symbols(session: Session, request: ReqMatchingSymbols) -> None:
    pattern = request.pattern.strip().upper()
    specs = [spec for spec in session.world.catalog.all()
             if pattern and (spec.symbol.upper().startswith(pattern) or pattern in spec.long_name.upper())]
    session.send(messages_contracts.symbol_samples(session.server_version, request.req_id,
                                                   specs[:MATCHING_SYMBOLS_LIMIT]))


def _handle_market_rule(session: Session, request: ReqMarketRule) -> None:
    session.send(messages_contracts.market_rule(request.market_rule_id))


def quote_messages(req_id: int, spec, quote, previous=None) -> list:
    """Ticks for one quote: forex has no trades, indices have no bid/ask."""
    return messages_market.quote_ticks(req_id, quote, with_trades=spec.sec_type != "CASH",
                                       with_quotes=spec.sec_type != "IND", previous=previous)


def option_ticks(session: Session, req_id: int, spec, quote) -> list:
    """tickOptionComputation for an option's bid, ask, last and model (tick types 10-13, which ib_async and
    ib_insync keep as bidGreeks, askGreeks, lastGreeks and modelGreeks): the model's greeks at the volatility each
    price implies, the model line at the model's own volatility and unrounded price (engine.options)."""
    greeks, vol, under = session.world.market.option_model(spec.con_id)
    years = options.years_to_expiry(spec.last_trade_date, session.world.clock.now())
    batch = []
    for tick_type, price in ((BID_OPTION_COMPUTATION, quote.bid), (ASK_OPTION_COMPUTATION, quote.ask),
                             (LAST_OPTION_COMPUTATION, quote.last)):
        implied = options.implied_volatility(spec.right, under, spec.strike, years, price) if price > 0 else None
        if implied is None:
            continue
        at = options.black_scholes(spec.right, under, spec.strike, years, implied)
        batch.append(messages_reference.option_computation(
            session.server_version, req_id, tick_type, implied_vol=implied, delta=at.delta, option_price=price,
            pv_dividend=0.0, gamma=at.gamma, vega=at.vega, theta=at.theta, under_price=under))
    batch.append(messages_reference.option_computation(
        session.server_version, req_id, MODEL_OPTION_COMPUTATION, implied_vol=vol, delta=greeks.delta,
        option_price=greeks.price, pv_dividend=0.0, gamma=greeks.gamma, vega=greeks.vega, theta=greeks.theta,
        under_price=under))
    return batch


def _handle_mkt_data(session: Session, request: ReqMktData) -> None:
    if request.req_id in session.subs.tickers:
        session.error(request.req_id, 322, "Error processing request:-'bJ' : cause - Duplicate ticker id")
        return
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    code = _armed_market_data_error(session, spec)
    if code is not None:
        session.error(request.req_id, code, ib_messages.market_data_error(code, spec.symbol,
                                                                          spec.primary_exchange or spec.exchange))
        return
    quote = session.world.market.quote(spec.con_id)
    batch = [messages.market_data_type(request.req_id, 1),
             messages_market.tick_req_params(request.req_id, spec.min_tick, spec.exchange)]
    batch += quote_messages(request.req_id, spec, quote)
    if spec.sec_type == "OPT":
        batch += option_ticks(session, request.req_id, spec, quote)
    generic = generic_ticks(request.generic_ticks)
    batch += generic_tick_messages(session, request.req_id, spec, generic, quote)
    if request.snapshot or request.regulatory_snapshot:
        batch.append(messages_market.tick_snapshot_end(request.req_id))
    else:
        session.subs.tickers[request.req_id] = Ticker(spec, quote, generic)
    session.send(*batch)


def _armed_market_data_error(session: Session, spec) -> int | None:
    """The code of a market-data-error fault armed for `spec` (spending one use), else None."""
    catalog = session.world.catalog

    def names_spec(values: dict) -> bool:
        try:
            return catalog.resolve_symbol(values["symbol"]).con_id == spec.con_id
        except KeyError:
            return False

    values = session.world.faults.take("market-data-error", names_spec)
    return None if values is None else values["code"]


def _handle_cancel_mkt_data(session: Session, request: CancelMktData) -> None:
    if session.subs.tickers.pop(request.req_id, None) is None:
        session.error(request.req_id, 300, f"Can't find EId with tickerId:{request.req_id}")


def refresh_streams(session: Session) -> None:
    """Send what changed in each market data subscription and keepUpToDate history since its last update."""
    refresh_tickers(session)
    refresh_histories(session)


def refresh_tickers(session: Session) -> None:
    """Send what changed in each streaming subscription since its last update."""
    market = session.world.market
    batch = []
    for req_id, ticker in session.subs.tickers.items():
        quote = market.quote(ticker.spec.con_id)
        if quote != ticker.quote:
            batch += quote_messages(req_id, ticker.spec, quote, previous=ticker.quote)
            batch += rt_volume_messages(req_id, ticker.spec, ticker.generic, quote, ticker.quote)
            if ticker.spec.sec_type == "OPT":
                batch += option_ticks(session, req_id, ticker.spec, quote)
            ticker.quote = quote
    if batch:
        session.send(*batch)


def _zone_of(spec) -> str:
    return spec.time_zone_id or TWS_TIME_ZONE


def _handle_historical_data(session: Session, request: ReqHistoricalData) -> None:
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    if session.world.faults.take("pacing") is not None:
        session.error(request.req_id, *ib_messages.HISTORICAL_PACING)
        return
    try:
        # a date alone ends the request with that whole day, and zones are IANA names only (EST stays UTC-5 all
        # year), unlike order times
        end = parse_ib_time(request.end_date_time, TWS_TIME_ZONE, date_only_at=END_OF_DAY, abbreviations={})
    except ValueError as exc:
        session.error(request.req_id, 10314,
                      "End Date/Time: The date, time, or time-zone entered is invalid. "
                      f"The correct format is yyyymmdd hh:mm:ss xx/xxxx ({exc})")
        return
    if (request.what_to_show or "").strip().upper() == "SCHEDULE":
        _send_schedule(session, request, spec, end)
        return
    try:
        bars = session.world.market.bars(spec.con_id, end=end, duration=request.duration,
                                       bar_size=request.bar_size, use_rth=request.use_rth,
                                       what_to_show=request.what_to_show or "TRADES")
    except ValueError as exc:
        text = str(exc)
        prefix = "Historical Market Data Service error message:"
        session.error(request.req_id, 162, text if text.startswith(prefix) else prefix + text)
        return
    zone = _zone_of(spec)
    end_moment = end or session.world.clock.now()
    daily = request.bar_size.strip().lower() in ("1 day", "1 week", "1 month")
    start_text = format_ib_datetime(bars[0].time, zone) if bars else ""
    session.send(messages_market.historical_data(
        session.server_version, request.req_id, bars, start=start_text,
        end=format_ib_datetime(end_moment, zone), daily=daily, format_date=request.format_date, zone=zone))
    if request.keep_up_to_date:
        subscribe_history(session, request.req_id, spec, bar_size=request.bar_size, use_rth=request.use_rth,
                          what_to_show=request.what_to_show or "TRADES", format_date=request.format_date,
                          zone=zone, last=bars[-1] if bars else None)


def _send_schedule(session: Session, request: ReqHistoricalData, spec, end) -> None:
    """reqHistoricalSchedule (whatToShow "SCHEDULE"): IB answers with historicalSchedule (message 106, ibapi's
    EWrapper.historicalSchedule) instead of bars: the trading sessions the duration covers, in the contract's time
    zone, regular hours or not as useRTH says."""
    try:
        count, unit = parse_duration(request.duration)
    except ValueError as exc:
        session.error(request.req_id, 162, str(exc))
        return
    kind = trading_hours.session_kind(spec.sec_type, request.use_rth)
    moment = min(end or session.world.clock.now(), session.world.clock.now())
    sessions = select_sessions(kind, int(moment.timestamp()), count, unit)
    session.send(messages_market.historical_schedule(request.req_id, sessions, _zone_of(spec)))


def _handle_cancel_historical_data(session: Session, request: CancelHistoricalData) -> None:
    session.subs.histories.pop(request.req_id, None)


def _handle_head_timestamp(session: Session, request: ReqHeadTimestamp) -> None:
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    # the price model reaches back as far as asked; report a plausible listing-era start
    earliest = session.world.clock.now() - timedelta(days=20 * 365)
    if request.format_date == 2:
        value = str(int(earliest.timestamp()))
    else:
        value = earliest.strftime("%Y%m%d-%H:%M:%S")
    session.send(messages_market.head_timestamp(request.req_id, value))


def _handle_cancel_head_timestamp(session: Session, request: CancelHeadTimestamp) -> None:
    return None


HANDLERS = {
    ReqContractDetails: _handle_contract_details,
    ReqMatchingSymbols: _handle_matching_symbols,
    ReqMarketRule: _handle_market_rule,
    ReqMktData: _handle_mkt_data,
    CancelMktData: _handle_cancel_mkt_data,
    ReqHistoricalData: _handle_historical_data,
    CancelHistoricalData: _handle_cancel_historical_data,
    ReqHeadTimestamp: _handle_head_timestamp,
    CancelHeadTimestamp: _handle_cancel_head_timestamp,
}
