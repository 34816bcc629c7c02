"""The IB client library that the simulator's client-facing tests run through.

ib_async by default; with `IB_CLIENT=ib_insync` the same tests run through ib_insync 0.9.86, its frozen
predecessor, which many people's programs still use (`make test` runs them both ways). The two share an API, so a
test names the library's classes through this module and stays one test.
"""
import importlib
import os

LIBRARIES = ("ib_async", "ib_insync")
NAME = os.environ.get("IB_CLIENT", "ib_async")
if NAME not in LIBRARIES:
    raise ImportError(f"IB_CLIENT must be one of {', '.join(LIBRARIES)}, got {NAME!r}")

_lib = importlib.import_module(NAME)
IB = _lib.IB
Contract, ContFuture, Forex, Future, Index, Stock = (
    _lib.Contract, _lib.ContFuture, _lib.Forex, _lib.Future, _lib.Index, _lib.Stock)
ExecutionFilter, LimitOrder, MarketOrder, Order, TagValue = (
    _lib.ExecutionFilter, _lib.LimitOrder, _lib.MarketOrder, _lib.Order, _lib.TagValue)
StopOrder, StopLimitOrder = _lib.StopOrder, _lib.StopLimitOrder
Client = importlib.import_module(f"{NAME}.client").Client
Decoder = importlib.import_module(f"{NAME}.decoder").Decoder
Option, ScannerSubscription, WshEventData = _lib.Option, _lib.ScannerSubscription, _lib.WshEventData
RequestError = importlib.import_module(f"{NAME}.wrapper").RequestError
DECODER_LOGGER = f"{NAME}.Decoder"


def reported_status(trade) -> str:
    """The order status IB last sent for `trade`: ib_async overwrites `orderStatus.status` with its own
    "ValidationError" on IB's warnings about a live order (399, 404, ...); the trade log keeps what IB said."""
    for entry in reversed(trade.log):
        if not entry.errorCode and not entry.message.startswith("Fill"):
            return entry.status
    return trade.orderStatus.status
