"""`eod-check`: the end-of-day picture (ledger against broker, orders still open) and, with config
`enforceFlatEod: true`, everything closed through `close-all`, inside a window before the day's actual close.

The close is the calendar's (`marketCalendar`, XNYS by default), early closes included: 13:00 New York the day
after Thanksgiving and on Christmas Eve, when a run at 15:50 would send DAY orders that wait for the next session
and leave the account open over the long weekend. So the job fires before each possible close (12:40, 12:50,
15:40, 15:50) and a run acts only from `WINDOW_OPENS` before the close until `WINDOW_CLOSES` before it, leaving its
closing orders time to fill; outside the window it answers what the window is and does nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from intents.base import Intent, OrderParams, Seconds
from intents.close_all import ClosingRun, close_strategies
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import InvalidConfig
from lib.gateway import ib_requests
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import DEFAULT_CALENDAR, MARKET_ZONE, session_close, trading_date
from lib.trading.reconciliation import settled_differences

log = logging.getLogger(__name__)

WINDOW_OPENS = timedelta(minutes=20)
WINDOW_CLOSES = timedelta(minutes=5)


def _enforce_flat(config: TradingConfig) -> bool:
    enforce = config.get("enforceFlatEod", False)
    if not isinstance(enforce, bool):
        raise InvalidConfig("enforceFlatEod", "true or false", enforce)
    return enforce


class EodCheckParams(OrderParams):
    timeout_seconds: Seconds = 120.0


class EodCheck(Intent):
    name = "eod-check"
    description = ("from 20 to 5 minutes before the day's close by the calendar (early closes included): a catch-up "
                   "of the ledger, ledger against broker and the orders still open; with config "
                   "`enforceFlatEod: true` it runs `close-all`; outside that window it does nothing and says when "
                   "it acts")
    Params = EodCheckParams
    places_orders = True
    conflicts = "another run is trading the strategies it would close"

    def may_place_orders(self, params: dict, config: TradingConfig) -> bool:
        return _enforce_flat(config)

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        outside = self._outside_window(config, deadline)
        if outside is not None:
            return outside
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
                             self.claim, self.settings.claim_margin_s)
            result["closeAll"] = close_strategies(run, config, deadline, None, dry_run=False)
        return result

    def _outside_window(self, config: TradingConfig, deadline: Deadline) -> dict | None:
        """What the window is, when the gateway's clock is outside it; None inside it."""
        calendar = config.get("marketCalendar", DEFAULT_CALENDAR)
        now = self.bridge.run(ib_requests.current_time, timeout_s=deadline.remaining_s())
        close = session_close(trading_date(now), calendar)
        if close is None:
            return None   # no session today: the run's market-closed check answers first, or force: true runs it
        opens, closes = close - WINDOW_OPENS, close - WINDOW_CLOSES
        if opens <= now < closes:
            return None
        local = {name: moment.astimezone(MARKET_ZONE).strftime("%H:%M") for name, moment in
                 (("close", close), ("opens", opens), ("closes", closes))}
        log.info("eod-check outside its window: %s closes at %s New York today", calendar, local["close"])
        return {"status": "outside the window", "gatewayTime": now.isoformat(), "closesAt": close.isoformat(),
                "reason": f"{calendar} closes at {local['close']} New York today; eod-check acts from "
                          f"{local['opens']} until {local['closes']}, before the close, and did nothing"}
