"""Encode reference-data answers: option chains and option computations, smart components, family codes, news
providers, user info, soft dollar tiers."""

from __future__ import annotations

from simulator.protocol.messages import Fields, format_multiplier

# outgoing message ids (TWS API IN.*)
TICK_OPTION_COMPUTATION = 21
DISPLAY_GROUP_LIST = 67
DISPLAY_GROUP_UPDATED = 68
SECURITY_DEFINITION_OPTION_PARAMETER = 75
SECURITY_DEFINITION_OPTION_PARAMETER_END = 76
SOFT_DOLLAR_TIERS = 77
FAMILY_CODES = 78
SMART_COMPONENTS = 82
NEWS_PROVIDERS = 85
HISTORICAL_NEWS_END = 87
USER_INFO = 107

# tick types of option computations (TWS API TickTypeEnum)
BID_OPTION_COMPUTATION, ASK_OPTION_COMPUTATION, LAST_OPTION_COMPUTATION, MODEL_OPTION_COMPUTATION = 10, 11, 12, 13

# TWS API MIN_SERVER_VER_PRICE_BASED_VOLATILITY: tickOptionComputation loses its version, gains tickAttrib
SV_PRICE_BASED_VOLATILITY = 156


def option_parameter(req_id: int, exchange: str, underlying_con_id: int, trading_class: str, multiplier: float,
                     expirations: list[str], strikes: list[float]) -> Fields:
    return [SECURITY_DEFINITION_OPTION_PARAMETER, req_id, exchange, underlying_con_id, trading_class,
            format_multiplier(multiplier), len(expirations), *expirations, len(strikes), *strikes]


def option_parameter_end(req_id: int) -> Fields:
    return [SECURITY_DEFINITION_OPTION_PARAMETER_END, req_id]


def option_computation(server_version: int, req_id: int, tick_type: int, *, implied_vol: float, delta: float,
                       option_price: float, pv_dividend: float, gamma: float, vega: float, theta: float,
                       under_price: float) -> Fields:
    """tickOptionComputation; tickAttrib 0 (return-based volatility) from v156, version 6 before it."""
    head: Fields = [TICK_OPTION_COMPUTATION, req_id, tick_type, 0]
    if server_version < SV_PRICE_BASED_VOLATILITY:
        head = [TICK_OPTION_COMPUTATION, 6, req_id, tick_type]
    return head + [implied_vol, delta, option_price, pv_dividend, gamma, vega, theta, under_price]


def display_group_list(req_id: int, groups: str) -> Fields:
    return [DISPLAY_GROUP_LIST, 1, req_id, groups]


def display_group_updated(req_id: int, contract_info: str) -> Fields:
    return [DISPLAY_GROUP_UPDATED, 1, req_id, contract_info]


def smart_components(req_id: int, rows: list[tuple[int, str, str]]) -> Fields:
    fields: Fields = [SMART_COMPONENTS, req_id, len(rows)]
    for bit_number, exchange, letter in rows:
        fields += [bit_number, exchange, letter]
    return fields


def family_codes(rows: list[tuple[str, str]]) -> Fields:
    fields: Fields = [FAMILY_CODES, len(rows)]
    for account, code in rows:
        fields += [account, code]
    return fields


def news_providers(rows: list[tuple[str, str]]) -> Fields:
    fields: Fields = [NEWS_PROVIDERS, len(rows)]
    for code, name in rows:
        fields += [code, name]
    return fields


def user_info(req_id: int, white_branding_id: str) -> Fields:
    return [USER_INFO, req_id, white_branding_id]


def soft_dollar_tiers(req_id: int, tiers: list[tuple[str, str, str]]) -> Fields:
    fields: Fields = [SOFT_DOLLAR_TIERS, req_id, len(tiers)]
    for name, value, display_name in tiers:
        fields += [name, value, display_name]
    return fields
