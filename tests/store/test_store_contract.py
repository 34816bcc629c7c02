"""The DocumentStore contract, run against every adapter (memory, SQLite, Firestore on the emulator).

Tests on `store` pin Firestore semantics that the emulator does not reproduce; each says which.
"""
from __future__ import annotations

import string

import pytest

from lib.store.errors import AlreadyExists, LimitExceeded, NotFound, StoreError
from lib.store.limits import (
    MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_STRING_BYTES, MAX_TRANSACTION_WRITES, document_path, document_size,
)
from lib.store.port import AUTO_ID_LENGTH

ORDERS = "positions/paper/openOrders"


def ids(documents):
    return [document.id for document in documents]


def seed_orders(store):
    rows = {
        "101": {"conId": 265598, "qty": 10, "symbol": "AAPL", "price": 190.5, "tags": ["dummy", "day"], "open": True},
        "102": {"conId": 756733, "qty": -5, "symbol": "SPY", "price": 510.25, "tags": ["spymacdvixy"], "open": True},
        "103": {"conId": 265598, "qty": 3, "symbol": "AAPL", "price": 189.0, "tags": ["dummy"], "open": False},
        "104": {"conId": 320227571, "qty": 7, "symbol": "VIXY", "price": 14.75, "tags": [], "open": True},
    }
    for order_id, data in rows.items():
        store.set(f"{ORDERS}/{order_id}", data)
    return rows


# --- documents ---------------------------------------------------------------------------------------------------

def test_missing_document_reads_as_none(store):
    assert store.get("config/common") is None


def test_set_then_get_round_trips_json_types(store):
    data = {"s": "é ✓", "i": 1_234_567_890_123, "neg": -7, "f": 0.1, "t": True, "f0": False, "n": None,
            "list": [1, "two", 3.5, None, {"k": "v"}], "map": {"nested": {"deep": [1, 2]}, "empty": {}},
            "emptyList": [], "when": "2024-05-01T14:30:00+00:00"}
    store.set("config/common", data)
    assert store.get("config/common") == data


def test_returned_data_is_a_copy(store):
    store.set("config/common", {"exposure": {"overall": 0.9}})
    store.get("config/common")["exposure"]["overall"] = 5
    assert store.get("config/common") == {"exposure": {"overall": 0.9}}


def test_set_merge_deep_merges_maps_and_replaces_other_values(store):
    store.set("config/paper", {"account": "DU1", "tags": ["a", "b"],
                               "exposure": {"overall": 0.9, "strategies": {"dummy": 0.1, "spymacdvixy": 0.9}}})
    store.set("config/paper", {"tags": ["c"], "exposure": {"strategies": {"dummy": 0.2}}, "retryCheckMinutes": 5},
              merge=True)
    assert store.get("config/paper") == {
        "account": "DU1", "tags": ["c"], "retryCheckMinutes": 5,
        "exposure": {"overall": 0.9, "strategies": {"dummy": 0.2, "spymacdvixy": 0.9}}}


def test_set_merge_creates_a_missing_document(store):
    store.set("config/live", {"exposure": {"overall": 0.5}}, merge=True)
    assert store.get("config/live") == {"exposure": {"overall": 0.5}}


def test_update_sets_dotted_field_paths_and_keeps_the_rest(store):
    store.set("config/paper", {"account": "DU1", "exposure": {"overall": 0.9, "strategies": {"dummy": 0.1}}})
    store.update("config/paper", {"exposure.overall": 0.5, "exposure.strategies.spymacdvixy": 0.4,
                                  "limits.maxOrders": 3, "account": "DU2"})
    assert store.get("config/paper") == {
        "account": "DU2", "limits": {"maxOrders": 3},
        "exposure": {"overall": 0.5, "strategies": {"dummy": 0.1, "spymacdvixy": 0.4}}}


def test_update_with_a_map_value_replaces_that_map(store):
    store.set("config/paper", {"exposure": {"overall": 0.9, "strategies": {"dummy": 0.1}}})
    store.update("config/paper", {"exposure": {"overall": 0.3}})
    assert store.get("config/paper") == {"exposure": {"overall": 0.3}}


def test_update_of_a_missing_document_is_not_found_and_creates_nothing(store):
    with pytest.raises(NotFound):
        store.update("config/paper", {"tradingEnabled": True})
    assert store.get("config/paper") is None


def test_delete_removes_and_tolerates_missing(store):
    store.set("positions/paper/holdings/dummy", {"265598": 10})
    store.delete("positions/paper/holdings/dummy")
    assert store.get("positions/paper/holdings/dummy") is None
    store.delete("positions/paper/holdings/dummy")
    store.delete("positions/live/holdings/never-written")


def test_add_assigns_distinct_firestore_style_ids(store):
    first = store.add("activity", {"intent": "summary", "n": 1})
    second = store.add("activity", {"intent": "summary", "n": 2})
    assert first != second
    for doc_id in (first, second):
        assert len(doc_id) == AUTO_ID_LENGTH and set(doc_id) <= set(string.ascii_letters + string.digits)
    assert store.get(f"activity/{first}") == {"intent": "summary", "n": 1}
    assert sorted(doc.data["n"] for doc in store.query("activity")) == [1, 2]


def test_documents_in_subcollections_are_separate_from_their_parent(store):
    store.set("positions/paper", {"note": "parent"})
    store.set("positions/paper/holdings/dummy", {"265598": 10})
    store.set("positions/live/holdings/dummy", {"265598": 99})
    assert store.get("positions/paper") == {"note": "parent"}
    assert store.get("positions/paper/holdings/dummy") == {"265598": 10}
    assert ids(store.query("positions")) == ["paper"]
    [holding] = store.query("positions/paper/holdings")
    assert (holding.id, holding.path, holding.data) == ("dummy", "positions/paper/holdings/dummy", {"265598": 10})


# --- queries -----------------------------------------------------------------------------------------------------

def test_query_of_an_empty_collection_is_empty(store):
    assert store.query(ORDERS) == []


def test_query_without_clauses_returns_every_document_of_the_collection(store):
    rows = seed_orders(store)
    store.set("positions/live/openOrders/900", {"conId": 1})
    found = store.query(ORDERS)
    assert sorted(ids(found)) == sorted(rows)
    assert {doc.path: doc.data for doc in found} == {f"{ORDERS}/{key}": data for key, data in rows.items()}


@pytest.mark.parametrize("where, expected", [
    ([("symbol", "==", "AAPL")], {"101", "103"}),
    ([("conId", "==", 265598), ("open", "==", True)], {"101"}),
    ([("open", "==", False)], {"103"}),
    ([("symbol", "!=", "AAPL")], {"102", "104"}),
    ([("qty", "<", 3)], {"102"}),
    ([("qty", "<=", 3)], {"102", "103"}),
    ([("qty", ">", 7)], {"101"}),
    ([("qty", ">=", 7)], {"101", "104"}),
    ([("price", ">", 100.0)], {"101", "102", "103"}),
    ([("symbol", ">=", "B")], {"102", "104"}),
    ([("symbol", "in", ["SPY", "VIXY", "QQQ"])], {"102", "104"}),
    ([("tags", "array-contains", "dummy")], {"101", "103"}),
    ([("tags", "array-contains", "day"), ("qty", ">", 0)], {"101"}),
    ([("missingField", "==", 1)], set()),
    ([("missingField", "!=", 1)], set()),
])
def test_query_filters(store, where, expected):
    seed_orders(store)
    assert set(ids(store.query(ORDERS, where=where))) == expected


def test_query_order_by_and_limit(store):
    seed_orders(store)
    assert ids(store.query(ORDERS, order_by=[("qty", "ASCENDING")])) == ["102", "103", "104", "101"]
    assert ids(store.query(ORDERS, order_by=[("price", "DESCENDING")], limit=2)) == ["102", "101"]
    assert ids(store.query(ORDERS, where=[("conId", "==", 265598)], order_by=[("qty", "DESCENDING")],
                           limit=1)) == ["101"]
    assert ids(store.query(ORDERS, order_by=[("symbol", "ASCENDING"), ("qty", "DESCENDING")])) == [
        "101", "103", "102", "104"]
    assert len(store.query(ORDERS, limit=3)) == 3


def test_type_mismatch_never_matches(store):
    store.set("c/int", {"v": 1})
    store.set("c/str", {"v": "1"})
    store.set("c/bool", {"v": True})
    assert ids(store.query("c", where=[("v", "==", 1)])) == ["int"]
    assert ids(store.query("c", where=[("v", "==", "1")])) == ["str"]
    assert ids(store.query("c", where=[("v", "==", True)])) == ["bool"]
    assert ids(store.query("c", where=[("v", ">", 0)])) == ["int"]


# --- transactions ------------------------------------------------------------------------------------------------

def test_transaction_commits_its_writes_and_returns_the_result(store):
    store.set("positions/paper/openOrders/7", {"allocated": {"dummy": 0}, "quantity": 10})
    store.set("positions/paper/holdings/old", {"1": 1})

    def apply_fill(tx):
        order = tx.get("positions/paper/openOrders/7")
        holdings = tx.get("positions/paper/holdings/dummy") or {}
        tx.set("positions/paper/holdings/dummy", {**holdings, "265598": 4})
        tx.update("positions/paper/openOrders/7", {"allocated.dummy": 4})
        tx.create("positions/paper/executions/0001f4e8.6575c0c5.01.01", {"shares": 4})
        tx.delete("positions/paper/holdings/old")
        return order["quantity"]

    assert store.run_transaction(apply_fill) == 10
    assert store.get("positions/paper/holdings/dummy") == {"265598": 4}
    assert store.get("positions/paper/openOrders/7") == {"allocated": {"dummy": 4}, "quantity": 10}
    assert store.get("positions/paper/executions/0001f4e8.6575c0c5.01.01") == {"shares": 4}
    assert store.get("positions/paper/holdings/old") is None


def test_transaction_queries_see_committed_documents(store):
    seed_orders(store)

    def count_aapl(tx):
        found = tx.query(ORDERS, where=[("symbol", "==", "AAPL")], order_by=[("qty", "ASCENDING")])
        tx.set("summary/aapl", {"orders": ids(found)})
        return len(found)

    assert store.run_transaction(count_aapl) == 2
    assert store.get("summary/aapl") == {"orders": ["103", "101"]}


def test_a_transaction_reads_a_whole_collection(store):
    seed_orders(store)
    found = store.run_transaction(lambda tx: tx.query(ORDERS))
    assert sorted(ids(found)) == sorted(ids(store.query(ORDERS)))
    assert len(found) > 2


def test_transaction_set_merge(store):
    store.set("config/paper", {"exposure": {"overall": 0.9, "strategies": {"dummy": 0.1}}})
    store.run_transaction(lambda tx: tx.set("config/paper", {"exposure": {"strategies": {"dummy": 0.3}}},
                                            merge=True))
    assert store.get("config/paper") == {"exposure": {"overall": 0.9, "strategies": {"dummy": 0.3}}}


def test_exception_in_the_function_writes_nothing_and_propagates(store):
    store.set("config/paper", {"tradingEnabled": True})

    class Boom(Exception):
        pass

    def fail(tx):
        tx.get("config/paper")
        tx.set("config/paper", {"tradingEnabled": False})
        tx.create("activity/one", {"x": 1})
        raise Boom("after writing")

    with pytest.raises(Boom):
        store.run_transaction(fail)
    assert store.get("config/paper") == {"tradingEnabled": True}
    assert store.get("activity/one") is None


def test_create_of_an_existing_document_fails_with_already_exists(store):
    store.set("positions/paper/executions/e1", {"shares": 1})
    with pytest.raises(AlreadyExists):
        store.run_transaction(lambda tx: tx.create("positions/paper/executions/e1", {"shares": 2}))
    assert store.get("positions/paper/executions/e1") == {"shares": 1}


def test_transactional_update_of_a_missing_document_is_not_found(store):
    with pytest.raises(NotFound):
        store.run_transaction(lambda tx: tx.update("positions/paper/openOrders/404", {"allocated.dummy": 1}))
    assert store.get("positions/paper/openOrders/404") is None


def test_reads_after_writes_are_refused(store):
    def read_after_write(tx):
        tx.set("config/paper", {"a": 1})
        tx.get("config/common")

    with pytest.raises(StoreError, match="reads before"):
        store.run_transaction(read_after_write)
    assert store.get("config/paper") is None


def test_store_writes_and_nested_transactions_are_refused_inside_a_transaction(store):
    with pytest.raises(StoreError, match="through the transaction"):
        store.run_transaction(lambda tx: store.set("config/paper", {"a": 1}))
    with pytest.raises(StoreError, match="another transaction"):
        store.run_transaction(lambda tx: store.run_transaction(lambda inner: None))
    assert store.get("config/paper") is None
    store.set("config/paper", {"a": 2})
    assert store.get("config/paper") == {"a": 2}


# --- validation --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["config", "positions/paper/holdings", "", "/config/common", "config/common/",
                                  "config//common", "config/..", "config/__reserved__", None])
def test_invalid_document_paths_are_value_errors(store, path):
    with pytest.raises(ValueError, match="path"):
        store.get(path)
    with pytest.raises(ValueError, match="path"):
        store.set(path, {"a": 1})


@pytest.mark.parametrize("collection", ["config/common", "positions/paper/holdings/dummy", "", "activity/"])
def test_invalid_collection_paths_are_value_errors(store, collection):
    with pytest.raises(ValueError, match="collection path"):
        store.query(collection)
    with pytest.raises(ValueError, match="collection path"):
        store.add(collection, {"a": 1})


@pytest.mark.parametrize("data", [
    {"when": object()}, {"x": float("nan")}, {"x": float("inf")}, {"x": [[1, 2]]}, {1: "int key"}, {"": 1},
    {"x": 2**64}, {"x": b"bytes"}, ["not", "a", "dict"],
])
def test_non_json_documents_are_value_errors(store, data):
    with pytest.raises(ValueError):
        store.set("config/common", data)
    assert store.get("config/common") is None


@pytest.mark.parametrize("kwargs", [
    {"where": [("qty", "~=", 1)]}, {"where": [("qty", "<", None)]}, {"where": [("qty", "in", [])]},
    {"where": [("qty", "in", 3)]}, {"where": [("a..b", "==", 1)]}, {"order_by": [("qty", "UP")]},
    {"limit": 0}, {"limit": -1},
])
def test_invalid_queries_are_value_errors(store, kwargs):
    with pytest.raises(ValueError):
        store.query(ORDERS, **kwargs)


@pytest.mark.parametrize("data", [{}, {"a..b": 1}, {"a": 1, "a.b": 2}])
def test_invalid_updates_are_value_errors(store, data):
    store.set("config/paper", {"a": {"b": 0}})
    with pytest.raises(ValueError):
        store.update("config/paper", data)
    assert store.get("config/paper") == {"a": {"b": 0}}


# --- Firestore semantics every adapter keeps ---------------------------------------------------------------------

def test_set_replaces_the_whole_document(store):
    store.set("config/paper", {"account": "DU1", "exposure": {"overall": 0.9}})
    store.set("config/paper", {"tradingEnabled": False})
    assert store.get("config/paper") == {"tradingEnabled": False}
    store.run_transaction(lambda tx: tx.set("config/paper", {"account": "DU2"}))
    assert store.get("config/paper") == {"account": "DU2"}


def test_set_merge_replaces_a_scalar_with_a_map(store):
    store.set("config/paper", {"exposure": 0.9})
    store.set("config/paper", {"exposure": {"overall": 0.8}}, merge=True)
    assert store.get("config/paper") == {"exposure": {"overall": 0.8}}


def test_queries_on_nested_fields(store):
    store.set("c/a", {"exposure": {"overall": 0.9}})
    store.set("c/b", {"exposure": {"overall": 0.4}})
    store.set("c/c", {"exposure": {}})
    assert ids(store.query("c", where=[("exposure.overall", "<", 0.5)])) == ["b"]
    assert ids(store.query("c", order_by=[("exposure.overall", "DESCENDING")])) == ["a", "b"]


def test_null_equality(store):
    store.set("c/null", {"v": None})
    store.set("c/zero", {"v": 0})
    store.set("c/absent", {"w": 1})
    assert ids(store.query("c", where=[("v", "==", None)])) == ["null"]


def test_integers_and_floats_compare_as_numbers(store):
    store.set("c/int", {"v": 2})
    store.set("c/float", {"v": 2.5})
    assert ids(store.query("c", where=[("v", "==", 2.0)])) == ["int"]
    assert ids(store.query("c", where=[("v", ">", 2)])) == ["float"]
    assert ids(store.query("c", order_by=[("v", "DESCENDING")])) == ["float", "int"]


def test_order_by_leaves_out_documents_without_the_field(store):
    store.set("c/with", {"v": 1})
    store.set("c/without", {"w": 1})
    assert ids(store.query("c", order_by=[("v", "ASCENDING")])) == ["with"]


def test_types_order_like_firestore(store):
    for doc_id, value in [("map", {"a": 1}), ("str", "a"), ("null", None), ("list", [1]), ("num", 3),
                          ("bool", False)]:
        store.set(f"c/{doc_id}", {"v": value})
    assert ids(store.query("c", order_by=[("v", "ASCENDING")])) == ["null", "bool", "num", "str", "list", "map"]


def test_integers_keep_64_bits(store):
    store.set("c/big", {"v": 2**63 - 1, "w": -(2**63)})
    assert store.get("c/big") == {"v": 2**63 - 1, "w": -(2**63)}


def test_failed_commit_writes_nothing(store):
    store.set("positions/paper/executions/e1", {"shares": 1})

    def apply_twice(tx):
        tx.set("positions/paper/holdings/dummy", {"265598": 1})
        tx.create("positions/paper/executions/e1", {"shares": 1})

    with pytest.raises(AlreadyExists):
        store.run_transaction(apply_twice)
    assert store.get("positions/paper/holdings/dummy") is None


def test_merge_and_update_of_fields_that_are_not_identifiers(store):
    store.set("positions/paper/holdings/dummy", {"265598": 10, "756733": 5})
    store.set("positions/paper/holdings/dummy", {"265598": 12}, merge=True)
    store.update("positions/paper/holdings/dummy", {"756733": 6, "by-ref.dummy-1": 1})
    assert store.get("positions/paper/holdings/dummy") == {"265598": 12, "756733": 6, "by-ref": {"dummy-1": 1}}


# --- Firestore's limits, refused before anything is sent --------------------------------------------------------

def nested(depth: int) -> dict:
    value: object = 1
    for _ in range(depth):
        value = {"x": value}
    return {"r": value}


def test_a_document_of_exactly_one_mib_is_stored_and_one_byte_more_is_refused(store):
    # c/d with these two fields is 1,048,576 bytes by Firestore's size rules (and the emulator's largest such)
    at_limit = {"a": "x" * 600_000, "b": "y" * 448_518}
    store.set("c/d", at_limit)
    assert store.get("c/d") == at_limit
    with pytest.raises(LimitExceeded, match=r"document c/e would be 1,048,577 bytes.*1 MiB"):
        store.set("c/e", {**at_limit, "b": at_limit["b"] + "y"})
    with pytest.raises(LimitExceeded, match="c/e"):
        store.run_transaction(lambda tx: tx.create("c/e", {**at_limit, "b": at_limit["b"] + "y"}))
    assert store.get("c/e") is None
    assert document_size(document_path("c/d"), at_limit) == MAX_DOCUMENT_BYTES


def test_merges_and_updates_that_grow_a_document_past_one_mib_are_refused(store):
    half = "x" * 600_000
    store.set("activity/run", {"a": half})
    with pytest.raises(LimitExceeded, match="activity/run"):
        store.set("activity/run", {"b": half}, merge=True)
    with pytest.raises(LimitExceeded, match="activity/run"):
        store.update("activity/run", {"result.b": half})
    with pytest.raises(LimitExceeded, match="activity/run"):
        store.run_transaction(lambda tx: tx.update("activity/run", {"b": half}))
    assert store.get("activity/run") == {"a": half}


def test_a_string_longer_than_firestore_stores_in_one_value_is_refused(store):
    store.set("c/d", {"m": {"s": "x" * MAX_STRING_BYTES}})
    with pytest.raises(LimitExceeded, match=r"document c/e: field 'm.s': a string of 1,048,488 bytes"):
        store.set("c/e", {"m": {"s": "x" * (MAX_STRING_BYTES + 1)}})
    with pytest.raises(LimitExceeded, match="c/d"):
        store.update("c/d", {"m.t": "é" * (MAX_STRING_BYTES // 2 + 1)})
    assert store.get("c/e") is None


def test_a_transaction_commits_at_most_500_writes(store):
    store.run_transaction(lambda tx: [tx.set(f"c/d{i}", {"i": i}) for i in range(MAX_TRANSACTION_WRITES)])
    assert len(store.query("c")) == MAX_TRANSACTION_WRITES

    def one_too_many(tx):
        for i in range(MAX_TRANSACTION_WRITES + 1):
            tx.set(f"e/d{i}", {"i": i})

    with pytest.raises(LimitExceeded, match=r"at most 500 writes.*write 501, to e/d500"):
        store.run_transaction(one_too_many)
    assert store.query("e") == []


@pytest.mark.parametrize("data, error, fragment", [
    ({"__name__": 1}, ValueError, "'__name__' is reserved"),
    ({"m": {"__x__": 1}}, ValueError, "'__x__' is reserved"),
    ({"a" * 1501: 1}, LimitExceeded, "longer than Firestore's 1,500 bytes"),
    (nested(MAX_DEPTH + 1), LimitExceeded, "nested more than 20 deep"),
    ({"l": [nested(MAX_DEPTH)]}, LimitExceeded, "nested more than 20 deep"),
])
def test_field_names_and_nesting_firestore_refuses(store, data, error, fragment):
    with pytest.raises(error, match=fragment) as raised:
        store.set("c/d", data)
    assert "document c/d" in str(raised.value)
    assert store.get("c/d") is None


def test_field_names_and_nesting_at_firestore_limits_are_stored(store):
    data = {"a" * 1500: 1, "__almost": 2, "_x_": 3, **nested(MAX_DEPTH)}
    store.set("c/d", data)
    assert store.get("c/d") == data
    store.update("c/d", {"m." + "y" * 1400: 1})
    with pytest.raises(ValueError, match="'__x__' is reserved"):
        store.update("c/d", {"m.__x__": 1})
    with pytest.raises(LimitExceeded, match="field path"):
        store.update("c/d", {"m." + "y" * 1499: 1})
    with pytest.raises(LimitExceeded, match="nested more than 20 deep"):
        store.update("c/d", {"m.n": nested(MAX_DEPTH - 1)})
