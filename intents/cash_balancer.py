"""`cash-balancer`: cash held in other currencies than the base currency converted back with FXCONV market orders."""
from __future__ import annotations

import logging
import math
from functools import partial

from ib_async import Contract

from intents.base import DryRun, Intent, OrderParams, Seconds
from lib.broker import market_data
from lib.broker.account import account_summary_now, cash_balances, exchange_rates, net_liquidation
from lib.broker.instruments import Forex, fx_pair_for
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import ServiceError
from lib.trading.confirmation import confirm_positions
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import trading_date
from lib.trading.order_flow import OrderStyle, SendResult, StrategyOrder, send_recorded

log = logging.getLogger(__name__)

LOT = 1000
# what the balances are read from: the base currency (with NetLiquidation) and every currency's cash and rate
SUMMARY_TAGS = "NetLiquidation,$LEDGER:ALL"


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
        values = self.bridge.run(partial(account_summary_now, tags=SUMMARY_TAGS), timeout_s=deadline.remaining_s())
        _, base = net_liquidation(values, account)
        balances, rates = cash_balances(values, account), exchange_rates(values, account)
        conversions, skipped = plan_conversions(balances, rates, base, threshold)
        result = {"status": "dryRun" if params["dryRun"] else "done", "baseCurrency": base,
                  "threshold": threshold, "balances": balances, "conversions": conversions, "skipped": skipped,
                  "orders": []}
        if params["dryRun"] or not conversions:
            return result
        contracts = self._fxconv_contracts([c["symbol"] for c in conversions], deadline)
        ledger = Ledger(self.store, self.settings.trading_mode)
        # the day's executions applied first, so a conversion that filled since is no longer counted as working
        confirmed = confirm_positions(self.bridge, ledger, account, self.clock, deadline, self.name)
        result["unconfirmed"] = confirmed.report()
        working = {order["conId"] for order in ledger.open_orders() if order.get("kind") == "conversion"}
        for planned in list(conversions):
            con_id = contracts[planned["symbol"]].conId
            # the claim stops a retry; this stops a later run while an earlier conversion has not filled yet
            reason = (f"a conversion through {planned['pair']} is still working" if con_id in working
                      else confirmed.refusal(con_id))
            if reason:
                conversions.remove(planned)
                skipped.append({"currency": planned["currency"], "balance": planned["balance"], "reason": reason})
        orders = [StrategyOrder(contracts[c["symbol"]], c["quantity"] if c["action"] == "BUY" else -c["quantity"],
                                {}, conversion=True) for c in conversions]
        style = OrderStyle(order_ref=f"cash-balancer-{self.activity_id}", account=account)
        result["orders"] = send_recorded(self.bridge, ledger, orders, style, deadline,
                                         lambda: self.clock().isoformat(), SendResult(), self.claim).reports
        return result

    def _fxconv_contracts(self, pairs: list[str], deadline: Deadline) -> dict:
        """The IDEALPRO contract of each pair, routed to FXCONV (IB's conversion desk) instead."""
        instruments = {pair: Forex(pair) for pair in pairs}
        resolved = self.bridge.run(partial(market_data.resolve, instruments=list(instruments.values()),
                                           today=trading_date(self.clock())), timeout_s=deadline.remaining_s())
        contracts = {}
        for pair, instrument in instruments.items():
            contract = resolved[instrument]
            if isinstance(contract, Exception):
                raise ServiceError(f"cannot convert through {pair}: {contract}")
            contracts[pair] = Contract(conId=contract.conId, symbol=contract.symbol, secType="CASH",
                                       currency=contract.currency, exchange="FXCONV",
                                       localSymbol=contract.localSymbol)
        return contracts


def plan_conversions(balances: dict[str, float], rates: dict[str, float], base: str,
                     threshold: float) -> tuple[list[dict], list[dict]]:
    """The conversions of every non-base balance worth more than `threshold` in base currency, and the balances
    left alone with the reason."""
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
    return conversions, skipped
