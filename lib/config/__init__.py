"""Service settings from the environment and trading config from the store."""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from lib.errors import InvalidConfig, MissingConfigKey
from lib.store.factory import BACKENDS as STORE_BACKENDS
from lib.store.writes import merged

TRADING_MODES = ("paper", "live")
DEFAULT_IB_PORTS = {"paper": 4002, "live": 4001}
# a run checks its claim before it sends: the margin covers the moments between the two, and a clock or a store
# slower than the run expected
DEFAULT_CLAIM_MARGIN_S = 60.0


class SettingsError(ValueError):
    """The environment describes a service that must not start."""


@dataclass(frozen=True)
class Settings:
    """Process settings, read once from the environment.

    Parameters:
        trading_mode: "paper" or "live"; live needs this explicit opt-in plus a config/live document.
        ib_host, ib_port: where IB Gateway (or the simulator) listens.
        host: address gunicorn binds (0.0.0.0 on Cloud Run, 127.0.0.1 locally).
        port: HTTP port gunicorn binds.
        store_backend: "sqlite" (embedded, default) or "firestore".
        store_path: SQLite file for the embedded store.
        project_id: Google Cloud project for Firestore.
        ib_client_id_base: first IB clientId of the service's pool, base .. base + workers - 1 (one per worker).
        workers: gunicorn workers (WEB_CONCURRENCY), each with its own IB connection.
        service_revision: deployed revision (Cloud Run's K_REVISION), part of activity signatures.
        ib_connect_timeout_s: time allowed for one connect + initial sync.
        ready_wait_s: how long a request waits for a reconnecting gateway before answering 503.
        claim_margin_s: how long a run's duplicate-run claim and strategy locks outlive its time budget; a run that
            died is taken over only after it.
    """

    trading_mode: str = "paper"
    ib_host: str = "127.0.0.1"
    ib_port: int = 4002
    host: str = "0.0.0.0"
    port: int = 8080
    store_backend: str = "sqlite"
    store_path: str = "var/store.sqlite3"
    project_id: str | None = None
    ib_client_id_base: int = 1
    workers: int = 2
    service_revision: str = "local"
    ib_connect_timeout_s: float = 10.0
    ready_wait_s: float = 2.0
    claim_margin_s: float = DEFAULT_CLAIM_MARGIN_S


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return value


def load(environ: Mapping[str, str]) -> Settings:
    """Read and validate settings; raises SettingsError naming the bad variable."""
    mode = environ.get("TRADING_MODE", "paper").strip().lower()
    if mode not in TRADING_MODES:
        raise SettingsError(
            f"TRADING_MODE must be one of {', '.join(TRADING_MODES)}, got {environ.get('TRADING_MODE')!r}")
    backend = environ.get("STORE_BACKEND", "sqlite").strip().lower()
    if backend not in STORE_BACKENDS:
        raise SettingsError(
            f"STORE_BACKEND must be one of {', '.join(STORE_BACKENDS)}, got {environ.get('STORE_BACKEND')!r}")
    workers = _int(environ, "WEB_CONCURRENCY", 2)
    if workers < 1:
        raise SettingsError(f"WEB_CONCURRENCY must be at least 1, got {workers}")
    project_id = environ.get("PROJECT_ID") or environ.get("GOOGLE_CLOUD_PROJECT") or None
    if backend == "firestore" and not project_id and not environ.get("FIRESTORE_EMULATOR_HOST"):
        raise SettingsError("STORE_BACKEND=firestore needs PROJECT_ID or GOOGLE_CLOUD_PROJECT")
    return Settings(
        trading_mode=mode,
        ib_host=environ.get("IB_HOST", "127.0.0.1"),
        ib_port=_int(environ, "IB_PORT", DEFAULT_IB_PORTS[mode]),
        host=environ.get("HOST", "0.0.0.0"),
        port=_int(environ, "PORT", 8080),
        store_backend=backend,
        store_path=environ.get("STORE_PATH", "var/store.sqlite3"),
        project_id=project_id,
        ib_client_id_base=_int(environ, "IB_CLIENT_ID_BASE", 1),
        workers=workers,
        service_revision=environ.get("K_REVISION", "local"),
        ib_connect_timeout_s=_float(environ, "IB_CONNECT_TIMEOUT_S", 10.0),
        ready_wait_s=_float(environ, "IB_READY_WAIT_S", 2.0),
        claim_margin_s=_float(environ, "CLAIM_MARGIN_S", DEFAULT_CLAIM_MARGIN_S),
    )



# Secret Manager's resource name of one version; `latest` is accepted but moves with every new version.
SECRET_VERSION_PATTERN = re.compile(r"^projects/[^/]+/secrets/[^/]+/versions/[^/]+$")
MASK = "***"


@dataclass(frozen=True)
class Credentials:
    """An IB login (username and password); both are masked in repr, so they never reach a log by accident."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={MASK!r}, password={MASK!r})"


@dataclass(frozen=True)
class CredentialSettings:
    """Where the IB login comes from: one Secret Manager secret version, or Cloud Run's secret environment variables.

    Parameters:
        secret_version: `projects/P/secrets/S/versions/V` holding `{"username": ..., "password": ...}` as JSON.
        environment: the login from IB_USERNAME / IB_PASSWORD (Cloud Run secret environment variables).
        emulator_host: host:port of a Secret Manager server reached without TLS or credentials (tests only).
    """

    secret_version: str | None = None
    environment: Credentials | None = None
    emulator_host: str | None = None


CREDENTIAL_ENVIRONMENT = ("IB_USERNAME", "IB_PASSWORD")


def load_credential_settings(environ: Mapping[str, str]) -> CredentialSettings:
    """Read where the IB login comes from; raises SettingsError when the environment names both or half of one."""
    secret_version = environ.get("IB_CREDENTIALS_SECRET", "").strip() or None
    username, password = (environ.get(name, "") for name in CREDENTIAL_ENVIRONMENT)
    if bool(username) != bool(password):
        raise SettingsError("IB_USERNAME and IB_PASSWORD must be set together")
    if secret_version and username:
        raise SettingsError("set IB_CREDENTIALS_SECRET or IB_USERNAME/IB_PASSWORD, not both")
    if secret_version and not SECRET_VERSION_PATTERN.match(secret_version):
        raise SettingsError(f"IB_CREDENTIALS_SECRET must look like projects/P/secrets/S/versions/V, "
                            f"got {secret_version!r}")
    return CredentialSettings(
        secret_version=secret_version,
        environment=Credentials(username, password) if username else None,
        emulator_host=environ.get("SECRET_MANAGER_EMULATOR_HOST", "").strip() or None,
    )

_MISSING = object()
# shares typed as decimals (0.1 + 0.2 + 0.7) may add up to a hair over 1
SHARE_TOLERANCE = 1e-9
DEFAULT_MAX_LEVERAGE = 1.0


class TradingConfig:
    """Trading config: the store's config/common merged with config/{mode}, the mode's keys winning.

    `has_mode_document` says whether config/{mode} exists (live trading needs it).
    """

    def __init__(self, values: Mapping[str, Any], mode: str, *, has_mode_document: bool = True):
        self._values = dict(values)
        self.mode = mode
        self.has_mode_document = has_mode_document

    @classmethod
    def load(cls, store, mode: str) -> "TradingConfig":
        """The merged config, its bounds checked (`check_bounds`).

        Raises:
            InvalidConfig, MissingConfigKey: a key out of bounds, or one live trading needs, naming the key.
        """
        common = store.get("config/common") or {}
        specific = store.get(f"config/{mode}")
        config = cls(merged(common, specific or {}, empty_map_replaces=False), mode,
                     has_mode_document=specific is not None)
        check_bounds(config)
        return config

    def as_dict(self) -> dict:
        """The merged values (a copy)."""
        return copy.deepcopy(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        """Value at a dotted key ("exposure.overall"), or default."""
        value = self._lookup(key)
        return default if value is _MISSING else value

    def require(self, key: str) -> Any:
        """Value at a dotted key; MissingConfigKey names the key when it is absent."""
        value = self._lookup(key)
        if value is _MISSING:
            raise MissingConfigKey(key)
        return value

    def number(self, key: str, default: Any = _MISSING) -> float | None:
        """A number >= 0 at a dotted key; `default` when absent (MissingConfigKey without one).

        Raises:
            InvalidConfig: the value is not a finite number >= 0.
        """
        value = self._lookup(key)
        if value is _MISSING:
            if default is _MISSING:
                raise MissingConfigKey(key)
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise InvalidConfig(key, "a number >= 0", value)
        return float(value)

    def _lookup(self, key: str) -> Any:
        node: Any = self._values
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return _MISSING
            node = node[part]
        return node


def check_bounds(config: TradingConfig) -> None:
    """The bounds of the keys that size orders and guard against duplicates, checked whenever config is loaded.

    `maxLeverage` (default 1) > 0; `exposure.overall` in (0, maxLeverage] (100 typed as a percent would be 100x
    NetLiquidation); each `exposure.strategies.{id}` in [0, 1], all of them adding up to at most 1 (whichever
    strategies run together or apart, gross exposure stays within exposure.overall); `retryCheckMinutes` >= 1 (0 would turn the
    duplicate-run check off); `maxOrderNotional` > 0 (`check_order_limits` requires it in live mode).

    Raises:
        InvalidConfig: a key out of bounds, naming it.
    """
    leverage = config.number("maxLeverage", DEFAULT_MAX_LEVERAGE)
    if leverage <= 0:
        raise InvalidConfig("maxLeverage", "a number > 0", config.get("maxLeverage"))
    overall = config.number("exposure.overall", None)
    if overall is not None and not 0 < overall <= leverage:
        raise InvalidConfig("exposure.overall", f"a fraction of NetLiquidation in (0, maxLeverage = {leverage:g}]",
                            config.get("exposure.overall"))
    strategies = config.get("exposure.strategies", {})
    if not isinstance(strategies, Mapping):
        raise InvalidConfig("exposure.strategies", "a map of strategy id to share", strategies)
    for strategy in strategies:
        key = f"exposure.strategies.{strategy}"
        if config.number(key) > 1:
            raise InvalidConfig(key, "a share in [0, 1]", config.get(key))
    total = sum(config.number(f"exposure.strategies.{strategy}") for strategy in strategies)
    if total > 1 + SHARE_TOLERANCE:
        # each run checks only its own strategies: separate runs would add up to more than exposure.overall
        raise InvalidConfig("exposure.strategies", f"shares adding up to at most 1 (they add up to {total:g})",
                            dict(strategies))
    retry = config.number("retryCheckMinutes", None)
    if retry is not None and retry < 1:
        raise InvalidConfig("retryCheckMinutes", "a number of minutes >= 1 (the duplicate-run window)",
                            config.get("retryCheckMinutes"))
    notional = config.number("maxOrderNotional", None)
    if notional is not None and notional <= 0:
        raise InvalidConfig("maxOrderNotional", "a number > 0 (base currency)", config.get("maxOrderNotional"))


def check_order_limits(config: TradingConfig) -> None:
    """What a run that may place orders needs besides the bounds: in live mode, a `maxOrderNotional`.

    Raises:
        MissingConfigKey: live mode without maxOrderNotional.
    """
    if config.mode == "live":
        config.require("maxOrderNotional")
