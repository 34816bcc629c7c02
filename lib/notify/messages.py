"""The text of a notification: what happened, what to do, and a link to the dashboard."""
from __future__ import annotations

from lib.events.outbox import Event

# the events worth a message unless config `notifications.kinds` says otherwise
DEFAULT_KINDS = ("risk.alert", "run.failed", "ledger.difference", "order.rejected", "gateway.down", "gateway.2fa",
                 "gateway.failed", "daily.report")


def _money(value) -> str:
    return "?" if value is None else f"{value:,.2f}"


def _risk(d: dict) -> str:
    return (f"Drawdown {d.get('drawdownPercent', 0):.2f}% today is past the {d.get('maxDailyDrawdownPercent')}% limit "
            f"(NetLiquidation {_money(d.get('netLiquidation'))} from {_money(d.get('startOfDayNetLiquidation'))}). "
            "Check positions and open orders; set tradingEnabled to false to stop new orders.")


def _run_failed(d: dict) -> str:
    return (f"Scheduled run {d.get('intent')} failed: {d.get('exception', 'no reason recorded')}. Read the run, fix "
            "the cause, and run it again by hand if it must still happen today.")


def _difference(d: dict) -> str:
    listed = ", ".join(f"{symbol} ledger {v.get('ledger')} broker {v.get('broker')}"
                       for symbol, v in sorted(d.get("differences", {}).items()))
    return (f"Ledger and broker positions differ: {listed}. Trading those contracts is held back; adopt with "
            "POST /reconcile {\"adopt\": STRATEGY} or correct the position in TWS.")


def _rejected(d: dict) -> str:
    return (f"Order {d.get('action', '')} {abs(d.get('quantity', 0))} {d.get('localSymbol') or d.get('conId')} was "
            "rejected by IB: "
            f"{d.get('error') or d.get('status')}. Check the contract, trading permissions and funds.")


def _gateway_down(d: dict) -> str:
    reason = d.get("lastError") or "no error given"
    return (f"IB Gateway has not been ready for {d.get('downForSeconds', 0) / 60:.0f} min ({reason}). Runs answer 503 "
            "meanwhile. Check the gateway's log lines; after IB's weekly restart the login may wait for approval in "
            "IBKR Mobile.")


def _second_factor(d: dict) -> str:
    return "IB Gateway's login waits for approval in IBKR Mobile: approve it on the phone, or no run can trade."


def _gateway_failed(d: dict) -> str:
    waiting = " while its login waited for IBKR Mobile" if d.get("waitingForSecondFactorSince") else ""
    return (f"The container gave IB Gateway up{waiting} ({d.get('reason')}); Cloud Run starts a new instance. If it "
            "keeps failing, read the gateway's log lines: the login, IB's server or the installation.")


def _daily(d: dict) -> str:
    return (f"Daily report {d.get('day')}: NetLiquidation {_money(d.get('netLiquidationOpen'))} -> "
            f"{_money(d.get('netLiquidationClose'))}, PnL {_money(d.get('totalPnl'))} after commissions "
            f"{_money(d.get('commissions'))}; {d.get('fills', 0)} fills, {d.get('failures', 0)} failed runs, "
            f"{len(d.get('differences', {}))} ledger differences.")


_TEXT = {"risk.alert": _risk, "run.failed": _run_failed, "ledger.difference": _difference,
         "order.rejected": _rejected, "gateway.down": _gateway_down, "gateway.2fa": _second_factor,
         "gateway.failed": _gateway_failed, "daily.report": _daily}


def _run_of_order(order_ref: str) -> str | None:
    """The activity id in an order's orderRef (`{intent}-{activityId}`, as the intents that place orders set it)."""
    tail = order_ref.rsplit("-", 1)[-1]
    return tail if len(tail) == 20 and tail.isalnum() else None


def text(event: Event, dashboard_url: str) -> str:
    """One short message; the link goes to the run's page when the event came from a run."""
    describe = _TEXT.get(event.kind)
    body = describe(event.data) if describe else f"{event.kind}: {event.data}"
    mode = f"[{event.mode}] " if event.mode else ""
    activity_id = event.data.get("activityId") or _run_of_order(event.data.get("orderRef", ""))
    if dashboard_url:
        link = f"{dashboard_url}/dashboard/runs/{activity_id}" if activity_id else f"{dashboard_url}/dashboard"
        return f"{mode}{body} {link}"
    return f"{mode}{body}"
