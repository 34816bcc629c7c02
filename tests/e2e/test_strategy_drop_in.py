"""A strategy is one file: a copy of strategies/dummy.py under another id, in a package the service finds through
the `ib_trading.strategies` entry points, is in the OpenAPI document and trades in a dry-run allocation, with no
other edit (the service's code and the test process's registry are left as they are)."""
from __future__ import annotations

import os

from strategies import REGISTRY
from tests.support import REPO_ROOT
from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for
from tests.support.strategy_package import copy_of_dummy, write_package

COPY_ID = "dummycopy"


def test_a_copy_of_dummy_under_another_id_is_tradeable(trading, tmp_path):
    write_package(tmp_path / "site", "mystrategies", {"copied": copy_of_dummy(COPY_ID)})
    path = os.pathsep.join([str(tmp_path / "site"), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    t = trading(config={"exposure": {"overall": 0.9, "strategies": {COPY_ID: 0.1, "spymacdvixy": 0.8}}},
                env={"PYTHONPATH": path}, workers=1)
    status, document = t.service.request("GET", "/openapi.json")
    assert status == 200
    schemas = document["components"]["schemas"]
    assert COPY_ID in schemas["AllocationParams"]["properties"]["strategies"]["items"]["enum"]
    assert COPY_ID in schemas["StrategyParams"]["properties"]

    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=[COPY_ID], strategyParams={COPY_ID: {"seed": seed_for(1)}}, dryRun=True)
    assert result["status"] == "dryRun" and result["errors"] == {}
    mnq = mnq_con_id(result)
    assert result["strategies"][COPY_ID]["targetPositions"] == {str(mnq): 2}   # 1e6 x 0.9 x 0.1 / (21000 x 2)
    [trade] = result["consolidatedTrades"]
    assert (trade["action"], trade["quantity"], trade["source"]) == ("BUY", 2, {COPY_ID: 2})
    assert COPY_ID not in REGISTRY


def test_a_copy_dropped_into_the_strategies_folder_is_tradeable(trading, request):
    """The same, as a person adds a strategy: the file copied into strategies/ (removed after the test)."""
    strategy_id = f"dummydrop{os.getpid()}"
    dropped = REPO_ROOT / "strategies" / f"{strategy_id}.py"
    request.addfinalizer(lambda: dropped.unlink(missing_ok=True))
    dropped.write_text(copy_of_dummy(strategy_id))
    # the shares of all strategies add up to at most 1
    t = trading(config={"exposure": {"overall": 0.9, "strategies": {strategy_id: 0.1, "spymacdvixy": 0.8}}}, workers=1)

    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=[strategy_id], strategyParams={strategy_id: {"seed": seed_for(1)}})

    assert result["status"] == "done" and result["errors"] == {}
    [order] = result["orders"]
    assert order["source"] == {strategy_id: 2}
