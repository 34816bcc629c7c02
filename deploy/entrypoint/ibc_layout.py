"""Where IBC looks for IB Gateway, and the command that starts IBC.

IBC's resources/scripts/ibcstart.sh (IbcAlpha/IBC 3.20.0) takes the gateway's version as its first argument and, on
Linux, looks for the gateway's jars at `<tws-path>/ibgateway/<version>/jars`, then at `<tws-path>/<version>/jars`
(a TWS install); finding neither it exits 4, "Offline TWS/Gateway version ... is not installed: can't find jars
folder". The JVM options come from `ibgateway.vmoptions` next to that jars folder.
"""
from __future__ import annotations

from pathlib import PurePosixPath

from deploy.entrypoint.settings import EntrypointSettings

IBCSTART = "scripts/ibcstart.sh"


class InstallationError(RuntimeError):
    """IBC or IB Gateway is not where the container's settings say."""


def gateway_program_dirs(tws_path: str, version: str) -> tuple[PurePosixPath, PurePosixPath]:
    """ibcstart.sh's candidates for the gateway's program directory, in the order it tries them."""
    root = PurePosixPath(tws_path)
    return root / "ibgateway" / version, root / version


def jars_dir_ibc_uses(tws_path: str, version: str, exists) -> PurePosixPath | None:
    """The jars folder ibcstart.sh would use (`exists(path)` answers for the filesystem), or None when it exits 4."""
    for program_dir in gateway_program_dirs(tws_path, version):
        if exists(program_dir / "jars"):
            return program_dir / "jars"
    return None


def ibc_command(settings: EntrypointSettings) -> list[str]:
    """ibcstart.sh's command line for IB Gateway. The login is in config.ini, never an argument: arguments are
    readable by every process in /proc/<pid>/cmdline.

    On an IBKR Mobile timeout with ReloginAfterSecondFactorAuthenticationTimeout=yes, IBC ends with its 2FA exit
    code; `--on2fatimeout=restart` makes ibcstart.sh start it again (resources/gatewaystart.sh, TWOFA_TIMEOUT_ACTION)
    rather than counting as a failed gateway here.
    """
    return [
        str(PurePosixPath(settings.ibc_path) / IBCSTART),
        settings.gateway_version,
        "--gateway",
        f"--tws-path={settings.tws_path}",
        f"--tws-settings-path={settings.tws_settings_path}",
        f"--ibc-path={settings.ibc_path}",
        f"--ibc-ini={settings.ibc_ini}",
        f"--mode={settings.trading_mode}",
        f"--on2fatimeout={'restart' if settings.trading_mode == 'live' else 'exit'}",
    ]


def vmoptions_path(settings: EntrypointSettings, exists) -> PurePosixPath:
    """ibgateway.vmoptions of the install IBC will use.

    Raises:
        InstallationError: IBC's start script or the gateway's jars are missing.
    """
    if not exists(PurePosixPath(settings.ibc_path) / IBCSTART):
        raise InstallationError(f"IBC's {IBCSTART} is not under IBC_PATH={settings.ibc_path}")
    jars = jars_dir_ibc_uses(settings.tws_path, settings.gateway_version, exists)
    if jars is None:
        tried = " or ".join(str(d / "jars") for d in gateway_program_dirs(settings.tws_path, settings.gateway_version))
        raise InstallationError(f"IB Gateway {settings.gateway_version} is not installed where IBC looks: no {tried}")
    return jars.parent / "ibgateway.vmoptions"
