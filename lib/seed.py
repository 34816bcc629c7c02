"""Seeds a local paper-trading config into an empty store (`python -m lib.seed`, run by `make run`)."""
from __future__ import annotations

import argparse
import logging
import os

from lib import config, logs
from lib.services import open_configured_store

log = logging.getLogger(__name__)


def local_paper_config(account: str) -> dict:
    return {
        "account": account,
        "marketDataType": 1,
        "tradingEnabled": True,
        "retryCheckMinutes": 60,
        "exposure": {"overall": 0.9, "strategies": {"dummy": 0.1, "spymacdvixy": 0.9}},
        "adaptivePriority": "Normal",
        "cashBalanceThresholdInBaseCurrency": 10000,
        "maxDailyDrawdownPercent": 5,
        "enforceFlatEod": False,
        "marketData": {"instruments": [{"kind": "stock", "symbol": "SPY", "primary_exchange": "ARCA"},
                                       {"kind": "stock", "symbol": "VIXY", "primary_exchange": "BATS"}]},
    }


def seed(store, account: str) -> bool:
    """Write config/paper unless one exists; returns whether it wrote."""
    def write_if_absent(tx):
        if tx.get("config/paper") is not None:
            return False
        tx.set("config/paper", local_paper_config(account))
        return True

    return store.run_transaction(write_if_absent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--account", default="DU1234567", help="the simulator's paper account")
    args = parser.parse_args()
    logs.configure()
    settings = config.load(os.environ)
    store = open_configured_store(settings)
    try:
        wrote = seed(store, args.account)
    finally:
        store.close()
    log.info("config/paper %s", "seeded" if wrote else "already present, left as is")


if __name__ == "__main__":
    main()
