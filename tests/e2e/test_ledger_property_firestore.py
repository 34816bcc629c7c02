"""The ledger state machine of test_ledger_property.py on Firestore (Google's emulator), with fewer examples: in a
file of its own, so that a parallel run takes it up beside the SQLite one rather than after it."""
import pytest

from tests.e2e.test_ledger_property import run_the_machine


@pytest.mark.firestore
@pytest.mark.slow(seconds=60)
@pytest.mark.timeout(600)
# exchange_calendars (the trading days the clock moves to) trips a pandas deprecation
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@pytest.mark.parametrize("store_backend", ["firestore"])
def test_the_ledger_matches_the_broker_after_every_reconciliation(trading, connect, store_backend):
    run_the_machine(trading, connect, store_backend)
