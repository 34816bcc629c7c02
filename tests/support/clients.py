"""IB clientIds for the tests' own ib_async clients: one counter for the whole test session, so that no two
clients of one simulator ever ask for the same id (IB answers 326)."""
import itertools

FIRST_TEST_CLIENT_ID = 100

_client_ids = itertools.count(FIRST_TEST_CLIENT_ID)


def next_client_id() -> int:
    return next(_client_ids)
