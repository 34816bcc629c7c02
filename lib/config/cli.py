"""The trading config from the command line, on the store the service uses (STORE_BACKEND, STORE_PATH, PROJECT_ID,
FIRESTORE_EMULATOR_HOST, TRADING_MODE as for the service):

    python -m lib.config show                      the merged config of the mode (config/common + config/{mode})
    python -m lib.config get exposure.overall      one value, as JSON
    python -m lib.config set exposure.strategies.sixtyforty 0.3
    python -m lib.config unset exposure.strategies.sixtyforty

VALUE is JSON (0.3, true, {"a": 1}, "text"); anything that is not JSON is taken as text. `set` and `unset` write the
mode's document (config/{mode}) unless `--common` names config/common; a change is checked with the bounds every run
checks (TradingConfig.load) on each mode it reaches before it is written, and refused naming the key otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from lib.config import TRADING_MODES, SettingsError, TradingConfig, load
from lib.errors import ServiceError
from lib.store.factory import open_store
from lib.store.memory import MemoryStore

_MISSING = object()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.config", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=TRADING_MODES, help="default: TRADING_MODE, else paper")
    parser.add_argument("--common", action="store_true", help="set/unset in config/common, shared by both modes")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("show", help="print the merged config")
    commands.add_parser("get", help="print one value").add_argument("key")
    setting = commands.add_parser("set", help="set a value (JSON, or text)")
    setting.add_argument("key")
    setting.add_argument("value")
    commands.add_parser("unset", help="remove a key").add_argument("key")
    return parser


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _lookup(document: dict, parts: list[str]) -> Any:
    node: Any = document
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def with_value(document: dict, key: str, value: Any = _MISSING) -> dict:
    """A copy of `document` with the dotted `key` set to `value` (maps created on the way), or removed without one
    (maps left empty by the removal removed too).

    Raises:
        KeyError: removing a key that is not there.
        ValueError: a key part names a value that is not a map, or the key is empty.
    """
    parts = key.split(".")
    if not all(parts):
        raise ValueError(f"not a dotted key: {key!r}")
    result = json.loads(json.dumps(document))
    node = result
    trail = []
    for part in parts[:-1]:
        child = node.setdefault(part, {}) if value is not _MISSING else node.get(part)
        if not isinstance(child, dict):
            if value is _MISSING:
                raise KeyError(key)
            raise ValueError(f"{'.'.join([*trail, part])} holds {child!r}, not a map")
        trail.append(part)
        node = child
    if value is _MISSING:
        if parts[-1] not in node:
            raise KeyError(key)
        del node[parts[-1]]
        for depth in range(len(parts) - 1, 0, -1):
            parent = _lookup(result, parts[:depth - 1]) if depth > 1 else result
            if parent[parts[depth - 1]] == {}:
                del parent[parts[depth - 1]]
    else:
        node[parts[-1]] = value
    return result


def checked(documents: dict[str, dict | None], modes: list[str]) -> dict[str, TradingConfig]:
    """The config of each of `modes` as a run would load it from `documents` ({path: data or None}).

    Raises:
        InvalidConfig: a key out of bounds (the same check as every run's).
    """
    view = MemoryStore()
    for path, data in documents.items():
        if data is not None:
            view.set(path, data)
    return {mode: TradingConfig.load(view, mode) for mode in modes}


def run(store, mode: str, command: str, key: str | None = None, value: Any = _MISSING, *,
        common: bool = False) -> dict | Any:
    """Carry out one command; returns the merged config of `mode` (or, for get, the value).

    Raises:
        KeyError: get or unset of an absent key.
        InvalidConfig: set or unset would put a key out of bounds; nothing is written.
    """
    if command in ("show", "get"):
        config = TradingConfig.load(store, mode)
        if command == "show":
            return config.as_dict()
        found = _lookup(config.as_dict(), key.split("."))
        if found is _MISSING:
            raise KeyError(key)
        return found
    target = "config/common" if common else f"config/{mode}"

    def change(tx):
        documents = {path: tx.get(path) for path in ("config/common", "config/paper", "config/live")}
        documents[target] = with_value(documents[target] or {}, key, value)
        modes = [m for m in TRADING_MODES if m == mode or (common and documents[f"config/{m}"] is not None)]
        configs = checked(documents, modes)
        tx.set(target, documents[target])
        return configs[mode].as_dict()

    return store.run_transaction(change)


def main(argv: list[str] | None = None, environ=None) -> int:
    args = _parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    try:
        settings = load(environ)
    except SettingsError as exc:
        print(f"python -m lib.config: {exc}", file=sys.stderr)
        return 2
    mode = args.mode or settings.trading_mode
    store = open_store(settings.store_backend, path=settings.store_path, project_id=settings.project_id)
    try:
        result = run(store, mode, args.command, getattr(args, "key", None),
                     parse_value(args.value) if args.command == "set" else _MISSING, common=args.common)
    except KeyError as exc:
        print(f"python -m lib.config: {exc.args[0]} is not set", file=sys.stderr)
        return 1
    except (ServiceError, ValueError) as exc:
        print(f"python -m lib.config: refused: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0
