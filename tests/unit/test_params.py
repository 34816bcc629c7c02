"""Intent parameter models: today's query-string forms, one BadRequest naming each parameter, JSON-able validated
parameters whose signature depends only on what was asked."""
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intents import REGISTRY
from intents.base import OrderParams, signature
from lib.config import Settings
from lib.errors import BadRequest
from strategies import REGISTRY as STRATEGIES
from strategies.dummy import SEED_RANGE

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc)


def parse(intent: str, raw: dict):
    runner = REGISTRY[intent](bridge=None, store=None, settings=Settings(), clock=lambda: NOW)
    return runner.parse(raw)


def recorded(intent: str, raw: dict) -> dict:
    """What the run records and signs: the validated parameters without the run controls."""
    return parse(intent, raw).model_dump(mode="json", exclude={"timeout_seconds", "force"})


def test_query_string_text_is_coerced_as_before():
    query = {"strategies": "dummy, spymacdvixy", "dryRun": "true", "force": "1", "timeoutSeconds": "7.5",
             "strategyParams": '{"dummy": {"seed": "7"}}', "orderProperties": '{"outsideRth": "no"}'}
    request = parse("allocation", query)
    assert (request.timeout_seconds, request.force) == (7.5, True)
    assert recorded("allocation", query) == {"strategies": ["dummy", "spymacdvixy"], "dryRun": True,
                                             "orderProperties": {"outsideRth": False},
                                             "strategyParams": {"dummy": {"seed": 7}}}


def test_the_same_request_by_query_or_by_body_has_the_same_signature():
    by_query = recorded("allocation", {"strategies": "dummy", "dryRun": "false",
                                       "strategyParams": '{"dummy":{"seed":3}}'})
    by_body = recorded("allocation", {"strategies": ["dummy"], "dryRun": False,
                                      "strategyParams": {"dummy": {"seed": 3}}})
    assert by_query == by_body
    assert signature("allocation", by_query) == signature("allocation", by_body)


def test_empty_objects_ask_for_the_same_as_none_and_run_controls_are_not_signed():
    bare = recorded("allocation", {"strategies": ["dummy"]})
    assert bare == recorded("allocation", {"strategies": ["dummy"], "orderProperties": {}, "strategyParams": {},
                                           "timeoutSeconds": 5, "force": True})
    assert bare == {"strategies": ["dummy"], "dryRun": False, "orderProperties": {}, "strategyParams": {}}
    assert signature("allocation", bare) != signature("allocation", {**bare, "dryRun": True})


def test_each_intent_has_its_default_time_budget():
    assert parse("summary", {}).timeout_seconds == 20
    assert parse("allocation", {"strategies": "dummy"}).timeout_seconds == 120
    assert parse("", {}).timeout_seconds == 10


@pytest.mark.parametrize("intent, raw, message", [
    ("summary", {"colour": "red"}, "unknown parameter(s) for 'summary': colour (accepted: timeoutSeconds)"),
    ("summary", {"timeoutSeconds": "4.5"}, "parameter 'timeoutSeconds' must be at least 5, got 4.5"),
    ("summary", {"timeoutSeconds": 3601}, "parameter 'timeoutSeconds' must be at most 3600"),
    ("summary", {"timeoutSeconds": "-3"}, "parameter 'timeoutSeconds' must be at least 5, got -3"),
    ("summary", {"timeoutSeconds": "NaN"}, "parameter 'timeoutSeconds' must be a number, got 'NaN'"),
    ("summary", {"timeoutSeconds": True}, "parameter 'timeoutSeconds' must be a number, got True"),
    ("summary", {"force": True}, "unknown parameter(s) for 'summary': force"),
    ("allocation", {}, "parameter 'strategies' is required"),
    ("allocation", {"strategies": ""}, "parameter 'strategies': must name at least one strategy"),
    ("allocation", {"strategies": "dummy,dummy"}, "names a strategy twice"),
    ("allocation", {"strategies": [3]}, "parameter 'strategies[0]' must be a string, got 3"),
    ("allocation", {"strategies": "dummy,nope"}, "parameter 'strategies[1]': unknown strategy 'nope' (known: "
                                                 f"{', '.join(sorted(STRATEGIES))})"),
    ("allocation", {"strategies": "dummy", "dryRun": "maybe"}, "parameter 'dryRun' must be a boolean"),
    ("allocation", {"strategies": "dummy", "dryRun": 1}, "parameter 'dryRun' must be a boolean"),
    ("allocation", {"strategies": "dummy", "strategyParams": {"spymacdvixy": {}}},
     "strategyParams names strategies that are not run: spymacdvixy"),
    ("allocation", {"strategies": "dummy", "strategyParams": {"nope": {}}},
     "parameter 'strategyParams' does not accept parameter(s) nope (accepted: dummy, spymacdvixy)"),
    ("allocation", {"strategies": "dummy", "strategyParams": "[1"}, "parameter 'strategyParams': must be a JSON "
                                                                   "object: not valid JSON"),
    ("allocation", {"strategies": "dummy", "strategyParams": "[" * 40 + "]" * 40}, "deeper than 32 levels"),
    ("allocation", {"strategies": "dummy", "strategyParams": '{"dummy": {"seed": 1, "seed": 2}}'}, "appears twice"),
    ("allocation", {"strategies": "dummy", "strategyParams": "[]"}, "parameter 'strategyParams' must be a JSON "
                                                                   "object, got []"),
    ("allocation", {"strategies": "dummy", "strategyParams": {"dummy": {"seed": SEED_RANGE[1] + 1}}},
     "parameter 'strategyParams.dummy.seed' must be at most 9223372036854775807"),
    ("allocation", {"strategies": "dummy", "strategyParams": {"dummy": {"seed": None}}},
     "parameter 'strategyParams.dummy.seed' must be an integer, got None"),
    ("allocation", {"strategies": "dummy", "orderProperties": {"outsideRth": None}},
     "parameter 'orderProperties.outsideRth' must be a boolean"),
    ("allocation", {"strategies": "dummy", "orderProperties": {"goodAfterTime": "today 15:55 Mars/Base"}},
     "parameter 'orderProperties.goodAfterTime': goodAfterTime: unknown time zone 'Mars/Base'"),
    ("reconcile", {"strategy": "a/b"}, "parameter 'strategy' must match ^[A-Za-z0-9_-]{1,64}$, got 'a/b'"),
    ("close-all", {"strategies": ""}, "parameter 'strategies': must name at least one strategy when given"),
])
def test_invalid_parameters_are_one_bad_request_naming_them(intent, raw, message):
    with pytest.raises(BadRequest) as refused:
        parse(intent, raw)
    assert message in str(refused.value)


def test_every_fault_is_named_at_once():
    with pytest.raises(BadRequest) as refused:
        parse("allocation", {"strategies": "dummy", "dryRun": "maybe", "timeoutSeconds": -1})
    assert "'dryRun'" in str(refused.value) and "'timeoutSeconds'" in str(refused.value)


@pytest.mark.parametrize("offset, accepted", [(50, True), (-50, True), (0.5, True), (50.5, False), (-51, False),
                                             ("1", False), (True, False)])
def test_limit_offset_lies_within_fifty_percent_either_way(offset, accepted):
    raw = {"strategies": "dummy", "orderProperties": {"limitOffsetPercent": offset}}
    if accepted:
        assert recorded("allocation", raw)["orderProperties"] == {"limitOffsetPercent": offset}
    else:
        with pytest.raises(BadRequest, match="orderProperties.limitOffsetPercent"):
            parse("allocation", raw)


def test_good_after_time_is_kept_as_given():
    raw = {"strategies": "dummy", "orderProperties": {"goodAfterTime": "today 15:55 America/New_York"}}
    assert recorded("allocation", raw)["orderProperties"] == {"goodAfterTime": "today 15:55 America/New_York"}


def test_close_all_without_strategies_records_none_and_names_ledger_ids():
    assert recorded("close-all", {}) == {"dryRun": False}
    assert recorded("close-all", {"strategies": "manual,dummy"}) == {"strategies": ["manual", "dummy"],
                                                                     "dryRun": False}


def test_every_order_capable_intent_takes_force_and_no_other_does():
    for intent in REGISTRY.values():
        assert issubclass(intent.Params, OrderParams) == intent.places_orders, intent.name


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3), max_leaves=8)
NAMES = st.sampled_from(["strategies", "dryRun", "force", "timeoutSeconds", "orderProperties", "strategyParams",
                         "adopt", "strategy", "x"])


@settings(max_examples=300, deadline=None)
@given(intent=st.sampled_from(sorted(REGISTRY)), raw=st.dictionaries(NAMES, JSON_VALUES | st.text(), max_size=4))
def test_any_parameters_are_validated_or_refused_as_bad_requests(intent, raw):
    try:
        params = recorded(intent, raw)
    except BadRequest as exc:
        assert str(exc)
        return
    assert json.loads(json.dumps(params, allow_nan=False)) == params
