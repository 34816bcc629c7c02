"""A Secret Manager gRPC server on 127.0.0.1 answering AccessSecretVersion, for tests of the real client library.

It speaks the service's own wire format: the request and response messages are the ones google-cloud-secret-manager
ships (`google.cloud.secretmanager_v1.types`), served under the method path the client calls.
"""
from __future__ import annotations

import threading
from concurrent import futures

import grpc
from google.cloud.secretmanager_v1 import types

from lib.credentials import crc32c

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"


class SecretManagerServer:
    """Serves the secret versions added with `add`; any other name answers NOT_FOUND, as Secret Manager does.

    Attributes:
        requested: the version names asked for, in order.
    """

    def __init__(self):
        self._versions: dict[str, tuple[bytes, int]] = {}
        self._denied: set[str] = set()
        self._lock = threading.Lock()
        self.requested: list[str] = []
        self._server: grpc.Server | None = None
        self.port: int | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, name: str, data: bytes, *, crc32c_value: int | None = None) -> None:
        """Serve `data` under version `name`, with its CRC-32C (or `crc32c_value`, to send a wrong one)."""
        with self._lock:
            self._versions[name] = (data, crc32c(data) if crc32c_value is None else crc32c_value)

    def deny(self, name: str) -> None:
        """Answer PERMISSION_DENIED for `name`, as for a service account without secretAccessor."""
        with self._lock:
            self._denied.add(name)

    def start(self) -> "SecretManagerServer":
        handler = grpc.method_handlers_generic_handler(SERVICE, {
            "AccessSecretVersion": grpc.unary_unary_rpc_method_handler(
                self._access,
                request_deserializer=types.AccessSecretVersionRequest.deserialize,
                response_serializer=types.AccessSecretVersionResponse.serialize),
        })
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait()

    def _access(self, request, context):
        with self._lock:
            self.requested.append(request.name)
            if request.name in self._denied:
                context.abort(grpc.StatusCode.PERMISSION_DENIED,
                              f"Permission 'secretmanager.versions.access' denied for resource '{request.name}'")
            if request.name not in self._versions:
                context.abort(grpc.StatusCode.NOT_FOUND, f"Secret Version [{request.name}] not found.")
            data, checksum = self._versions[request.name]
        return types.AccessSecretVersionResponse(
            name=request.name, payload=types.SecretPayload(data=data, data_crc32c=checksum))
