"""Encode contract-definition messages: contractData, contractDataEnd, symbolSamples, marketRule."""

from __future__ import annotations

from simulator.protocol.messages import (
    CONTRACT_DATA, CONTRACT_DATA_END, MARKET_RULE, SYMBOL_SAMPLES, Fields, format_multiplier, position_exchange)
from simulator.protocol.versions import (
    SV_AGG_GROUP, SV_BOND_ISSUERID, SV_FRACTIONAL_SIZE_SUPPORT, SV_MARKET_RULES, SV_MD_SIZE_MULTIPLIER,
    SV_REAL_EXPIRATION_DATE, SV_SIZE_RULES, SV_STOCK_TYPE, SV_UNDERLYING_INFO)

# market rule ids reported per security type (price increments are fixed per rule below)
MARKET_RULE_BY_SEC_TYPE = {"STK": 26, "FUT": 67, "CASH": 239, "IND": 110}
# futures whose tick is not 0.25: IB's rule ids for them are not public, these are the simulator's own
FUTURE_MARKET_RULE_BY_TICK = {0.1: 1001, 1.0: 1002, 0.01: 1003, 0.015625: 1004, 0.00005: 1005, 0.0001: 1006}
MARKET_RULE_INCREMENTS = {26: [(0.0, 0.01)], 67: [(0.0, 0.25)], 239: [(0.0, 0.00005)], 110: [(0.0, 0.01)],
                          **{rule: [(0.0, tick)] for tick, rule in FUTURE_MARKET_RULE_BY_TICK.items()}}


def _size_rules(spec) -> tuple[str, str, str]:
    """(minSize, sizeIncrement, suggestedSizeIncrement) as IB reports them per kind."""
    if spec.sec_type == "STK":
        return "0.0001", "0.0001", "100"
    return "1", "1", "1"


def contract_data(server_version: int, req_id: int, spec, *, exchange: str | None = None,
                  under_symbol: str = "", under_sec_type: str = "") -> Fields:
    """contractData for one ContractSpec (v164+ drops the version and mdSizeMultiplier fields)."""
    version_fields = [CONTRACT_DATA] if server_version >= SV_SIZE_RULES else [CONTRACT_DATA, 8]
    valid_exchanges = spec.valid_exchanges
    rule = MARKET_RULE_BY_SEC_TYPE.get(spec.sec_type, 26)
    if spec.sec_type == "FUT":
        rule = FUTURE_MARKET_RULE_BY_TICK.get(spec.min_tick, rule)
    rule_ids = ",".join(str(rule) for _ in valid_exchanges.split(",")) if valid_exchanges else str(rule)
    dated = spec.sec_type in ("FUT", "OPT")
    contract_month = (getattr(spec, "contract_month", "") or spec.last_trade_date[:6]) if dated else ""
    fields = version_fields + [
        req_id, spec.symbol, spec.sec_type, spec.last_trade_date, getattr(spec, "strike", 0.0),
        getattr(spec, "right", ""),
        spec.exchange if exchange is None else exchange, spec.currency, spec.local_symbol,
        spec.trading_class, spec.trading_class, spec.con_id, spec.min_tick]
    if SV_MD_SIZE_MULTIPLIER <= server_version < SV_SIZE_RULES:
        fields.append(1)
    fields += [
        format_multiplier(spec.multiplier), spec.order_types, valid_exchanges, 1, spec.under_con_id,
        spec.long_name, spec.primary_exchange, contract_month, getattr(spec, "industry", ""),
        getattr(spec, "category", ""), getattr(spec, "subcategory", ""), spec.time_zone_id,
        spec.trading_hours, spec.liquid_hours, "", 0, 0]
    if server_version >= SV_AGG_GROUP:
        fields.append(1)
    if server_version >= SV_UNDERLYING_INFO:
        fields += [under_symbol, under_sec_type]
    if server_version >= SV_MARKET_RULES:
        fields.append(rule_ids)
    if server_version >= SV_REAL_EXPIRATION_DATE:
        fields.append(spec.last_trade_date if dated else "")
    if server_version >= SV_STOCK_TYPE:
        fields.append(getattr(spec, "stock_type", ""))
    min_size, size_increment, suggested = _size_rules(spec)
    # v163 alone sends suggestedSizeIncrement by itself; from v164 it comes with the other size rules
    if server_version == SV_FRACTIONAL_SIZE_SUPPORT:
        fields.append(suggested)
    if server_version >= SV_SIZE_RULES:
        fields += [min_size, size_increment, suggested]
    return fields


def contract_data_end(req_id: int) -> Fields:
    return [CONTRACT_DATA_END, 1, req_id]


def symbol_samples(server_version: int, req_id: int, specs: list) -> Fields:
    """reqMatchingSymbols answer; v176 adds description and issuerId per contract."""
    fields: Fields = [SYMBOL_SAMPLES, req_id, len(specs)]
    for spec in specs:
        derivative_sec_types = ["FUT"] if spec.sec_type == "IND" else []
        fields += [spec.con_id, spec.symbol, spec.sec_type, position_exchange(spec),
                   spec.currency, len(derivative_sec_types), *derivative_sec_types]
        if server_version >= SV_BOND_ISSUERID:
            fields += [spec.long_name, ""]
    return fields


def market_rule(rule_id: int) -> Fields:
    increments = MARKET_RULE_INCREMENTS.get(rule_id, [(0.0, 0.01)])
    fields: Fields = [MARKET_RULE, rule_id, len(increments)]
    for low_edge, increment in increments:
        fields += [low_edge, increment]
    return fields
