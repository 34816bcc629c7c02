"""NetLiquidation samples: recorded under metrics/{mode}/netLiquidation, read back oldest first."""
from ib_async import AccountValue

from lib.store.memory import MemoryStore
from lib.trading import net_liquidation_samples
from lib.trading.net_liquidation_samples import Sample


def value(tag, amount, currency="USD", account="DU1"):
    return AccountValue(account, tag, str(amount), currency, "")


def test_samples_come_back_oldest_first_and_only_the_latest():
    store = MemoryStore()
    for minute in (3, 1, 2):
        net_liquidation_samples.record(store, "paper", Sample(f"2026-11-24T15:0{minute}:00+00:00", 1000.0 + minute,
                                                              "USD", "risk-check", f"a{minute}"))
    net_liquidation_samples.record(store, "live", Sample("2026-11-24T15:09:00+00:00", 5.0, "USD", "reconcile"))
    assert [s.value for s in net_liquidation_samples.recent(store, "paper")] == [1001.0, 1002.0, 1003.0]
    assert [s.activity_id for s in net_liquidation_samples.recent(store, "paper", limit=2)] == ["a2", "a3"]
    [doc] = store.query("metrics/live/netLiquidation")
    assert doc.data == {"at": "2026-11-24T15:09:00+00:00", "value": 5.0, "currency": "USD", "source": "reconcile",
                        "activityId": None}


def test_the_sample_is_the_accounts_base_currency_netliquidation():
    store = MemoryStore()
    values = [value("NetLiquidation", 99, "BASE"), value("NetLiquidation", 7, account="DU2"),
              value("NetLiquidation", 1234.5), value("CashBalance", 10)]
    sample = net_liquidation_samples.record_from_account(store, "paper", values, "DU1", at="2026-11-24T15:00:00+00:00",
                                                         source="eod-check", activity_id="x")
    assert sample == Sample("2026-11-24T15:00:00+00:00", 1234.5, "USD", "eod-check", "x")
    assert net_liquidation_samples.recent(store, "paper") == [sample]


def test_no_netliquidation_from_ib_records_nothing_and_fails_nothing(caplog):
    store = MemoryStore()
    sample = net_liquidation_samples.record_from_account(store, "paper", [value("CashBalance", 10)], "DU1",
                                                         at="2026-11-24T15:00:00+00:00", source="eod-check",
                                                         activity_id=None)
    assert sample is None and net_liquidation_samples.recent(store, "paper") == []
    assert "no NetLiquidation sample from eod-check" in caplog.text
