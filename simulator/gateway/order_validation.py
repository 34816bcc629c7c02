"""The checks IB Gateway makes on a placeOrder message before it looks the contract up.

ib_async's and ib_insync's own request-error test (tests/test_requests.py: a what-if order for Stock("XXX"),
which has no exchange) expects error 321 on the order's id, not the 200 a contract lookup would give: the
gateway validates the order's routing first.
"""

from __future__ import annotations

from simulator.protocol.requests_orders import PlaceOrder

MISSING_EXCHANGE = (321, "Error validating request.-'bN' : cause - Missing order exchange")


def validation_error(request: PlaceOrder) -> tuple[int, str] | None:
    """(code, text) of the first request-level check the order fails, else None."""
    if not request.contract.exchange.strip():
        return MISSING_EXCHANGE
    return None
