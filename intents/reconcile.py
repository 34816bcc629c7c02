"""`reconcile`: the broker's picture of the account saved for operators (`positions/{mode}` field
`latest_portfolio`), and, when asked, positions the ledger cannot
explain adopted into a named strategy so manual trades stop showing as mismatches."""
from __future__ import annotations

import logging

from pydantic import Field

from intents.base import Intent, IntentParams, Seconds
from lib.broker.account import account_value, net_liquidation
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.params import Flag, StrategyName
from lib.trading import net_liquidation_samples
from lib.trading.ledger import Ledger
from lib.trading.reconciliation import adopt_unexplained, settled_differences

log = logging.getLogger(__name__)

DEFAULT_ADOPTER = "manual"


class ReconcileParams(IntentParams):
    adopt: Flag = Field(False, description="give the positions the ledger cannot explain to `strategy`, so manual "
                                           "trades stop showing as differences")
    strategy: StrategyName = Field(DEFAULT_ADOPTER, description="the strategy that adopts them (letters, digits, "
                                                                "- or _)")
    timeout_seconds: Seconds = 60.0


class Reconcile(Intent):
    """Parameters: ReconcileParams."""

    name = "reconcile"
    description = ("saves the broker's positions, open orders, NetLiquidation and AvailableFunds to "
                   "`positions/{mode}` (field `latest_portfolio`); with `adopt: true`, positions the ledger cannot "
                   "explain go to the strategy named by `strategy`")
    Params = ReconcileParams
    records_activity = True

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        account = config.get("account", "")
        mode = self.settings.trading_mode
        ledger = Ledger(self.store, mode)
        # executions still unapplied would otherwise look unexplained and be adopted as well as applied; a
        # difference is adopted only once two broker snapshots running agree on it
        settled = settled_differences(self.bridge, ledger, account, self.clock, deadline)
        snapshot = settled.snapshot
        value, currency = net_liquidation(snapshot.account_values, account)
        net_liquidation_samples.record(self.store, mode, net_liquidation_samples.Sample(
            self.clock().isoformat(), value, currency, self.name, self.activity_id))
        portfolio = {
            "takenAt": self.clock().isoformat(),
            "currency": currency,
            "netLiquidation": value,
            "availableFunds": account_value(snapshot.account_values, "AvailableFunds", account),
            "positions": [{"conId": p.con_id, "localSymbol": p.local_symbol, "position": p.position,
                           "avgCost": p.avg_cost}
                          for p in snapshot.positions if p.position and (not account or p.account == account)],
            "openOrders": [order.report() for order in snapshot.open_orders],
        }
        # a field of the mode's positions document: Firestore paths alternate collection/document
        self.store.set(f"positions/{mode}", {"latest_portfolio": portfolio}, merge=True)
        result = {"portfolio": portfolio, "executionsApplied": len(settled.report["applied"]),
                  "differences": settled.differences, "adopted": {}, "notAdopted": {}}
        if params["adopt"] and settled.differences:
            result["adopted"], result["notAdopted"] = adopt_unexplained(ledger, params["strategy"], settled)
            log.warning("adopted positions into %s", params["strategy"],
                        extra={"fields": {"adopted": result["adopted"], "notAdopted": result["notAdopted"]}})
        return result

