"""IB's order types beyond MKT and LMT: which exist, what each requires, which IB simulates, and the auctions.

Stop variants (STP, STP LMT, TRAIL) rest until their stop is elected, then work as a market (STP, TRAIL) or limit
(STP LMT) order. IB holds the stop itself ("simulates" it) where the destination has no native stop: US stocks
routed SMART and IDEALPRO forex. Its order status page says of such orders: "PreSubmitted - indicates that a
simulated order type has been accepted by the IB system and that this order has yet to be elected. The order is held
in the IB system until the election criteria are met", so they stay PreSubmitted until elected, then go Submitted.
CME takes stops natively: a futures stop is Submitted at once (https://interactivebrokers.github.io/tws-api/
order_submission.html, orderStatus; https://interactivebrokers.github.io/tws-api/trigger_method_limit.html: trigger
methods "only apply to stop orders simulated by IB").

MOC and LOC fill in the closing auction of their day, MKT and LMT with tif OPG (MOO, LOO) in the opening auction.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from simulator.engine import trading_hours
from simulator.engine.ib_messages import REJECTED_PREFIX
from simulator.engine.orders import OrderRequest

ORDER_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT", "TRAIL", "MOC", "LOC"})
STOP_TYPES = frozenset({"STP", "STP LMT", "TRAIL"})
CLOSE_TYPES = frozenset({"MOC", "LOC"})
OPENING_TIF = "OPG"
# the types an opening-auction order may have (MOO = MKT + OPG, LOO = LMT + OPG)
OPENING_TYPES = frozenset({"MKT", "LMT"})
# auctions only exist on the stock exchanges of the catalog
AUCTION_SEC_TYPES = frozenset({"STK"})
# where IB holds the stop itself (see the module text); elsewhere the exchange does
SIMULATED_STOP_SEC_TYPES = frozenset({"STK", "CASH"})

# codes page (https://interactivebrokers.github.io/tws-api/message_codes.html): 111, 113, 387
TIF_TYPE_INCOMPATIBLE = (111, "The TIF (Tif type) and the order type are incompatible.")
MOC_LOC_NEED_DAY = (113, "The Tif option should be set to DAY for MOC and LOC orders.")
UNSUPPORTED_TYPE = (387, "Unsupported order type for this exchange and security type.")
# IB rejects an opening-auction order from the auction's cutoff until the close with this 201 (quoted for a MOO placed
# at 16:00 ET in QuantConnect/Lean.Brokerages.InteractiveBrokers#204: "Order rejected - reason:Exchange is
# closed."); NYSE and NASDAQ stop taking MOO/LOO at 09:28 and MOC/LOC at 15:50 ET, and IB answers the same way
EXCHANGE_CLOSED = (201, f"{REJECTED_PREFIX}Exchange is closed.")
NEW_YORK = ZoneInfo("America/New_York")
OPEN_CUTOFF = time(9, 28)
CLOSE_CUTOFF = time(15, 50)

Rejection = tuple[int, str]


def is_stop(request: OrderRequest) -> bool:
    return request.order_type in STOP_TYPES


def is_simulated_stop(spec, request: OrderRequest) -> bool:
    """A stop IB holds itself: PreSubmitted until elected."""
    return is_stop(request) and spec.sec_type in SIMULATED_STOP_SEC_TYPES


def is_close_auction(request: OrderRequest) -> bool:
    return request.order_type in CLOSE_TYPES


def is_open_auction(request: OrderRequest) -> bool:
    return request.tif == OPENING_TIF


def elected_type(request: OrderRequest) -> str:
    """What a stop-variant works as once elected: LMT for STP LMT and LOC/LOO, else MKT."""
    return "LMT" if request.order_type in ("STP LMT", "LOC", "LMT") else "MKT"


def _positive(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and 0 < value < 1e300


def order_type_rejection(spec, request: OrderRequest) -> Rejection | None:
    """IB's error for an order type, its prices or its tif that cannot go together (None when they can)."""
    order_type = request.order_type
    if order_type not in ORDER_TYPES:
        return UNSUPPORTED_TYPE
    auction = is_close_auction(request) or is_open_auction(request)
    if auction and spec.sec_type not in AUCTION_SEC_TYPES:
        return UNSUPPORTED_TYPE
    if is_close_auction(request) and request.tif != "DAY":
        return MOC_LOC_NEED_DAY
    if is_open_auction(request) and order_type not in OPENING_TYPES:
        return TIF_TYPE_INCOMPATIBLE
    if order_type in ("STP", "STP LMT") and not _positive(request.aux_price):
        return 201, f"{REJECTED_PREFIX}A stop price is required for a {order_type} order"
    if order_type == "TRAIL" and not (_positive(request.aux_price) or _positive(request.trailing_percent)):
        return 201, f"{REJECTED_PREFIX}A trailing amount or trailing percent is required for a TRAIL order"
    return None


def needs_limit(request: OrderRequest) -> bool:
    return request.order_type in ("LMT", "STP LMT", "LOC")


def auction_time(spec, request: OrderRequest, moment: datetime) -> datetime | None:
    """When the auction of an order placed at `moment` takes place (None: not an auction order): the close of the
    regular session it works in for MOC/LOC, the next regular open for OPG orders."""
    kind = trading_hours.session_kind(spec.sec_type, use_rth=True)
    if is_close_auction(request):
        return trading_hours.session_at_or_after(kind, moment).end
    if is_open_auction(request):
        session = trading_hours.session_at_or_after(kind, moment)
        if session.start <= moment:
            session = trading_hours.session_at_or_after(kind, session.end + timedelta(seconds=1))
        return session.start
    return None


def auction_cutoff_rejection(spec, request: OrderRequest, moment: datetime) -> Rejection | None:
    """EXCHANGE_CLOSED for an auction order that comes after its auction's cutoff on a trading day."""
    if not (is_close_auction(request) or is_open_auction(request)):
        return None
    kind = trading_hours.session_kind(spec.sec_type, use_rth=True)
    session = trading_hours.session_at_or_after(kind, moment)
    day = session.start.astimezone(NEW_YORK).date()
    if session.start > moment and moment.astimezone(NEW_YORK).date() != day:
        return None
    cutoff = OPEN_CUTOFF if is_open_auction(request) else CLOSE_CUTOFF
    cutoff_at = datetime.combine(day, cutoff, NEW_YORK)
    if cutoff_at <= moment < session.end:
        return EXCHANGE_CLOSED
    return None
