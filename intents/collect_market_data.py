"""`collect-market-data`: daily bars of the instruments listed in config (or named by the request), stored once per
instrument and day."""
from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from intents.base import Intent, IntentParams, Seconds
from lib.broker import market_data
from lib.broker.daily_history import MAX_YEARS, Piece, check_daily_duration, fetch_pieces, missing_pieces, span_start
from lib.broker.instrument_specs import KINDS, instrument_from_spec
from lib.broker.instruments import Forex, Instrument, bars_frame
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import InvalidConfig
from lib.gateway import ib_requests
from lib.params import absent, invalid, json_text
from lib.trading.market_calendar import trading_date

log = logging.getLogger(__name__)

DEFAULT_DURATION = "10 D"
MAX_INSTRUMENTS = 20


def instrument_from_config(entry) -> Instrument:
    """An entry of marketData.instruments (see lib.broker.instrument_specs)."""
    try:
        return instrument_from_spec(entry)
    except ValueError as exc:
        raise InvalidConfig("marketData.instruments", f"a list of {exc}", entry) from None


def _instrument(spec: dict) -> dict:
    try:
        instrument_from_spec(spec)
    except ValueError as exc:
        raise invalid(f"each instrument must be {exc}, got {spec!r}") from None
    return spec


def _duration(text: str) -> str:
    try:
        check_daily_duration(text)
    except ValueError as exc:
        raise invalid(f"must be {exc}") from None
    return text


def fetched_spans(store, con_id: int) -> dict[int, tuple[date, date]]:
    """{year: (first, last)} of the days IB was already asked for, per `marketData/{conId}/fetched/{YYYY}`."""
    return {int(document.id): (date.fromisoformat(document.data["first"]), date.fromisoformat(document.data["last"]))
            for document in store.query(f"marketData/{con_id}/fetched")}


class CollectMarketDataParams(IntentParams):
    timeout_seconds: Seconds = 120.0
    instruments: Annotated[list[Annotated[dict[str, Any], AfterValidator(_instrument)]],
                           Field(min_length=1, max_length=MAX_INSTRUMENTS), BeforeValidator(json_text)] = absent(
        description=f"the instruments to collect instead of `marketData.instruments`: objects with `kind` one of "
                    f"{', '.join(KINDS)} and the instrument's fields, e.g. "
                    f"`[{{\"kind\": \"stock\", \"symbol\": \"SPY\"}}]`")
    duration: Annotated[str, AfterValidator(_duration)] = absent(
        description=f"how far back to collect instead of `marketData.duration`: `N D`, `N W` or `N M` within a "
                    f"year, or `N Y` up to {MAX_YEARS} (IB takes spans over 365 days in years); asked of IB in "
                    f"pieces of a calendar year at most, only the days no earlier run fetched",
        examples=["10 Y"])


class CollectMarketData(Intent):
    """Config: marketData.instruments (see lib.broker.instrument_specs), marketData.duration (default "10 D"); a
    request's `instruments` and `duration` take their place.

    Bars of completed days go to `marketData/{conId}/daily/{YYYY-MM-DD}`; a day already stored is left as it is.
    What each calendar year's requests covered goes to `marketData/{conId}/fetched/{YYYY}` ({"first", "last"}),
    so a run asks IB only for the days no earlier run fetched: re-running the same day requests nothing.
    """

    name = "collect-market-data"
    description = ("daily bars of `marketData.instruments` (or the request's `instruments`) stored under "
                   "`marketData/{conId}/daily/{date}`, each completed day fetched from IB once")
    Params = CollectMarketDataParams
    # a scheduled job: an operator looks for its runs in activity/
    records_activity = True

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        if "instruments" in params:
            instruments = [instrument_from_spec(spec) for spec in params["instruments"]]
        else:
            entries = config.require("marketData.instruments")
            if not isinstance(entries, list):
                raise InvalidConfig("marketData.instruments", "a list", entries)
            instruments = [instrument_from_config(entry) for entry in entries]
        duration = params.get("duration") or config.get("marketData.duration", DEFAULT_DURATION)
        try:
            check_daily_duration(duration)
        except ValueError as exc:
            raise InvalidConfig("marketData.duration", str(exc), duration) from None

        async def resolve(ib):
            today = trading_date(await ib_requests.current_time(ib))
            return today, await market_data.resolve(ib, instruments, today)

        today, resolved = self.bridge.run(resolve, timeout_s=deadline.remaining_s())
        first = span_start(duration, today)
        wanted = {instrument: missing_pieces(first, today, self._fetched(contract.conId))
                  for instrument, contract in resolved.items() if not isinstance(contract, Exception)}

        async def fetch(ib):
            found = await asyncio.gather(*(fetch_pieces(ib, resolved[instrument], pieces,
                                                        "MIDPOINT" if isinstance(instrument, Forex) else "TRADES")
                                           for instrument, pieces in wanted.items()))
            return dict(zip(wanted, found))

        answers = self.bridge.run(fetch, timeout_s=deadline.remaining_s()) if any(wanted.values()) else {}
        report = {}
        for instrument in instruments:
            contract = resolved[instrument]
            if isinstance(contract, Exception):
                report[str(instrument)] = {"error": f"{type(contract).__name__}: {contract}"}
                continue
            report[contract.localSymbol] = self._store_answers(contract, answers.get(instrument, []), today)
        return {"instruments": report}

    def _fetched(self, con_id: int) -> dict[int, tuple[date, date]]:
        return fetched_spans(self.store, con_id)

    def _store_answers(self, contract, answers: list[tuple[Piece, list | Exception]], today: date) -> dict:
        """Store each answered piece's completed days and what it covered; the instrument's report entry."""
        entry = {"conId": contract.conId, "requests": len(answers), "bars": 0, "written": 0}
        for piece, received in answers:
            if isinstance(received, Exception):
                entry["error"] = f"{type(received).__name__}: {received}"
                continue
            frame = bars_frame(received)
            bars = [row for row in frame.to_dict("records") if str(row["date"]) < today.isoformat()]
            entry["bars"] += len(bars)
            entry["written"] += self._store_bars(contract, bars, piece, today)
        return entry

    def _store_bars(self, contract, bars: list[dict], piece: Piece, today: date) -> int:
        """Create each day's document unless it exists and widen the year's fetched span over the piece's days
        (through yesterday: today's bar is not complete); returns how many days were new."""
        last = min(piece.last, today - timedelta(days=1))

        def write(tx):
            paths = {str(bar["date"]): f"marketData/{contract.conId}/daily/{bar['date']}" for bar in bars}
            existing = {day for day, path in paths.items() if tx.get(path) is not None}
            fetched_path = f"marketData/{contract.conId}/fetched/{piece.year}"
            fetched = tx.get(fetched_path)
            span = (piece.first.isoformat(), last.isoformat())
            if fetched is not None and fetched["first"] <= (last + timedelta(days=1)).isoformat() \
                    and (piece.first - timedelta(days=1)).isoformat() <= fetched["last"]:
                span = (min(span[0], fetched["first"]), max(span[1], fetched["last"]))
            for bar in bars:
                day = str(bar["date"])
                if day not in existing:
                    tx.set(paths[day], {"localSymbol": contract.localSymbol, "date": day,
                                        **{k: float(bar[k]) for k in ("open", "high", "low", "close", "volume")}})
            tx.set(fetched_path, {"localSymbol": contract.localSymbol, "first": span[0], "last": span[1]})
            return len(bars) - len(existing)

        return self.store.run_transaction(write)
