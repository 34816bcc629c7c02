"""`collect-market-data`: daily bars of the instruments listed in config, stored once per instrument and day."""
from __future__ import annotations

import logging

from intents.base import Intent, IntentParams, Seconds
from lib.broker import market_data
from lib.broker.instruments import Forex, Future, HistoryRequest, Index, Instrument, Stock, bars_frame
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import InvalidConfig
from lib.gateway import ib_requests
from lib.trading.market_calendar import trading_date

log = logging.getLogger(__name__)

KINDS = {"stock": Stock, "future": Future, "forex": Forex, "index": Index}
DEFAULT_DURATION = "10 D"


def instrument_from_config(entry) -> Instrument:
    """{"kind": "stock", "symbol": "SPY"}, {"kind": "future", "symbol": "MNQ", "exchange": "CME"},
    {"kind": "forex", "pair": "EURUSD"}, {"kind": "index", "symbol": "VIX", "exchange": "CBOE"}."""
    if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
        raise InvalidConfig("marketData.instruments", f"a list of objects with kind one of {sorted(KINDS)}", entry)
    fields = {key: value for key, value in entry.items() if key != "kind"}
    try:
        return KINDS[entry["kind"]](**fields)
    except (TypeError, ValueError) as exc:
        raise InvalidConfig("marketData.instruments", f"a valid {entry['kind']} ({exc})", entry) from None


class CollectMarketDataParams(IntentParams):
    timeout_seconds: Seconds = 120.0


class CollectMarketData(Intent):
    """Config: marketData.instruments (see instrument_from_config), marketData.duration (default "10 D").

    Bars of completed days go to `marketData/{conId}/daily/{YYYY-MM-DD}`; a day already stored is left as it is,
    so re-running writes nothing new.
    """

    name = "collect-market-data"
    description = ("daily bars of `marketData.instruments` stored under `marketData/{conId}/daily/{date}`, each "
                   "completed day once")
    Params = CollectMarketDataParams
    # a scheduled job: an operator looks for its runs in activity/
    records_activity = True

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        entries = config.require("marketData.instruments")
        if not isinstance(entries, list):
            raise InvalidConfig("marketData.instruments", "a list", entries)
        instruments = [instrument_from_config(entry) for entry in entries]
        duration = config.get("marketData.duration", DEFAULT_DURATION)

        async def fetch(ib):
            gateway_now = await ib_requests.current_time(ib)
            today = trading_date(gateway_now)
            resolved = await market_data.resolve(ib, instruments, today)
            requests = {str(i): (resolved[i], HistoryRequest(str(i), duration, "1 day",
                                                             "MIDPOINT" if isinstance(i, Forex) else "TRADES", True))
                        for i in instruments if not isinstance(resolved[i], Exception)}
            return today, resolved, await market_data.histories(ib, requests)

        today, resolved, bars_by_instrument = self.bridge.run(fetch, timeout_s=deadline.remaining_s())
        report = {}
        for instrument in instruments:
            contract = resolved[instrument]
            if isinstance(contract, Exception):
                report[str(instrument)] = {"error": f"{type(contract).__name__}: {contract}"}
                continue
            received = bars_by_instrument[str(instrument)]
            if isinstance(received, Exception):
                report[contract.localSymbol] = {"conId": contract.conId,
                                                "error": f"{type(received).__name__}: {received}"}
                continue
            frame = bars_frame(received)
            bars = [row for row in frame.to_dict("records") if str(row["date"]) < today.isoformat()]
            written = self._store_bars(contract, bars)
            report[contract.localSymbol] = {"conId": contract.conId, "bars": len(bars), "written": written}
        return {"instruments": report}

    def _store_bars(self, contract, bars: list[dict]) -> int:
        """Create each day's document unless it exists; returns how many were new."""
        def write(tx):
            paths = {str(bar["date"]): f"marketData/{contract.conId}/daily/{bar['date']}" for bar in bars}
            existing = {day for day, path in paths.items() if tx.get(path) is not None}
            for bar in bars:
                day = str(bar["date"])
                if day not in existing:
                    tx.set(paths[day], {"localSymbol": contract.localSymbol, "date": day,
                                        **{k: float(bar[k]) for k in ("open", "high", "low", "close", "volume")}})
            return len(bars) - len(existing)

        return self.store.run_transaction(write)
