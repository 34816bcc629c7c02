"""`daily-report`: after the day's last session closed, what the day did to the account and to each strategy."""
from __future__ import annotations

from intents.base import Intent, IntentParams, Seconds
from lib.broker.account import net_liquidation
from lib.broker.parsing import execution_fill
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import PreconditionFailed
from lib.gateway import ib_requests
from lib.trading import daily_report, start_of_day
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import trading_date
from lib.trading.reconciliation import ledger_differences, settled_differences


async def _marks(ib):
    """The gateway's clock, the day's executions (with IB's commissions) and the portfolio's marks with the
    account values of the same account update (IB sends them together: EWrapper::updatePortfolio and
    updateAccountValue), so that the marks value positions as NetLiquidation does."""
    gateway_now = await ib_requests.current_time(ib)
    fills = await ib_requests.executions(ib)
    commissions = {f.execution.execId: execution_fill(f).commission for f in fills}
    multipliers = {f.contract.conId: float(f.contract.multiplier or 1) for f in fills}
    prices = {}
    for item in ib.portfolio():
        prices[item.contract.conId] = item.marketPrice
        multipliers[item.contract.conId] = float(item.contract.multiplier or 1)
    return gateway_now, commissions, multipliers, prices, list(ib.accountValues())


class DailyReportParams(IntentParams):
    timeout_seconds: Seconds = 60.0


class DailyReport(Intent):
    """Reconciles, then reports the trading day: NetLiquidation at the open (the day's first allocation) and now,
    each strategy's realised and unrealised PnL and commissions, fills, failed runs and ledger differences; stored
    at `reports/{mode}/daily/{day}` and sent as a `daily.report` event."""

    name = "daily-report"
    description = ("after the day's last session: NetLiquidation at the open and the close, each strategy's realised "
                   "and unrealised PnL and commissions, fills, failures and ledger differences; stored and sent as "
                   "an event")
    Params = DailyReportParams
    records_activity = True
    conflicts = "no allocation recorded a start-of-day NetLiquidation today"

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        mode, account = self.settings.trading_mode, config.get("account", "")
        ledger = Ledger(self.store, mode)
        settled = settled_differences(self.bridge, ledger, account, self.clock, deadline)
        gateway_now, commissions, multipliers, prices, values = self.bridge.run(
            _marks, timeout_s=deadline.remaining_s())
        day = trading_date(gateway_now)
        start = start_of_day.latest(self.store, mode)
        if start is None or start.day != day:
            raise PreconditionFailed(f"no start-of-day NetLiquidation for {day.isoformat()}")
        close, currency = net_liquidation(values, account)
        marks = daily_report.day_marks(self.store, mode, gateway_now)
        strategies = daily_report.strategy_pnl(marks, ledger.cost_bases(), prices, multipliers, commissions)
        failures = daily_report.failed_runs(self.store, start.recorded_at)
        report = {
            "day": day.isoformat(), "currency": currency, "activityId": self.activity_id,
            "netLiquidationOpen": start.net_liquidation, "netLiquidationClose": close,
            "netLiquidationChange": round(close - start.net_liquidation, 2),
            "strategies": strategies, "totalPnl": round(sum(s["pnl"] for s in strategies.values()), 2),
            "commissions": round(sum(s["commissions"] for s in strategies.values()), 2),
            "fills": len(marks), "failures": len(failures), "failedRuns": failures,
            "differences": ledger_differences(ledger, settled.snapshot.positions, account),
        }
        daily_report.store(self.store, mode, report, self.clock().isoformat())
        return report
