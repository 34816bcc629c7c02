"""Intent base: parameter models, time budget, kill switch and the activity record of order-capable runs."""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Annotated, Any, Callable, ClassVar

from pydantic import Field, ValidationError

from lib.config import Settings, TradingConfig, check_order_limits
from lib.deadline import Deadline
from lib.broker import order_refs
from lib.errors import PreconditionFailed, TradingDisabled, orders_sent
from lib.events import outbox
from lib.gateway import ib_requests
from lib.params import Flag, NumberText, ParamsModel, bad_request
from lib.trading import net_liquidation_samples
from lib.trading.market_calendar import DEFAULT_CALENDAR, is_trading_day, trading_date
from lib.trading.ledger import Ledger
from lib.trading.run_claims import RunClaim, RunClaims, ambiguous, duplicate_result, in_progress

log = logging.getLogger(__name__)

# a shorter budget can be used up waiting for IB's pacing (lib/gateway/pacing: 45 messages a second per connection,
# shared by every caller of the worker, more than once in a run that reads in rounds): such a budget is refused
# (400) rather than answered 504
MIN_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 3600.0
# run controls, not part of what a run asks for: left out of its recorded parameters and signature
RUN_CONTROLS = frozenset({"timeout_seconds", "force"})

Seconds = Annotated[float, Field(ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S, allow_inf_nan=False,
                                 description="time budget of the run in seconds; past it the answer is 504"),
                    NumberText]
DryRun = Annotated[Flag, Field(description="compute everything and report it, place nothing; allowed while the kill "
                                           "switch (`tradingEnabled`) is off")]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def signature(intent: str, params: dict) -> str:
    """Stable hash of what a run asked for: same intent and parameters -> same signature.

    The service revision is left out on purpose: a Cloud Scheduler retry of a request that timed out during a
    deploy lands on the new revision, and it asks for the same orders.
    """
    canonical = json.dumps([intent, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IntentParams(ParamsModel):
    """What every intent accepts. A subclass adds the intent's parameters and sets its default time budget."""

    timeout_seconds: Seconds = 30.0


class OrderParams(IntentParams):
    """What every intent that can place orders accepts."""

    force: Flag = Field(False, description="run even when the exchange calendar (`marketCalendar`) has no session "
                                           "today; without it such a run places nothing")


class Intent:
    """One job of the service, run by `GET|POST /{name}`.

    Subclasses set `name`, `description` (what it does, for the OpenAPI document), `Params` (their parameter model:
    an OrderParams when `places_orders`), `places_orders`, `records_activity` and `conflicts` (when the intent
    answers 409, empty when never), and implement `execute`, which receives the validated parameters as a JSON-able
    dict keyed by their wire names, without the run controls `timeoutSeconds` and `force`. A run that may place
    orders executes under its duplicate-run claim, `self.claim`, which `send_recorded` counts its orders in.

    Parameters:
        bridge: the worker's IBBridge.
        store: the DocumentStore.
        settings: process Settings.
        clock: returns the current UTC datetime.
        trigger: who started the run (`{"kind": "scheduler" | "manual", ...}`, read from the request by main.py),
            kept in its activity document.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[IntentParams]] = IntentParams
    places_orders: ClassVar[bool] = False
    # runs that change the ledger leave an activity document even when they cannot place orders
    records_activity: ClassVar[bool] = False
    conflicts: ClassVar[str] = ""
    # the default time budget in seconds, read from the model (the deployment files are checked against it)
    timeout_s: ClassVar[float] = IntentParams.model_fields["timeout_seconds"].default

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.places_orders and not issubclass(cls.Params, OrderParams):
            raise TypeError(f"{cls.__name__} places orders, so its Params must be an OrderParams (for `force`)")
        cls.timeout_s = cls.Params.model_fields["timeout_seconds"].default

    def __init__(self, *, bridge, store, settings: Settings, clock: Callable[[], datetime] = utc_now,
                 trigger: Mapping[str, Any] | None = None):
        self.bridge = bridge
        self.store = store
        self.settings = settings
        self.clock = clock
        self.trigger = dict(trigger) if trigger else {"kind": "unknown"}
        # set for recorded runs once their activity document exists; `claim` once a run that may place orders
        # holds its duplicate-run claim
        self.activity_id: str | None = None
        self.signature: str | None = None
        self.claim: RunClaim | None = None

    @classmethod
    def parse_params(cls, raw_params: Mapping[str, Any], now: datetime) -> IntentParams:
        """The request's parameters validated by the intent's model, as of `now` (for relative order times).

        Raises:
            BadRequest: unknown or invalid parameters, each named.
        """
        try:
            return cls.Params.model_validate(raw_params, context={"now": now})
        except ValidationError as exc:
            raise bad_request(exc, repr(cls.name)) from None

    def parse(self, raw_params: Mapping[str, Any]) -> IntentParams:
        """`parse_params` as of this intent's clock."""
        return self.parse_params(raw_params, self.clock())

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        raise NotImplementedError

    def run(self, raw_params: Mapping[str, Any], parsed: IntentParams | None = None) -> dict:
        """Validate, check the kill switch, execute within the time budget; order-capable runs leave activity.

        Args:
            parsed: `raw_params` as `parse_params` already validated them (main.py does, for an early 400); not
                parsed again, as the values a parse keeps do not depend on the time it checks them against.
        """
        request = parsed if parsed is not None else self.parse(raw_params)
        deadline = Deadline(request.timeout_seconds)
        force = isinstance(request, OrderParams) and request.force
        params = request.model_dump(mode="json", exclude=RUN_CONTROLS)
        # active: the store's retries of contended transactions give up when the run's budget does
        with deadline.active():
            config = TradingConfig.load(self.store, self.settings.trading_mode)
            if not (self.places_orders or self.records_activity):
                return self.execute(params, config, deadline)
            may_place = self.may_place_orders(params, config)
            if may_place:
                self._check_trading_allowed(config)
            return self._run_recorded(params, config, deadline, may_place, force)

    def may_place_orders(self, params: dict, config: TradingConfig) -> bool:
        """Whether this run could send orders (a dry run, validated `dryRun: true`, cannot, so the kill switch lets
        it through). An override must stay False for an intent that does not place orders."""
        return self.places_orders and not params.get("dryRun", False)

    def _check_trading_allowed(self, config: TradingConfig) -> None:
        if self.settings.trading_mode == "live" and not config.has_mode_document:
            raise TradingDisabled("live trading needs a config/live document")
        enabled = config.require("tradingEnabled")
        if enabled is not True:
            raise TradingDisabled(f"trading is disabled (tradingEnabled={enabled!r}); {self.name!r} places orders")
        check_order_limits(config)

    def record_net_liquidation(self, account_values, account: str) -> net_liquidation_samples.Sample | None:
        """This run's NetLiquidation sample from IB's account values (None when IB reported none)."""
        return net_liquidation_samples.record_from_account(
            self.store, self.settings.trading_mode, account_values, account, at=self.clock().isoformat(),
            source=self.name, activity_id=self.activity_id)

    def _market_closed(self, config: TradingConfig, deadline: Deadline) -> dict | None:
        """A reason to place nothing when the exchange has no session today (by the gateway's clock)."""
        calendar = config.get("marketCalendar", DEFAULT_CALENDAR)
        gateway_now = self.bridge.run(ib_requests.current_time, timeout_s=deadline.remaining_s())
        day = trading_date(gateway_now)
        if is_trading_day(day, calendar):
            return None
        log.info("%s skipped: %s has no session on %s", self.name, calendar, day)
        return {"status": "market closed", "gatewayTime": gateway_now.isoformat(),
                "reason": f"{calendar} has no session on {day.strftime('%A %Y-%m-%d')}; nothing placed "
                          "(pass force: true to run anyway)"}

    def _run_recorded(self, params: dict, config: TradingConfig, deadline: Deadline, may_place: bool,
                      force: bool) -> dict:
        started = self.clock()
        activity = {
            "intent": self.name,
            "parameters": params,
            "signature": signature(self.name, params),
            "tradingMode": self.settings.trading_mode,
            "serviceRevision": self.settings.service_revision,
            "status": "running",
            "startedAt": started.isoformat(),
            "trigger": self.trigger,
        }
        activity_id = self.store.add("activity", activity)
        self.activity_id = activity_id
        self.signature = activity["signature"]
        try:
            closed = self._market_closed(config, deadline) if may_place and not force else None
            result = closed or self._execute_claimed(params, config, deadline, may_place)
        except Exception as exc:
            sent = orders_sent(exc)
            self._finish_recorded({"status": "failed", "exception": f"{type(exc).__name__}: {exc}",
                                   **({"ordersSent": len(sent), "orders": sent} if sent else {}),
                                   "finishedAt": self.clock().isoformat()})
            raise
        self._finish_recorded({"status": "done", "result": result, "finishedAt": self.clock().isoformat()})
        return result

    def _finish_recorded(self, outcome: dict) -> None:
        """The run's end in its activity document and its `run.finished` / `run.failed` event, together."""
        path = f"activity/{self.activity_id}"
        failed = outcome["status"] == "failed"
        result = outcome.get("result") if isinstance(outcome.get("result"), dict) else {}
        event = {"activityId": self.activity_id, "intent": self.name, "trigger": self.trigger,
                 "outcome": outcome["status"],
                 **({"exception": outcome["exception"], "ordersSent": outcome.get("ordersSent", 0)} if failed else
                    {"status": result.get("status", "done"), "ordersSent": len(result.get("orders", []))})}

        def finish(tx):
            tx.update(path, outcome)
            outbox.emit(tx, "run.failed" if failed else "run.finished", outbox.stable_id("run", self.activity_id),
                        event, at=outcome["finishedAt"], mode=self.settings.trading_mode)

        self.store.run_transaction(finish)
        # the line deploy/monitoring's run-failed and run-succeeded metrics count
        log.log(logging.ERROR if failed else logging.INFO, "%s run %s %s", self.name, self.activity_id,
                outcome["status"], extra={"fields": {"event": "runFailed" if failed else "runFinished",
                                                     "intent": self.name, "activityId": self.activity_id,
                                                     "trigger": self.trigger}})

    def _settle_by_broker(self, claims: RunClaims, earlier: dict, window: timedelta,
                          deadline: Deadline) -> dict | None:
        """An identical run died with orders that may have reached IB: IB's own lists settle it. Orders IB has
        under the dead run's orderRef make this run a duplicate (reconciliation applies their executions to the
        records the dead run left); none mean they never left: its records are forgotten, its claim is void and this
        run takes it over (None)."""
        order_ref = earlier.get("orderRef")
        found = self.bridge.run(partial(order_refs.orders_with_ref, order_ref=order_ref),
                                timeout_s=deadline.remaining_s()) if order_ref else None
        if found is None or found > 0:
            claims.mark_settled(self.signature, earlier, found or earlier.get("ordersPlaced", 0))
            log.info("%s: run %s died after sending; IB lists %s of its orders", self.name, earlier["activityId"],
                     found)
            return {**duplicate_result(self.name, earlier, window), "settledByBroker": {
                "orderRef": order_ref, "ordersAtIb": found,
                "reason": f"run {earlier['activityId']} died with orders possibly sent; IB lists {found} order(s) "
                          f"under {order_ref!r}, so nothing is placed again"}}
        forgotten = Ledger(self.store, self.settings.trading_mode).forget_unsent(order_ref)
        log.warning("%s: run %s died before its %d order(s) reached IB (none under %r); its claim is void and this "
                    "run trades", self.name, earlier["activityId"], len(forgotten), order_ref)
        self.claim = claims.take_over(self.signature, earlier, self.activity_id, self.clock(), deadline.budget_s)
        if self.claim is None:
            raise PreconditionFailed(f"another retry of {self.name} took over run {earlier['activityId']}'s claim")
        return None

    def _execute_claimed(self, params: dict, config: TradingConfig, deadline: Deadline, may_place: bool) -> dict:
        """`execute`, under a duplicate-run claim when the run may place orders: an identical run inside
        `retryCheckMinutes` answers `duplicate` instead; the claim is kept only when orders may have left."""
        if not may_place:
            return self.execute(params, config, deadline)
        window = timedelta(minutes=config.number("retryCheckMinutes"))
        claims = RunClaims(self.store, self.settings.trading_mode, self.name, self.settings.claim_margin_s)
        now = self.clock()
        self.claim, earlier = claims.claim(self.signature, self.activity_id, now, window, deadline.budget_s)
        if earlier is not None and ambiguous(earlier, now):
            settled = self._settle_by_broker(claims, earlier, window, deadline)
            if settled is not None:
                return settled
        elif earlier is not None and in_progress(earlier, now):
            # its outcome is not known yet: a 409 (which Cloud Scheduler retries) rather than a 200 that would end
            # the retries of a run that may die before its orders leave
            raise PreconditionFailed(
                f"an identical {self.name} (run {earlier['activityId']}, started {earlier['claimedAt']}) is still "
                f"running and may not have sent its orders yet; try again after {earlier['runUntil']}")
        elif earlier is not None:
            log.info("%s is a duplicate of run %s", self.name, earlier["activityId"])
            return duplicate_result(self.name, earlier, window)
        try:
            result = self.execute(params, config, deadline)
        except Exception:
            self.claim.finish("failed")
            raise
        self.claim.finish("done")
        return result
