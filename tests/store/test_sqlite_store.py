"""SQLite adapter: its file (WAL, fsync, reopening) and queries equal to the reference evaluator.

Isolation and contention, shared with Firestore, are in test_concurrency.py.
"""
from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from lib.store.memory import MemoryStore
from lib.store.errors import StoreError
from lib.store.sqlite import SqliteStore
from tests.support import REPO_ROOT


@pytest.fixture
def path(tmp_path):
    return tmp_path / "store.sqlite3"


@pytest.fixture
def store(path):
    opened = SqliteStore(path)
    yield opened
    opened.close()


def test_file_is_in_wal_mode_with_full_sync(store, path):
    store.set("config/common", {"a": 1})
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with store._connection() as connection:
        assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert connection.execute("PRAGMA busy_timeout").fetchone() == (10_000,)


def test_data_survives_close_and_reopen(path):
    with SqliteStore(path) as first:
        first.set("config/paper", {"account": "DU1"})
        doc_id = first.add("activity", {"intent": "allocation"})
    with SqliteStore(path) as second:
        assert second.get("config/paper") == {"account": "DU1"}
        assert second.get(f"activity/{doc_id}") == {"intent": "allocation"}


def test_committed_data_survives_a_process_that_dies_without_closing(path):
    script = ("import os, sys\nfrom lib.store.sqlite import SqliteStore\n"
              "store = SqliteStore(sys.argv[1])\n"
              "store.run_transaction(lambda tx: tx.create('positions/paper/executions/e1', {'shares': 3}))\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, str(path)], cwd=REPO_ROOT, check=True, timeout=60)
    with SqliteStore(path) as reopened:
        assert reopened.get("positions/paper/executions/e1") == {"shares": 3}


def test_closed_store_refuses_work(path):
    store = SqliteStore(path)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get("config/common")
    store.close()


def test_two_stores_on_one_file_see_each_others_commits(path):
    with SqliteStore(path) as one, SqliteStore(path) as other:
        one.set("config/paper", {"tradingEnabled": True})
        assert other.get("config/paper") == {"tradingEnabled": True}
        other.update("config/paper", {"tradingEnabled": False})
        assert one.get("config/paper") == {"tradingEnabled": False}


# --- SQL queries agree with the Python reference evaluator -------------------------------------------------------

POOL = [None, False, True, -1, 0, 1, 2, -0.0, 1.0, 2.5, "", "1", "a", "A", "é", "€", "😀", [], [1], [1.0, "a"], [True],
        {"x": 1}, {"x": 1.0}, {}]


@pytest.fixture(scope="module")
def query_stores(tmp_path_factory):
    sqlite = SqliteStore(tmp_path_factory.mktemp("queries") / "store.sqlite3")
    yield sqlite, MemoryStore()
    sqlite.close()


def results(stores, collection, **query):
    return [[(doc.id, doc.data) for doc in store.query(collection, **query)] for store in stores]


def test_every_operator_on_every_pair_of_values_matches_the_reference_evaluator(query_stores):
    for store in query_stores:
        for index, value in enumerate(POOL):
            store.set(f"pairs/{index:02}", {"v": value})
        store.set("pairs/missing", {"w": 1})
    for value in POOL:
        clauses = [("v", "==", value), ("v", "!=", value), ("v", "in", [value]), ("v", "in", [value, "zz"])]
        if not isinstance(value, (list, dict)):
            clauses.append(("v", "array-contains", value))
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            clauses += [("v", op, value) for op in ("<", "<=", ">", ">=")]
        for clause in clauses:
            sqlite, memory = results(query_stores, "pairs", where=[clause])
            assert sqlite == memory, clause
    for direction in ("ASCENDING", "DESCENDING"):
        sqlite, memory = results(query_stores, "pairs", order_by=[("v", direction)])
        assert sqlite == memory, direction


# Few distinct values, so that documents and filters collide often: equal numbers of both kinds, a bool next to
# 1 and 0, numbers next to their text, code points whose UTF-8 bytes order differently from UTF-16.
SCALARS = st.sampled_from([None, False, True, -1, 0, 1, 2, -0.0, 1.0, 2.5, "", "1", "a", "A", "b", "é", "€", "😀"])
RANGE_VALUES = st.sampled_from([-1, 0, 1, 2, 1.0, 2.5, "", "1", "a", "A", "é", "😀"])
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(st.just("x"), SCALARS, max_size=1))
FIELDS = st.sampled_from(["v", "w"])
DOCUMENTS = st.lists(st.fixed_dictionaries({}, optional={"v": VALUES, "w": VALUES}), min_size=3, max_size=10)
FILTERS = st.one_of(
    st.tuples(FIELDS, st.sampled_from(["==", "!="]), VALUES),
    st.tuples(FIELDS, st.sampled_from(["<", "<=", ">", ">="]), RANGE_VALUES),
    st.tuples(FIELDS, st.just("in"), st.lists(VALUES, min_size=1, max_size=3)),
    st.tuples(FIELDS, st.just("array-contains"), SCALARS),
)
ORDERS = st.lists(st.tuples(FIELDS, st.sampled_from(["ASCENDING", "DESCENDING"])), max_size=2,
                  unique_by=lambda order: order[0])
_collections = itertools.count()


@settings(max_examples=300, deadline=None)
@given(documents=DOCUMENTS, where=st.lists(FILTERS, max_size=2), order_by=ORDERS,
       limit=st.one_of(st.none(), st.integers(1, 4)))
def test_combined_queries_match_the_reference_evaluator(query_stores, documents, where, order_by, limit):
    collection = f"q{next(_collections)}"
    for store in query_stores:
        for index, data in enumerate(documents):
            store.set(f"{collection}/d{index}", data)
    sqlite, memory = results(query_stores, collection, where=where, order_by=order_by, limit=limit)
    assert sqlite == memory
