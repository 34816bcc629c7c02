"""The broader catalog through the client library (tests.support.iblib): details, quotes and history of new kinds."""

import pytest
from tests.support.iblib import IB, Future, Index, Stock

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW


@pytest.fixture(scope="module")
def ib():
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, seed=3)) as sim:
        client = IB()
        client.RaiseRequestErrors = True
        client.connect(sim.host, sim.port, clientId=31, timeout=5)
        yield client
        client.disconnect()


@pytest.mark.parametrize("contract, con_id", [
    (Stock("TSLA", "SMART", "USD"), 76792991), (Stock("IBM", "SMART", "USD"), 8314),
    (Stock("AMD", "SMART", "USD"), 4391), (Stock("INTC", "SMART", "USD"), None),
    (Index("SPX", "CBOE", "USD"), 416904), (Index("NDX", "NASDAQ", "USD"), None),
    (Index("RUT", "RUSSELL", "USD"), None)])
def test_new_stocks_and_indices_answer_details_quotes_and_history(ib, contract, con_id):
    [details] = ib.reqContractDetails(contract)
    assert con_id is None or details.contract.conId == con_id
    assert details.minTick == 0.01 and details.tradingHours and details.longName
    [ticker] = ib.reqTickers(details.contract)
    bars = ib.reqHistoricalData(details.contract, "", "2 D", "1 hour", "TRADES", useRTH=True)
    assert bars and bars[-1].close == ticker.last


@pytest.mark.parametrize("symbol, exchange, month, local_symbol, multiplier, tick, last_trade", [
    ("CL", "NYMEX", "202701", "CLF7", "1000", 0.01, "20261221"),
    ("GC", "COMEX", "202612", "GCZ6", "100", 0.1, "20261229"),
    ("ZN", "CBOT", "202612", "ZNZ6", "1000", 0.015625, "20261221"),
    ("EUR", "CME", "202612", "6EZ6", "125000", 0.00005, "20261214"),
    ("MYM", "CBOT", "202612", "MYMZ6", "0.5", 1.0, "20261218"),
    ("M2K", "CME", "202612", "M2KZ6", "5", 0.1, "20261218")])
def test_new_futures(ib, symbol, exchange, month, local_symbol, multiplier, tick, last_trade):
    details = ib.reqContractDetails(Future(symbol, month, exchange))
    [future] = [d for d in details if d.contract.localSymbol == local_symbol]
    assert future.contract.multiplier == multiplier and future.minTick == tick
    assert future.contract.lastTradeDateOrContractMonth == last_trade and future.contractMonth == month
    [ticker] = ib.reqTickers(future.contract)
    assert ticker.bid < ticker.ask and ticker.ask - ticker.bid == pytest.approx(2 * tick)
    bars = ib.reqHistoricalData(future.contract, "", "1 D", "5 mins", "TRADES", useRTH=False)
    assert bars[-1].close == ticker.last
