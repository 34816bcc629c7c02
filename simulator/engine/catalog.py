"""The contract catalog: US stocks/ETFs (the S&P 100 and large ETFs), CME Group futures series, IDEALPRO forex
pairs and indices.

Contract ids are IB's real conIds where known (SPY 756733, QQQ 320227571, AAPL 265598, EUR.USD 12087792,
VIX 13455763, SPX 416904, ...); the others are the simulator's own, pure functions of the symbol (own_con_id) or,
for futures, of symbol and expiry, so a contract keeps its id across restarts and across the days it stays listed.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from simulator.engine import trading_hours, universe
from simulator.engine.futures_expiry import MONTH_CODES, contract_months

HOURS_DAYS = 7
LIVE_FUTURES = 4
EXPIRED_FUTURES = 4

STOCK_EXCHANGES = ("SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,ISLAND,DRCTEDGE,BEX,BATS,EDGEA,BYX,IEX,EDGX,"
                   "FOXRIVER,PEARL,NYSENAT,LTSE,MEMX,IBEOS,OVERNIGHT,TPLUS0,PSX")
STOCK_ORDER_TYPES = ("ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AON,AVGCOST,BASKET,BENCHPX,CASHQTY,COND,CONDORDER,"
                     "DARKONLY,DARKPOLL,DAY,DEACT,DEACTDIS,DEACTEOD,DIS,DUR,GAT,GTC,GTD,GTT,HID,IBKRATS,ICE,IMB,"
                     "IOC,LIT,LMT,LOC,MIDPX,MIT,MKT,MOC,MTL,NGCOMB,NODARK,NONALGO,OCA,OPG,OPGREROUT,PEGBENCH,"
                     "PEGMID,POSTATS,POSTONLY,PREOPGRTH,PRICECHK,REL,REL2MID,RELPCTOFS,RPI,RTH,SCALE,SCALEODD,"
                     "SCALERST,SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,SWEEP,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,"
                     "WHATIF")
FUTURE_ORDER_TYPES = ("ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,BENCHPX,COND,CONDORDER,DAY,DEACT,"
                      "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,LTH,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,"
                      "PEGBENCH,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,"
                      "WHATIF")
FOREX_ORDER_TYPES = ("ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,CASHQTY,COND,CONDORDER,DAY,DEACT,"
                     "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,REL,RELPCTOFS,SCALE,"
                     "SCALERST,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF")
INDEX_ORDER_TYPES = "ALERT"

# names clients use for the same venue
EXCHANGE_ALIASES = {"GLOBEX": "CME", "ISLAND": "NASDAQ", "ECBOT": "CBOT"}


@dataclass(frozen=True)
class ContractSpec:
    """One listed contract, with the fields contractDetails reports.

    Parameters:
        con_id: IB contract id.
        symbol: underlying symbol ("SPY", "MNQ", "EUR" for EUR.USD, "VIX").
        sec_type: STK | FUT | CASH | IND.
        exchange: the routing exchange reported (SMART, CME, IDEALPRO, CBOE, ...).
        primary_exchange: listing exchange for stocks ("ARCA", "NASDAQ", ...), "" otherwise.
        currency: trading currency (the quote currency for forex).
        local_symbol: "SPY", "MNQZ6", "EUR.USD", "VIX".
        trading_class: "SPY", "MNQ", "EUR.USD", "VIX".
        multiplier: contract multiplier (1 for stocks, forex and indices).
        last_trade_date: "YYYYMMDD" for futures, "" otherwise.
        min_tick: price increment.
        long_name: description.
        valid_exchanges: comma list of exchanges the contract can be routed to.
        order_types: comma list of order types, like IB's.
        time_zone_id: time zone of the hours texts ("US/Eastern", "US/Central").
        trading_hours: IB hours text for the next days ("20261124:0400-20261124:2000;...").
        liquid_hours: the same for regular hours.
        under_con_id: futures: conId of the underlying index; 0 otherwise.
        stock_type: "ETF" | "COMMON" for stocks, "" otherwise.
        industry, category, subcategory: classification, like IB's, where known.
        contract_month: futures: "YYYYMM" of the contract month (CL's January contract stops trading in
            December); "" otherwise.
        strike, right: options: the strike and "C" or "P"; 0.0 and "" otherwise.
    """

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    multiplier: float
    last_trade_date: str
    min_tick: float
    long_name: str
    valid_exchanges: str
    order_types: str
    time_zone_id: str
    trading_hours: str
    liquid_hours: str
    under_con_id: int
    stock_type: str
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    contract_month: str = ""
    strike: float = 0.0
    right: str = ""


class DerivedContracts(Protocol):
    """Contracts generated on demand rather than listed (the options of the chains)."""

    def by_con_id(self, con_id: int) -> ContractSpec | None: ...

    def match(self, query: ContractQuery) -> list[ContractSpec]: ...


@dataclass(frozen=True)
class ContractQuery:
    """The contract fields a client can send; empty strings and zeros are wildcards.

    Parameters:
        last_trade_date: "YYYYMM" (contract month), "YYYYMMDD" or "".
        multiplier: as sent ("2", "50.0") or "".
        include_expired: also match expired futures.
    """

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str | float = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    include_expired: bool = False


@dataclass(frozen=True)
class _Stock:
    symbol: str
    con_id: int
    primary_exchange: str
    long_name: str
    stock_type: str
    industry: str = ""
    category: str = ""
    subcategory: str = ""


_FIRST_STOCKS = (
    _Stock("SPY", 756733, "ARCA", "SPDR S&P 500 ETF TRUST", "ETF"),
    _Stock("VIXY", 283724339, "BATS", "PROSHARES VIX SHORT-TERM FUTU", "ETF"),
    _Stock("QQQ", 320227571, "NASDAQ", "INVESCO QQQ TRUST SERIES 1", "ETF"),
    _Stock("IWM", 9579970, "ARCA", "ISHARES RUSSELL 2000 ETF", "ETF"),
    _Stock("TLT", 15547841, "NASDAQ", "ISHARES 20+ YEAR TREASURY BD", "ETF"),
    _Stock("IEF", 15547816, "NASDAQ", "ISHARES 7-10 YEAR TREASURY BD", "ETF"),
    _Stock("GLD", 51529211, "ARCA", "SPDR GOLD SHARES", "ETF"),
    _Stock("EFA", 27684070, "ARCA", "ISHARES MSCI EAFE ETF", "ETF"),
    _Stock("VTI", 12340039, "ARCA", "VANGUARD TOTAL STOCK MKT ETF", "ETF"),
    _Stock("AAPL", 265598, "NASDAQ", "APPLE INC", "COMMON", "Technology", "Computers", "Computers"),
    _Stock("MSFT", 272093, "NASDAQ", "MICROSOFT CORP", "COMMON", "Technology", "Software", "Applications Software"),
    _Stock("AMZN", 3691937, "NASDAQ", "AMAZON.COM INC", "COMMON", "Communications", "Internet", "E-Commerce/Products"),
    _Stock("NVDA", 4815747, "NASDAQ", "NVIDIA CORP", "COMMON", "Technology", "Semiconductors",
           "Electronic Components-Semicon"),
)

def own_con_id(sec_type: str, symbol: str) -> int:
    """The simulator's conId for a contract whose IB conId is not public: a pure function of kind and symbol."""
    return 600_000_000 + zlib.crc32(f"{sec_type}:{symbol}".encode()) % 90_000_000


STOCKS = _FIRST_STOCKS + tuple(
    _Stock(listing.symbol, listing.con_id or own_con_id("STK", listing.symbol), listing.primary_exchange,
           listing.long_name, listing.stock_type)
    for listing in (*universe.S_AND_P_100, *universe.LARGE_ETFS))

# symbol -> (conId, exchange, long name)
INDICES = {
    "VIX": (13455763, "CBOE", "CBOE Volatility Index"),
    "NQ": (11004958, "NASDAQ", "NASDAQ 100 Stock Index"),
    "ES": (11004968, "CME", "E-mini S&P 500"),
    **{index.symbol: (index.con_id or own_con_id("IND", index.symbol), index.exchange, index.long_name)
       for index in universe.INDICES},
}

# local symbol -> (conId, long name of the base currency)
FOREX = {
    "EUR.USD": (12087792, "European Monetary Union Euro"),
    "GBP.USD": (12087797, "British pound"),
    "USD.CHF": (12087820, "US Dollar"),
    "USD.JPY": (15016059, "US Dollar"),
    "AUD.USD": (14433401, "Australian dollar"),
    "USD.CAD": (15016062, "US Dollar"),
    "EUR.GBP": (12087807, "European Monetary Union Euro"),
    "EUR.CHF": (12087802, "European Monetary Union Euro"),
    "EUR.JPY": (14321016, "European Monetary Union Euro"),
}

EASTERN, CENTRAL = "US/Eastern", "US/Central"


def future_con_id(symbol: str, expiry: date) -> int:
    """Stable conId of a futures contract: a pure function of symbol and expiry."""
    return 700_000_000 + zlib.crc32(f"{symbol}:{expiry:%Y%m%d}".encode()) % 90_000_000


def _stock_trading_class(stock: _Stock) -> str:
    """IB's trading class: "NMS" for common stocks listed on NASDAQ (its National Market System), the symbol
    for ETFs and for other listings."""
    return "NMS" if stock.stock_type == "COMMON" and stock.primary_exchange == "NASDAQ" else stock.symbol


def _normal_exchange(exchange: str) -> str:
    exchange = exchange.strip().upper()
    return EXCHANGE_ALIASES.get(exchange, exchange)


def _multiplier_matches(asked: str | float, spec: ContractSpec) -> bool:
    if asked in ("", None, 0, 0.0):
        return True
    try:
        return float(asked) == spec.multiplier
    except (TypeError, ValueError):
        return False


class Catalog:
    """Every contract the simulator lists, with IB-like lookup.

    Parameters:
        today: the date the futures series and the hours texts are computed for.
    """

    def __init__(self, today: date):
        self.today = today
        self._specs: dict[int, ContractSpec] = {}
        self._expired: set[int] = set()
        self.derived: DerivedContracts | None = None
        self._build()

    # --- lookup ---------------------------------------------------------------------------------------

    def by_con_id(self, con_id: int) -> ContractSpec | None:
        """The contract with this conId (expired futures included, and the derived contracts), or None."""
        spec = self._specs.get(int(con_id))
        if spec is None and self.derived is not None:
            return self.derived.by_con_id(int(con_id))
        return spec

    def all(self) -> list[ContractSpec]:
        """Every live contract, in catalog order."""
        return [spec for con_id, spec in self._specs.items() if con_id not in self._expired]

    def is_expired(self, con_id: int) -> bool:
        return con_id in self._expired

    def match(self, query: ContractQuery) -> list[ContractSpec]:
        """Contracts matching a client's description, like IB's contract lookup.

        conId alone suffices; otherwise symbol or localSymbol is required and empty fields are wildcards.
        SMART matches every stock; a stock asked on one of its valid exchanges, and a forex pair asked on
        IDEALPRO or FXCONV, is returned carrying the asked exchange. A futures query without expiry returns the
        whole live series. No match (or an option-like strike/right) gives [].
        """
        if query.con_id:
            spec = self.by_con_id(query.con_id)
            if spec is None:
                return []
            exchange = self._exchange_for(spec, query.exchange)
            if exchange is None:
                exchange = spec.exchange
            return [spec if exchange == spec.exchange else dataclasses.replace(spec, exchange=exchange)]
        if not (query.symbol or query.local_symbol):
            return []
        if query.sec_type.strip().upper() == "OPT":
            return self.derived.match(query) if self.derived is not None else []
        if query.strike or query.right.strip().upper() not in ("", "0", "?"):
            return []
        found = []
        for con_id, spec in self._specs.items():
            if con_id in self._expired and not query.include_expired:
                continue
            if not self._fields_match(spec, query):
                continue
            exchange = self._exchange_for(spec, query.exchange)
            if exchange is None:
                continue
            found.append(spec if exchange == spec.exchange else dataclasses.replace(spec, exchange=exchange))
        return found

    def resolve_symbol(self, symbol_or_con_id: str | int) -> ContractSpec:
        """The contract an admin call names: a conId (int or digits), a local symbol ("EUR.USD", "MNQZ6"), a
        pair written "EURUSD", or a symbol; a futures symbol ("MNQ") names the front month. Stocks win over
        futures, futures over forex, forex over indices ("ES" is the future). KeyError when unknown."""
        text = str(symbol_or_con_id).strip()
        if text.isdigit():
            spec = self.by_con_id(int(text))
            if spec is None:
                raise KeyError(f"unknown conId {text}")
            return spec
        upper = text.upper()
        if len(upper) == 6 and upper.isalpha() and f"{upper[:3]}.{upper[3:]}" in FOREX:
            upper = f"{upper[:3]}.{upper[3:]}"
        rank = {"STK": 0, "FUT": 1, "CASH": 2, "IND": 3}
        named = sorted((spec for spec in self.all() if spec.local_symbol.upper() == upper
                        or (spec.symbol.upper() == upper and spec.sec_type != "CASH")),
                       key=lambda spec: (rank[spec.sec_type], spec.last_trade_date))
        if named:
            return named[0]
        raise KeyError(f"unknown symbol {text!r}: use a conId, a stock or index symbol, a futures symbol or "
                       f"local symbol (MNQ, MNQZ6) or a forex pair (EUR.USD)")

    def front_month(self, symbol: str) -> ContractSpec:
        """The live futures contract of `symbol` that expires first."""
        series = [spec for spec in self.all() if spec.sec_type == "FUT" and spec.symbol == symbol]
        if not series:
            raise KeyError(f"no futures series {symbol!r}")
        return min(series, key=lambda spec: spec.last_trade_date)

    @staticmethod
    def _fields_match(spec: ContractSpec, query: ContractQuery) -> bool:
        def same(asked: str, value: str) -> bool:
            return not asked or asked.strip().upper() == value.upper()

        if query.last_trade_date:
            # "YYYYMM" names the contract month, "YYYYMMDD" the last trade date (IB's lastTradeDateOrContractMonth)
            asked = query.last_trade_date.strip()
            if spec.sec_type != "FUT":
                return False
            if len(asked) == 6 and spec.contract_month != asked:
                return False
            if len(asked) != 6 and not spec.last_trade_date.startswith(asked[:8]):
                return False
        primary = _normal_exchange(query.primary_exchange)
        return (same(query.symbol, spec.symbol) and same(query.local_symbol, spec.local_symbol)
                and same(query.sec_type, spec.sec_type) and same(query.currency, spec.currency)
                and same(query.trading_class, spec.trading_class) and _multiplier_matches(query.multiplier, spec)
                and (not primary or primary == spec.primary_exchange))

    @staticmethod
    def _exchange_for(spec: ContractSpec, asked: str) -> str | None:
        """The exchange to report for a query's exchange, or None when the contract is not listed there."""
        exchange = _normal_exchange(asked)
        if not exchange or exchange == spec.exchange:
            return spec.exchange
        if exchange in spec.valid_exchanges.split(","):
            return exchange
        if spec.sec_type == "STK" and exchange == spec.primary_exchange:
            return exchange
        return None

    # --- contents -------------------------------------------------------------------------------------

    def _hours(self, kind: str, zone: str) -> str:
        return trading_hours.hours_text(kind, self.today, HOURS_DAYS, ZoneInfo(zone))

    def _add(self, spec: ContractSpec, expired: bool = False) -> None:
        if spec.con_id in self._specs:
            raise ValueError(f"duplicate conId {spec.con_id} ({spec.local_symbol})")
        self._specs[spec.con_id] = spec
        if expired:
            self._expired.add(spec.con_id)

    def _build(self) -> None:
        stock_hours = self._hours(trading_hours.STK_ETH, EASTERN)
        stock_liquid = self._hours(trading_hours.STK_RTH, EASTERN)
        for stock in STOCKS:
            self._add(ContractSpec(
                con_id=stock.con_id, symbol=stock.symbol, sec_type="STK", exchange="SMART",
                primary_exchange=stock.primary_exchange, currency="USD", local_symbol=stock.symbol,
                trading_class=_stock_trading_class(stock), multiplier=1.0,
                last_trade_date="", min_tick=0.01, long_name=stock.long_name, valid_exchanges=STOCK_EXCHANGES,
                order_types=STOCK_ORDER_TYPES, time_zone_id=EASTERN, trading_hours=stock_hours,
                liquid_hours=stock_liquid, under_con_id=0, stock_type=stock.stock_type, industry=stock.industry,
                category=stock.category, subcategory=stock.subcategory))
        index_hours = self._hours(trading_hours.IND, EASTERN)
        for symbol, (con_id, exchange, long_name) in INDICES.items():
            self._add(ContractSpec(
                con_id=con_id, symbol=symbol, sec_type="IND", exchange=exchange, primary_exchange="",
                currency="USD", local_symbol=symbol, trading_class=symbol, multiplier=1.0, last_trade_date="",
                min_tick=0.01, long_name=long_name, valid_exchanges=exchange, order_types=INDEX_ORDER_TYPES,
                time_zone_id=EASTERN, trading_hours=index_hours, liquid_hours=index_hours, under_con_id=0,
                stock_type=""))
        future_hours = self._hours(trading_hours.FUT, CENTRAL)
        future_liquid = self._hours(trading_hours.IND, CENTRAL)
        for future in universe.FUTURES:
            for month, expiry in contract_months(future.cycle, self.today, LIVE_FUTURES, EXPIRED_FUTURES):
                code = future.trading_class
                self._add(ContractSpec(
                    con_id=future_con_id(code, expiry), symbol=future.symbol, sec_type="FUT",
                    exchange=future.exchange, primary_exchange="", currency="USD",
                    local_symbol=f"{code}{MONTH_CODES[month.month]}{month.year % 10}", trading_class=code,
                    multiplier=future.multiplier, last_trade_date=f"{expiry:%Y%m%d}", min_tick=future.min_tick,
                    long_name=future.long_name, valid_exchanges=future.exchange, order_types=FUTURE_ORDER_TYPES,
                    time_zone_id=CENTRAL, trading_hours=future_hours, liquid_hours=future_liquid,
                    under_con_id=INDICES[future.index][0] if future.index else 0, stock_type="",
                    contract_month=f"{month:%Y%m}"), expired=expiry < self.today)
        forex_hours = self._hours(trading_hours.CASH, EASTERN)
        for pair, (con_id, long_name) in FOREX.items():
            base, quote = pair.split(".")
            self._add(ContractSpec(
                con_id=con_id, symbol=base, sec_type="CASH", exchange="IDEALPRO", primary_exchange="",
                currency=quote, local_symbol=pair, trading_class=pair, multiplier=1.0, last_trade_date="",
                min_tick=0.005 if quote == "JPY" else 0.00005, long_name=long_name,
                valid_exchanges="IDEALPRO,FXCONV", order_types=FOREX_ORDER_TYPES, time_zone_id=EASTERN,
                trading_hours=forex_hours, liquid_hours=forex_hours, under_con_id=0, stock_type=""))
