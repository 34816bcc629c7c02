"""Finding 1 end to end: a run that may place orders trades only contracts whose ledger total IB confirms, and a
close never takes the account's position past zero or above `maxOrderNotional`."""
from __future__ import annotations

from tests.e2e.conftest import BOTH_BACKENDS
from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for



DUMMY = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}


def dummy_holds_two_mnq(t) -> int:
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    mnq = mnq_con_id(t.allocate(**DUMMY))
    t.wait_filled({mnq: 2})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {mnq: 2}
    return mnq


def person_sells_in_tws(t, mnq: int, quantity: int) -> None:
    t.simulator.admin("POST", "/orders/manual", {"symbol": mnq, "action": "SELL", "quantity": quantity})
    t.wait_filled({mnq: 2 - quantity} if quantity != 2 else {})


@BOTH_BACKENDS
def test_close_all_leaves_a_contract_ib_does_not_confirm_alone(trading):
    t = trading(workers=2)
    mnq = dummy_holds_two_mnq(t)
    person_sells_in_tws(t, mnq, 2)

    status, body = t.post("close-all", {"strategies": ["dummy"]})
    assert status == 200, body
    assert body["orders"] == [] and t.broker_positions() == {}
    assert body["unconfirmed"] == {str(mnq): {"localSymbol": str(mnq), "ledger": 2, "broker": 0}}
    [trade] = body["closingTrades"]
    assert trade["quantity"] == -2 and "reconcile" in trade["refused"] and "adopt" in trade["refused"]
    assert '"severity": "ERROR", "message": "close-all does not trade conId' in t.service.log()


def test_eod_check_enforcing_flat_leaves_an_unconfirmed_contract_alone(trading):
    t = trading(workers=2, config={"enforceFlatEod": True})
    mnq = dummy_holds_two_mnq(t)
    person_sells_in_tws(t, mnq, 1)

    t.step_into_eod_window()
    status, body = t.post("eod-check")
    assert status == 200, body
    assert body["closeAll"]["orders"] == [] and t.broker_positions() == {mnq: 1}
    assert [(c["ledger"], c["broker"]) for c in body["closeAll"]["unconfirmed"].values()] == [(2, 1)]
    assert list(body["closeAll"]["unconfirmed"]) == [str(mnq)]


def test_allocation_does_not_trade_a_contract_ib_does_not_confirm(trading):
    t = trading(workers=2)
    mnq = dummy_holds_two_mnq(t)
    person_sells_in_tws(t, mnq, 2)

    # dummy's target drops to 0: selling what the ledger holds would leave the account short 2
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(0)}})
    assert result["orders"] == [] and t.broker_positions() == {}
    assert result["unconfirmed"] == {str(mnq): {"localSymbol": str(mnq), "ledger": 2, "broker": 0}}
    [trade] = result["consolidatedTrades"]
    assert trade["quantity"] == -2 and "the ledger's total in conId %d is 2, IB's position 0" % mnq in trade["refused"]


def test_a_close_never_takes_the_account_past_zero(trading):
    """The person's sale is adopted by `manual` (-2), so the ledger (dummy +2, manual -2) agrees with IB's 0; closing
    dummy alone would leave the account short 2."""
    t = trading(workers=2)
    mnq = dummy_holds_two_mnq(t)
    person_sells_in_tws(t, mnq, 2)
    status, adopted = t.post("reconcile", {"adopt": True})
    assert status == 200 and list(adopted["adopted"].values()) == [-2], adopted

    status, body = t.post("close-all", {"strategies": ["dummy"]})
    assert status == 200, body
    assert body["orders"] == [] and t.broker_positions() == {} and body["unconfirmed"] == {}
    [trade] = body["closingTrades"]
    assert "past zero" in trade["refused"]


def test_max_order_notional_applies_to_closing_orders(trading):
    t = trading(workers=2)
    mnq = dummy_holds_two_mnq(t)
    # 2 MNQ at 21,000 x 2 is worth 84,000
    t.store.set("config/paper", {"maxOrderNotional": 50_000}, merge=True)

    status, body = t.post("close-all", {"strategies": ["dummy"]})
    assert status == 200, body
    assert body["orders"] == [] and t.broker_positions() == {mnq: 2}
    [trade] = body["closingTrades"]
    assert "exceeds maxOrderNotional" in trade["refused"]
