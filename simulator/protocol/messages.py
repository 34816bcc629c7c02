"""Encode outgoing messages (gateway -> client) as field lists: connection, errors, time, shared contract blocks."""

from __future__ import annotations

from datetime import datetime

from simulator.protocol.versions import SV_ADVANCED_ORDER_REJECT

# outgoing message ids
TICK_PRICE = 1
TICK_SIZE = 2
ORDER_STATUS = 3
ERR_MSG = 4
OPEN_ORDER = 5
ACCT_VALUE = 6
PORTFOLIO_VALUE = 7
ACCT_UPDATE_TIME = 8
NEXT_VALID_ID = 9
CONTRACT_DATA = 10
EXECUTION_DATA = 11
MANAGED_ACCTS = 15
HISTORICAL_DATA = 17
TICK_STRING = 46
CURRENT_TIME = 49
CONTRACT_DATA_END = 52
OPEN_ORDER_END = 53
ACCT_DOWNLOAD_END = 54
EXECUTION_DATA_END = 55
TICK_SNAPSHOT_END = 57
MARKET_DATA_TYPE = 58
COMMISSION_REPORT = 59
POSITION_DATA = 61
POSITION_END = 62
ACCOUNT_SUMMARY = 63
ACCOUNT_SUMMARY_END = 64
POSITION_MULTI = 71
POSITION_MULTI_END = 72
ACCOUNT_UPDATE_MULTI = 73
ACCOUNT_UPDATE_MULTI_END = 74
SYMBOL_SAMPLES = 79
TICK_REQ_PARAMS = 81
HEAD_TIMESTAMP = 88
MARKET_RULE = 93
PNL = 94
PNL_SINGLE = 95
COMPLETED_ORDER = 101
COMPLETED_ORDERS_END = 102

NO_VALID_ID = -1

# connect-time notices a gateway sends with reqId -1
FARM_STATUS = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)

Fields = list


def error(server_version: int, req_id: int, code: int, text: str) -> Fields:
    """errorMsg; v166+ adds the advanced-order-reject JSON field ib_insync always unpacks."""
    fields = [ERR_MSG, 2, req_id, code, text]
    if server_version >= SV_ADVANCED_ORDER_REJECT:
        fields.append("")
    return fields


def next_valid_id(order_id: int) -> Fields:
    return [NEXT_VALID_ID, 1, order_id]


def managed_accounts(accounts: list[str]) -> Fields:
    return [MANAGED_ACCTS, 1, ",".join(accounts)]


def current_time(moment: datetime) -> Fields:
    return [CURRENT_TIME, 1, int(moment.timestamp())]


def market_data_type(req_id: int, data_type: int) -> Fields:
    return [MARKET_DATA_TYPE, 1, req_id, data_type]


def format_multiplier(multiplier: float) -> str:
    """"" for 1 (stocks, forex, indices), else the number as IB writes it ("2", "50")."""
    if not multiplier or multiplier == 1:
        return ""
    return str(int(multiplier)) if float(multiplier).is_integer() else str(multiplier)


def position_exchange(spec) -> str:
    """The listing exchange positions and symbol samples name (IB reports e.g. ARCA for SPY, not SMART)."""
    return spec.primary_exchange or spec.exchange


def contract_block(spec, *, exchange: str | None = None) -> Fields:
    """conId .. tradingClass with multiplier and exchange, as openOrder/execDetails/position carry it."""
    return [spec.con_id, spec.symbol, spec.sec_type, spec.last_trade_date, 0.0, "",
            format_multiplier(spec.multiplier), spec.exchange if exchange is None else exchange,
            spec.currency, spec.local_symbol, spec.trading_class]
