"""The service's own message pacer: IB's rate limit kept without reading ib_async's private pacing fields."""
import asyncio
import time

import pytest

from lib.gateway.pacing import MessagePacer


class _Socket:
    def __init__(self):
        self.sent: list[tuple[float, str]] = []
        self.connected = True

    def send(self, msg: str) -> None:
        self.sent.append((asyncio.get_running_loop().time(), msg))


def _run(coro):
    return asyncio.run(coro)


def test_at_most_max_messages_leave_in_any_window_and_in_the_order_sent():
    async def scenario():
        socket = _Socket()
        pacer = MessagePacer(socket.send, lambda: socket.connected, max_messages=3, window_s=0.05)
        for i in range(10):
            pacer.send(f"m{i}")
        assert len(socket.sent) == 3
        while len(socket.sent) < 10:
            await asyncio.sleep(0.01)
        return socket.sent

    sent = _run(scenario())
    assert [msg for _, msg in sent] == [f"m{i}" for i in range(10)]
    times = [t for t, _ in sent]
    for i in range(len(times) - 3):
        assert times[i + 3] - times[i] >= 0.05 - 1e-6


def test_a_pause_while_a_message_is_handed_over_does_not_open_the_next_window_early():
    """The process descheduled between the pacer's clock read and the socket's send, as on a busy machine: the
    window counts from when the message left."""
    async def scenario():
        socket = _Socket()
        send = socket.send

        def paused_send(msg):
            if msg == "m0":
                time.sleep(0.02)
            send(msg)

        pacer = MessagePacer(paused_send, lambda: True, max_messages=3, window_s=0.05)
        for i in range(4):
            pacer.send(f"m{i}")
        while len(socket.sent) < 4:
            await asyncio.sleep(0.01)
        return socket.sent

    times = [t for t, _ in _run(scenario())]
    assert times[3] - times[0] >= 0.05 - 1e-6


def test_wait_s_is_zero_while_the_window_has_room_and_counts_the_queue():
    async def scenario():
        socket = _Socket()
        pacer = MessagePacer(socket.send, lambda: True, max_messages=2, window_s=10)
        assert pacer.wait_s() == 0
        pacer.send("a")
        assert pacer.wait_s() == 0
        pacer.send("b")
        full = pacer.wait_s()
        pacer.send("c")  # queued: a message sent now would wait behind it for a second window
        return full, pacer.wait_s()

    full, behind_queue = _run(scenario())
    assert 9 < full <= 10
    assert 9 < behind_queue <= 10


def test_messages_queued_when_the_connection_ends_are_dropped_not_sent_later():
    async def scenario():
        socket = _Socket()
        pacer = MessagePacer(socket.send, lambda: socket.connected, max_messages=1, window_s=0.02)
        pacer.send("first")
        pacer.send("queued")
        socket.connected = False
        await asyncio.sleep(0.06)
        socket.connected = True
        pacer.send("next session")
        await asyncio.sleep(0.06)
        return [msg for _, msg in socket.sent]

    assert _run(scenario()) == ["first", "next session"]


@pytest.mark.parametrize("max_messages", [1, 2])
def test_a_slower_rate_set_later_applies_to_what_is_queued(max_messages):
    async def scenario():
        socket = _Socket()
        pacer = MessagePacer(socket.send, lambda: True, max_messages=max_messages, window_s=0.01)
        pacer.set_rate(max_messages, 0.2)
        for i in range(max_messages + 1):
            pacer.send(str(i))
        await asyncio.sleep(0.05)
        return len(socket.sent)

    assert _run(scenario()) == max_messages
