"""allocation's and close-all's planning from given broker data: a fake bridge answers the broker reads, the ledger
is an in-memory store, nothing is sent."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from ib_async import AccountValue, Future as IBFuture, Stock as IBStock
from ib_async.wrapper import RequestError

from intents.allocation import Allocation, BrokerInputs, EveryStrategyFailed, Priced, fetch_inputs, fetch_prices
from intents.close_all import CloseAll, closing_trades
from lib.broker import market_data
from lib.broker.instruments import ByConId, PriceUnavailable
from lib.broker.parsing import BrokerPosition, BrokerSnapshot
from lib.broker.snapshots import broker_snapshot
from lib.config import Settings
from lib.seed import seed
from lib.store.memory import MemoryStore
from lib.trading.ledger import Ledger
from tests.support.clock import NOW
from tests.support.fake_bridge import FakeBridge

ACCOUNT = "DU1234567"
MNQ = IBFuture(conId=730283085, symbol="MNQ", lastTradeDateOrContractMonth="20261218", exchange="CME",
               currency="USD", localSymbol="MNQZ6", multiplier="2")
CONTRACTS = {"MNQ": MNQ, "SPY": IBStock(conId=756733, symbol="SPY", exchange="ARCA", currency="USD", localSymbol="SPY"),
             "VIXY": IBStock(conId=319357119, symbol="VIXY", exchange="BATS", currency="USD", localSymbol="VIXY")}
MNQ_PRICE = 20_000.0
NET_LIQUIDATION = 1_000_000.0
LONG_SEED, SHORT_SEED = 5, 1   # seeds under which dummy's weight is +1 and -1


class Broker:
    """The account as the fake bridge reports it: NetLiquidation, MNQ's contract and price, positions."""

    def __init__(self, *, mnq_price: float | Exception = MNQ_PRICE, positions: dict[int, int] | None = None,
                 history_error: Exception | None = None):
        self.mnq_price = mnq_price
        self.positions = positions or {}
        self.history_error = history_error

    def inputs(self, strategies, held) -> BrokerInputs:
        today = NOW.date()
        requirements = {s.id: s.requirements(today) for s in strategies}
        resolved = {i: CONTRACTS.get(getattr(i, "symbol", "MNQ"), MNQ)
                    for r in requirements.values() for i in r.instruments.values()}
        resolved.update({ByConId(c): MNQ for c in held})
        values = [AccountValue(ACCOUNT, "NetLiquidation", str(NET_LIQUIDATION), "USD", "")]
        bars = {(s, name): self.history_error for s, r in requirements.items() for name in r.histories}
        return BrokerInputs(NOW, values, requirements, resolved, {MNQ.conId: 0.25}, bars)

    def prices(self, contracts, base, market_data_type, today) -> Priced:
        return Priced({c.conId: self.mnq_price for c in contracts}, {"USD": 1.0})

    def snapshot(self) -> BrokerSnapshot:
        return BrokerSnapshot(executions=[], open_orders=[], completed={}, account_values=[],
                              positions=[BrokerPosition(ACCOUNT, c, "MNQZ6", q, 0.0) for c, q in self.positions.items()])

    def resolve(self, instruments, today):
        return {i: MNQ for i in instruments}

    def bridge(self) -> FakeBridge:
        return FakeBridge({fetch_inputs: self.inputs, fetch_prices: self.prices, broker_snapshot: self.snapshot,
                           market_data.resolve: self.resolve})


@pytest.fixture
def store():
    store = MemoryStore()
    seed(store, ACCOUNT)
    return store


def allocate(store, broker: Broker, **params) -> dict:
    intent = Allocation(bridge=broker.bridge(), store=store, settings=Settings(), clock=lambda: NOW)
    return intent.run({"dryRun": True, **params})


def test_target_is_sized_from_net_liquidation_exposure_price_and_multiplier(store):
    result = allocate(store, Broker(), strategies=["dummy"], strategyParams={"dummy": {"seed": LONG_SEED}})
    # 1,000,000 x exposure.overall 0.9 x dummy's share 0.1 / (20,000 x multiplier 2) = 2.25 -> 2 contracts
    assert result["strategies"]["dummy"]["targetPositions"] == {str(MNQ.conId): 2}
    [trade] = result["consolidatedTrades"]
    assert (trade["quantity"], trade["action"], trade["source"]) == (2, "BUY", {"dummy": 2})
    assert result["orders"] == [] and Ledger(store, "paper").open_orders() == []


def test_holdings_and_quantities_in_flight_are_subtracted_from_the_target(store):
    store.set("positions/paper/holdings/dummy", {str(MNQ.conId): 1})
    Ledger(store, "paper").record_pending([{"orderId": 7, "clientId": 1, "conId": MNQ.conId, "orderRef": "earlier",
                                            "quantity": 1, "source": {"dummy": 1}, "placedAt": NOW.isoformat()}])
    result = allocate(store, Broker(), strategies=["dummy"], strategyParams={"dummy": {"seed": LONG_SEED}})
    plan = result["strategies"]["dummy"]
    assert plan["holdings"] == {str(MNQ.conId): 1} and plan["inFlight"] == {str(MNQ.conId): 1}
    assert plan["trades"] == {} and result["consolidatedTrades"] == []


def test_a_run_whose_only_strategy_has_no_price_fails_naming_it(store):
    with pytest.raises(EveryStrategyFailed) as failed:
        allocate(store, Broker(mnq_price=PriceUnavailable("no quotes for MNQZ6")),
                 strategies=["dummy"], strategyParams={"dummy": {"seed": SHORT_SEED}})
    assert failed.value.errors["dummy"].startswith(f"no price for conId {MNQ.conId}")
    assert str(failed.value).startswith("every strategy failed, nothing placed: dummy: no price")


def test_a_refused_history_fails_only_the_strategy_that_needed_it(store):
    pacing = RequestError(7, 162, "Historical Market Data Service error message:HMDS query returned no data")
    result = allocate(store, Broker(history_error=pacing), strategies=["dummy", "spymacdvixy"],
                      strategyParams={"dummy": {"seed": LONG_SEED}})
    assert result["errors"] == {"spymacdvixy": "StrategyError: history SPY: RequestError: [reqId 7] API error: 162: "
                                               "Historical Market Data Service error message:HMDS query returned "
                                               "no data"}
    [trade] = result["consolidatedTrades"]
    assert trade["source"] == {"dummy": 2}


def test_an_order_above_max_order_notional_is_refused(store):
    store.set("config/paper", {"maxOrderNotional": 50_000}, merge=True)
    result = allocate(store, Broker(), strategies=["dummy"], strategyParams={"dummy": {"seed": LONG_SEED}})
    [trade] = result["consolidatedTrades"]
    assert trade["notionalInBase"] == 80_000 and "exceeds maxOrderNotional" in trade["refused"]


def test_a_dry_run_records_no_start_of_day(store):
    allocate(store, Broker(), strategies=["dummy"], strategyParams={"dummy": {"seed": LONG_SEED}})
    assert store.get("status/paper") is None


def test_closing_trades_net_every_strategy_to_zero():
    holdings = {"a": {1: 3, 2: -1}, "b": {1: -1}, "c": {2: 0}}
    closing = closing_trades(holdings, {}, None)
    assert {c: (t.quantity, t.source) for c, t in closing.items()} == {1: (-2, {"a": -3, "b": 1}),
                                                                       2: (1, {"a": 1})}
    assert {c: t.quantity for c, t in closing_trades(holdings, {}, ["b"]).items()} == {1: 1}


def test_close_all_dry_run_plans_from_the_ledger_and_sends_nothing(store):
    store.set("positions/paper/holdings/dummy", {str(MNQ.conId): -2})
    broker = Broker(positions={MNQ.conId: -2})
    bridge = broker.bridge()
    intent = CloseAll(bridge=bridge, store=store, settings=Settings(), clock=lambda: NOW + timedelta(hours=1))
    result = intent.run({"dryRun": True})
    assert result["closingTrades"] == [{"conId": MNQ.conId, "quantity": 2, "source": {"dummy": 2},
                                        "localSymbol": "MNQZ6", "action": "BUY", "notionalInBase": None,
                                        "refused": None}]
    assert result["unconfirmed"] == {} and result["orders"] == []
    assert bridge.reads == ["broker_snapshot", "resolve"]


def test_close_all_does_not_close_a_contract_ib_does_not_confirm(store):
    store.set("positions/paper/holdings/dummy", {str(MNQ.conId): -2})
    result = CloseAll(bridge=Broker(positions={MNQ.conId: -3}).bridge(), store=store, settings=Settings(),
                      clock=lambda: datetime.now(NOW.tzinfo)).run({"dryRun": True})
    assert result["unconfirmed"] == {str(MNQ.conId): {"localSymbol": "MNQZ6", "ledger": -2, "broker": -3}}
    [trade] = result["closingTrades"]
    assert trade["quantity"] == 2 and "IB's position -3" in trade["refused"]
