"""Imported once by the process the test servers fork from (tests.support.forked): the libraries `python -m
simulator` and gunicorn's `main:app` import, and the NYSE calendars they build on first use, so that every forked
server starts with them in memory. Not the service's strategies (nor intents, the dashboard or main, which import
them): each server finds its own, and main's import creates the app from one server's environment."""
from datetime import date

import gunicorn.app.wsgiapp  # noqa: F401
import gunicorn.workers.gthread  # noqa: F401

import lib.http.openapi  # noqa: F401
import lib.services  # noqa: F401
import simulator.app  # noqa: F401
from lib.trading import market_calendar
from simulator.engine import trading_hours

_today = date.today()
trading_hours.us_holidays(_today.year)
market_calendar.is_trading_day(_today)
