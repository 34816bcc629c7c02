"""Daily bars by symbol, from the store's marketData/ (what collect-market-data keeps) or from CSV/Parquet files.

A symbol is a stock's ticker ("SPY"), a futures root ("MNQ": one continuous front-month series), a currency pair
without its dot ("EURUSD", for FX to the base currency) or an index ("VIX").
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lib.broker.instruments import BAR_COLUMNS

PRICE_COLUMNS = ("open", "high", "low", "close")


class BarsError(ValueError):
    """Bars that cannot be replayed (missing columns, non-positive prices, no file for a symbol)."""


@dataclass(frozen=True)
class BarSet:
    """Bars by symbol (columns date, open, high, low, close, volume; dates as datetime.date, oldest first) and the
    conIds the bars were stored under, when known."""

    frames: Mapping[str, pd.DataFrame]
    con_ids: Mapping[str, int] = field(default_factory=dict)

    def frame(self, symbol: str) -> pd.DataFrame:
        try:
            return self.frames[symbol]
        except KeyError:
            raise BarsError(f"no bars for {symbol} (have: {', '.join(sorted(self.frames)) or 'none'})") from None


def normalised(frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """`frame` with the bar columns only, dates as datetime.date, sorted, one bar per date.

    Raises:
        BarsError: a column is missing or a price is not a positive number.
    """
    missing = [column for column in ("date", *PRICE_COLUMNS) if column not in frame]
    if missing:
        raise BarsError(f"{symbol} bars lack column(s) {', '.join(missing)}")
    result = pd.DataFrame({"date": pd.to_datetime(frame["date"]).dt.date})
    for column in BAR_COLUMNS[1:]:
        result[column] = frame[column].astype(float) if column in frame else 0.0
    prices = result[list(PRICE_COLUMNS)]
    if prices.isna().any().any() or (prices <= 0).any().any():
        raise BarsError(f"{symbol} bars hold a missing or non-positive price")
    return (result.drop_duplicates("date", keep="last").sort_values("date", kind="stable")
            .reset_index(drop=True))


def from_frames(frames: Mapping[str, pd.DataFrame], con_ids: Mapping[str, int] | None = None) -> BarSet:
    return BarSet({symbol: normalised(frame, symbol) for symbol, frame in frames.items()}, dict(con_ids or {}))


def from_files(directory: str | Path) -> BarSet:
    """One file per symbol in `directory`: SYMBOL.csv or SYMBOL.parquet with the bar columns (volume optional)."""
    frames = {}
    for path in sorted(Path(directory).iterdir()):
        if path.suffix == ".csv":
            frames[path.stem] = pd.read_csv(path)
        elif path.suffix == ".parquet":
            frames[path.stem] = pd.read_parquet(path)
    if not frames:
        raise BarsError(f"no SYMBOL.csv or SYMBOL.parquet files in {directory}")
    return from_frames(frames)


def stored_con_ids(store) -> dict[str, int]:
    """{symbol: conId} of every contract collect-market-data has reported storing bars for (its activity results
    name each contract's localSymbol and conId; the bars' parent documents do not exist to be listed)."""
    found: dict[str, int] = {}
    for document in store.query("activity", where=[("intent", "==", "collect-market-data")]):
        instruments = ((document.data.get("result") or {}).get("instruments")) or {}
        for local_symbol, entry in instruments.items():
            if isinstance(entry, dict) and isinstance(entry.get("conId"), int):
                found.setdefault(_symbol(local_symbol), {})[local_symbol] = entry["conId"]
    return found


def from_store(store, con_ids: Mapping[str, Mapping[str, int]] | None = None) -> BarSet:
    """The bars collect-market-data stored under marketData/{conId}/daily/{date}, by symbol: a stock's localSymbol,
    a future's root (its contracts' bars joined, one bar per date), a pair without its dot.

    Args:
        con_ids: {symbol: {localSymbol: conId}}; default: those collect-market-data reported (stored_con_ids).
    """
    contracts = stored_con_ids(store) if con_ids is None else con_ids
    frames, known = {}, {}
    for symbol, by_local_symbol in contracts.items():
        rows = []
        for local_symbol, con_id in sorted(by_local_symbol.items(), key=lambda item: item[1]):
            rows += [document.data for document in store.query(f"marketData/{con_id}/daily")]
        if rows:
            frames[symbol] = pd.DataFrame(rows)
            if len(by_local_symbol) == 1:
                known[symbol] = next(iter(by_local_symbol.values()))
    if not frames:
        raise BarsError("the store holds no marketData bars (run collect-market-data, or give CSV/Parquet files)")
    return from_frames(frames, known)


def _symbol(local_symbol: str) -> str:
    """"SPY" -> "SPY", "EUR.USD" -> "EURUSD", "MNQZ6" -> "MNQ" (a future's month code and year dropped)."""
    if "." in local_symbol:
        return local_symbol.replace(".", "")
    stripped = local_symbol.rstrip("0123456789")
    if stripped != local_symbol and len(stripped) > 1 and stripped[-1] in "FGHJKMNQUVXZ":
        return stripped[:-1]
    return local_symbol
