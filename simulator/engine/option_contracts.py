"""The option contracts of the chains reqSecDefOptParams lists, generated on demand from the chain rules (options)
instead of listed: every expiry, strike and right of every index and ETF would be tens of thousands of contracts.

A conId is a pure function of (underlying, expiry, right, strike), and can be read back: OPTION_BASE plus, from
the high digits down, the underlying's place among the catalog's optionable contracts, the expiry's week (counted
from EPOCH_MONDAY, modulo WEEKS), the right and the strike in whole points. So a conId found in one session names the
same option in the next, and reqContractDetails by conId alone works without any list.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from simulator.engine import options, trading_hours
from simulator.engine.catalog import EASTERN, Catalog, ContractQuery, ContractSpec

OPTION_BASE = 1_000_000_000
WEEKS = 256
STRIKE_POINTS = 32_768
EPOCH_MONDAY = date(2020, 1, 6)
RIGHTS = ("C", "P")
HOURS_DAYS = 7
# Cboe's penny interval program quotes SPY, QQQ and IWM options in pennies at every price, and IB reports minTick
# 0.01 for the other ETF classes (their 0.05 above $3 is in the market rule); index options (SPX, NDX, RUT, VIX)
# trade in 0.05 below $3 (Cboe Options rules, "Minimum increments")
ETF_OPTION_TICK = 0.01
INDEX_OPTION_TICK = 0.05
OPTION_EXCHANGES = "SMART,CBOE,AMEX,ISE,PHLX,BOX,NASDAQOM,BATS,EDGX,MIAX,PEARL,EMERALD,MEMX,IBUSOPT"
INDEX_OPTION_EXCHANGES = "SMART,CBOE"
OPTION_ORDER_TYPES = ("ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,"
                      "DIS,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,OPENCLOSE,PEGMIDVOL,"
                      "PEGMKTVOL,PEGPRIMVOL,PEGSRFVOL,POSTONLY,PRICECHK,REL,REL2MID,RELPCTOFS,RPI,SCALE,SCALERST,"
                      "SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,VOLAT,WHATIF")


def occ_symbol(symbol: str, expiry: str, right: str, strike: float) -> str:
    """The OCC option symbol IB reports as localSymbol: root padded to 6, YYMMDD, right, strike in 1/1000."""
    return f"{symbol:<6}{expiry[2:]}{right}{round(strike * 1000):08d}"


def _week_of(day: date) -> int:
    return (day - EPOCH_MONDAY).days // 7


def _right(text: str) -> str:
    return {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}.get(text.strip().upper(), "")


class OptionContracts:
    """The options on the catalog's indices and ETFs.

    Parameters:
        catalog: the listed contracts (underlyings, and the day the chains are computed for).
        price_of: the current price of an underlying by conId (the market's), which sets the chain's strikes.
    """

    def __init__(self, catalog: Catalog, price_of: Callable[[int], float]):
        self.catalog = catalog
        self.price_of = price_of
        self.underlyings = [spec for spec in catalog.all() if options.has_options(spec)]
        self._place = {spec.con_id: place for place, spec in enumerate(self.underlyings)}
        zone = ZoneInfo(EASTERN)
        self._hours = trading_hours.hours_text(trading_hours.STK_RTH, catalog.today, HOURS_DAYS, zone)

    def chain(self, under: ContractSpec) -> options.Chain:
        return options.chain(under, self.price_of(under.con_id), self.catalog.today)

    def con_id(self, under: ContractSpec, expiry: str, right: str, strike: float) -> int:
        week = _week_of(datetime.strptime(expiry, "%Y%m%d").date()) % WEEKS
        code = ((self._place[under.con_id] * WEEKS + week) * len(RIGHTS) + RIGHTS.index(right)) * STRIKE_POINTS
        return OPTION_BASE + code + int(round(strike))

    def by_con_id(self, con_id: int) -> ContractSpec | None:
        code = con_id - OPTION_BASE
        if code < 0:
            return None
        code, strike = divmod(code, STRIKE_POINTS)
        code, right = divmod(code, len(RIGHTS))
        place, week = divmod(code, WEEKS)
        if place >= len(self.underlyings) or strike == 0:
            return None
        under = self.underlyings[place]
        # the week nearest to today with this residue, and that week's expiry among the chain's
        today_week = _week_of(self.catalog.today)
        week += (today_week - week + WEEKS // 2) // WEEKS * WEEKS
        monday = EPOCH_MONDAY + timedelta(weeks=week)
        expiries = [e for e in options.expirations(self.catalog.today)
                    if monday <= datetime.strptime(e, "%Y%m%d").date() < monday + timedelta(days=7)]
        if not expiries:
            return None
        return self._spec(under, expiries[0], RIGHTS[right], float(strike))

    def match(self, query: ContractQuery) -> list[ContractSpec]:
        """The options a query describes: symbol (or OCC localSymbol) required; an expiry "YYYYMMDD" or contract
        month "YYYYMM", a strike and a right narrow it, empty ones are wildcards over the current chain."""
        symbol, expiry, right, strike = query.symbol.strip().upper(), query.last_trade_date.strip(), query.right, \
            query.strike
        if query.local_symbol.strip():
            local = query.local_symbol.strip().upper()
            if len(local) != 21:
                return []
            symbol, expiry, right, strike = local[:6].strip(), "20" + local[6:12], local[12], int(local[13:]) / 1000
        right = _right(right)
        unders = [spec for spec in self.underlyings if spec.symbol == symbol]
        if len(unders) != 1 or (query.currency and query.currency.upper() != "USD"):
            return []
        if query.multiplier not in ("", None, 0, 0.0) and float(query.multiplier) != options.OPTION_MULTIPLIER:
            return []
        under = unders[0]
        if query.trading_class and query.trading_class.strip().upper() != under.symbol:
            return []
        exchange = query.exchange.strip().upper() or "SMART"
        valid = (INDEX_OPTION_EXCHANGES if under.sec_type == "IND" else OPTION_EXCHANGES).split(",")
        if exchange not in valid:
            return []
        chain = self.chain(under)
        expiries = [e for e in chain.expirations if not expiry or e.startswith(expiry)]
        strikes = [s for s in chain.strikes if not strike or s == strike]
        rights = [right] if right else list(RIGHTS)
        found = [self._spec(under, e, r, s) for e in expiries for s in strikes for r in rights]
        return [spec if exchange == spec.exchange else dataclasses.replace(spec, exchange=exchange)
                for spec in found]

    def _spec(self, under: ContractSpec, expiry: str, right: str, strike: float) -> ContractSpec:
        index = under.sec_type == "IND"
        return ContractSpec(
            con_id=self.con_id(under, expiry, right, strike), symbol=under.symbol, sec_type="OPT", exchange="SMART",
            primary_exchange="", currency="USD", local_symbol=occ_symbol(under.symbol, expiry, right, strike),
            trading_class=under.symbol, multiplier=options.OPTION_MULTIPLIER, last_trade_date=expiry,
            min_tick=INDEX_OPTION_TICK if index else ETF_OPTION_TICK, long_name=under.long_name,
            valid_exchanges=INDEX_OPTION_EXCHANGES if index else OPTION_EXCHANGES, order_types=OPTION_ORDER_TYPES,
            time_zone_id=EASTERN, trading_hours=self._hours, liquid_hours=self._hours, under_con_id=under.con_id,
            stock_type="", contract_month=expiry[:6], strike=strike, right=right)
