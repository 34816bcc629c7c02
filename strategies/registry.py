"""Finding strategies: every `Strategy` subclass defined in a module of a package, and those installed packages
declare under the entry-point group `ib_trading.strategies`.

Adding a strategy is adding a module to `strategies/` (or installing a package that names it in the group); nothing
else is edited. Two strategies with the same `id` stop the service from starting, naming both files.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from importlib.metadata import entry_points
from types import ModuleType

from strategies.base import Strategy

ENTRY_POINT_GROUP = "ib_trading.strategies"


class DuplicateStrategy(ValueError):
    """Two strategy classes claim the same id."""


def strategies_in(module: ModuleType) -> list[type[Strategy]]:
    """The concrete Strategy subclasses `module` defines (not those it imports), in the order they appear."""
    found = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
             if issubclass(cls, Strategy) and cls.__module__ == module.__name__ and not inspect.isabstract(cls)]
    return sorted(found, key=lambda cls: inspect.getsourcelines(cls)[1])


def package_strategies(package: str) -> list[type[Strategy]]:
    """The strategies of every module directly inside `package` (imported here)."""
    root = importlib.import_module(package)
    found = []
    for module in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        if not module.ispkg and not module.name.startswith("_"):
            found += strategies_in(importlib.import_module(f"{package}.{module.name}"))
    return found


def installed_strategies(group: str = ENTRY_POINT_GROUP) -> list[type[Strategy]]:
    """The strategies installed packages declare in `group`: each entry point names a package (the strategies of
    its modules), a module (all its strategies) or one Strategy subclass.

    Raises:
        TypeError: an entry point names something else.
    """
    found = []
    for point in sorted(entry_points(group=group), key=lambda p: (p.name, p.value)):
        target = point.load()
        if isinstance(target, ModuleType):
            found += package_strategies(target.__name__) if hasattr(target, "__path__") else strategies_in(target)
        elif inspect.isclass(target) and issubclass(target, Strategy):
            found.append(target)
        else:
            raise TypeError(f"entry point {point.name} = {point.value} in group {group} names no package, module "
                            f"or Strategy subclass")
    return found


def registry(classes: Iterable[type[Strategy]]) -> dict[str, type[Strategy]]:
    """{id: class}, in order of appearance.

    Raises:
        DuplicateStrategy: two classes share an id (the message names both files), or a class has no string id.
    """
    by_id: dict[str, type[Strategy]] = {}
    for cls in classes:
        strategy_id = getattr(cls, "id", None)
        if not isinstance(strategy_id, str) or not strategy_id:
            raise DuplicateStrategy(f"strategy {cls.__qualname__} in {_file(cls)} has no id")
        earlier = by_id.setdefault(strategy_id, cls)
        if earlier is not cls:
            raise DuplicateStrategy(f"strategy id {strategy_id!r} is defined twice: {earlier.__qualname__} in "
                                    f"{_file(earlier)} and {cls.__qualname__} in {_file(cls)}")
    return by_id


def discover(package: str = "strategies", group: str = ENTRY_POINT_GROUP) -> dict[str, type[Strategy]]:
    """The strategies of `package`'s modules, then those installed under `group`, by id."""
    return registry([*package_strategies(package), *installed_strategies(group)])


def _file(cls: type) -> str:
    return inspect.getsourcefile(cls) or cls.__module__
