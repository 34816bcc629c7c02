"""Acceptance: ib_insync connects to the simulator process like to IB Gateway; clientIds are exclusive."""

import pytest
from tests.support.iblib import IB


def test_connect_synchronises_like_a_gateway(simulator, ib, sim_now):
    assert ib.isConnected()
    assert 157 <= ib.client.serverVersion() <= 176
    assert ib.managedAccounts() == [simulator.account]
    assert ib.client.getReqId() > 0
    assert ib.reqCurrentTime() == sim_now
    tags = {value.tag for value in ib.accountValues()}
    assert {"NetLiquidation", "TotalCashValue", "BuyingPower"} <= tags


def test_connect_reports_the_farm_status_messages(simulator):
    ib = IB()
    codes = []
    ib.errorEvent += lambda req_id, code, message, contract: codes.append((req_id, code))
    try:
        ib.connect(simulator.host, simulator.port, clientId=77, timeout=10)
    finally:
        ib.disconnect()
    assert {(-1, 2104), (-1, 2106), (-1, 2158)} <= set(codes)


def test_duplicate_client_id_is_refused_with_326(simulator, connect):
    first = connect(simulator)
    client_id = first.client.clientId
    second = IB()
    errors = []
    second.errorEvent += lambda req_id, code, message, contract: errors.append((code, message))
    try:
        with pytest.raises((ConnectionError, TimeoutError)):
            second.connect(simulator.host, simulator.port, clientId=client_id, timeout=1)
    finally:
        second.disconnect()
    assert (326, "Unable to connect as the client id is already in use. Retry with a unique client id.") in errors
    assert not second.isConnected()
    assert first.isConnected() and first.reqCurrentTime()
    assert client_id in [s["client_id"] for s in simulator.state()["sessions"]]


def test_a_client_id_is_free_again_after_its_client_leaves(simulator, connect):
    first = connect(simulator)
    client_id = first.client.clientId
    first.disconnect()
    again = connect(simulator, client_id=client_id)
    assert again.isConnected() and again.managedAccounts() == [simulator.account]


def test_several_clients_at_once(simulator, connect):
    clients = [connect(simulator) for _ in range(3)]
    assert all(c.isConnected() for c in clients)
    ids = {c.client.clientId for c in clients}
    assert len(ids) == 3
    assert ids <= {s["client_id"] for s in simulator.state()["sessions"]}
