"""The store's errors, raised by every adapter alike."""


class StoreError(Exception):
    """The store failed or refused an operation."""


class NotFound(StoreError):
    """update() of a document that does not exist."""


class AlreadyExists(StoreError):
    """Transaction.create() of a document that exists."""


class Contention(StoreError):
    """Concurrent transactions kept conflicting with this one until the request's time budget ran out; nothing was
    written. The caller may retry after `retry_after_s` seconds (HTTP 503 with Retry-After)."""

    def __init__(self, message: str, *, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class LimitExceeded(ValueError):
    """A write Firestore would refuse for its size: a document over 1 MiB, a string over 1 MiB - 89 bytes, a field
    name over 1,500 bytes, fields nested deeper than 20, a transaction of more than 500 writes."""
