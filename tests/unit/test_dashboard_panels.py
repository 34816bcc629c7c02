"""The dashboard's panels from plain broker and store data: valuation per strategy, ledger vs broker, whose orders
are whose, runs by intent, the kill switch."""
from datetime import date

import pytest

from lib.dashboard import panels
from lib.broker.account_view import PortfolioLine, WorkingOrder
from lib.broker.parsing import BrokerPosition
from lib.config import TradingConfig
from lib.store.port import Document
from lib.trading.net_liquidation_samples import Sample
from lib.trading.start_of_day import StartOfDay

ACCOUNT = "DU1"
SPY, MNQ = 756733, 788756198


def line(con_id, symbol, position, market_value, average_cost):
    return PortfolioLine(ACCOUNT, con_id, symbol, position, market_value / position, market_value, average_cost,
                         market_value - position * average_cost)


def order(perm_id, client_id, order_id, order_ref, account=ACCOUNT):
    return WorkingOrder(account, perm_id, client_id, order_id, SPY, "SPY", "BUY", 10, 0, 10, "Submitted", "LMT",
                        500.0, "DAY", order_ref)


def test_each_strategy_gets_its_share_at_its_own_cost_basis():
    # one SPY line of the account: +100 held, 60 bought by one strategy at 580 and 40 by another at 595, while IB's
    # average cost for the account says 590; MNQ (multiplier 2) sold short at 21005 by a third
    portfolio = {SPY: line(SPY, "SPY", 100, 60_000.0, 590.0),
                 MNQ: PortfolioLine(ACCOUNT, MNQ, "MNQZ6", -2, 21_000.0, -84_000.0, 42_010.0, 20.0)}
    bases = {"a": {str(SPY): {"quantity": 60, "cost": 34_800.0}}, "b": {str(SPY): {"quantity": 40, "cost": 23_800.0}},
             "c": {str(MNQ): {"quantity": -2, "cost": -42_010.0}}}
    result = panels.strategy_holdings({"a": {SPY: 60}, "b": {SPY: 40}, "c": {MNQ: -2}, "d": {}}, portfolio,
                                      {SPY: "SPY", MNQ: "MNQZ6"}, bases)
    by = {p.strategy: p for p in result}
    [a], [b], [c] = by["a"].holdings, by["b"].holdings, by["c"].holdings
    assert (a.market_value, a.unrealized_pnl, a.market_price) == (36_000.0, 1_200.0, 600.0)
    assert (b.market_value, b.unrealized_pnl) == (24_000.0, 200.0)
    assert a.unrealized_pnl + b.unrealized_pnl != portfolio[SPY].unrealized_pnl
    assert (c.market_value, c.unrealized_pnl) == (-84_000.0, 20.0)
    assert by["d"].holdings == [] and by["d"].market_value == 0


def test_a_holding_its_cost_basis_does_not_cover_has_no_pnl():
    # an adopted position (no fills of the strategy's own) and one the basis counts differently
    portfolio = {SPY: line(SPY, "SPY", 100, 60_000.0, 590.0)}
    result = panels.strategy_holdings({"adopted": {SPY: 30}, "a": {SPY: 70}}, portfolio, {},
                                      {"a": {str(SPY): {"quantity": 60, "cost": 34_800.0}}})
    assert [(p.strategy, p.holdings[0].market_value, p.holdings[0].unrealized_pnl, p.unrealized_pnl)
            for p in result] == [("a", 42_000.0, None, None), ("adopted", 18_000.0, None, None)]


def test_a_holding_the_broker_does_not_value_has_no_value():
    [strategy] = panels.strategy_holdings({"a": {SPY: 5}}, {}, {}, {"a": {str(SPY): {"quantity": 5, "cost": 5.0}}})
    [holding] = strategy.holdings
    assert (holding.local_symbol, holding.market_value, holding.unrealized_pnl) == (str(SPY), None, None)
    assert strategy.market_value is None


def test_the_daily_report_panel_shows_the_stored_report():
    assert panels.daily_report(None, lambda activity: activity) is None
    report = {"day": "2026-12-04", "currency": "USD", "activityId": "act1", "netLiquidationOpen": 1_000_000.0,
              "netLiquidationClose": 1_000_120.5, "netLiquidationChange": 120.5, "totalPnl": 120.49,
              "commissions": 2.5, "fills": 3, "failures": 1, "failedRuns": ["x"],
              "differences": {"AAPL": {"ledger": 0, "broker": 7}},
              "strategies": {"b": {"realized": 0.0, "unrealized": -10.0, "commissions": 1.0, "pnl": -11.0, "fills": 1},
                             "a": {"realized": 100.0, "unrealized": 33.0, "commissions": 1.5, "pnl": 131.5,
                                   "fills": 2}}}
    panel = panels.daily_report(report, lambda activity: f"/dashboard/runs/{activity}")
    assert [(s.strategy, s.pnl) for s in panel.strategies] == [("a", 131.5), ("b", -11.0)]
    assert (panel.differences, panel.failures, panel.url) == (1, 1, "/dashboard/runs/act1")
    assert panel.model_dump()["strategies"][0]["realizedPNL"] == 100.0


def test_ledger_vs_broker_lists_every_contract_and_marks_the_differences():
    positions = [BrokerPosition(ACCOUNT, SPY, "SPY", 100, 590.0), BrokerPosition(ACCOUNT, MNQ, "MNQZ6", -2, 1.0),
                 BrokerPosition("DU2", 1, "OTHER", 9, 1.0)]
    result = panels.ledger_vs_broker({"a": {SPY: 60}, "b": {SPY: 40, 42: 3}}, positions, ACCOUNT, {}, source="broker",
                                     as_of="t")
    rows = {r.con_id: (r.local_symbol, r.ledger, r.broker, r.difference, r.differs) for r in result.rows}
    assert rows == {SPY: ("SPY", 100, 100, 0, False), MNQ: ("MNQZ6", 0, -2, -2, True), 42: ("42", 3, 0, -3, True)}
    assert result.differences == 2 and result.as_of == "t"


def test_orders_are_the_services_by_ledger_record_or_by_its_order_ref():
    records = [{"permId": 11, "clientId": 1, "orderId": 5, "conId": SPY, "quantity": 10, "source": {"a": 10},
                "orderRef": "allocation-A1"},
               {"permId": 0, "clientId": 2, "orderId": 7, "conId": MNQ, "quantity": -1, "source": {"c": -1},
                "orderRef": "close-all-B2", "status": "PendingSubmit", "allocated": {"c": 0}}]
    broker = [order(11, 1, 5, "allocation-A1"), order(12, 1, 6, "cash-balancer-C3"),
              order(13, 0, 0, "allocation-A1-by-hand"), order(14, 9, 1, ""), order(15, 1, 7, "x", account="DU2")]
    activities = {"allocation-A1": "A1", "cash-balancer-C3": "C3", "close-all-B2": "B2"}
    result = panels.working_orders(broker, records, ACCOUNT, activities, {MNQ: "MNQZ6"})
    summary = [(o.perm_id, o.owner, o.listed_by_broker, o.strategies, o.activity_id) for o in result]
    assert summary == [(11, "service", True, {"a": 10}, "A1"), (12, "service", True, {}, "C3"),
                       (13, "other", True, {}, None), (14, "other", True, {}, None),
                       (0, "service", False, {"c": -1}, "B2")]
    unlisted = result[-1]
    assert (unlisted.action, unlisted.total_quantity, unlisted.local_symbol, unlisted.status) == \
        ("SELL", 1, "MNQZ6", "PendingSubmit")


@pytest.mark.parametrize("order_ref, activity", [
    ("allocation-AbC123", "AbC123"), ("close-all-xyz", "xyz"), ("cash-balancer-q_1", "q_1"),
    ("allocation-", None), ("summary-abc", None), ("by-hand", None), ("", None), ("allocation-a b", None),
])
def test_the_activity_an_order_ref_names(order_ref, activity):
    assert panels.order_ref_activity(order_ref, ("allocation", "close-all", "cash-balancer")) == activity


def test_runs_are_grouped_by_intent_newest_first_with_duration_trigger_and_error():
    docs = [Document(f"r{i}", f"activity/r{i}", data) for i, data in enumerate([
        {"intent": "risk-check", "status": "done", "startedAt": "2026-11-24T15:30:00+00:00",
         "finishedAt": "2026-11-24T15:30:01.500000+00:00", "result": {"alertTriggered": True},
         "trigger": {"kind": "scheduler", "jobName": "risk"}},
        {"intent": "trade-reconciliation", "status": "failed", "startedAt": "2026-11-24T15:20:00+00:00",
         "finishedAt": "2026-11-24T15:20:02+00:00", "exception": "LedgerMismatch: AAPL"},
        {"intent": "allocation", "status": "running", "startedAt": "2026-11-24T15:10:00+00:00"},
        *({"intent": "allocation", "status": "done", "startedAt": f"2026-11-24T14:{m:02d}:00+00:00",
           "finishedAt": f"2026-11-24T14:{m:02d}:01+00:00", "result": {"status": "duplicate"}}
          for m in range(59, 50, -1)),
    ])]
    result = panels.runs(docs, ("allocation", "close-all", "risk-check"), lambda i: f"/runs/{i}")
    groups = {g.intent: g.runs for g in result.intents}
    assert [g.intent for g in result.intents] == ["allocation", "close-all", "risk-check", "trade-reconciliation"]
    assert len(groups["allocation"]) == panels.RUNS_PER_INTENT and groups["close-all"] == []
    assert groups["allocation"][0].status == "running" and groups["allocation"][0].duration_seconds is None
    assert groups["allocation"][1].outcome == "duplicate"
    [risk] = groups["risk-check"]
    assert (risk.outcome, risk.duration_seconds, risk.trigger.kind, risk.trigger.job_name, risk.url) == \
        ("alert", 1.5, "scheduler", "risk", "/runs/r0")
    [failed] = groups["trade-reconciliation"]
    assert (failed.error, failed.trigger.kind) == ("LedgerMismatch: AAPL", "unknown")
    assert result.scanned == len(docs)


@pytest.mark.parametrize("values, mode, has_mode_document, enabled, reason", [
    ({"tradingEnabled": True}, "paper", True, True, "tradingEnabled is true"),
    ({"tradingEnabled": False}, "paper", True, False, "kill switch: tradingEnabled is False"),
    ({}, "paper", True, False, "tradingEnabled is not set"),
    ({"tradingEnabled": "yes"}, "paper", True, False, "tradingEnabled is 'yes'"),
    ({"tradingEnabled": True}, "live", False, False, "live trading needs a config/live document"),
])
def test_the_kill_switch_reads_as_the_intents_read_it(values, mode, has_mode_document, enabled, reason):
    state = panels.trading(TradingConfig(values, mode, has_mode_document=has_mode_document), mode)
    assert state.enabled is enabled and reason in state.reason and state.mode == mode


def test_the_drawdown_is_measured_from_the_start_of_day():
    start = StartOfDay(date(2026, 11, 24), 1_000_000.0, "USD", "2026-11-24T14:45:00+00:00", "a")
    samples = [Sample("2026-11-24T15:00:00+00:00", 990_000.0, "USD", "risk-check")]
    config = TradingConfig({"maxDailyDrawdownPercent": 2}, "paper")
    result = panels.net_liquidation(samples, start, config, date(2026, 11, 25), (970_000.0, "USD"))
    assert (result.current, result.drawdown_percent, result.drawdown_limit) == (970_000.0, 3.0, 980_000.0)
    assert result.start_of_day.today is False
    from_samples = panels.net_liquidation(samples, start, config, date(2026, 11, 24), None)
    assert (from_samples.current, from_samples.drawdown_percent, from_samples.start_of_day.today) == \
        (990_000.0, 1.0, True)
