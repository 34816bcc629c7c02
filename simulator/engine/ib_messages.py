"""IB's message codes and texts that the paper gateway sends through the API's error callback, each with its source.

Sources: IB's TWS API "Message Codes" page (https://interactivebrokers.github.io/tws-api/message_codes.html, the
"System Message Codes", "Warning Message Codes" and "Client Error Codes" tables), and, for codes that page does not
list, the ib_insync / ib_async issue trackers where users quote what IB Gateway sent them.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

# --- connectivity (message codes page, "System Message Codes") ------------------------------------------------

CONNECTIVITY_LOST = (1100, "Connectivity between IB and Trader Workstation has been lost.")
CONNECTIVITY_RESTORED_DATA_LOST = (1101, "Connectivity between IB and Trader Workstation has been restored - data "
                                         "lost.")
CONNECTIVITY_RESTORED_DATA_KEPT = (1102, "Connectivity between IB and Trader Workstation has been restored - data "
                                         "maintained. All data farms are connected: usfarm; ushmds; secdefnj.")
# what IB Gateway logs around a reset (IbcAlpha/IBC#143, nautechsystems/nautilus_trader#4412): the farms break with
# the connection and report OK again once it is back
FARMS_BROKEN = (
    (2103, "Market data farm connection is broken:usfarm"),
    (2105, "HMDS data farm connection is broken:ushmds"),
)

# --- pacing (message codes page, "Client Error Codes": 100; 162 as quoted in QuantConnect/Lean#607) -----------

MAX_MESSAGE_RATE = (100, "Max rate of messages per second has been exceeded.")
HMDS_PREFIX = "Historical Market Data Service error message:"
HISTORICAL_PACING = (162, HMDS_PREFIX + "Historical data request pacing violation")

# --- market data (354 and 10089 as quoted in atreyu-backtrader-api#8 and IB4m#158; 10197 on the codes page) -----

MARKET_DATA_CODES = (354, 10089, 10197)


def market_data_error(code: int, symbol: str, exchange: str) -> str:
    """The text IB sends with a market data error for `symbol` on `exchange`."""
    line = f"{symbol} {exchange}/TOP/ALL"
    if code == 354:
        return f"Requested market data is not subscribed.Delayed market data is available.{line}"
    if code == 10089:
        return ("Requested market data requires additional subscription for API. See link in 'Market Data "
                f"Connections' dialog for more details.Delayed market data is available.{line}")
    if code == 10197:
        return "No market data during competing live session"
    raise ValueError(f"{code} is not a market data error code ({', '.join(map(str, MARKET_DATA_CODES))})")


# --- orders ---------------------------------------------------------------------------------------------------

# message codes page, 103: an orderId used before, or not above every id the client used or was shown in openOrder
DUPLICATE_ORDER_ID = (103, "Duplicate order id")

# 201 (codes page): the reason follows the prefix
ORDER_REJECTED = 201
REJECTED_PREFIX = "Order rejected - reason:"
# 202 (codes page, "Order cancelled"): IB Gateway writes it as below, with an empty reason when the trader cancelled
# and IB's reason when IB cancelled (quoted in rust-ibapi's and ib-ruby's order tests, and in
# QuantConnect/Lean.Brokerages.InteractiveBrokers#249); it comes with the orderStatus Cancelled
ORDER_CANCELED = (202, "Order Canceled - reason:")
# 404 (codes page): a sell held while IB locates shares; ib_insync treats it as a warning
LOCATING_SHARES = (404, "Order held while securities are located.")
LOCATE_WHY_HELD = "locate"
# 10349: not on the codes page; quoted in ib-api-reloaded/ib_async#191 and #217 ("TWS uses the preset to override a
# missing setting"); the order keeps working, but ib_insync 0.9.86 marks it Cancelled (not in its warning list)
TIF_PRESET = (10349, "Order TIF was set to DAY based on order preset.")
# 2109 (codes page, warnings): IB ignores outsideRth on market orders and on contracts without extended hours and
# queues the order for regular hours; text as IB Gateway sends it, quoted in IB adapters' error tables (C#, Ruby and
# Python ones) and in pilwon/node-ib#121 for futures
OUTSIDE_RTH_IGNORED = (2109, "Order Event Warning:Attribute 'Outside Regular Trading Hours' is ignored based on the "
                             "order type and destination. PlaceOrder is now being processed.")
# 399 (codes page: "Order message error"): "Order Message:\n<ACTION> <qty> <contract>\nWarning: ..." with the
# contract described as IB does ("CYCU NASDAQ.NMS", "ES DEC'26")
ORDER_MESSAGE = 399
QUEUED_UNTIL_OPEN = "Your order will not be placed at the exchange until {when}."
# another 399 IB sends for an order it keeps working ("Order Message:\nSELL 2 ES DEC'16\nWarning: Your order was
# repriced ...", as logged and quoted in the IbPy-based IBroke adapter's order-error handling)
REPRICED = "Your order was repriced so as not to cross a related resting order"
# the warning codes order-warning may send, and the text each carries by default
ORDER_WARNING_CODES = (TIF_PRESET[0], ORDER_MESSAGE, OUTSIDE_RTH_IGNORED[0])


def order_message(action: str, quantity: float, description: str, warning: str) -> str:
    """A 399 text: IB's "Order Message" block naming the order, then its warning."""
    return f"Order Message:\n{action} {quantity:g} {description}\nWarning: {warning}"


def queued_until(moment: datetime, zone: str) -> str:
    """399's warning for an order placed outside its trading hours, with the open in the contract's zone."""
    local = moment.astimezone(ZoneInfo(zone))
    return QUEUED_UNTIL_OPEN.format(when=f"{local:%Y-%m-%d %H:%M:%S} {zone}")


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def contract_description(spec) -> str:
    """A contract as IB names it in an Order Message: "SPY ARCA", "AAPL NASDAQ.NMS", "MNQ DEC'26", "EUR.USD"."""
    if spec.sec_type == "FUT" and len(spec.last_trade_date) >= 6:
        year, month = spec.last_trade_date[2:4], int(spec.last_trade_date[4:6])
        return f"{spec.symbol} {_MONTHS[month - 1]}'{year}"
    if spec.sec_type == "STK":
        venue = spec.primary_exchange or spec.exchange
        return f"{spec.symbol} {venue}.NMS" if venue == "NASDAQ" else f"{spec.symbol} {venue}"
    return spec.local_symbol
