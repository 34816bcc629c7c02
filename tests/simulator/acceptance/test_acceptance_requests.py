"""Acceptance: every public request method of the client library's IB ends against the simulator.

Each method is called once, blocking ones under IB.RequestTimeout and coroutines under a deadline: none may time
out; each answers, or raises the library's RequestError with the code IB itself sends for that request. Methods
that send nothing to the gateway are listed apart with the reason, so a method added to IB fails the walk until
it is classified.
"""

import asyncio
import inspect

import pytest

from tests.support.iblib import (
    IB, ExecutionFilter, LimitOrder, MarketOrder, Option, RequestError, ScannerSubscription, Stock, WshEventData)

TIMEOUT_S = 3
# requestFA ends on the library's own 4 s wait: IB answers a non-FA account with 321 on no request id
FA_TIMEOUT_S = 6

NOT_REQUESTS = {
    # local state the library keeps from what the gateway streams
    **dict.fromkeys(["accountValues", "executions", "fills", "managedAccounts", "newsBulletins", "newsTicks",
                     "openOrders", "openTrades", "orders", "pendingTickers", "pnl", "pnlSingle", "portfolio",
                     "positions", "realtimeBars", "ticker", "tickers", "trades", "isConnected"],
                    "reads the library's local state, sends nothing"),
    # order and contract helpers that build objects
    "bracketOrder": "builds three Order objects, sends nothing",
    "oneCancelsAll": "sets ocaGroup on Order objects, sends nothing",
    # the event loop and the connection
    **dict.fromkeys(["connect", "connectAsync", "disconnect"], "the connection every test already opens"),
    **dict.fromkeys(["sleep", "run", "loopUntil", "waitOnUpdate", "waitUntil", "schedule", "setTimeout",
                     "timeRange", "timeRangeAsync"], "event-loop helper, sends nothing"),
    "reqGlobalCancel": "cancels every order of the shared paper account (tests/simulator/gateway/"
                       "test_protocol_orders.py covers it on its own simulator)",
    "reqAutoOpenOrders": "only clientId 0 may bind orders; test_protocol_orders covers it",
}


@pytest.fixture
def walker(ib):
    ib.RaiseRequestErrors = True
    ib.RequestTimeout = TIMEOUT_S
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    [chain] = [c for c in ib.reqSecDefOptParams("SPY", "", "STK", spy.conId) if c.exchange == "SMART"]
    price = ib.reqTickers(spy)[0].marketPrice()
    strike = min(chain.strikes, key=lambda s: abs(s - price))
    option = Option("SPY", chain.expirations[3], strike, "C", "SMART", currency="USD")
    return ib, spy, option


def calls(ib, spy, option):
    """method name -> (zero-argument call, the error code IB ends it with or None when it answers)."""
    account = ib.wrapper.accounts[0]
    wsh = WshEventData(conId=spy.conId)
    sub = ScannerSubscription(instrument="STK", locationCode="STK.US.MAJOR", scanCode="TOP_PERC_GAIN",
                                   numberOfRows=5)
    limit = LimitOrder("BUY", 1, 1.0)
    table = {
        "reqCurrentTime": (ib.reqCurrentTime, None),
        "reqContractDetails": (lambda: ib.reqContractDetails(spy), None),
        "qualifyContracts": (lambda: ib.qualifyContracts(Stock("AAPL", "SMART", "USD")), None),
        "reqMatchingSymbols": (lambda: ib.reqMatchingSymbols("SP"), None),
        "reqMarketRule": (lambda: ib.reqMarketRule(26), None),
        "reqTickers": (lambda: ib.reqTickers(spy), None),
        "reqMktData": (lambda: ib.reqMktData(spy), None),
        "cancelMktData": (lambda: ib.cancelMktData(spy), None),
        "reqMarketDataType": (lambda: ib.reqMarketDataType(1), None),
        "reqHistoricalData": (lambda: ib.reqHistoricalData(spy, "", "1 D", "1 hour", "TRADES", True), None),
        "cancelHistoricalData": (lambda: ib.cancelHistoricalData(
            ib.reqHistoricalData(spy, "", "1 D", "1 hour", "TRADES", True)), None),
        "reqHistoricalSchedule": (lambda: ib.reqHistoricalSchedule(spy, 2), None),
        "reqHeadTimeStamp": (lambda: ib.reqHeadTimeStamp(spy, "TRADES", True), None),
        "reqHistogramData": (lambda: ib.reqHistogramData(spy, True, "3 days"), None),
        "reqHistoricalTicks": (lambda: ib.reqHistoricalTicks(spy, "", "", 10, "TRADES", True), None),
        "reqMktDepthExchanges": (ib.reqMktDepthExchanges, None),
        "reqMktDepth": (lambda: ib.reqMktDepth(spy, 5), None),
        "cancelMktDepth": (lambda: ib.cancelMktDepth(spy), None),
        "reqRealTimeBars": (lambda: ib.reqRealTimeBars(spy, 5, "TRADES", True), None),
        "cancelRealTimeBars": (lambda: ib.cancelRealTimeBars(ib.reqRealTimeBars(spy, 5, "MIDPOINT", True)), None),
        "reqTickByTickData": (lambda: ib.reqTickByTickData(spy, "BidAsk"), None),
        "cancelTickByTickData": (lambda: ib.cancelTickByTickData(spy, "BidAsk"), None),
        "reqScannerParameters": (ib.reqScannerParameters, None),
        "reqScannerData": (lambda: ib.reqScannerData(sub), None),
        "reqScannerSubscription": (lambda: ib.reqScannerSubscription(sub), None),
        "cancelScannerSubscription": (lambda: ib.cancelScannerSubscription(ib.reqScannerSubscription(sub)), None),
        "reqSmartComponents": (lambda: ib.reqSmartComponents("SMART"), None),
        "reqSecDefOptParams": (lambda: ib.reqSecDefOptParams("SPY", "", "STK", spy.conId), None),
        "calculateImpliedVolatility": (lambda: ib.calculateImpliedVolatility(option, 5.0, 600.0), None),
        "calculateOptionPrice": (lambda: ib.calculateOptionPrice(option, 0.2, 600.0), None),
        "exerciseOptions": (lambda: ib.exerciseOptions(option, 1, 1, account, 0), None),
        "reqFundamentalData": (lambda: ib.reqFundamentalData(spy, "ReportSnapshot"), 430),
        "reqNewsProviders": (ib.reqNewsProviders, None),
        "reqNewsArticle": (lambda: ib.reqNewsArticle("BRFG", "BRFG$1"), 10276),
        "reqHistoricalNews": (lambda: ib.reqHistoricalNews(spy.conId, "BRFG", "", "", 10), 10276),
        "reqNewsBulletins": (lambda: ib.reqNewsBulletins(False), None),
        "cancelNewsBulletins": (ib.cancelNewsBulletins, None),
        "reqUserInfo": (ib.reqUserInfo, None),
        "getWshMetaData": (ib.getWshMetaData, 10276),
        "getWshEventData": (lambda: ib.getWshEventData(wsh), 10276),
        "reqWshMetaData": (ib.reqWshMetaData, None),
        "cancelWshMetaData": (ib.cancelWshMetaData, None),
        "reqWshEventData": (lambda: ib.reqWshEventData(wsh), None),
        "cancelWshEventData": (ib.cancelWshEventData, None),
        "requestFA": (lambda: ib.requestFA(1), None),
        "replaceFA": (lambda: ib.replaceFA(1, "<xml/>"), None),
        "reqPnL": (lambda: ib.reqPnL(account), None),
        "cancelPnL": (lambda: ib.cancelPnL(account), None),
        "reqPnLSingle": (lambda: ib.reqPnLSingle(account, "", spy.conId), None),
        "cancelPnLSingle": (lambda: ib.cancelPnLSingle(account, "", spy.conId), None),
        "reqAccountSummary": (ib.reqAccountSummary, None),
        "accountSummary": (lambda: ib.accountSummary(account), None),
        "reqAccountUpdates": (lambda: ib.reqAccountUpdates(account), None),
        "reqAccountUpdatesMulti": (lambda: ib.reqAccountUpdatesMulti(account), None),
        "reqPositions": (ib.reqPositions, None),
        "reqOpenOrders": (ib.reqOpenOrders, None),
        "reqAllOpenOrders": (ib.reqAllOpenOrders, None),
        "reqCompletedOrders": (lambda: ib.reqCompletedOrders(False), None),
        "reqExecutions": (lambda: ib.reqExecutions(ExecutionFilter()), None),
        "whatIfOrder": (lambda: ib.whatIfOrder(spy, MarketOrder("BUY", 1)), None),
        "placeOrder": (lambda: ib.placeOrder(spy, limit), None),
        "cancelOrder": (lambda: ib.cancelOrder(limit), None),
    }
    for name in [n for n in table if callable(getattr(IB, f"{n}Async", None))]:
        blocking, code = table[name]
        table[f"{name}Async"] = (None, code)
    return table


def public_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(IB, inspect.isfunction) if not name.startswith("_")}


def test_every_public_method_is_walked_or_excluded_with_a_reason(walker):
    ib, spy, option = walker
    walked = set(calls(ib, spy, option))
    assert public_methods() == walked | set(NOT_REQUESTS), (public_methods() - walked - set(NOT_REQUESTS),
                                                            (walked | set(NOT_REQUESTS)) - public_methods())
    assert not walked & set(NOT_REQUESTS)


def _outcome(ib, call, timeout_s):
    """None when the call answered, else the code of the RequestError it raised (a timeout fails the test)."""
    try:
        result = call()
        if inspect.isawaitable(result):
            ib.run(asyncio.wait_for(result, timeout_s))
    except RequestError as exc:
        return exc.code
    return None


def test_every_request_method_answers_or_raises_ibs_error(walker):
    ib, spy, option = walker
    table = calls(ib, spy, option)
    failures = {}
    for name, (call, code) in table.items():
        if name.endswith("Async") and call is None:
            blocking = name[:-len("Async")]
            sync_call = table[blocking][0]
            # the blocking method runs its coroutine twin: call the twin through the same arguments
            call = _async_twin(ib, blocking, sync_call)
        ib.RequestTimeout = FA_TIMEOUT_S if name.startswith("requestFA") else TIMEOUT_S
        try:
            got = _outcome(ib, call, ib.RequestTimeout)
        except (asyncio.TimeoutError, TimeoutError):
            failures[name] = "timed out"
            continue
        if got != code:
            failures[name] = f"ended with {got}, IB ends it with {code}"
    assert not failures, failures


def _async_twin(ib, blocking, sync_call):
    """A call of `blocking`'s coroutine twin: IB's blocking methods run it through IB._run, so a call made with
    _run swapped for "return the coroutine" yields the twin with the blocking call's own arguments."""

    def call():
        original = ib._run
        ib._run = lambda *aws, **kwargs: aws[0]
        try:
            return sync_call()
        finally:
            ib._run = original

    return call


def test_order_without_exchange_gets_321_before_the_contract_lookup(ib):
    errors = []
    ib.errorEvent += lambda req_id, code, text, *rest: errors.append((req_id, code, text))
    trade = ib.placeOrder(Stock("XXX"), MarketOrder("BUY", 100))
    deadline = asyncio.get_event_loop().time() + TIMEOUT_S
    while not errors and asyncio.get_event_loop().time() < deadline:
        ib.sleep(0.02)
    # 321, not the 200 an unknown symbol gets at the lookup: ib_async's and ib_insync's tests/test_requests.py
    assert errors == [(trade.order.orderId, 321,
                       "Error validating request.-'bN' : cause - Missing order exchange")]
