"""Wire format and message codecs, checked field by field against both client libraries' decoders."""

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi import decoder as ibapi_decoder
from ibapi.client import EClient
from ibapi.contract import Contract as IbapiContract
from ibapi.order import Order as IbapiOrder
from ibapi.tag_value import TagValue as IbapiTagValue
from ibapi.wrapper import EWrapper

from tests.support.iblib import DECODER_LOGGER, Client, Decoder, Future, LimitOrder, MarketOrder, Stock, TagValue
from simulator.protocol import (
    messages, messages_account, messages_contracts, messages_data, messages_market, messages_orders, messages_reference)
from simulator.protocol.requests import PARSERS, parse_request
from simulator.protocol.requests_market import ReqContractDetails, ReqHistoricalData, ReqMktData
from simulator.protocol.requests_orders import PlaceOrder
from simulator.protocol.wire import (
    FieldReader, Handshake, MalformedRequest, WireError, decode_fields, encode_message, format_field,
    negotiate_version, parse_handshake, split_frames)

CLIENT_VERSION = 176
IBAPI_VERSION = 157


@dataclass(frozen=True)
class Spec:
    con_id: int = 756733
    symbol: str = "SPY"
    sec_type: str = "STK"
    exchange: str = "SMART"
    primary_exchange: str = "ARCA"
    currency: str = "USD"
    local_symbol: str = "SPY"
    trading_class: str = "SPY"
    multiplier: float = 1.0
    last_trade_date: str = ""
    min_tick: float = 0.01
    long_name: str = "SPDR S&P 500 ETF TRUST"
    valid_exchanges: str = "SMART,ARCA,BATS"
    order_types: str = "ACTIVETIM,ADJUST,ALERT,ALGO,LMT,MKT"
    time_zone_id: str = "US/Eastern"
    trading_hours: str = "20261124:0400-20261124:2000"
    liquid_hours: str = "20261124:0930-20261124:1600"
    under_con_id: int = 0
    stock_type: str = "ETF"


MNQ = Spec(con_id=730283085, symbol="MNQ", sec_type="FUT", exchange="CME", primary_exchange="",
           local_symbol="MNQZ6", trading_class="MNQ", multiplier=2.0, last_trade_date="20261218",
           min_tick=0.25, long_name="Micro E-Mini Nasdaq-100", valid_exchanges="CME", stock_type="",
           under_con_id=362687422, time_zone_id="US/Central")


@dataclass
class Quote:
    bid: float = 600.01
    ask: float = 600.02
    last: float = 600.02
    close: float = 598.5
    high: float = 601.0
    low: float = 597.25
    open: float = 599.0
    bid_size: float = 300
    ask_size: float = 400
    last_size: float = 100
    volume: float = 1234567
    time: datetime = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


@dataclass
class Bar:
    time: datetime
    open: float = 600.0
    high: float = 602.5
    low: float = 599.0
    close: float = 601.25
    volume: float = 1000000
    wap: float = 600.8
    count: int = 5000


@dataclass
class Execution:
    exec_id: str = "0000e0d5.6552a0f2.01.01"
    order_id: int = 7
    client_id: int = 3
    perm_id: int = 1000001
    con_id: int = 756733
    time: datetime = datetime(2026, 11, 24, 15, 0, 1, tzinfo=timezone.utc)
    account: str = "DU1234567"
    exchange: str = "ARCA"
    side: str = "BOT"
    shares: float = 10.0
    price: float = 600.02
    cum_qty: float = 10.0
    avg_price: float = 600.02
    order_ref: str = "ref-1"
    ev_rule: str = ""
    ev_multiplier: float = 0.0
    model_code: str = ""
    last_liquidity: int = 1
    commission: float = 1.0
    commission_currency: str = "USD"
    realized_pnl: float = 1.7976931348623157e308


@dataclass
class PortfolioItem:
    con_id: int = 756733
    position: float = 10.0
    market_price: float = 600.5
    market_value: float = 6005.0
    average_cost: float = 600.12
    unrealized_pnl: float = 3.8
    realized_pnl: float = 0.0


class _WrapperRecorder:
    """Stands in for the client library's Wrapper: records every callback."""

    # ib_async's decoder reads these two attributes of its wrapper (execution and tick times)
    defaultTimezone = timezone.utc
    ib = None

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args))


class _IbapiRecorder(EWrapper):
    """An ibapi EWrapper that records callbacks instead of logging them."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if not name.startswith("_") and name not in ("calls", "logAnswer") and hasattr(EWrapper, name):
            calls = object.__getattribute__(self, "calls")
            return lambda *args: calls.append((name, args))
        return object.__getattribute__(self, name)


class _ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def roundtrip_fields(fields):
    frames, rest = split_frames(encode_message(fields))
    assert rest == b"" and len(frames) == 1
    return frames[0]


def decode_client(fields, server_version=CLIENT_VERSION):
    """Callbacks the client library's decoder makes for one encoded message; fails on any decoder error."""
    recorder = _WrapperRecorder()
    decoder = Decoder(recorder, server_version)
    log = _ErrorLog()
    logging.getLogger(DECODER_LOGGER).addHandler(log)
    try:
        decoder.interpret(decode_fields(roundtrip_fields(fields)))
    finally:
        logging.getLogger(DECODER_LOGGER).removeHandler(log)
    assert not log.records, log.records
    return recorder.calls


def decode_ibapi(fields, server_version=IBAPI_VERSION):
    """Callbacks ibapi's decoder makes; fails on errors, wrong field counts or unread fields."""
    recorder = _IbapiRecorder()
    decoder = ibapi_decoder.Decoder(recorder, server_version)
    raw = tuple(roundtrip_fields(fields).split(b"\0")[:-1])
    handle = decoder.msgId2handleInfo[int(raw[0])]
    log = _ErrorLog()
    logging.getLogger(ibapi_decoder.__name__).addHandler(log)
    try:
        if handle.wrapperMeth is not None:
            decoder.interpretWithSignature(raw, handle)
        else:
            it = iter(raw)
            handle.processMeth(decoder, it)
            leftover = list(it)
            assert not leftover, f"unread fields: {leftover}"
    finally:
        logging.getLogger(ibapi_decoder.__name__).removeHandler(log)
    assert not log.records, log.records
    return recorder.calls


def only_call(calls, name):
    matching = [args for called, args in calls if called == name]
    assert len(matching) == 1, calls
    return matching[0]


# --- framing and handshake ---------------------------------------------------------------------------

def test_frames_split_across_reads_and_keep_the_rest():
    data = encode_message([9, 1, 42]) + encode_message([49, 1, 1700000000])
    frames, rest = split_frames(data[:-3])
    assert [decode_fields(f) for f in frames] == [["9", "1", "42"]]
    frames, rest = split_frames(rest + data[-3:])
    assert [decode_fields(f) for f in frames] == [["49", "1", "1700000000"]] and rest == b""


def test_oversized_frame_is_a_wire_error():
    with pytest.raises(WireError):
        split_frames(b"\x7f\xff\xff\xff" + b"x")


def test_field_formatting_follows_tws_conventions():
    assert [format_field(v) for v in (None, True, False, 3, 2.0, 0.1 + 0.2, 1.7976931348623157e308,
                                      2**31 - 1, "SPY")] == ["", "1", "0", "3", "2", "0.3", "", "", "SPY"]


@pytest.mark.parametrize("text, expected", [
    (b"v157..176", Handshake(157, 176, "")),
    (b"v100..157 +PACEAPI", Handshake(100, 157, "+PACEAPI")),
    (b"v176", Handshake(176, 176, "")),
])
def test_handshake_ranges(text, expected):
    assert parse_handshake(text) == expected


def test_version_negotiation_picks_the_highest_common_version():
    assert negotiate_version(Handshake(157, 176)) == 176
    assert negotiate_version(Handshake(100, 157)) == 157
    assert negotiate_version(Handshake(157, 190)) == 176
    with pytest.raises(WireError):
        negotiate_version(Handshake(177, 190))
    with pytest.raises(WireError):
        negotiate_version(Handshake(38, 99))
    with pytest.raises(WireError):
        parse_handshake(b"hello")


def test_field_reader_types_and_errors():
    r = FieldReader(["1", "", "2.5", "x", "1"])
    assert r.int() == 1 and r.float() is None and r.float() == 2.5
    with pytest.raises(MalformedRequest):
        r.int("qty")
    assert r.bool() is True
    with pytest.raises(MalformedRequest):
        r.str("missing")


# --- requests as the two client libraries send them ---------------------------------------------------

def client_sent(call):
    """Payloads the client library's Client sends for `call(client)` at server version 176."""
    sent = []
    client = Client(_WrapperRecorder())
    client.connState = Client.CONNECTED
    client._serverVersion = CLIENT_VERSION
    client.sendMsg = sent.append
    call(client)
    return [msg.split("\0")[:-1] for msg in sent]


class _FakeConnection:
    def __init__(self):
        self.sent = []

    def isConnected(self):
        return True

    def sendMsg(self, msg):
        self.sent.append(msg)


def ibapi_sent(call):
    """Payloads ibapi's EClient sends for `call(client)` at server version 157."""
    client = EClient(EWrapper())
    client.conn = _FakeConnection()
    client.serverVersion_ = IBAPI_VERSION
    client.setConnState(EClient.CONNECTED)
    call(client)
    return [decode_fields(split_frames(msg)[0][0]) for msg in client.conn.sent]


def test_place_order_from_the_client_library_parses_whole_message():
    contract = Stock("SPY", "SMART", "USD", conId=756733)
    order = LimitOrder("BUY", 10, 601.5, tif="GTC", orderRef="alloc-1", outsideRth=True,
                       account="DU1234567", goodAfterTime="20261124 15:55:00 America/New_York",
                       algoStrategy="Adaptive", algoParams=[TagValue("adaptivePriority", "Normal")])
    [fields] = client_sent(lambda c: c.placeOrder(11, contract, order))
    request = parse_request(fields, CLIENT_VERSION)
    assert isinstance(request, PlaceOrder)
    assert request.order_id == 11 and request.contract.con_id == 756733
    o = request.order
    assert (o.action, o.total_quantity, o.order_type, o.lmt_price, o.tif) == ("BUY", 10, "LMT", 601.5, "GTC")
    assert o.order_ref == "alloc-1" and o.outside_rth and o.account == "DU1234567"
    assert o.good_after_time == "20261124 15:55:00 America/New_York"
    assert o.algo_strategy == "Adaptive" and o.algo_params == [("adaptivePriority", "Normal")]
    assert o.transmit and not o.what_if and o.manual_order_time == ""


def test_place_order_from_ibapi_parses_whole_message():
    contract = IbapiContract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = "MNQ", "FUT", "CME", "USD"
    contract.lastTradeDateOrContractMonth = "202612"
    order = IbapiOrder()
    order.action, order.totalQuantity, order.orderType = "SELL", 2, "MKT"
    order.algoStrategy, order.algoParams = "Adaptive", [IbapiTagValue("adaptivePriority", "Urgent")]
    [fields] = ibapi_sent(lambda c: c.placeOrder(5, contract, order))
    request = parse_request(fields, IBAPI_VERSION)
    assert request.order_id == 5 and request.contract.symbol == "MNQ"
    assert request.contract.last_trade_date == "202612"
    o = request.order
    assert (o.action, o.total_quantity, o.order_type, o.lmt_price) == ("SELL", 2, "MKT", None)
    assert o.algo_params == [("adaptivePriority", "Urgent")] and o.cash_qty is None


def test_contract_details_and_market_data_requests_from_both_clients():
    future = Future("MNQ", "202612", "CME")
    [client_cd, client_md, client_hist] = client_sent(lambda c: (
        c.reqContractDetails(4, future),
        c.reqMktData(5, Stock("SPY", "SMART", "USD"), "", True, False, []),
        c.reqHistoricalData(6, future, "", "30 D", "1 day", "TRADES", True, 1, False, [])))
    cd = parse_request(client_cd, CLIENT_VERSION)
    assert isinstance(cd, ReqContractDetails) and cd.req_id == 4
    assert (cd.contract.symbol, cd.contract.sec_type, cd.contract.last_trade_date) == ("MNQ", "FUT", "202612")
    md = parse_request(client_md, CLIENT_VERSION)
    assert isinstance(md, ReqMktData) and md.snapshot and md.contract.exchange == "SMART"
    hist = parse_request(client_hist, CLIENT_VERSION)
    assert isinstance(hist, ReqHistoricalData)
    assert (hist.duration, hist.bar_size, hist.use_rth, hist.what_to_show) == ("30 D", "1 day", True, "TRADES")

    contract = IbapiContract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = "EUR", "CASH", "IDEALPRO", "USD"
    [ibapi_cd, ibapi_hist] = ibapi_sent(lambda c: (
        c.reqContractDetails(8, contract),
        c.reqHistoricalData(9, contract, "20261124 16:00:00", "2 D", "30 mins", "MIDPOINT", 0, 2, False, [])))
    cd = parse_request(ibapi_cd, IBAPI_VERSION)
    assert cd.req_id == 8 and cd.contract.symbol == "EUR" and cd.contract.exchange == "IDEALPRO"
    hist = parse_request(ibapi_hist, IBAPI_VERSION)
    assert hist.end_date_time == "20261124 16:00:00" and hist.format_date == 2 and not hist.use_rth


def test_truncated_request_is_malformed():
    [fields] = client_sent(lambda c: c.placeOrder(1, Stock("SPY", "SMART", "USD"), MarketOrder("BUY", 1)))
    with pytest.raises(MalformedRequest):
        parse_request(fields[:40], CLIENT_VERSION)


# --- outgoing messages through both decoders -----------------------------------------------------------

@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_connection_messages(version, decode):
    assert only_call(decode(messages.next_valid_id(17)), "nextValidId")[0] == 17
    assert only_call(decode(messages.managed_accounts(["DU1234567"])), "managedAccounts")[0] == "DU1234567"
    assert only_call(decode(messages.current_time(Quote().time)), "currentTime")[0] == int(Quote().time.timestamp())
    args = only_call(decode(messages.error(version, -1, 2104, "Market data farm connection is OK:usfarm")),
                     "error")
    assert args[:3] == (-1, 2104, "Market data farm connection is OK:usfarm")


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
@pytest.mark.parametrize("spec", [Spec(), MNQ], ids=["stock", "future"])
def test_contract_data(version, decode, spec):
    calls = decode(messages_contracts.contract_data(version, 3, spec, under_symbol="NQ", under_sec_type="IND"))
    req_id, details = only_call(calls, "contractDetails")
    c = details.contract
    assert req_id == 3 and c.conId == spec.con_id and c.symbol == spec.symbol and c.secType == spec.sec_type
    assert c.lastTradeDateOrContractMonth == spec.last_trade_date and c.localSymbol == spec.local_symbol
    assert c.multiplier == ("2" if spec.sec_type == "FUT" else "")
    assert float(details.minTick) == spec.min_tick and details.longName == spec.long_name
    assert details.timeZoneId == spec.time_zone_id and details.stockType == spec.stock_type
    assert c.primaryExchange == spec.primary_exchange and int(details.underConId) == spec.under_con_id
    assert only_call(decode(messages_contracts.contract_data_end(3)), "contractDetailsEnd") == (3,)


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_market_data_messages(version, decode):
    calls = []
    for fields in messages_market.quote_ticks(5, Quote(), with_trades=True):
        calls += decode(fields)
    names = [name for name, _ in calls]
    if decode is decode_client:
        prices = {args[1]: args[2] for name, args in calls if name == "priceSizeTick"}
        assert prices == {1: 600.01, 2: 600.02, 4: 600.02, 6: 601.0, 7: 597.25, 9: 598.5, 14: 599.0}
    else:
        prices = {args[1]: args[2] for name, args in calls if name == "tickPrice"}
        assert prices[1] == 600.01 and prices[9] == 598.5
        assert ("tickSize", (5, 0, 300)) in calls
    assert "tickString" in names
    assert only_call(decode(messages_market.tick_snapshot_end(5)), "tickSnapshotEnd") == (5,)
    assert only_call(decode(messages.market_data_type(5, 1)), "marketDataType") == (5, 1)
    assert only_call(decode(messages_market.tick_req_params(5, 0.01, "SMART")), "tickReqParams")[0] == 5


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_historical_data(version, decode):
    bars = [Bar(datetime(2026, 11, 23, tzinfo=timezone.utc)), Bar(datetime(2026, 11, 24, tzinfo=timezone.utc))]
    fields = messages_market.historical_data(version, 6, bars, start="20261123", end="20261124",
                                             daily=True, format_date=1, zone="US/Eastern")
    calls = decode(fields)
    got = [args[1] for name, args in calls if name == "historicalData"]
    assert [b.date for b in got] == ["20261123", "20261124"] and got[0].close == 601.25
    assert [name for name, _ in calls][-1] == "historicalDataEnd"
    intraday = messages_market.historical_data(version, 6, bars[:1], start="", end="", daily=False,
                                               format_date=1, zone="US/Eastern")
    bar = only_call(decode(intraday), "historicalData")[1]
    assert bar.date == "20261122 19:00:00 US/Eastern"


def _order_view(**changes):
    view = messages_orders.OrderView(
        order_id=7, client_id=3, perm_id=1000001, action="BUY", total_quantity=10, order_type="LMT",
        status="Submitted", lmt_price=601.5, tif="GTC", account="DU1234567", order_ref="ref-1",
        outside_rth=True, algo_strategy="Adaptive", algo_params=[("adaptivePriority", "Normal")],
        remaining=10)
    for key, value in changes.items():
        setattr(view, key, value)
    return view


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_open_order_and_status(version, decode):
    order_id, contract, order, state = only_call(
        decode(messages_orders.open_order(version, _order_view(), Spec())), "openOrder")
    assert order_id == 7 and contract.conId == 756733 and contract.exchange == "SMART"
    assert (order.action, order.totalQuantity, order.orderType, order.lmtPrice) == ("BUY", 10, "LMT", 601.5)
    assert (order.clientId, order.permId, order.tif, order.orderRef) == (3, 1000001, "GTC", "ref-1")
    assert order.outsideRth and order.algoStrategy == "Adaptive"
    assert [(p.tag, p.value) for p in order.algoParams] == [("adaptivePriority", "Normal")]
    assert state.status == "Submitted" and not order.whatIf
    args = only_call(decode(messages_orders.order_status(version, _order_view(filled=4, remaining=6))),
                     "orderStatus")
    assert args[:4] == (7, "Submitted", 4, 6) and args[5] == 1000001 and args[8] == 3
    assert decode(messages_orders.open_order_end())[0][0] == "openOrderEnd"


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_completed_order(version, decode):
    view = _order_view(status="Filled", filled=10, remaining=0, completed_time="20261124 15:00:01 UTC",
                       completed_status="Filled")
    contract, order, state = only_call(decode(messages_orders.completed_order(version, view, MNQ)),
                                       "completedOrder")
    assert contract.localSymbol == "MNQZ6" and order.permId == 1000001 and order.algoStrategy == "Adaptive"
    assert state.status == "Filled" and state.completedStatus == "Filled"
    assert state.completedTime == "20261124 15:00:01 UTC" and order.filledQuantity == 10
    assert decode(messages_orders.completed_orders_end())[0][0] == "completedOrdersEnd"


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_execution_and_commission(version, decode):
    execution = Execution()
    fields = messages_orders.exec_details(version, -1, execution, Spec(), "20261124 15:00:01 UTC")
    req_id, contract, ex = only_call(decode(fields), "execDetails")
    assert req_id == -1 and contract.conId == 756733 and ex.execId == execution.exec_id
    assert (ex.orderId, ex.permId, ex.clientId, ex.side, ex.shares, ex.price) == (7, 1000001, 3, "BOT", 10, 600.02)
    assert ex.cumQty == 10 and ex.avgPrice == 600.02 and ex.orderRef == "ref-1"
    if decode is decode_client:
        assert ex.time == execution.time
    [report] = only_call(decode(messages_orders.commission_report(execution)), "commissionReport")
    assert report.execId == execution.exec_id and report.commission == 1.0 and report.currency == "USD"
    assert report.realizedPNL == 1.7976931348623157e308
    assert only_call(decode(messages_orders.exec_details_end(9)), "execDetailsEnd") == (9,)


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_account_messages(version, decode):
    assert only_call(decode(messages_account.account_value("NetLiquidation", "1000000.00", "USD", "DU1")),
                     "updateAccountValue") == ("NetLiquidation", "1000000.00", "USD", "DU1")
    contract, position, price, value, avg, unrealized, realized, account = only_call(
        decode(messages_account.portfolio_value(Spec(), PortfolioItem(), "DU1")), "updatePortfolio")
    assert contract.primaryExchange == "ARCA" and position == 10 and value == 6005.0 and account == "DU1"
    account, contract, quantity, avg_cost = only_call(
        decode(messages_account.position("DU1", MNQ, -2, 42000.5)), "position")
    assert contract.multiplier == "2" and contract.exchange == "CME" and quantity == -2 and avg_cost == 42000.5
    assert decode(messages_account.position_end())[0][0] == "positionEnd"
    assert only_call(decode(messages_account.account_update_time("15:00")), "updateAccountTime") == ("15:00",)
    assert only_call(decode(messages_account.account_download_end("DU1")), "accountDownloadEnd") == ("DU1",)
    assert only_call(decode(messages_account.account_summary(4, "DU1", "BuyingPower", "4000000.00", "USD")),
                     "accountSummary") == (4, "DU1", "BuyingPower", "4000000.00", "USD")
    assert only_call(decode(messages_account.account_summary_end(4)), "accountSummaryEnd") == (4,)
    args = only_call(decode(messages_account.account_update_multi(2, "DU1", "CashBalance", "5.00", "EUR")),
                     "accountUpdateMulti")
    assert args == (2, "DU1", "", "CashBalance", "5.00", "EUR")
    assert only_call(decode(messages_account.account_update_multi_end(2)), "accountUpdateMultiEnd") == (2,)
    args = only_call(decode(messages_account.position_multi(2, "DU1", Spec(), 10, 600.12)), "positionMulti")
    assert args[0] == 2 and args[3].conId == 756733
    assert only_call(decode(messages_account.pnl(version, 8, 1.5, 2.5, 3.5)), "pnl") == (8, 1.5, 2.5, 3.5)
    assert only_call(decode(messages_account.pnl_single(version, 8, 10, 1.5, 2.5, 3.5, 6005.0)),
                     "pnlSingle") == (8, 10, 1.5, 2.5, 3.5, 6005.0)


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_symbol_samples_market_rule_and_head_timestamp(version, decode):
    req_id, descriptions = only_call(decode(messages_contracts.symbol_samples(version, 12, [Spec(), MNQ])),
                                     "symbolSamples")
    assert req_id == 12 and [d.contract.symbol for d in descriptions] == ["SPY", "MNQ"]
    assert descriptions[0].contract.primaryExchange == "ARCA"
    rule_id, increments = only_call(decode(messages_contracts.market_rule(26)), "marketRule")
    assert rule_id == 26 and increments[0].increment == 0.01
    assert only_call(decode(messages_market.head_timestamp(13, "20061124-15:30:00")),
                     "headTimestamp") == (13, "20061124-15:30:00")


@settings(max_examples=300, deadline=None)
@given(msg_id=st.sampled_from(sorted(PARSERS) + [0, 60, 105, 999]),
       fields=st.lists(st.sampled_from(["", "0", "1", "-1", "2.5", "x", "BAG", "PEG BENCH", "3", "1e400"]),
                       max_size=160),
       version=st.sampled_from([100, 124, 145, 157, 170, 176]))
def test_any_field_sequence_parses_or_is_reported_malformed(msg_id, fields, version):
    try:
        parse_request([str(msg_id), *fields], version)
    except MalformedRequest:
        pass


# --- scanners, depth, streams, histograms, historical ticks and reference data ---------------------------------

@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_scanner_and_depth_messages(version, decode):
    assert only_call(decode(messages_data.scanner_parameters("<xml/>")), "scannerParameters") == ("<xml/>",)
    calls = decode(messages_data.scanner_data(4, [(0, Spec()), (1, MNQ)]))
    rows = [args for name, args in calls if name == "scannerData"]
    assert [(args[0], args[1], args[2].contract.symbol) for args in rows] == [(4, 0, "SPY"), (4, 1, "MNQ")]
    assert rows[0][2].contract.conId == 756733 and calls[-1] == ("scannerDataEnd", (4,))
    args = only_call(decode(messages_data.depth_l2(version, 5, 0, "ARCA", 0, 1, 600.01, 300, True)),
                     "updateMktDepthL2")
    assert args[:7] == (5, 0, "ARCA", 0, 1, 600.01, 300)
    assert only_call(decode(messages_data.depth(5, 1, 1, 0, 600.03, 200)), "updateMktDepth") == (
        5, 1, 1, 0, 600.03, 200)
    [desc] = only_call(decode(messages_data.mkt_depth_exchanges(version, [("ARCA", "STK", "NYSE", "Deep2", 2)])),
                       "mktDepthExchanges")[0]
    assert (desc.exchange, desc.secType, desc.listingExch, desc.serviceDataType, desc.aggGroup) == (
        "ARCA", "STK", "NYSE", "Deep2", 2)


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_stream_and_tick_history_messages(version, decode):
    moment = Quote().time
    epoch = int(moment.timestamp())
    assert only_call(decode(messages_data.real_time_bar(6, moment, 1.0, 2.0, 0.5, 1.5, 300, 1.25, 3)),
                     "realtimeBar") == (6, epoch, 1.0, 2.0, 0.5, 1.5, 300, 1.25, 3)
    last = decode(messages_data.tick_by_tick_last(7, 1, moment, 600.02, 100, "ARCA"))
    assert last[0][0] == "tickByTickAllLast" and last[0][1][:5] == (7, 1, epoch, 600.02, 100)
    bid_ask = only_call(decode(messages_data.tick_by_tick_bid_ask(7, moment, 600.01, 600.03, 300, 400)),
                        "tickByTickBidAsk")
    assert bid_ask[:6] == (7, epoch, 600.01, 600.03, 300, 400)
    assert only_call(decode(messages_data.tick_by_tick_mid_point(7, moment, 600.02)),
                     "tickByTickMidPoint") == (7, epoch, 600.02)
    req_id, rows = only_call(decode(messages_data.histogram_data(8, [(600.0, 12), (600.1, 3)])), "histogramData")
    assert req_id == 8 and [(r.price, r.count) for r in rows] == [(600.0, 12), (600.1, 3)]
    req_id, ticks, done = only_call(decode(messages_data.historical_ticks_last(9, [(moment, 600.02, 100, "ARCA")])),
                                    "historicalTicksLast")
    assert req_id == 9 and done and ticks[0].price == 600.02 and ticks[0].exchange == "ARCA"
    req_id, ticks, done = only_call(decode(messages_data.historical_ticks_bid_ask(
        9, [(moment, 600.01, 600.03, 300, 400)])), "historicalTicksBidAsk")
    assert (ticks[0].priceBid, ticks[0].priceAsk) == (600.01, 600.03) and done
    req_id, ticks, done = only_call(decode(messages_data.historical_ticks_midpoint(9, [(moment, 600.02)])),
                                    "historicalTicks")
    assert ticks[0].price == 600.02 and done


@pytest.mark.parametrize("version, decode", [(CLIENT_VERSION, decode_client), (IBAPI_VERSION, decode_ibapi)])
def test_reference_data_messages(version, decode):
    args = only_call(decode(messages_reference.option_parameter(3, "SMART", 756733, "SPY", 100.0,
                                                               ["20261218", "20270115"], [590.0, 600.0])),
                     "securityDefinitionOptionParameter")
    assert args[0] == 3 and args[1] == "SMART" and int(args[2]) == 756733 and args[4] == "100"
    assert sorted(args[5]) == ["20261218", "20270115"] and sorted(args[6]) == [590.0, 600.0]
    assert only_call(decode(messages_reference.option_parameter_end(3)),
                     "securityDefinitionOptionParameterEnd") == (3,)
    args = only_call(decode(messages_reference.option_computation(
        version, 4, 13, implied_vol=0.2, delta=0.54, option_price=16.3, pv_dividend=0.0, gamma=0.01, vega=0.75,
        theta=-0.24, under_price=600.0)), "tickOptionComputation")
    assert args[0] == 4 and args[1] == 13 and 0.2 in args and 16.3 in args and args[-1] == 600.0
    req_id, components = only_call(decode(messages_reference.smart_components(5, [(1, "ARCA", "P")])),
                                   "smartComponents")
    assert req_id == 5 and len(components) == 1
    [family] = only_call(decode(messages_reference.family_codes([("DU1234567", "")])), "familyCodes")[0]
    assert family.accountID == "DU1234567"
    assert list(only_call(decode(messages_reference.news_providers([])), "newsProviders")[0]) == []
    assert only_call(decode(messages_reference.soft_dollar_tiers(6, [])), "softDollarTiers")[0] == 6


def test_user_info_through_the_client_library():
    assert only_call(decode_client(messages_reference.user_info(7, "")), "userInfo") == (7, "")


def test_new_requests_from_the_client_library_keep_their_ids():
    from simulator.protocol.requests_data import ReqMktDepth, ReqScannerSubscription, ReqTickByTickData
    from simulator.protocol.requests_reference import ReqOptionCalculation, ReqSecDefOptParams
    from tests.support.iblib import ScannerSubscription
    spy = Stock("SPY", "SMART", "USD")
    sent = client_sent(lambda c: (
        c.reqScannerSubscription(21, ScannerSubscription(scanCode="TOP_PERC_GAIN", numberOfRows=5), [], []),
        c.reqMktDepth(22, spy, 5, True, []),
        c.reqTickByTickData(23, spy, "BidAsk", 0, False),
        c.reqSecDefOptParams(24, "SPY", "", "STK", 756733),
        c.calculateOptionPrice(25, spy, 0.2, 600.0, [])))
    scan, depth, ticks, chain, calc = (parse_request(fields, CLIENT_VERSION) for fields in sent)
    assert isinstance(scan, ReqScannerSubscription) and (scan.req_id, scan.scan_code, scan.number_of_rows) == (
        21, "TOP_PERC_GAIN", 5)
    assert isinstance(depth, ReqMktDepth) and depth.req_id == 22 and depth.smart_depth and depth.num_rows == 5
    assert isinstance(ticks, ReqTickByTickData) and (ticks.req_id, ticks.tick_type) == (23, "BidAsk")
    assert isinstance(chain, ReqSecDefOptParams) and (chain.req_id, chain.underlying_con_id) == (24, 756733)
    assert isinstance(calc, ReqOptionCalculation) and (calc.req_id, calc.value, calc.under_price) == (25, 0.2, 600.0)
