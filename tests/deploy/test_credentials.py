"""The IB login from Secret Manager, read by the real client library over gRPC from a server on loopback."""
import json

import pytest

from lib.config import CredentialSettings, Credentials, SettingsError, load_credential_settings
from lib.credentials import CredentialsError, crc32c, load_login

VERSION = "projects/p1/secrets/ib-credentials-paper/versions/3"
PASSWORD = "p\\a#s=s%wé:d!"


def login_json(username="trader1", password=PASSWORD) -> bytes:
    return json.dumps({"username": username, "password": password}).encode()


def settings_for(server, version=VERSION) -> CredentialSettings:
    return load_credential_settings({"IB_CREDENTIALS_SECRET": version, "SECRET_MANAGER_EMULATOR_HOST": server.host})


def test_the_login_is_read_from_the_named_secret_version(secret_manager):
    secret_manager.add(VERSION, login_json())
    login = load_login(settings_for(secret_manager))
    assert login == Credentials("trader1", PASSWORD)
    assert secret_manager.requested == [VERSION]


def test_the_latest_alias_is_read_but_warned_about(secret_manager, caplog):
    latest = VERSION.replace("/3", "/latest")
    secret_manager.add(latest, login_json())
    assert load_login(settings_for(secret_manager, latest)).username == "trader1"
    assert "pin a version number" in caplog.text


def test_a_missing_version_fails_naming_the_version(secret_manager):
    with pytest.raises(CredentialsError, match="versions/3 failed: NotFound"):
        load_login(settings_for(secret_manager))


def test_a_denied_read_fails_naming_the_permission_problem(secret_manager):
    secret_manager.deny(VERSION)
    with pytest.raises(CredentialsError, match="PermissionDenied"):
        load_login(settings_for(secret_manager))


def test_a_payload_with_a_wrong_checksum_is_refused(secret_manager):
    secret_manager.add(VERSION, login_json(), crc32c_value=crc32c(login_json()) ^ 1)
    with pytest.raises(CredentialsError, match="CRC-32C"):
        load_login(settings_for(secret_manager))


@pytest.mark.parametrize("payload, problem", [
    (b"trader1:secret", "not UTF-8 JSON"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"username": "trader1"}).encode(), "lacks a non-empty string password"),
    (json.dumps({"username": "", "password": 7}).encode(), "username and password"),
])
def test_a_payload_that_is_not_a_login_is_refused_without_quoting_it(secret_manager, payload, problem):
    secret_manager.add(VERSION, payload)
    with pytest.raises(CredentialsError, match=problem) as error:
        load_login(settings_for(secret_manager))
    assert "trader1" not in str(error.value)


def test_environment_credentials_need_no_secret_manager():
    settings = load_credential_settings({"IB_USERNAME": "trader1", "IB_PASSWORD": PASSWORD})
    assert load_login(settings, client_factory=pytest.fail) == Credentials("trader1", PASSWORD)


def test_nothing_configured_reads_nothing():
    assert load_login(load_credential_settings({}), client_factory=pytest.fail) is None


@pytest.mark.parametrize("environ, named", [
    ({"IB_USERNAME": "trader1"}, "IB_PASSWORD"),
    ({"IB_CREDENTIALS_SECRET": VERSION, "IB_USERNAME": "u", "IB_PASSWORD": "p"}, "not both"),
    ({"IB_CREDENTIALS_SECRET": "ib-credentials-paper"}, "projects/P/secrets/S/versions/V"),
])
def test_unclear_credential_settings_are_refused(environ, named):
    with pytest.raises(SettingsError, match=named):
        load_credential_settings(environ)


def test_credentials_never_show_in_a_repr():
    settings = load_credential_settings({"IB_USERNAME": "trader1", "IB_PASSWORD": PASSWORD})
    for text in (repr(settings), str(settings), repr(settings.environment), f"{settings.environment}"):
        assert "trader1" not in text and PASSWORD not in text and "***" in text


def test_crc32c_matches_the_published_check_value():
    # RFC 3720 (iSCSI) B.4: CRC-32C of "123456789" is 0xE3069283
    assert crc32c(b"123456789") == 0xE3069283

