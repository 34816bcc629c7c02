"""When a stop is elected: the price its trigger method watches, the trailing stop's ratchet, the election itself.

IB's trigger methods (https://interactivebrokers.github.io/tws-api/trigger_method_limit.html): 0 the instrument's
default, which is "Last" for stocks and futures and "Bid/ask" for forex (CASH has no last-driven method); 1 double
bid/ask, 2 last, 3 double last, 4 bid/ask, 7 last or bid/ask, 8 midpoint. A buy stop is elected when the watched
price rises to the stop, a sell stop when it falls to it; on bid/ask a buy watches the ask and a sell the bid. The
simulated prices move on a lattice with no tick-by-tick history, so the "double" methods elect on one crossing.
"""

from __future__ import annotations

from simulator.engine.orders import OrderRecord, OrderRequest

LAST, BID_ASK, LAST_OR_BID_ASK, MIDPOINT = "last", "bid/ask", "last or bid/ask", "midpoint"
_METHODS = {1: BID_ASK, 2: LAST, 3: LAST, 4: BID_ASK, 7: LAST_OR_BID_ASK, 8: MIDPOINT}


def trigger_kind(spec, request: OrderRequest) -> str:
    """What the order's trigger method watches on this contract."""
    method = _METHODS.get(request.trigger_method)
    if method is None or (spec.sec_type == "CASH" and method in (LAST, LAST_OR_BID_ASK)):
        return BID_ASK if spec.sec_type == "CASH" else LAST
    return method


def watched_prices(market, spec, request: OrderRequest) -> list[float]:
    """The prices that may elect this order now (one, or two for "last or bid/ask")."""
    quote = market.quote(spec.con_id)
    side = quote.ask if request.action == "BUY" else quote.bid
    kind = trigger_kind(spec, request)
    if kind == LAST:
        return [quote.last]
    if kind == BID_ASK:
        return [side]
    if kind == MIDPOINT:
        return [(quote.bid + quote.ask) / 2]
    return [quote.last, side]


def stop_price(request: OrderRequest) -> float | None:
    """The level that elects the order: auxPrice for STP / STP LMT, the current trailing stop for TRAIL."""
    return request.trail_stop_price if request.order_type == "TRAIL" else request.aux_price


def _trail_distance(request: OrderRequest, price: float) -> float:
    if request.trailing_percent is not None and 0 < request.trailing_percent < 1e300:
        return price * request.trailing_percent / 100
    return request.aux_price or 0.0


def ratchet(spec, request: OrderRequest, prices: list[float]) -> bool:
    """Move a TRAIL's stop with the favourable price (up for a sell, down for a buy), never back; the first call
    sets it when the client gave none. Returns whether the stop moved."""
    if request.order_type != "TRAIL" or not prices:
        return False
    tick = spec.min_tick or 0.0
    buying = request.action == "BUY"
    price = min(prices) if buying else max(prices)
    distance = _trail_distance(request, price)
    level = price + distance if buying else price - distance
    if tick > 0:
        level = round(round(level / tick) * tick, 10)
    current = request.trail_stop_price
    if current is not None and 0 < current < 1e300 and (level >= current if buying else level <= current):
        return False
    request.trail_stop_price = level
    return True


def elects(request: OrderRequest, prices: list[float]) -> bool:
    """Whether any of the watched prices has reached the stop."""
    level = stop_price(request)
    if level is None:
        return False
    if request.action == "BUY":
        return any(price >= level for price in prices)
    return any(price <= level for price in prices)


def check_election(market, record: OrderRecord) -> bool:
    """Ratchet a trailing stop, then elect the order if its stop is reached; True once it is elected."""
    if record.triggered:
        return True
    spec, request = record.contract, record.request
    prices = watched_prices(market, spec, request)
    ratchet(spec, request, prices)
    if elects(request, prices):
        record.triggered = True
    return record.triggered
