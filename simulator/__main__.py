"""Command line entry point: `python -m simulator` runs the paper gateway until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import re
import signal
import sys
from datetime import datetime, timezone

from simulator.app import Simulator, SimulatorConfig
from simulator.engine.trade_log import MAX_DAYS

log = logging.getLogger("simulator.cli")

ACCOUNT_PATTERN = re.compile(r"^[A-Z]{1,3}[0-9]{1,10}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
EXIT_OK, EXIT_FAILED = 0, 1


def _int(text: str, what: str = "an integer") -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def _port(text: str) -> int:
    value = _int(text, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not in 0..65535 (0 = a free port)")
    return value


def _seed(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _cash(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _delay_ms(text: str) -> float:
    value = _finite(text)
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"{text} is not in 0..60000 ms")
    return value


def _rate(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative (0 = no limit)")
    return value


def _interval_s(text: str) -> float:
    value = _finite(text)
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 86400] seconds")
    return value


def _days(text: str) -> int:
    value = _int(text)
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{value} is not in 1..{MAX_DAYS} (TWS shows at most {MAX_DAYS} days)")
    return value


def _account(text: str) -> str:
    if not ACCOUNT_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} does not look like an IB account id (e.g. DU1234567)")
    return text


def _currency(text: str) -> str:
    value = text.upper()
    if not CURRENCY_PATTERN.match(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a 3-letter currency code")
    return value


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-24T15:30:00Z)") from None
    # a time without zone is read as UTC, the simulator's clock zone
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Paper IB Gateway: serves the TWS API socket protocol with simulated markets and account.")
    parser.add_argument("--host", default="127.0.0.1", help="address of the TWS API server (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=4002, help="TWS API port (default 4002; 0 = a free port)")
    parser.add_argument("--seed", type=_seed, default=1, help="seed of the deterministic price paths (default 1)")
    parser.add_argument("--state", metavar="PATH", help="JSON file keeping the account across restarts")
    parser.add_argument("--account", type=_account, default="DU1234567", help="account id (default DU1234567)")
    parser.add_argument("--base-currency", type=_currency, default="USD", help="account base currency (default USD)")
    parser.add_argument("--cash", type=_cash, default=1_000_000.0,
                        help="starting cash in the base currency (default 1000000)")
    parser.add_argument("--admin-port", type=_port, default=None,
                        help="port of the JSON admin API on 127.0.0.1 (0 = a free port; default: no admin API)")
    parser.add_argument("--now", type=_timestamp, default=None,
                        help="freeze the simulated clock at this ISO 8601 time (default: real time)")
    parser.add_argument("--start-in-session", action="store_true",
                        help="without --now, when US stock regular hours are closed, run the clock from 10:00 New "
                             "York of the last session, so orders fill at any hour (make run uses it)")
    parser.add_argument("--fill-delay-ms", type=_delay_ms, default=5.0,
                        help="delay before an accepted order (or the next partial fill) fills (default 5)")
    parser.add_argument("--fills", choices=["auto", "step"], default="auto",
                        help="auto: orders fill on timers as they arrive and as prices move (default); step: only "
                             "on POST /match and POST /clock/step, reproducibly, with the clock frozen")
    parser.add_argument("--max-messages-per-s", type=_rate, default=50.0,
                        help="messages a client may send per second before error 100, as IB (default 50; 0 = no "
                             "limit)")
    parser.add_argument("--execution-days", type=_days, default=1,
                        help="days of executions and completed orders reported, as TWS's Trade Log setting "
                             "(default 1: since midnight New York, as IB Gateway)")
    parser.add_argument("--account-update-s", type=_interval_s, default=180.0,
                        help="interval of account value, portfolio and summary updates, pushed also on each "
                             "position change (default 180, as IB)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging level on stderr (default INFO)")
    return parser


def _supported_currencies(sim: Simulator) -> set[str]:
    pairs = [spec for spec in sim.world.catalog.all() if spec.sec_type == "CASH"]
    return {spec.symbol for spec in pairs} | {spec.currency for spec in pairs}


def _listening_line(sim: Simulator) -> str:
    admin_port = sim.admin_port if sim.admin_port is not None else "-"
    clock = sim.world.clock
    how = clock.describe()
    if how == "running":
        how = "running from the last session: US markets are closed now"
    return (f"simulator listening host={sim.config.host} port={sim.port} admin_port={admin_port} "
            f"account={sim.config.account} seed={sim.config.seed} "
            f"clock={clock.now().isoformat(timespec='seconds')} ({how})")


async def serve(sim: Simulator) -> None:
    """Run `sim` until SIGTERM or SIGINT, then stop it (which flushes the state)."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop_requested.set)
    await sim.start()
    try:
        # the one line tests and scripts wait for; stderr, unbuffered, whatever the log level
        sys.stderr.write(_listening_line(sim) + "\n")
        sys.stderr.flush()
        await stop_requested.wait()
        log.info("stopping")
    finally:
        await sim.stop()
    log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SimulatorConfig(host=args.host, port=args.port, admin_port=args.admin_port, seed=args.seed,
                             state_path=args.state, account=args.account, base_currency=args.base_currency,
                             cash=args.cash, now=args.now, start_in_session=args.start_in_session,
                             fill_delay_ms=args.fill_delay_ms,
                             max_messages_per_s=args.max_messages_per_s, execution_days=args.execution_days,
                             account_update_s=args.account_update_s, fills=args.fills)
    try:
        sim = Simulator(config)
    except (ValueError, KeyError) as exc:
        parser.error(str(exc))
    currencies = _supported_currencies(sim)
    if config.base_currency not in currencies:
        parser.error(f"argument --base-currency: {config.base_currency} is not one of {', '.join(sorted(currencies))}")
    try:
        asyncio.run(serve(sim))
    except json.JSONDecodeError as exc:
        print(f"{parser.prog}: cannot run: state file {args.state} is not valid JSON: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, ValueError, KeyError) as exc:
        # a busy port, an unreadable state file: say what, without a traceback
        print(f"{parser.prog}: cannot run: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
