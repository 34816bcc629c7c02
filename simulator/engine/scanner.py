"""Market scanners over the catalog's US stocks and ETFs: the scan codes modelled, their ranking, and the
parameters document reqScannerParameters returns.

IB ranks a scan's whole market and sends at most 50 rows (numberOfRows caps it lower); the simulator's market is
the catalog, so every scan ranks the catalog's stocks and ETFs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MAX_ROWS = 50
INSTRUMENTS = ("STK", "ETF.EQ.US")
LOCATIONS = ("STK.US", "STK.US.MAJOR", "STK.NASDAQ", "STK.NYSE", "STK.ARCA", "STK.BATS")


@dataclass(frozen=True)
class Candidate:
    """A stock with what scans rank on: last price, previous close and session volume."""

    spec: object
    last: float
    close: float
    volume: float

    @property
    def change(self) -> float:
        return (self.last - self.close) / self.close if self.close else 0.0


# scan code -> (display name, key that ranks best first)
SCAN_CODES: dict[str, tuple[str, Callable[[Candidate], float]]] = {
    "TOP_PERC_GAIN": ("Top % Gainers", lambda c: -c.change),
    "TOP_PERC_LOSE": ("Top % Losers", lambda c: c.change),
    "MOST_ACTIVE": ("Most Active", lambda c: -c.volume),
    "HOT_BY_VOLUME": ("Hot Contracts by Volume", lambda c: -c.volume),
    "TOP_TRADE_COUNT": ("Top Trade Count", lambda c: -c.volume),
    "HIGH_VS_13W_HL": ("High vs 13-Week High/Low", lambda c: -c.change),
}

_LISTINGS = {"STK.NASDAQ": "NASDAQ", "STK.NYSE": "NYSE", "STK.ARCA": "ARCA", "STK.BATS": "BATS"}


def in_location(spec, instrument: str, location: str) -> bool:
    """Whether a catalog stock belongs to a scan's instrument and location code."""
    if instrument == "ETF.EQ.US" and spec.stock_type != "ETF":
        return False
    listing = _LISTINGS.get(location)
    return listing is None or spec.primary_exchange == listing


def rank(candidates: list[Candidate], scan_code: str, rows: int, *, above_price: float | None = None,
         below_price: float | None = None, above_volume: int = 0) -> list[Candidate]:
    """The scan's result, best first: KeyError for a scan code not modelled."""
    _, key = SCAN_CODES[scan_code]
    kept = [c for c in candidates
            if (above_price is None or c.last > above_price) and (below_price is None or c.last < below_price)
            and c.volume >= above_volume]
    limit = MAX_ROWS if rows <= 0 else min(rows, MAX_ROWS)
    return sorted(kept, key=lambda c: (key(c), c.spec.symbol))[:limit]


def parameters_xml() -> str:
    """The reqScannerParameters document, in the shape of IB's (ScanParameterResponse), for what is modelled."""
    instruments = "".join(f"<Instrument><name>{name}</name><type>{name}</type><secType>STK</secType>"
                          f"</Instrument>" for name in INSTRUMENTS)
    locations = "".join(f"<Location><displayName>{code}</displayName><locationCode>{code}</locationCode>"
                        f"<instruments>STK</instruments></Location>" for code in LOCATIONS)
    scans = "".join(f"<ScanType><displayName>{name}</displayName><scanCode>{code}</scanCode>"
                    f"<instruments>{','.join(INSTRUMENTS)}</instruments></ScanType>"
                    for code, (name, _) in SCAN_CODES.items())
    filters = ("<SimpleFilter><id>priceAbove</id><type>DOUBLE</type></SimpleFilter>"
               "<SimpleFilter><id>priceBelow</id><type>DOUBLE</type></SimpleFilter>"
               "<SimpleFilter><id>volumeAbove</id><type>INT</type></SimpleFilter>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ScanParameterResponse>'
            f"<InstrumentList>{instruments}</InstrumentList>"
            f"<LocationTree><Location><displayName>US Stocks</displayName><locationCode>STK.US</locationCode>"
            f"<LocationTree>{locations}</LocationTree></Location></LocationTree>"
            f"<ScanTypeList>{scans}</ScanTypeList><FilterList>{filters}</FilterList></ScanParameterResponse>")
