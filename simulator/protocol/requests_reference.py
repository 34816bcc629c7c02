"""Decode reference-data requests: smart components, family codes, news, user info, option chains and option
calculations, fundamentals, Wall Street Horizon, soft dollar tiers, financial-advisor data and exercises."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.protocol.requests_common import ContractFields, read_contract
from simulator.protocol.wire import FieldReader

# TWS API MIN_SERVER_VER_REPLACE_FA_END: replaceFA carries its reqId last
SV_REPLACE_FA_END = 157


@dataclass
class ReqSmartComponents:
    req_id: int
    bbo_exchange: str


@dataclass
class ReqFamilyCodes:
    pass


@dataclass
class ReqNewsProviders:
    pass


@dataclass
class ReqNewsArticle:
    req_id: int
    provider_code: str
    article_id: str


@dataclass
class ReqHistoricalNews:
    req_id: int
    con_id: int
    provider_codes: str


@dataclass
class ReqUserInfo:
    req_id: int


@dataclass
class ReqSecDefOptParams:
    req_id: int
    underlying_symbol: str
    fut_fop_exchange: str
    underlying_sec_type: str
    underlying_con_id: int


@dataclass
class ReqOptionCalculation:
    """calculateImpliedVolatility (msg 54: `value` is the option price) or calculateOptionPrice (55: the
    volatility)."""

    msg_id: int
    req_id: int
    contract: ContractFields
    value: float | None
    under_price: float | None


@dataclass
class ReqFundamentalData:
    req_id: int
    contract: ContractFields
    report_type: str


@dataclass
class ReqWshData:
    """reqWshMetaData (msg 100) or reqWshEventData (102)."""

    msg_id: int
    req_id: int


@dataclass
class ReqSoftDollarTiers:
    req_id: int


@dataclass
class FaRequest:
    """requestFA (msg 18) or replaceFA (19, with its reqId from v157)."""

    msg_id: int
    fa_data_type: int
    req_id: int = -1


@dataclass
class ExerciseOptions:
    req_id: int
    contract: ContractFields
    action: int
    quantity: int
    account: str


@dataclass
class QueryDisplayGroups:
    req_id: int


@dataclass
class SubscribeToGroupEvents:
    req_id: int
    group_id: int


def parse_req_option_calculation(msg_id: int):
    def parse(r: FieldReader, sv: int) -> ReqOptionCalculation:
        r.int("version")
        req_id = r.int("reqId")
        contract = read_contract(r)
        value, under_price = r.float("value"), r.float("underPrice")
        return ReqOptionCalculation(msg_id, req_id, contract, value, under_price)

    return parse


def parse_req_fundamental_data(r: FieldReader, sv: int) -> ReqFundamentalData:
    r.int("version")
    req_id = r.int("reqId")
    c = ContractFields()
    c.con_id, c.symbol, c.sec_type = r.int("conId"), r.str("symbol"), r.str("secType")
    c.exchange, c.primary_exchange, c.currency = r.str("exchange"), r.str("primaryExchange"), r.str("currency")
    c.local_symbol = r.str("localSymbol")
    return ReqFundamentalData(req_id, c, r.str("reportType"))


def parse_wsh(msg_id: int):
    return lambda r, sv: ReqWshData(msg_id, r.int("reqId"))


def parse_request_fa(r: FieldReader, sv: int) -> FaRequest:
    r.int("version")
    return FaRequest(18, r.int("faDataType"))


def parse_replace_fa(r: FieldReader, sv: int) -> FaRequest:
    r.int("version")
    fa_data_type = r.int("faDataType")
    r.str("cxml")
    return FaRequest(19, fa_data_type, r.int("reqId", default=-1) if sv >= SV_REPLACE_FA_END else -1)


def parse_exercise_options(r: FieldReader, sv: int) -> ExerciseOptions:
    r.int("version")
    req_id = r.int("reqId")
    c = ContractFields()
    # the exercise contract block has no primaryExchange
    c.con_id, c.symbol, c.sec_type = r.int("conId"), r.str("symbol"), r.str("secType")
    c.last_trade_date, c.strike, c.right = r.str("lastTradeDate"), r.float("strike", 0.0), r.str("right")
    c.multiplier, c.exchange, c.currency = r.str("multiplier"), r.str("exchange"), r.str("currency")
    c.local_symbol, c.trading_class = r.str("localSymbol"), r.str("tradingClass")
    action, quantity = r.int("exerciseAction"), r.int("exerciseQuantity")
    return ExerciseOptions(req_id, c, action, quantity, r.str("account"))
