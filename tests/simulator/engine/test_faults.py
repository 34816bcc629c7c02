"""The fault catalogue and the registry of armed faults: parameters, defaults, counts and durations."""

import re

import pytest

from simulator.engine.faults import CATALOGUE, Faults
from tests.support import REPO_ROOT


class FakeMonotonic:
    def __init__(self):
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def faults(clock) -> Faults:
    return Faults(monotonic=clock)


def test_every_kind_lists_its_parameters_and_what_ib_sends(faults):
    listing = faults.listing()
    assert [entry["kind"] for entry in listing["catalogue"]] == list(CATALOGUE)
    for entry in listing["catalogue"]:
        assert entry["ib_sends"] and entry["applies_to"]
        assert all(p["name"] and p["meaning"] and p["type"] for p in entry["parameters"])
    assert listing["armed"] == []


def test_an_armed_fault_is_spent_one_event_at_a_time(faults):
    faults.arm("order-warning", count=2)
    assert faults.take("order-warning") == {"code": 10349, "text": None, "count": 2, "seconds": None}
    assert faults.take("order-warning")["code"] == 10349
    assert faults.take("order-warning") is None
    assert faults.listing()["armed"] == []


def test_seconds_alone_applies_to_every_event_until_it_ends(faults, clock):
    faults.arm("pacing", seconds=2)
    assert all(faults.take("pacing") is not None for _ in range(5))
    clock.now_s += 2
    assert faults.take("pacing") is None


def test_count_and_seconds_end_with_whichever_comes_first(faults, clock):
    faults.arm("pacing", count=3, seconds=10)
    assert [faults.take("pacing") is not None for _ in range(4)] == [True, True, True, False]
    faults.arm("pacing", count=3, seconds=10)
    clock.now_s += 10
    assert faults.take("pacing") is None


def test_take_spends_the_oldest_fault_its_filter_accepts(faults):
    faults.arm("market-data-error", symbol="SPY", code=10197)
    faults.arm("market-data-error", symbol="QQQ")
    assert faults.take("market-data-error", lambda v: v["symbol"] == "QQQ")["code"] == 354
    assert faults.take("market-data-error", lambda v: v["symbol"] == "QQQ") is None
    assert faults.take("market-data-error")["code"] == 10197


def test_a_fault_that_acts_at_once_is_listed_while_it_lasts(faults, clock):
    fault = faults.arm("connectivity")
    assert fault.values == {"seconds": 5.0, "restore": "1102"}
    [armed] = faults.listing()["armed"]
    assert armed["kind"] == "connectivity" and armed["seconds_left"] == 5.0
    clock.now_s += 5
    assert faults.listing()["armed"] == []


@pytest.mark.parametrize("kind, parameters, message", [
    ("no-such-kind", {}, "no fault kind 'no-such-kind'"),
    ("order-warning", {"code": 201}, "code must be one of 10349, 399, 2109"),
    ("order-warning", {"count": 0}, "count must be an integer"),
    ("order-warning", {"count": 1.5}, "count must be an integer"),
    ("order-warning", {"seconds": -1}, "seconds must be a number of seconds"),
    ("order-warning", {"colour": "red"}, "order-warning takes no parameter(s) colour"),
    ("market-data-error", {}, "market-data-error needs the parameter symbol"),
    ("connectivity", {"restore": "1100"}, "restore must be one of \"1102\", \"1101\""),
    ("connectivity", {"count": 2}, "connectivity takes no parameter(s) count"),
])
def test_a_bad_fault_is_refused_with_a_readable_reason(faults, kind, parameters, message):
    with pytest.raises((KeyError, ValueError)) as refused:
        faults.arm(kind, **parameters)
    assert message in str(refused.value)
    assert faults.listing()["armed"] == []


def test_clear_disarms_everything(faults):
    faults.arm("order-reject")
    faults.arm("pacing", seconds=30)
    assert faults.clear() == 2
    assert faults.take("order-reject") is None and faults.listing()["armed"] == []


def test_the_paper_gateway_doc_tables_every_kind_with_its_parameters():
    readme = (REPO_ROOT / "docs" / "paper-gateway.md").read_text()
    rows = {match[1]: match[2] for match in re.finditer(r"^\| `([a-z-]+)` \| (.*?) \|", readme, re.MULTILINE)}
    for name, kind in CATALOGUE.items():
        assert name in rows, f"the fault table has no row for {name}"
        for parameter in kind.parameters:
            assert f"`{parameter.name}`" in rows[name], f"docs/paper-gateway.md's {name} row does not name {parameter.name}"
