"""`cash-balancer`: cash held in other currencies than the base currency converted back with FXCONV market orders."""
from __future__ import annotations

import logging
import math

from ib_insync import Forex, MarketOrder

from intents.base import DryRun, Intent, OrderParams, Seconds
from lib.broker.account import cash_balances, exchange_rates, net_liquidation
from lib.broker.instruments import fx_pair_for
from lib.broker.orders import place_and_confirm
from lib.config import TradingConfig
from lib.deadline import Deadline

log = logging.getLogger(__name__)

LOT = 1000
CONFIRM_RESERVE_S = 2.0


def conversion(currency: str, balance: float, base: str, rate_to_base: float) -> dict | None:
    """The FX order that brings `balance` of `currency` back to the base currency, sized down to whole lots of
    1,000 units of the pair's first currency; None when less than a lot."""
    pair = fx_pair_for(currency, base)
    if pair.symbol == currency:
        # CCY.BASE (EUR.USD): the quantity is in the currency held
        units = balance
        action = "SELL" if balance > 0 else "BUY"
    else:
        # BASE.CCY (USD.JPY): the quantity is in the base currency the balance is worth
        units = balance * rate_to_base
        action = "BUY" if balance > 0 else "SELL"
    quantity = math.floor(abs(units) / LOT) * LOT
    if not quantity:
        return None
    return {"pair": f"{pair.symbol}.{pair.currency}", "symbol": pair.pair, "action": action, "quantity": quantity,
            "currency": currency, "balance": balance, "valueInBase": round(balance * rate_to_base, 2)}


class CashBalancerParams(OrderParams):
    dry_run: DryRun = False
    timeout_seconds: Seconds = 60.0


class CashBalancer(Intent):
    """Parameters: CashBalancerParams. Config: cashBalanceThresholdInBaseCurrency (a balance worth more than this, in
    either direction, is converted)."""

    name = "cash-balancer"
    description = ("converts each non-base cash balance worth more than `cashBalanceThresholdInBaseCurrency` with an "
                   "FXCONV market order, rounded down to 1,000 units")
    Params = CashBalancerParams
    places_orders = True

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        threshold = config.number("cashBalanceThresholdInBaseCurrency")
        account = config.get("account", "")
        values = self.bridge.call(lambda ib: ib.accountValues(), timeout_s=deadline.remaining_s())
        _, base = net_liquidation(values, account)
        balances, rates = cash_balances(values, account), exchange_rates(values, account)
        conversions, skipped = [], []
        for currency, balance in sorted(balances.items()):
            if currency == base or not balance:
                continue
            rate = rates.get(currency)
            if rate is None:
                skipped.append({"currency": currency, "balance": balance, "reason": "IB reports no exchange rate"})
                continue
            if abs(balance * rate) <= threshold:
                continue
            planned = conversion(currency, balance, base, rate)
            if planned is None:
                skipped.append({"currency": currency, "balance": balance, "reason": f"less than {LOT} units"})
            else:
                conversions.append(planned)
        result = {"status": "dryRun" if params["dryRun"] else "done", "baseCurrency": base,
                  "threshold": threshold, "balances": balances, "conversions": conversions, "skipped": skipped,
                  "orders": []}
        if params["dryRun"] or not conversions:
            return result
        order_ref = f"cash-balancer-{self.activity_id}"
        orders = [(Forex(c["symbol"], exchange="FXCONV"),
                   MarketOrder(c["action"], c["quantity"], tif="DAY", orderRef=order_ref, account=account))
                  for c in conversions]
        outcomes = self.bridge.run(
            lambda ib: place_and_confirm(ib, orders, timeout_s=max(0.5, deadline.remaining_s() - CONFIRM_RESERVE_S)),
            timeout_s=deadline.remaining_s())
        result["orders"] = [outcome.to_dict() for outcome in outcomes]
        return result
