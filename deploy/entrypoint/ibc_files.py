"""The files IBC and IB Gateway read at start: IBC's config.ini, the gateway's jts.ini and its JVM options.

IBC loads config.ini with java.util.Properties.load(InputStream) (IbcAlpha/IBC src/ibcalpha/ibc/DefaultSettings.java),
which reads ISO 8859-1 and undoes backslash escapes: every value is written as escaped ASCII, so a password holding
`\\`, `#`, `=`, `%` or `é` reaches IBC unchanged.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

from deploy.entrypoint.settings import EntrypointSettings
from lib.config import Credentials

# java.util.Properties escapes: a backslash, the separators and comment starters, and the line controls
_ESCAPES = {"\\": "\\\\", "=": "\\=", ":": "\\:", "#": "\\#", "!": "\\!",
            "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}
_HEAP_OPTION = re.compile(r"^-Xmx\S*$", re.MULTILINE)


def escape_property(text: str) -> str:
    """`text` as a java.util.Properties value in printable ASCII: escapes, and \\uXXXX (UTF-16) beyond ASCII."""
    out = []
    for index, char in enumerate(text):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char == " " and index == 0:
            # leading blanks of a value are skipped by Properties.load unless escaped
            out.append("\\ ")
        elif " " <= char <= "~":
            out.append(char)
        else:
            encoded = char.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(encoded[i:i + 2], 'big'):04x}" for i in range(0, len(encoded), 2))
    return "".join(out)


def properties_text(values: Mapping[str, str]) -> str:
    """A .properties document of `values` in order (keys are IBC's setting names, plain ASCII)."""
    return "".join(f"{key}={escape_property(value)}\n" for key, value in values.items())


def ibc_settings(settings: EntrypointSettings, login: Credentials | None) -> dict[str, str]:
    """IBC's settings for a headless gateway. Each key is the one in IBC's sample config.ini
    (IbcAlpha/IBC resources/config.ini, section named in the comment); unset keys keep IBC's defaults."""
    live = settings.trading_mode == "live"
    values: dict[str, str] = {}
    if login is not None:
        # section 2, "IB API Authentication Settings"
        values.update(IbLoginId=login.username, IbPassword=login.password)
    values.update({
        "FIX": "no",  # section 1: the API gateway, not the FIX CTCI one
        "TradingMode": settings.trading_mode,  # section 2, "Trading Mode"
        # section 2, "Second Factor Authentication Settings": after an unanswered IBKR Mobile prompt IBC starts the
        # login again (a new prompt) instead of leaving the dialog; paper logins have no second factor
        "ReloginAfterSecondFactorAuthenticationTimeout": "yes" if live else "no",
        # section 2, "Paper-trading Account Warning": until accepted, the API refuses connections
        "AcceptNonBrokerageAccountWarning": "yes",
        # section 3, "Existing Session Detected Action": 'manual' (the default) would wait for a click nobody makes
        "ExistingSessionDetectedAction": settings.existing_session_action,
        # section 3, "Override TWS API Port Number": the gateway listens where the service connects
        "OverrideTwsApiPort": str(settings.ib_port),
        "ReadOnlyLogin": "no",  # section 3, "Read-only Login": the service places orders
        "ReadOnlyApi": "no",  # section 3, "Read-only API"
        # section 3, "Market data size for US stocks": the dialog after login blocks market data until handled
        "AcceptBidAskLastSizeDisplayUpdateNotification": "accept",
        # ... and 'accept' turns lots on for dual-mode clients; sizes stay in shares, as the ledger counts them
        "SendMarketDataInLotsForUSstocks": "no",
        # section 6, "Accept Incoming Connection": Cloud Run routes only the HTTP port into the container, so only
        # local processes reach the API port; 'accept' keeps an unexpected dialog from shutting out the service
        "AcceptIncomingConnectionAction": "accept",
        "CommandServerPort": "0",  # section 8: no IBC command server in the container
        # not in the sample: IbcTws.startTwsOrGateway sends IBC's console to the gateway's encrypted log unless
        # LogToConsole is set, and the entrypoint forwards the console to Cloud Logging
        "LogToConsole": "yes",
    })
    if settings.auto_restart_time:
        # section 4, "TWS Auto-Logoff and Auto-Restart": a daily restart that keeps the session (no new login)
        values["AutoRestartTime"] = settings.auto_restart_time
    if settings.cold_restart_time:
        # IbcTws.getColdRestartTime: every Sunday at HH:mm (JVM time zone) a tidy stop and a full new login, once
        # IB has expired the week's auto-restart token
        values["ColdRestartTime"] = settings.cold_restart_time
    if settings.second_factor_device:
        values["SecondFactorDevice"] = settings.second_factor_device  # section 2, several 2FA devices
    return values


def write_private(path: str | os.PathLike, text: str) -> None:
    """Replace `path` atomically with `text`, readable by this user only (file 0600 in a 0700 directory)."""
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target.parent, 0o700)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def write_ibc_config(settings: EntrypointSettings, login: Credentials | None) -> dict[str, str]:
    """Write IBC's config.ini at settings.ibc_ini; returns what was written."""
    values = ibc_settings(settings, login)
    write_private(settings.ibc_ini, properties_text(values))
    return values


def jts_ini_text(time_zone: str) -> str:
    """The gateway's own settings for a first start: English (IBC recognises the dialogs by their English titles),
    the time zone its Lock-and-Exit times are read in, API only, local clients trusted."""
    return ("[IBGateway]\nApiOnly=true\nTrustedIPs=127.0.0.1\n\n"
            f"[Logon]\nLocale=en\nTimeZone={time_zone}\nUseSSL=true\ns3store=true\n")


def ensure_jts_ini(settings_dir: str, time_zone: str) -> bool:
    """Create <settings_dir>/jts.ini unless the gateway already keeps one there; returns whether it was written."""
    path = Path(settings_dir) / "jts.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return False
    path.write_text(jts_ini_text(time_zone), encoding="ascii")
    return True


def set_java_heap(vmoptions_path: str | os.PathLike, heap_mb: int) -> None:
    """Set the gateway JVM's -Xmx in ibgateway.vmoptions, which ibcstart.sh passes to java (all lines but -D ones)."""
    path = Path(vmoptions_path)
    text = path.read_text(encoding="utf-8")
    option = f"-Xmx{heap_mb}m"
    text = _HEAP_OPTION.sub(option, text) if _HEAP_OPTION.search(text) else f"{option}\n{text}"
    path.write_text(text, encoding="utf-8")


def secrets_of(login: Credentials | None) -> Iterable[str]:
    """The texts a log line must never show."""
    return () if login is None else (login.username, login.password)
