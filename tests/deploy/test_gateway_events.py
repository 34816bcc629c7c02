"""The entrypoint's gateway events: one `gateway.2fa` per wait for IBKR Mobile, one `gateway.failed` when it gives
the gateway up; in process over a memory store, and through the real entrypoint with an IBC-like gateway."""
import asyncio
from datetime import datetime, timedelta, timezone


from deploy.entrypoint.gateway_events import GatewayEvents
from lib.events.outbox import Event
from lib.notify import messages
from lib.store.factory import open_store
from lib.store.memory import MemoryStore
from tests.support.monitoring import counted

IBC = "2026-12-04 17:00:00:001 IBC: "


class SteppedClock:
    def __init__(self):
        self.now = datetime(2026, 12, 6, 17, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def events_of(store) -> list[dict]:
    return sorted((doc.data for doc in store.query("events")), key=lambda e: e["at"])


def test_one_event_per_wait_for_ibkr_mobile_and_one_when_the_entrypoint_gives_up(caplog):
    store = MemoryStore()
    opened = []
    events = GatewayEvents("live", lambda: opened.append(1) or store, clock=SteppedClock())

    async def feed():
        for line in ("Starting session", "Second Factor Authentication initiated",
                     "IBC closing after Second Factor Authentication dialog timeout",
                     # ibcstart.sh starts IBC again: a new prompt of the same wait
                     "Second Factor Authentication initiated", "Login has completed",
                     # the Sunday restart's login: a new wait
                     "Second Factor Authentication initiated",
                     "IBC closing after Second Factor Authentication dialog timeout"):
            events.line(IBC + line)
        events.gave_up("5 short runs in a row", 1111)
        await events.flush()

    asyncio.run(feed())
    recorded = events_of(store)
    assert [e["kind"] for e in recorded] == ["gateway.2fa", "gateway.2fa", "gateway.failed"]
    first, second, failed = recorded
    assert first["id"] == f"gateway-2fa-live-{first['data']['since']}" and first["id"] != second["id"]
    assert failed["data"] == {"reason": "5 short runs in a row", "exitCode": 1111, "secondFactorPromptsTimedOut": 2,
                              "waitingForSecondFactorSince": second["data"]["since"]}
    assert all(e["delivery"] == {"pubsub": "pending", "webhook": "pending"} for e in recorded)
    assert len(opened) == 1
    lines = [{"severity": r.levelname, "message": r.getMessage(), **getattr(r, "fields", {})} for r in caplog.records]
    assert len(counted("gateway-2fa", lines)) == 2
    # both kinds are messaged by default, saying what to do
    assert {"gateway.2fa", "gateway.failed"} <= set(messages.DEFAULT_KINDS)
    text = messages.text(Event(failed["id"], failed["kind"], failed["at"], "live", failed["data"]), "")
    assert text.startswith("[live] The container gave IB Gateway up while its login waited for IBKR Mobile")


def test_a_store_that_fails_loses_the_event_but_not_the_log_line(caplog):
    def unreachable():
        raise OSError("store unreachable")

    events = GatewayEvents("live", unreachable, clock=SteppedClock())

    async def feed():
        events.line(IBC + "Second Factor Authentication initiated")
        await events.flush()

    asyncio.run(feed())
    fields = [getattr(r, "fields", {}).get("event") for r in caplog.records]
    assert fields == ["gateway2fa", "gatewayEventFailed"]


def test_an_unapproved_login_is_one_2fa_event_and_the_give_up_one_more(entrypoint, tmp_path):
    process = entrypoint(env={"GATEWAY_CMD": "python3 -m tests.deploy.ibc_like_gateway", "GATEWAY_MAX_FAILURES": "2",
                              "GATEWAY_RESTART_BACKOFF_S": "0.05"})
    assert process.process.wait(timeout=30) == 1
    # a process's exit status keeps the code's low byte: IBC's 1111 arrives as 87
    assert [e["exitCode"] for e in process.events("gatewayExited")] == [1111 % 256]
    recorded = events_of(open_store("sqlite", path=str(tmp_path / "store.sqlite3")))
    assert [(e["kind"], e["mode"]) for e in recorded] == [("gateway.2fa", "paper"), ("gateway.failed", "paper")]
    assert recorded[1]["data"]["exitCode"] == 1111 % 256 and recorded[1]["data"]["secondFactorPromptsTimedOut"] == 2
    # deploy/monitoring counts the wait once and the give-up as the gateway down
    lines = process.log_entries()
    assert [line["event"] for line in counted("gateway-2fa", lines)] == ["gateway2fa"]
    assert [line["event"] for line in counted("gateway-down", lines)] == ["gatewayGaveUp"]
