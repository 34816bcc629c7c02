"""The entrypoint's settings, read once from the environment (the login's settings are lib.config's)."""
from __future__ import annotations

import math
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lib.config import DEFAULT_IB_PORTS, TRADING_MODES, SettingsError

APP_DIR = str(Path(__file__).resolve().parents[2])
# IBC parses AutoRestartTime as "hh:mm AM/PM" and ColdRestartTime as "HH:mm" (IbcTws.getColdRestartTime); values must
# not be quoted (IbcAlpha/IBC#318: a quoted time silently became an auto-logoff)
AUTO_RESTART_PATTERN = re.compile(r"^(0[1-9]|1[0-2]):[0-5][0-9] (AM|PM)$")
COLD_RESTART_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
# 'manual' would leave IB's "Existing session detected" dialog on a screen nobody sees
SESSION_ACTIONS = ("primary", "primaryoverride", "secondary")
DISPLAY_PATTERN = re.compile(r"^:(\d+)(\.\d+)?$")
# Cloud Run kills the container 10 s after SIGTERM; the ordered stop must end before that
STOP_BUDGET_S = 9.5


@dataclass(frozen=True)
class EntrypointSettings:
    """How the entrypoint starts and supervises its children.

    Parameters:
        trading_mode, ib_port: the service's trading mode and the gateway's API port (lib.config's defaults).
        display: X display of the virtual screen (":1"); x11_socket_dir holds its socket `X<n>`.
        xvfb_cmd: the display server (XVFB_CMD replaces it; tests use a stand-in).
        gateway_cmd: replaces IBC and IB Gateway (GATEWAY_CMD; `$VAR` is expanded; tests run the simulator).
        gunicorn_cmd, app_dir: the service and the directory it runs in.
        ibc_path, tws_path, tws_settings_path, ibc_ini: IBC's install, the gateway's install root (IBC's
            --tws-path), the gateway's writable settings and IBC's config.ini.
        gateway_version: the installed gateway's version, the name of its directory under <tws_path>/ibgateway.
        java_heap_mb: the gateway JVM's -Xmx; None leaves ibgateway.vmoptions as installed.
        time_zone: the gateway's zone: IBC reads AutoRestartTime and ColdRestartTime in it.
        auto_restart_time: daily restart without a new login ("hh:mm AM/PM"; "" = keep the gateway's setting).
        cold_restart_time: Sunday restart with a full login ("HH:mm"; "" = none).
        existing_session_action: IBC's ExistingSessionDetectedAction.
        second_factor_device: the 2FA device IBC picks when the account has several.
        display_timeout_s: how long the display may take to create its socket.
        gateway_ready_timeout_s: how long the first start may take to complete a TWS API handshake.
        restart_backoff_s, restart_backoff_max_s: delay before restarting an exited gateway, doubling per failure.
        max_gateway_failures: consecutive short-lived gateway runs after which the entrypoint exits non-zero.
        gateway_stable_s: a run at least this long ends the failure streak (daily or Sunday restarts).
        gunicorn_stop_s, child_stop_s: SIGTERM grace of gunicorn, then of the gateway and the display.
    """

    trading_mode: str = "paper"
    ib_port: int = DEFAULT_IB_PORTS[trading_mode]
    display: str = ":1"
    x11_socket_dir: str = "/tmp/.X11-unix"
    xvfb_cmd: tuple[str, ...] = ("Xvfb", ":1", "-screen", "0", "1024x768x16", "-nolisten", "tcp")
    gateway_cmd: tuple[str, ...] | None = None
    gunicorn_cmd: tuple[str, ...] = (sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "main:app")
    app_dir: str = APP_DIR
    ibc_path: str = "/opt/ibc"
    tws_path: str = "/opt/ib"
    tws_settings_path: str = "/root/Jts"
    ibc_ini: str = "/root/ibc/config.ini"
    gateway_version: str | None = None
    java_heap_mb: int | None = 768
    time_zone: str = "America/New_York"
    auto_restart_time: str = "03:30 AM"
    cold_restart_time: str = "12:00"
    existing_session_action: str = "primary"
    second_factor_device: str | None = None
    display_timeout_s: float = 10.0
    gateway_ready_timeout_s: float = 600.0
    restart_backoff_s: float = 1.0
    restart_backoff_max_s: float = 60.0
    max_gateway_failures: int = 5
    gateway_stable_s: float = 300.0
    gunicorn_stop_s: float = 7.5
    child_stop_s: float = 1.0

    @property
    def display_number(self) -> int:
        return int(DISPLAY_PATTERN.match(self.display).group(1))

    @property
    def display_socket(self) -> str:
        return os.path.join(self.x11_socket_dir, f"X{self.display_number}")


def _number(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise SettingsError(f"{name} must be a number >= {minimum:g}, got {raw!r}")
    return value


def _command(environ: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    raw = environ.get(name, "").strip()
    if raw == "":
        return None
    try:
        argv = tuple(shlex.split(raw))
    except ValueError as exc:
        raise SettingsError(f"{name} is not a valid command line: {exc}") from None
    return argv or None


def _matching(environ: Mapping[str, str], name: str, default: str, pattern: re.Pattern, form: str) -> str:
    value = environ.get(name, default).strip()
    if value and not pattern.match(value):
        raise SettingsError(f"{name} must be {form} or empty, got {value!r}")
    return value


def _choice(environ: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = environ.get(name, default).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {environ.get(name)!r}")
    return value


def _time_zone(environ: Mapping[str, str]) -> str:
    zone = environ.get("GATEWAY_TIME_ZONE", EntrypointSettings.time_zone).strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"GATEWAY_TIME_ZONE must be an IANA time zone, got {zone!r}") from None
    return zone


def _display(environ: Mapping[str, str]) -> str:
    display = environ.get("DISPLAY", EntrypointSettings.display).strip()
    if not DISPLAY_PATTERN.match(display):
        raise SettingsError(f"DISPLAY must look like :1 for a local display, got {display!r}")
    return display


def load(environ: Mapping[str, str]) -> EntrypointSettings:
    """Read and validate the entrypoint's settings; raises SettingsError naming the bad variable."""
    defaults = EntrypointSettings
    mode = _choice(environ, "TRADING_MODE", defaults.trading_mode, TRADING_MODES)
    home = environ.get("HOME", "/root")
    display = _display(environ)
    gateway_cmd = _command(environ, "GATEWAY_CMD")
    version = environ.get("IB_GATEWAY_VERSION", "").strip() or None
    if gateway_cmd is None and version is None:
        raise SettingsError("IB_GATEWAY_VERSION must name the installed gateway (the image sets it), "
                            "unless GATEWAY_CMD replaces IBC")
    heap_mb = int(_number(environ, "JAVA_HEAP_MB", defaults.java_heap_mb, minimum=0))
    gunicorn_stop_s = _number(environ, "GUNICORN_STOP_S", defaults.gunicorn_stop_s, minimum=0.1)
    child_stop_s = _number(environ, "CHILD_STOP_S", defaults.child_stop_s, minimum=0.1)
    if gunicorn_stop_s + child_stop_s > STOP_BUDGET_S:
        raise SettingsError(f"GUNICORN_STOP_S + CHILD_STOP_S must stay within {STOP_BUDGET_S:g} s: Cloud Run kills "
                            "the container 10 s after SIGTERM")
    return EntrypointSettings(
        trading_mode=mode,
        ib_port=int(_number(environ, "IB_PORT", DEFAULT_IB_PORTS[mode], minimum=1)),
        display=display,
        x11_socket_dir=environ.get("X11_SOCKET_DIR", defaults.x11_socket_dir),
        xvfb_cmd=_command(environ, "XVFB_CMD") or ("Xvfb", display, "-screen", "0", "1024x768x16", "-nolisten", "tcp"),
        gateway_cmd=gateway_cmd,
        gunicorn_cmd=_command(environ, "GUNICORN_CMD") or defaults.gunicorn_cmd,
        app_dir=environ.get("APP_DIR", defaults.app_dir),
        ibc_path=environ.get("IBC_PATH", defaults.ibc_path),
        tws_path=environ.get("TWS_PATH", defaults.tws_path),
        tws_settings_path=environ.get("TWS_SETTINGS_PATH", f"{home}/Jts"),
        ibc_ini=environ.get("IBC_INI", f"{home}/ibc/config.ini"),
        gateway_version=version,
        java_heap_mb=heap_mb or None,
        time_zone=_time_zone(environ),
        auto_restart_time=_matching(environ, "IBC_AUTO_RESTART_TIME", defaults.auto_restart_time, AUTO_RESTART_PATTERN,
                                    'a time like "03:30 AM"'),
        cold_restart_time=_matching(environ, "IBC_COLD_RESTART_TIME", defaults.cold_restart_time, COLD_RESTART_PATTERN,
                                    'a 24-hour time like "12:00"'),
        existing_session_action=_choice(environ, "IBC_EXISTING_SESSION_ACTION", defaults.existing_session_action,
                                        SESSION_ACTIONS),
        second_factor_device=environ.get("IBC_SECOND_FACTOR_DEVICE", "").strip() or None,
        display_timeout_s=_number(environ, "DISPLAY_TIMEOUT_S", defaults.display_timeout_s, minimum=0.1),
        gateway_ready_timeout_s=_number(environ, "GATEWAY_READY_TIMEOUT_S", defaults.gateway_ready_timeout_s,
                                        minimum=1),
        restart_backoff_s=_number(environ, "GATEWAY_RESTART_BACKOFF_S", defaults.restart_backoff_s, minimum=0),
        restart_backoff_max_s=_number(environ, "GATEWAY_RESTART_BACKOFF_MAX_S", defaults.restart_backoff_max_s,
                                      minimum=0),
        max_gateway_failures=int(_number(environ, "GATEWAY_MAX_FAILURES", defaults.max_gateway_failures, minimum=1)),
        gateway_stable_s=_number(environ, "GATEWAY_STABLE_S", defaults.gateway_stable_s, minimum=0),
        gunicorn_stop_s=gunicorn_stop_s,
        child_stop_s=child_stop_s,
    )
