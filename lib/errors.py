"""Typed errors the service raises; main.py maps each family to an HTTP status."""


class ServiceError(Exception):
    """Base of the errors this service raises on purpose."""


class BadRequest(ServiceError):
    """The request is malformed or names invalid parameters (HTTP 400)."""


class TradingDisabled(ServiceError):
    """The kill switch (config `tradingEnabled: false`) refuses an order-capable intent (HTTP 403)."""


class PreconditionFailed(ServiceError):
    """The intent cannot run now because something it depends on has not happened (HTTP 409)."""


class MissingConfigKey(ServiceError):
    """An intent needs a config key that neither config/common nor config/{mode} defines."""

    def __init__(self, key: str):
        super().__init__(f"config key {key!r} is not set in config/common or the trading mode's config")
        self.key = key


class InvalidConfig(ServiceError):
    """A config key holds a value the intent cannot use."""

    def __init__(self, key: str, expected: str, value):
        super().__init__(f"config key {key!r} must be {expected}, got {value!r}")
        self.key = key


class GatewayUnavailable(ServiceError):
    """IB Gateway is not connected or dropped during the call (HTTP 503)."""


class GatewayTimeout(ServiceError):
    """Work on the IB loop did not finish within its time budget (HTTP 504)."""


class IBError(ServiceError):
    """IB answered a request with an error.

    Attributes:
        code: IB's error code (e.g. 200 no security definition, 201 order rejected).
        message: IB's error text.
        req_id: the request or order id IB reported, -1 when none.
    """

    def __init__(self, code: int, message: str, req_id: int = -1):
        super().__init__(f"IB error {code}: {message}")
        self.code = code
        self.message = message
        self.req_id = req_id


def note_orders_sent(exc: BaseException, orders: list[dict]) -> None:
    """Mark `exc` as raised after `orders` may have reached the broker, so the HTTP answer and the run's activity
    document say which orders left whatever the error (a 503 or 504 alone reads as "nothing happened")."""
    exc.orders_sent = [*orders_sent(exc), *orders]


def orders_sent(exc: BaseException) -> list[dict]:
    """The orders that may have reached the broker before `exc` was raised (`note_orders_sent`), or []."""
    return list(getattr(exc, "orders_sent", []))
