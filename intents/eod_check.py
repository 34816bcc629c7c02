"""`eod-check`: the end-of-day picture (ledger against broker, orders still open) and, with config
`enforceFlatEod: true`, everything closed through `close-all`."""
from __future__ import annotations

import logging

from intents.base import Intent, OrderParams, Seconds
from intents.close_all import ClosingRun, close_strategies
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import InvalidConfig
from lib.trading.ledger import Ledger
from lib.trading.reconciliation import settled_differences

log = logging.getLogger(__name__)


def _enforce_flat(config: TradingConfig) -> bool:
    enforce = config.get("enforceFlatEod", False)
    if not isinstance(enforce, bool):
        raise InvalidConfig("enforceFlatEod", "true or false", enforce)
    return enforce


class EodCheckParams(OrderParams):
    timeout_seconds: Seconds = 120.0


class EodCheck(Intent):
    name = "eod-check"
    description = ("a catch-up of the ledger before the close, ledger against broker and the orders still open; with "
                   "config `enforceFlatEod: true` it runs `close-all`")
    Params = EodCheckParams
    places_orders = True
    conflicts = "another run is trading the strategies it would close"

    def may_place_orders(self, params: dict, config: TradingConfig) -> bool:
        return _enforce_flat(config)

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        account = config.get("account", "")
        ledger = Ledger(self.store, self.settings.trading_mode)
        # IB reports executions and completed orders of the current day only, so fills not applied before the day
        # ends can never be applied afterwards; the scheduled trade-reconciliations after the closes catch up later
        settled = settled_differences(self.bridge, ledger, account, self.clock, deadline)
        self.record_net_liquidation(settled.snapshot.account_values, account)
        differences = settled.differences
        if differences:
            log.error("end of day: ledger and broker positions differ", extra={"fields": {"differences": differences}})
        open_orders = [order.report() for order in settled.snapshot.open_orders]
        if open_orders:
            log.warning("end of day: %d order(s) still open", len(open_orders))
        result = {"ledgerBrokerDifferences": differences, "openOrders": open_orders,
                  "applied": settled.report["applied"], "removedOrders": settled.report["removedOrders"],
                  "holdings": {s: {str(c): q for c, q in h.items()} for s, h in ledger.all_holdings().items()},
                  "enforceFlatEod": _enforce_flat(config), "closeAll": None}
        if result["enforceFlatEod"]:
            run = ClosingRun(self.bridge, self.store, self.settings.trading_mode, self.clock, self.activity_id,
                             self.claim)
            result["closeAll"] = close_strategies(run, config, deadline, None, dry_run=False)
        return result
