"""`python -m deploy.entrypoint`: prepare IBC's files from the settings and the login, then supervise the children."""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from string import Template
from typing import Mapping

from deploy.entrypoint import ibc_files, ibc_layout
from deploy.entrypoint import settings as entrypoint_settings
from deploy.entrypoint.children import Child
from deploy.entrypoint.gateway_events import GatewayEvents
from deploy.entrypoint.settings import EntrypointSettings
from deploy.entrypoint.supervisor import Supervisor
from lib import config, logs
from lib.config import CREDENTIAL_ENVIRONMENT, Credentials, SettingsError, load_credential_settings
from lib.credentials import CredentialsError, load_login
from lib.store.factory import open_store

log = logging.getLogger("deploy.entrypoint")

EXIT_CANNOT_START = 2
LOGIN_KEYS = ("IbLoginId", "IbPassword")


def prepare(settings: EntrypointSettings, login: Credentials | None) -> None:
    """Write config.ini (and, for the real gateway, jts.ini and the JVM heap) before anything starts.

    Raises:
        InstallationError: IBC or the gateway is not installed where IBC looks.
        SettingsError: IBC would start without a login.
        OSError: a file cannot be written.
    """
    if settings.gateway_cmd is None:
        if login is None:
            raise SettingsError("IBC needs the IB login: set IB_CREDENTIALS_SECRET (a Secret Manager secret version) "
                                "or IB_USERNAME and IB_PASSWORD")
        vmoptions = ibc_layout.vmoptions_path(settings, os.path.exists)
        if settings.java_heap_mb is not None:
            ibc_files.set_java_heap(vmoptions, settings.java_heap_mb)
        ibc_files.ensure_jts_ini(settings.tws_settings_path, settings.time_zone)
    if login is None:
        return
    values = ibc_files.write_ibc_config(settings, login)
    shown = {key: value for key, value in values.items() if key not in LOGIN_KEYS}
    log.info("IBC settings written to %s", settings.ibc_ini,
             extra={"fields": {"event": "ibcConfigWritten", "ibcSettings": shown}})


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The entrypoint's environment without the login (Cloud Run's secret variables stay with the entrypoint)."""
    return {key: value for key, value in environ.items() if key not in CREDENTIAL_ENVIRONMENT}


def gateway_events(settings: EntrypointSettings, environ: Mapping[str, str]) -> GatewayEvents:
    """Events into the store the service uses (its settings from the same environment)."""
    service = config.load(environ)
    return GatewayEvents(settings.trading_mode, lambda: open_store(service.store_backend, path=service.store_path,
                                                                    project_id=service.project_id))


def build_children(settings: EntrypointSettings, login: Credentials | None, environ: Mapping[str, str],
                   events: GatewayEvents | None = None):
    """The display, a factory of gateway Children (whose lines go to `events`), and gunicorn."""
    base = child_environment(environ)
    base["IB_PORT"] = str(settings.ib_port)
    base["TRADING_MODE"] = settings.trading_mode
    secrets = tuple(ibc_files.secrets_of(login))
    display = Child("display", settings.xvfb_cmd, env=base, secrets=secrets)
    gateway_env = {**base, "DISPLAY": settings.display, "TZ": settings.time_zone}
    if settings.gateway_cmd is None:
        gateway_argv = ibc_layout.ibc_command(settings)
    else:
        gateway_argv = [Template(part).safe_substitute(gateway_env) for part in settings.gateway_cmd]

    def new_gateway() -> Child:
        return Child("gateway", gateway_argv, env=gateway_env, secrets=secrets,
                     on_line=events.line if events is not None else None)

    gunicorn = Child("gunicorn", settings.gunicorn_cmd, env=base, cwd=settings.app_dir, forward_output=False,
                     terminate_group=False)
    return display, new_gateway, gunicorn


def main(environ: Mapping[str, str] = os.environ) -> int:
    logs.configure()
    try:
        settings = entrypoint_settings.load(environ)
        login = load_login(load_credential_settings(environ))
        prepare(settings, login)
        events = gateway_events(settings, environ)
    except (SettingsError, CredentialsError, ibc_layout.InstallationError, OSError) as exc:
        log.error("the container cannot start: %s", exc, extra={"fields": {"event": "entrypointFailed"}})
        return EXIT_CANNOT_START
    display, new_gateway, gunicorn = build_children(settings, login, environ, events)
    return asyncio.run(Supervisor(settings, display=display, new_gateway=new_gateway, gunicorn=gunicorn,
                                  events=events).run())


if __name__ == "__main__":
    sys.exit(main())
