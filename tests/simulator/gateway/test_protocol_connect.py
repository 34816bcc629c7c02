"""Connection-level protocol through the client library (tests.support.iblib) on a real socket: handshake, clientIds, errors, latency."""

import logging
import socket
import struct
import time

import pytest
from tests.support.iblib import IB
from tests.support import iblib

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW

FARM_CODES = ("2104", "2106", "2158")


@pytest.fixture(scope="module")
def gateway():
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, fill_delay_ms=1)) as sim:
        yield sim


@pytest.fixture
def connect(gateway):
    clients = []

    def _connect(client_id: int, timeout: float = 5) -> IB:
        ib = IB()
        ib.connect(gateway.host, gateway.port, clientId=client_id, timeout=timeout)
        clients.append(ib)
        return ib

    yield _connect
    for ib in clients:
        ib.disconnect()


def raw_session(port: int, client_id: int) -> socket.socket:
    """A bare socket that completed the handshake and startApi (server version 176)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"API\0" + frame(b"v157..176"))
    read_frame(sock)
    send_fields(sock, ["71", "2", str(client_id), ""])
    return sock


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def send_fields(sock: socket.socket, fields: list[str]) -> None:
    sock.sendall(frame("".join(f + "\0" for f in fields).encode()))


def read_frame(sock: socket.socket) -> list[str]:
    header = recv_exactly(sock, 4)
    (size,) = struct.unpack(">I", header)
    return recv_exactly(sock, size).decode().split("\0")[:-1]


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_until(sock: socket.socket, predicate) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        fields = read_frame(sock)
        if predicate(fields):
            return fields
    raise TimeoutError("no matching message")


def test_connect_syncs_without_timeouts(connect, caplog):
    with caplog.at_level(logging.INFO, logger=iblib.NAME):
        ib = connect(1)
    assert ib.isConnected() and ib.client.serverVersion() == 176
    assert ib.managedAccounts() == ["DU1234567"]
    assert ib.client._reqIdSeq >= 1
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "timed out" in m or "Error" in m]
    assert any("Warning 2104" in m for m in messages) and any("Warning 2158" in m for m in messages)
    assert "Synchronization complete" in messages
    assert ib.reqCurrentTime() == NOW


def test_duplicate_client_id_is_refused_with_326(connect, caplog):
    first = connect(2)
    second = IB()
    with caplog.at_level(logging.ERROR, logger=iblib.NAME):
        with pytest.raises((TimeoutError, ConnectionError)):
            second.connect("127.0.0.1", first.client.port, clientId=2, timeout=1)
    assert any("Error 326" in r.getMessage() for r in caplog.records)
    assert not second.isConnected()
    assert first.isConnected() and first.reqCurrentTime() == NOW
    other = connect(3)
    assert other.isConnected()


def test_client_id_is_free_again_after_disconnect(connect, gateway):
    ib = connect(4)
    ib.disconnect()
    deadline = time.monotonic() + 5
    while 4 in [s["client_id"] for s in gateway.call("snapshot")["sessions"]]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert connect(4).isConnected()


def test_unknown_and_malformed_messages_get_errors_and_the_session_survives(gateway, connect):
    bystander = connect(5)
    sock = raw_session(gateway.port, 6)
    try:
        read_until(sock, lambda f: f[:2] == ["9", "1"])
        send_fields(sock, ["999", "1"])
        assert read_until(sock, lambda f: f[0] == "4" and f[3] not in FARM_CODES)[3] == "505"
        send_fields(sock, ["9", "8", "77", "not-a-conId"])
        error = read_until(sock, lambda f: f[0] == "4")
        assert error[2:4] == ["77", "320"] and "conId" in error[4]
        send_fields(sock, ["49", "1"])
        assert read_until(sock, lambda f: f[0] == "49")[2] == str(int(NOW.timestamp()))
    finally:
        sock.close()
    assert bystander.reqCurrentTime() == NOW


def test_garbage_handshake_does_not_hurt_the_gateway(gateway, connect):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert sock.recv(100) == b""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(b"API\0" + frame(b"v1..20"))
        assert sock.recv(100) == b""
    assert connect(7).reqCurrentTime() == NOW


def test_latency_delays_replies(gateway, connect):
    ib = connect(8)
    # a second: after the latency is reset, a reply well inside it is told apart even on a busy machine
    gateway.call("set_latency", 1000)
    try:
        started = time.monotonic()
        assert ib.reqCurrentTime() == NOW
        assert time.monotonic() - started >= 1
    finally:
        gateway.call("set_latency", 0)
    started = time.monotonic()
    ib.reqCurrentTime()
    assert time.monotonic() - started < 1


def test_drop_connections_disconnects_clients(gateway, connect):
    ib = connect(9)
    assert gateway.call("drop_connections")["dropped"] >= 1
    with pytest.raises(ConnectionError):
        ib.sleep(5)  # ib_insync raises as soon as the socket drops
    assert not ib.isConnected()
    assert connect(9).isConnected()
