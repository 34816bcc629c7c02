"""The strategy registry: strategies found in a package's modules and in entry points, duplicates refused."""
from __future__ import annotations

import importlib
import sys

import pytest

from strategies.dummy import Dummy
from strategies.registry import DuplicateStrategy, discover, installed_strategies, package_strategies, registry
from tests.support.strategy_package import DUMMY_SOURCE, copy_of_dummy, write_package


@pytest.fixture
def on_path(tmp_path):
    """tmp_path on sys.path for the test; the packages imported from it are forgotten afterwards.

    The import and metadata finders cache directory listings: tests invalidate them after writing packages.
    """
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in set(sys.modules) - before:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_a_copy_of_dummy_in_a_package_is_found_by_its_id(on_path):
    write_package(on_path, "dropped", {"copied": copy_of_dummy("dummy2")}, entry_point=False)
    importlib.invalidate_caches()
    [found] = package_strategies("dropped")
    assert found.id == "dummy2" and found.__module__ == "dropped.copied"
    assert found({"seed": 5}).params == {"seed": 5}


def test_only_strategies_a_module_defines_count_not_those_it_imports(on_path):
    write_package(on_path, "importer", {"uses": "from strategies.dummy import Dummy\n"}, entry_point=False)
    importlib.invalidate_caches()
    assert package_strategies("importer") == []


def test_the_service_package_and_entry_points_together(on_path):
    write_package(on_path, "installed", {"copied": copy_of_dummy("dummy3")})
    importlib.invalidate_caches()
    assert [cls.id for cls in installed_strategies()] == ["dummy3"]
    found = discover()
    assert found["dummy"] is Dummy and found["dummy3"].__module__ == "installed.copied"


def test_a_duplicate_id_is_an_error_naming_both_files(on_path):
    write_package(on_path, "clash", {"again": copy_of_dummy("dummy")})
    importlib.invalidate_caches()
    with pytest.raises(DuplicateStrategy) as raised:
        discover()
    message = str(raised.value)
    assert "'dummy' is defined twice" in message
    assert str(DUMMY_SOURCE) in message and str(on_path / "clash" / "again.py") in message


def test_a_strategy_without_an_id_is_refused():
    class Nameless(Dummy):
        id = ""

    with pytest.raises(DuplicateStrategy, match="Nameless .* has no id"):
        registry([Nameless])
