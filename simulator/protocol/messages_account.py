"""Encode account messages: account values, portfolio, positions, account summary, multi updates, PnL."""

from __future__ import annotations

from simulator.protocol.messages import (
    ACCOUNT_SUMMARY, ACCOUNT_SUMMARY_END, ACCOUNT_UPDATE_MULTI, ACCOUNT_UPDATE_MULTI_END, ACCT_DOWNLOAD_END,
    ACCT_UPDATE_TIME, ACCT_VALUE, PNL, PNL_SINGLE, PORTFOLIO_VALUE, POSITION_DATA, POSITION_END,
    POSITION_MULTI, POSITION_MULTI_END, Fields, contract_block, position_exchange)
from simulator.protocol.versions import SV_REALIZED_PNL, SV_UNREALIZED_PNL


def account_value(key: str, value: str, currency: str, account: str) -> Fields:
    return [ACCT_VALUE, 2, key, value, currency, account]


def portfolio_value(spec, item, account: str) -> Fields:
    """updatePortfolio (version 8): contract with primaryExchange instead of exchange."""
    return [PORTFOLIO_VALUE, 8, *contract_block(spec, exchange=spec.primary_exchange), item.position,
            item.market_price, item.market_value, item.average_cost, item.unrealized_pnl, item.realized_pnl,
            account]


def account_update_time(hh_mm: str) -> Fields:
    return [ACCT_UPDATE_TIME, 1, hh_mm]


def account_download_end(account: str) -> Fields:
    return [ACCT_DOWNLOAD_END, 1, account]


def position(account: str, spec, quantity: float, avg_cost: float) -> Fields:
    return [POSITION_DATA, 3, account, *contract_block(spec, exchange=position_exchange(spec)),
            quantity, avg_cost]


def position_end() -> Fields:
    return [POSITION_END, 1]


def position_multi(req_id: int, account: str, spec, quantity: float, avg_cost: float,
                   model_code: str = "") -> Fields:
    return [POSITION_MULTI, 1, req_id, account, *contract_block(spec, exchange=position_exchange(spec)),
            quantity, avg_cost, model_code]


def position_multi_end(req_id: int) -> Fields:
    return [POSITION_MULTI_END, 1, req_id]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> Fields:
    return [ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> Fields:
    return [ACCOUNT_SUMMARY_END, 1, req_id]


def account_update_multi(req_id: int, account: str, key: str, value: str, currency: str,
                         model_code: str = "") -> Fields:
    return [ACCOUNT_UPDATE_MULTI, 1, req_id, account, model_code, key, value, currency]


def account_update_multi_end(req_id: int) -> Fields:
    return [ACCOUNT_UPDATE_MULTI_END, 1, req_id]


def pnl(server_version: int, req_id: int, daily: float, unrealized: float, realized: float) -> Fields:
    fields: Fields = [PNL, req_id, daily]
    if server_version >= SV_UNREALIZED_PNL:
        fields.append(unrealized)
    if server_version >= SV_REALIZED_PNL:
        fields.append(realized)
    return fields


def pnl_single(server_version: int, req_id: int, quantity: float, daily: float, unrealized: float,
               realized: float, value: float) -> Fields:
    fields: Fields = [PNL_SINGLE, req_id, int(round(quantity)), daily]
    if server_version >= SV_UNREALIZED_PNL:
        fields.append(unrealized)
    if server_version >= SV_REALIZED_PNL:
        fields.append(realized)
    fields.append(value)
    return fields
