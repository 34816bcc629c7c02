"""The entrypoint's pure parts: IBC's settings and files, its command line, the restart policy, the settings."""
import io
import os
import stat
from pathlib import PurePosixPath

import javaproperties
import pytest

from deploy.entrypoint import ibc_files, ibc_layout
from deploy.entrypoint.children import redact
from deploy.entrypoint.restarts import RestartPolicy
from deploy.entrypoint.settings import load
from lib.config import Credentials, SettingsError

IBC = {"IB_GATEWAY_VERSION": "10.30.1t"}
LOGIN = Credentials("trader-login-7", "a\\b #c=d%e:f!gé€")


@pytest.mark.parametrize("text", [
    "a\\b #c=d%e", " leading blank", "trailing blank ", "line\nbreak\r\ttab\fform", "é€ü", "emoji 🙂 outside BMP",
    "=:#!", "",
])
def test_a_value_reads_back_unchanged_as_java_properties(text):
    document = ibc_files.properties_text({"IbPassword": text})
    assert document.isascii()
    assert javaproperties.load(io.StringIO(document)) == {"IbPassword": text}


def test_paper_settings_accept_the_paper_warning_and_skip_2fa_relogin():
    values = ibc_files.ibc_settings(load(IBC), LOGIN)
    assert (values["IbLoginId"], values["IbPassword"]) == (LOGIN.username, LOGIN.password)
    assert values["TradingMode"] == "paper" and values["AcceptNonBrokerageAccountWarning"] == "yes"
    assert values["ReloginAfterSecondFactorAuthenticationTimeout"] == "no"
    assert values["ExistingSessionDetectedAction"] == "primary"
    assert values["AcceptBidAskLastSizeDisplayUpdateNotification"] == "accept"
    assert (values["AutoRestartTime"], values["ColdRestartTime"]) == ("03:30 AM", "12:00")
    assert values["OverrideTwsApiPort"] == "4002"


def test_live_settings_relogin_after_a_2fa_timeout_and_ibc_restarts_on_it():
    settings = load({**IBC, "TRADING_MODE": "live", "IBC_SECOND_FACTOR_DEVICE": "IB Key"})
    values = ibc_files.ibc_settings(settings, LOGIN)
    assert values["ReloginAfterSecondFactorAuthenticationTimeout"] == "yes"
    assert values["OverrideTwsApiPort"] == "4001" and values["SecondFactorDevice"] == "IB Key"
    assert "--on2fatimeout=restart" in ibc_layout.ibc_command(settings)


def test_empty_restart_times_leave_the_gateways_own_setting():
    values = ibc_files.ibc_settings(load({**IBC, "IBC_AUTO_RESTART_TIME": "", "IBC_COLD_RESTART_TIME": ""}), None)
    assert "AutoRestartTime" not in values and "ColdRestartTime" not in values and "IbPassword" not in values


def test_the_ibc_command_names_the_install_and_never_the_login(tmp_path):
    settings = load({**IBC, "TWS_PATH": "/opt/ib", "IBC_INI": str(tmp_path / "config.ini")})
    command = ibc_layout.ibc_command(settings)
    assert command[:3] == ["/opt/ibc/scripts/ibcstart.sh", "10.30.1t", "--gateway"]
    assert "--tws-path=/opt/ib" in command and f"--ibc-ini={tmp_path / 'config.ini'}" in command
    assert not any(part.startswith(("--user", "--pw")) for part in command)


def test_ibc_uses_the_gateway_install_before_a_tws_install(tmp_path):
    for program_dir in (tmp_path / "ibgateway" / "10.30.1t", tmp_path / "10.30.1t"):
        (program_dir / "jars").mkdir(parents=True)
    jars = ibc_layout.jars_dir_ibc_uses(str(tmp_path), "10.30.1t", os.path.exists)
    assert jars == PurePosixPath(tmp_path / "ibgateway" / "10.30.1t" / "jars")
    assert ibc_layout.jars_dir_ibc_uses(str(tmp_path), "10.29.1a", os.path.exists) is None


def test_config_ini_is_private_and_replaced_whole(tmp_path):
    path = tmp_path / "ibc" / "config.ini"
    ibc_files.write_private(path, "IbPassword=old\n")
    ibc_files.write_private(path, "IbPassword=new\n")
    assert path.read_text() == "IbPassword=new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["config.ini"]


def test_jts_ini_is_written_once_with_the_time_zone(tmp_path):
    assert ibc_files.ensure_jts_ini(str(tmp_path), "America/New_York")
    assert "TimeZone=America/New_York" in (tmp_path / "jts.ini").read_text()
    (tmp_path / "jts.ini").write_text("[Logon]\nTimeZone=Europe/Zurich\n")
    assert not ibc_files.ensure_jts_ini(str(tmp_path), "America/New_York")
    assert "Europe/Zurich" in (tmp_path / "jts.ini").read_text()


@pytest.mark.parametrize("before, after", [
    ("-Xmx768m\n-XX:+UseG1GC\n-Dinstall4j.x=1\n", "-Xmx1024m\n-XX:+UseG1GC\n-Dinstall4j.x=1\n"),
    ("-XX:+UseG1GC\n", "-Xmx1024m\n-XX:+UseG1GC\n"),
])
def test_the_java_heap_is_set_in_the_gateways_vmoptions(tmp_path, before, after):
    path = tmp_path / "ibgateway.vmoptions"
    path.write_text(before)
    ibc_files.set_java_heap(path, 1024)
    assert path.read_text() == after


def test_restarts_back_off_then_give_up_and_a_long_run_forgives():
    policy = RestartPolicy(initial_s=1, max_s=5, max_failures=5, stable_s=300)
    assert [policy.after_exit(2) for _ in range(5)] == [1, 2, 4, 5, None]
    policy = RestartPolicy(initial_s=1, max_s=60, max_failures=3, stable_s=300)
    assert [policy.after_exit(2), policy.after_exit(2), policy.after_exit(3600), policy.after_exit(2)] == [1, 2, 1, 1]


def test_redaction_hides_secrets_but_not_every_short_string():
    assert redact("IbPassword=s3cret! user=trader", ["s3cret!", "trader"]) == "IbPassword=*** user=***"
    assert redact("a b", ["a"]) == "a b"


@pytest.mark.parametrize("environ, named", [
    ({}, "IB_GATEWAY_VERSION"),
    ({**IBC, "IBC_AUTO_RESTART_TIME": "3:30"}, "IBC_AUTO_RESTART_TIME"),
    ({**IBC, "IBC_AUTO_RESTART_TIME": '"03:30 AM"'}, "IBC_AUTO_RESTART_TIME"),
    ({**IBC, "IBC_COLD_RESTART_TIME": "25:00"}, "IBC_COLD_RESTART_TIME"),
    ({**IBC, "IBC_EXISTING_SESSION_ACTION": "manual"}, "IBC_EXISTING_SESSION_ACTION"),
    ({**IBC, "GATEWAY_TIME_ZONE": "Mars/Olympus"}, "GATEWAY_TIME_ZONE"),
    ({**IBC, "DISPLAY": "host:1"}, "DISPLAY"),
    ({**IBC, "GUNICORN_STOP_S": "9", "CHILD_STOP_S": "1"}, "within 9.5 s"),
    ({**IBC, "JAVA_HEAP_MB": "lots"}, "JAVA_HEAP_MB"),
    ({"GATEWAY_CMD": "python -m 'simulator"}, "GATEWAY_CMD"),
])
def test_settings_that_cannot_work_are_refused_naming_the_variable(environ, named):
    with pytest.raises(SettingsError, match=named):
        load(environ)


def test_the_display_socket_follows_the_display_number():
    settings = load({**IBC, "DISPLAY": ":7", "X11_SOCKET_DIR": "/tmp/x"})
    assert settings.display_socket == "/tmp/x/X7" and settings.xvfb_cmd[:2] == ("Xvfb", ":7")
