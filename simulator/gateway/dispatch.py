"""Which handler answers each request type: the connection-level ones here, the rest from the handler modules."""

from __future__ import annotations

from simulator.gateway import handlers_account, handlers_data, handlers_market, handlers_orders, handlers_reference
from simulator.gateway.session import Handler, Session
from simulator.protocol import messages
from simulator.protocol.requests import Acknowledged, ReqCurrentTime
from simulator.protocol.requests_account import (
    CancelAccountSummary, CancelAccountUpdatesMulti, CancelPnL, CancelPnLSingle, CancelPositions, CancelPositionsMulti,
    ReqManagedAccts)
from simulator.protocol.requests_data import (
    CancelHistogramData, CancelMktDepth, CancelRealTimeBars, CancelScannerSubscription, CancelTickByTickData,
    ReqHistogramData, ReqHistoricalTicks, ReqMktDepth, ReqMktDepthExchanges, ReqRealTimeBars, ReqScannerParameters,
    ReqScannerSubscription, ReqTickByTickData)
from simulator.protocol.requests_market import (
    CancelHeadTimestamp, CancelHistoricalData, CancelMktData, ReqContractDetails, ReqHeadTimestamp, ReqHistoricalData,
    ReqMarketDataType, ReqMarketRule, ReqMatchingSymbols, ReqMktData)
from simulator.protocol.requests_orders import CancelOrder, PlaceOrder, ReqAutoOpenOrders, ReqGlobalCancel
from simulator.protocol.requests_reference import (
    ReqFundamentalData, ReqHistoricalNews, ReqNewsArticle, ReqNewsProviders, ReqOptionCalculation,
    ReqSecDefOptParams, ReqSmartComponents, ReqWshData)


def _handle_current_time(session: Session, request: ReqCurrentTime) -> None:
    session.send(messages.current_time(session.world.clock.now()))


def _handle_managed_accounts(session: Session, request: ReqManagedAccts) -> None:
    session.send(messages.managed_accounts([session.world.account]))


def _handle_market_data_type(session: Session, request: ReqMarketDataType) -> None:
    # live data exists for everything, and TWS then serves live whatever type was asked
    if request.market_data_type not in (1, 2, 3, 4):
        session.error(-1, 321, f"Error validating request:-'market data type' : cause - "
                               f"Invalid market data type {request.market_data_type}")
        return
    session.market_data_type = request.market_data_type


def _handle_acknowledged(session: Session, request: Acknowledged) -> None:
    return None


HANDLERS: dict[type, Handler] = {
    ReqCurrentTime: _handle_current_time,
    ReqManagedAccts: _handle_managed_accounts,
    ReqMarketDataType: _handle_market_data_type,
    Acknowledged: _handle_acknowledged,
    **handlers_market.HANDLERS,
    **handlers_orders.HANDLERS,
    **handlers_account.HANDLERS,
    **handlers_data.HANDLERS,
    **handlers_reference.HANDLERS,
}

# Requests IB Gateway cannot serve from its own state, so they wait while its servers are out of reach (during 1100
# the gateway still answers the clock, positions, account values and orders it knows: ib_insync users see
# reqCurrentTime answered while contract details and tickers hang). True: kept when connectivity comes back with data
# lost (1101), as orders are; False: never answered then, as market data requests.
SERVER_BOUND: dict[type, bool] = {
    ReqContractDetails: False, ReqMatchingSymbols: False, ReqMarketRule: False, ReqMktData: False,
    ReqHistoricalData: False, ReqHeadTimestamp: False, ReqMktDepth: False, ReqMktDepthExchanges: False,
    ReqRealTimeBars: False, ReqTickByTickData: False, ReqHistogramData: False, ReqHistoricalTicks: False,
    ReqScannerParameters: False, ReqScannerSubscription: False, ReqSecDefOptParams: False,
    ReqOptionCalculation: False, ReqSmartComponents: False, ReqFundamentalData: False, ReqNewsProviders: False,
    ReqNewsArticle: False, ReqHistoricalNews: False, ReqWshData: False,
    PlaceOrder: True, CancelOrder: True, ReqGlobalCancel: True,
}

# How each request ends, for docs/paper-gateway.md's request table (its test reads these): a request type in
# REFUSED is always answered with that error code (a paper account has no news, fundamentals or Wall Street Horizon
# subscriptions and is no advisor account); one in SILENT gets no answer, as at IB (cancels, settings); every
# other handler serves its request, with IB's errors only for what IB refuses in it.
REFUSED: dict[type, int] = {
    **handlers_reference.REFUSED,
}
SILENT: frozenset[type] = frozenset({
    Acknowledged, ReqMarketDataType, ReqAutoOpenOrders, CancelMktData, CancelHistoricalData, CancelHeadTimestamp,
    CancelMktDepth, CancelScannerSubscription, CancelRealTimeBars, CancelTickByTickData, CancelHistogramData,
    CancelAccountSummary, CancelPositions, CancelPositionsMulti, CancelAccountUpdatesMulti, CancelPnL, CancelPnLSingle,
})
