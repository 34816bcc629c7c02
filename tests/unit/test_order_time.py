"""Human order times to IB's UTC form."""
from datetime import datetime, timezone

import pytest

from lib.errors import BadRequest
from lib.trading.order_time import to_ib_utc
from tests.support.clock import NOW


@pytest.mark.parametrize("text, expected", [
    ("today 15:55 America/New_York", "20261124-20:55:00"),       # EST, UTC-5
    ("tomorrow 9:35 America/New_York", "20261125-14:35:00"),
    ("2026-07-01 09:30:15 America/New_York", "20260701-13:30:15"),  # EDT, UTC-4
    ("today 16:00 Europe/London", "20261124-16:00:00"),
    ("20261124-20:55:00", "20261124-20:55:00"),
    ("  Today 15:55 UTC ", "20261124-15:55:00"),
])
def test_forms(text, expected):
    assert to_ib_utc(text, NOW) == expected


def test_today_is_the_day_in_the_given_zone():
    late_utc = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # still the 24th in New York
    assert to_ib_utc("today 15:55 America/New_York", late_utc) == "20261124-20:55:00"


@pytest.mark.parametrize("text, message", [
    ("at noon", "must look like"),
    ("today 15:55 Mars/Olympus", "unknown time zone"),
    ("today 25:00 UTC", "hour must be"),
    ("20261324-20:55:00", "not a valid time"),
    (1555, "must be text"),
])
def test_bad_forms_are_bad_requests(text, message):
    with pytest.raises(BadRequest, match=message):
        to_ib_utc(text, NOW)
