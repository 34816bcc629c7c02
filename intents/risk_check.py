"""`risk-check`: today's drawdown from the start-of-day NetLiquidation, and the morning's orders still open."""
from __future__ import annotations

import logging

from intents.base import Intent, IntentParams, Seconds
from lib.broker.account import account_summary_now, net_liquidation
from lib.broker.parsing import broker_orders
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import PreconditionFailed
from lib.events import outbox
from lib.gateway import ib_requests
from lib.trading import start_of_day
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import trading_date

log = logging.getLogger(__name__)


async def _account_now(ib):
    # NetLiquidation from a reqAccountSummary answered now: the account updates behind ib.accountValues() come
    # about every 3 minutes (EClient::reqAccountUpdates), so a drawdown would be seen minutes late
    gateway_now = await ib_requests.current_time(ib)
    values = await account_summary_now(ib, "NetLiquidation")
    return gateway_now, values, broker_orders(await ib_requests.all_open_orders(ib))


class RiskCheckParams(IntentParams):
    timeout_seconds: Seconds = 30.0


class RiskCheck(Intent):
    """Alerts (HTTP 200, `alertTriggered: true`, an ERROR log line) when NetLiquidation has fallen more than
    `maxDailyDrawdownPercent` below the start of day that the morning's `allocation` recorded."""

    name = "risk-check"
    description = ("NetLiquidation against the start of day the morning `allocation` recorded: `alertTriggered: "
                   "true` and an ERROR log past `maxDailyDrawdownPercent` (still 200); lists the morning's orders "
                   "still open")
    Params = RiskCheckParams
    # a scheduled job: an operator looks for its runs (a 409 before the day's allocation too) in activity/
    records_activity = True
    conflicts = "no allocation recorded a start-of-day NetLiquidation today"

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        limit = config.number("maxDailyDrawdownPercent")
        mode = self.settings.trading_mode
        gateway_now, values, open_orders = self.bridge.run(_account_now, timeout_s=deadline.remaining_s())
        self.record_net_liquidation(values, config.get("account", ""))
        today = trading_date(gateway_now)
        start = start_of_day.latest(self.store, mode)
        if start is None or start.day != today:
            raise PreconditionFailed(f"no start-of-day NetLiquidation for {today.isoformat()}: the morning "
                                     f"allocation did not run today (last recorded: "
                                     f"{start.day.isoformat() if start else 'never'})")
        now_value, currency = net_liquidation(values, config.get("account", ""))
        start_value = start.net_liquidation
        drawdown = max(0.0, (start_value - now_value) / start_value * 100) if start_value > 0 else 0.0
        triggered = drawdown > limit
        working = {order.perm_id: order.status for order in open_orders}
        morning_orders = [{"permId": o.get("permId"), "orderId": o["orderId"], "conId": o["conId"],
                           "quantity": o["quantity"], "source": o["source"], "placedAt": o["placedAt"],
                           "status": working.get(o.get("permId"), o.get("status"))}
                          for o in Ledger(self.store, mode).open_orders() if o["placedAt"] >= start.recorded_at]
        result = {"alertTriggered": triggered, "drawdownPercent": round(drawdown, 4),
                  "maxDailyDrawdownPercent": limit, "startOfDayNetLiquidation": start_value,
                  "netLiquidation": now_value, "currency": currency, "openMorningOrders": morning_orders}
        if triggered:
            log.error("daily drawdown %.2f%% exceeds %.2f%%", drawdown, limit, extra={"fields": {"event": "riskAlert", "riskCheck": result}})
            # one alert a trading day, however many checks see the drawdown
            outbox.record_once(self.store, "risk.alert", outbox.stable_id("risk-alert", mode, today.isoformat()),
                               {**result, "day": today.isoformat(), "activityId": self.activity_id},
                               at=self.clock().isoformat(), mode=mode)
        return result
