"""`trade-reconciliation`: every execution of the account applied to the strategies' holdings exactly once, finished
orders cleared from the ledger, and the ledger's total compared with the broker's positions."""
from __future__ import annotations

import logging

from intents.base import Intent, IntentParams, Seconds, signature
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.events import outbox
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import trading_date
from lib.trading.reconciliation import LedgerMismatch, settled_differences

log = logging.getLogger(__name__)


class TradeReconciliationParams(IntentParams):
    timeout_seconds: Seconds = 60.0


class TradeReconciliation(Intent):
    """Apply new executions to holdings, clear finished orders, and check the ledger against the broker.

    A difference between the summed holdings and the broker's positions that two broker snapshots running agree on
    is a 500 naming each contract, so alerting on 5xx fires; `reconcile` with `adopt` assigns positions the ledger
    cannot explain to a strategy.
    """

    name = "trade-reconciliation"
    description = ("applies new executions to the strategies' holdings, clears finished orders, compares the ledger "
                   "with broker positions (500 on a difference)")
    Params = TradeReconciliationParams
    records_activity = True

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        account = config.get("account", "")
        ledger = Ledger(self.store, self.settings.trading_mode)
        settled = settled_differences(self.bridge, ledger, account, self.clock, deadline)
        result = {**settled.report, "openOrders": len(ledger.open_orders())}
        self.record_net_liquidation(settled.snapshot.account_values, account)
        if settled.differences:
            log.error("ledger and broker positions differ",
                      extra={"fields": {"event": "ledgerDifference", "differences": settled.differences}})
            self._report_differences(settled)
            raise LedgerMismatch(settled.differences)
        return result

    def _report_differences(self, settled) -> None:
        """One `ledger.difference` event a trading day for each distinct set of differences (a reconciliation every
        few minutes that finds the same ones raises no new alert)."""
        mode = self.settings.trading_mode
        day = trading_date(settled.snapshot.gateway_now or self.clock()).isoformat()
        digest = signature("ledger-difference", settled.differences)[:16]
        outbox.record_once(self.store, "ledger.difference", outbox.stable_id("ledger-difference", mode, day, digest),
                           {"differences": settled.differences, "day": day, "activityId": self.activity_id},
                           at=self.clock().isoformat(), mode=mode)
