"""The IB login: read from one Secret Manager secret version, or taken from Cloud Run's secret environment variables.

The Secret Manager client is built by `secret_manager_client` and passed in; nothing here runs at import time.
"""
from __future__ import annotations

import json
import logging
from typing import Callable

from lib.config import CredentialSettings, Credentials

log = logging.getLogger(__name__)

SECRET_TIMEOUT_S = 30.0


class CredentialsError(RuntimeError):
    """The configured login cannot be read. The message names the secret, never its content."""


def secret_manager_client(emulator_host: str | None = None):
    """A SecretManagerServiceClient: Google's endpoint with the runtime's credentials, or a plain-text gRPC channel to
    `emulator_host` (host:port) without credentials, the way the Firestore emulator is reached."""
    from google.cloud import secretmanager

    if emulator_host is None:
        return secretmanager.SecretManagerServiceClient()
    import grpc
    from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
        SecretManagerServiceGrpcTransport)

    return secretmanager.SecretManagerServiceClient(
        transport=SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(emulator_host)))


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum Secret Manager sends with every payload (`data_crc32c`)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def access_secret_version(client, name: str, *, timeout_s: float = SECRET_TIMEOUT_S) -> bytes:
    """The payload of secret version `name` (projects/P/secrets/S/versions/V), checked against its CRC-32C.

    Raises:
        CredentialsError: Secret Manager refused or failed the read, or the payload arrived corrupted.
    """
    from google.api_core import exceptions

    try:
        response = client.access_secret_version(request={"name": name}, timeout=timeout_s)
    except exceptions.GoogleAPICallError as exc:
        raise CredentialsError(f"reading secret version {name} failed: {type(exc).__name__}: {exc.message}") from None
    data = response.payload.data
    # data_crc32c is optional in the API; when present a mismatch means the bytes were damaged on the way
    if "data_crc32c" in response.payload and crc32c(data) != response.payload.data_crc32c:
        raise CredentialsError(f"secret version {name} arrived with a wrong CRC-32C checksum")
    return data


def parse_login(payload: bytes, source: str) -> Credentials:
    """Credentials from a JSON object `{"username": ..., "password": ...}` (both non-empty strings).

    Raises:
        CredentialsError: the payload is not such an object; the message never quotes it.
    """
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CredentialsError(f"{source} is not UTF-8 JSON; it must hold "
                               '{"username": "...", "password": "..."}') from None
    if not isinstance(document, dict):
        raise CredentialsError(f"{source} must hold a JSON object with username and password")
    missing = [key for key in ("username", "password")
               if not isinstance(document.get(key), str) or not document[key]]
    if missing:
        raise CredentialsError(f"{source} lacks a non-empty string {' and '.join(missing)}")
    return Credentials(document["username"], document["password"])


def load_login(settings: CredentialSettings, *,
               client_factory: Callable[[str | None], object] = secret_manager_client) -> Credentials | None:
    """The IB login the settings point at, or None when none is configured.

    Args:
        settings: where the login comes from.
        client_factory: builds the Secret Manager client from the emulator host (None = Google's endpoint).

    Raises:
        CredentialsError: the secret version cannot be read or does not hold a login.
    """
    if settings.environment is not None:
        return settings.environment
    if settings.secret_version is None:
        return None
    if settings.secret_version.endswith("/versions/latest"):
        log.warning("IB_CREDENTIALS_SECRET names the latest version: a new secret version changes the login at the "
                    "next start of the container, not at a deploy; pin a version number")
    payload = access_secret_version(client_factory(settings.emulator_host), settings.secret_version)
    return parse_login(payload, f"secret version {settings.secret_version}")
