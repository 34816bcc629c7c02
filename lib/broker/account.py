"""Reading IB account values: NetLiquidation and cash balances in the account's base currency."""
from __future__ import annotations

from lib.errors import ServiceError


def _values(values, tag: str, account: str):
    return [v for v in values if v.tag == tag and (not account or v.account == account)]


def net_liquidation(values, account: str) -> tuple[float, str]:
    """NetLiquidation and the base currency it is reported in.

    Raises:
        ServiceError: IB reported no NetLiquidation for the account (a wrong config `account`, usually).
    """
    for value in _values(values, "NetLiquidation", account):
        if value.currency and value.currency != "BASE":
            return float(value.value), value.currency
    raise ServiceError(f"IB reports no NetLiquidation for account {account or '(any)'}: check config key 'account'")


def account_value(values, tag: str, account: str) -> float | None:
    """A base-currency account value such as AvailableFunds, or None when IB did not report it."""
    for value in _values(values, tag, account):
        if value.currency and value.currency != "BASE":
            return float(value.value)
    return None


def cash_balances(values, account: str) -> dict[str, float]:
    """CashBalance per currency (IB's BASE total left out)."""
    return {v.currency: float(v.value) for v in _values(values, "CashBalance", account)
            if v.currency and v.currency != "BASE"}


def exchange_rates(values, account: str) -> dict[str, float]:
    """IB's ExchangeRate per currency: base-currency units per one unit of it."""
    return {v.currency: float(v.value) for v in _values(values, "ExchangeRate", account)
            if v.currency and v.currency != "BASE"}


async def account_summary_now(ib, tags: str) -> list:
    """The account summary values of `tags` as IB answers a new reqAccountSummary, as ib_async AccountValues.

    ib_async's account values come from reqAccountUpdates, which IB pushes about every three minutes (TWS API
    reference, EClient::reqAccountUpdates): a balance converted a minute ago still shows there. reqAccountSummary
    answers current values. IB allows only two summary subscriptions at a time (EClient::reqAccountSummary), so
    this one is cancelled as soon as it has answered. Run on the IB loop.
    """
    rows = []

    def collect(value) -> None:
        rows.append(value)

    req_id = ib.client.getReqId()
    answered = ib.wrapper.startReq(req_id)
    # ib_async files every summary row in one dict; the rows of this answer are collected as they arrive
    ib.accountSummaryEvent += collect
    try:
        ib.client.reqAccountSummary(req_id, "All", tags)
        await answered
    finally:
        ib.accountSummaryEvent -= collect
        ib.client.cancelAccountSummary(req_id)
    return rows
