"""lib.strict_json: standard JSON only, no repeated keys, finite numbers, bounded nesting."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.strict_json import MAX_DEPTH, JsonRejected, loads


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_plain_json_is_read_as_json_reads_it():
    text = '{"a": [1, 2.5, "x", null, true], "b": {"c": "é"}}'
    assert loads(text) == json.loads(text)


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_refused():
    assert loads(nested(MAX_DEPTH)) is not None
    with pytest.raises(JsonRejected, match=f"deeper than {MAX_DEPTH} levels"):
        loads(nested(MAX_DEPTH + 1))


def test_depth_far_beyond_the_recursion_limit_is_refused_not_a_recursion_error():
    with pytest.raises(JsonRejected, match="deeper than"):
        loads('{"a":' * 100_000 + "1" + "}" * 100_000)


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"text": "[[[[{{{{" * 20 + '\\"]]"'})
    assert loads(text) == json.loads(text)


@pytest.mark.parametrize("text, reason", [
    ('{"dryRun": true, "dryRun": false}', "'dryRun' appears twice"),
    ('{"a": {"b": 1, "b": 1}}', "'b' appears twice"),
    ('{"x": NaN}', "NaN is not a JSON number"),
    ('[Infinity]', "Infinity is not a JSON number"),
    ('[-Infinity]', "-Infinity is not a JSON number"),
    ("[1e400]", "beyond the range of a float"),
    ("[" + "9" * 5000 + "]", "not valid JSON"),
    ("{not json", "not valid JSON"),
    ("\ufeff{}", "not valid JSON"),
    ('{"a": "\x00"}', "not valid JSON"),
])
def test_what_json_module_would_bend_is_refused_with_the_reason(text, reason):
    with pytest.raises(JsonRejected, match=reason):
        loads(text)


@given(st.text(max_size=200))
def test_any_text_is_either_the_value_json_reads_or_refused(text):
    try:
        value = loads(text)
    except JsonRejected:
        return
    assert value == json.loads(text)
