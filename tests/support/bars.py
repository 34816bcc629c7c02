"""Deterministic daily bars for backtests: geometric random walks on the NYSE sessions, and the docs' example
strategies loaded from docs/examples/."""
from __future__ import annotations

import importlib.util
from datetime import date

import numpy as np
import pandas as pd

from backtest.engine import sessions_between
from tests.support import REPO_ROOT


def random_walks(symbols: dict[str, float], start: date, end: date, seed: int = 7) -> dict[str, pd.DataFrame]:
    """{symbol: bars} from each symbol's first close, one bar per XNYS session; opens gap from the previous close."""
    days = sessions_between(start, end, "XNYS")
    rng = np.random.default_rng(seed)
    frames = {}
    for symbol, first in symbols.items():
        returns = rng.normal(0.0003, 0.011, len(days))
        closes = first * np.exp(np.cumsum(returns))
        opens = np.concatenate([[first], closes[:-1]]) * np.exp(rng.normal(0, 0.003, len(days)))
        frames[symbol] = pd.DataFrame({"date": days, "open": opens, "high": np.maximum(opens, closes) * 1.002,
                                       "low": np.minimum(opens, closes) * 0.998, "close": closes,
                                       "volume": 1_000_000.0})
    return frames


def example_strategy(module: str, name: str):
    """A Strategy class from docs/examples/{module}.py (the worked examples are documentation, not built-ins)."""
    spec = importlib.util.spec_from_file_location(f"docs_examples_{module}", REPO_ROOT / "docs" / "examples" /
                                                  f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return getattr(loaded, name)
