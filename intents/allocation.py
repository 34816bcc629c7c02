"""`allocation`: strategies' target weights sized against the account, netted per contract, placed and confirmed."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from ib_insync import IB, Contract

from intents.base import Intent
from intents.params import as_bool, as_str_list
from lib.broker import market_data
from lib.broker.account import net_liquidation as account_net_liquidation
from lib.broker.instruments import ByConId, bars_frame
from lib.broker.parsing import ContractInfo
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import BadRequest, ServiceError
from lib.gateway import ib_requests
from lib.trading.ledger import Ledger
from lib.trading.limit_prices import check_offset
from lib.trading.market_calendar import trading_date
from lib.trading.order_flow import OrderStyle, SendResult, StrategyOrder, adaptive_priority, send_recorded
from lib.trading.order_time import to_ib_utc
from lib.trading.run_claims import RunClaims, StrategyLocks
from strategies import get_strategy
from strategies.base import Requirements, Strategy, StrategyError, StrategyInputs
from strategies.plan import PlannedOrder, StrategyPlan, net_orders, size, with_limit_prices

log = logging.getLogger(__name__)

ORDER_PROPERTIES = frozenset({"goodAfterTime", "outsideRth", "limitOffsetPercent"})


class Allocation(Intent):
    """`allocation`: run the listed strategies and place the netted orders.

    Parameters: strategies (required list of strategy ids), dryRun (compute everything, place nothing),
    orderProperties ({goodAfterTime: "today 15:55 America/New_York", outsideRth: bool, limitOffsetPercent: number
    for limit orders instead of market orders}), strategyParams
    ({strategy id: {its parameters}}, e.g. {"dummy": {"seed": 7}}).
    """

    name = "allocation"
    params = frozenset({"strategies", "dryRun", "orderProperties", "strategyParams"})
    places_orders = True
    timeout_s = 120.0

    def validate(self, params: dict) -> dict:
        params = super().validate(params)
        if "strategies" not in params:
            raise BadRequest("parameter 'strategies' is required: a non-empty list of strategy ids")
        ids = as_str_list(params["strategies"], "strategies")
        if not ids:
            raise BadRequest("parameter 'strategies' must name at least one strategy")
        if len(set(ids)) != len(ids):
            raise BadRequest(f"parameter 'strategies' names a strategy twice: {ids}")
        strategy_params = _json_object(params.get("strategyParams", {}), "strategyParams")
        stray = sorted(set(strategy_params) - set(ids))
        if stray:
            raise BadRequest(f"strategyParams names strategies that are not run: {', '.join(stray)}")
        self.strategies: list[Strategy] = [get_strategy(i, _json_object(strategy_params.get(i, {}),
                                                                         f"strategyParams.{i}")) for i in ids]
        properties = _json_object(params.get("orderProperties", {}), "orderProperties")
        unknown = sorted(set(properties) - ORDER_PROPERTIES)
        if unknown:
            raise BadRequest(f"orderProperties does not accept {', '.join(unknown)} "
                             f"(accepted: {', '.join(sorted(ORDER_PROPERTIES))})")
        if "goodAfterTime" in properties:
            to_ib_utc(properties["goodAfterTime"], self.clock())
        if "outsideRth" in properties:
            properties["outsideRth"] = as_bool(properties["outsideRth"], "orderProperties.outsideRth")
        if "limitOffsetPercent" in properties:
            try:
                properties["limitOffsetPercent"] = check_offset(properties["limitOffsetPercent"])
            except ValueError as exc:
                raise BadRequest(f"orderProperties: {exc}") from None
        return {"strategies": ids, "dryRun": as_bool(params.get("dryRun", False), "dryRun"),
                "orderProperties": properties, "strategyParams": strategy_params}

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        overall = config.number("exposure.overall")
        if overall == 0:
            return {"status": "aborted", "reason": "exposure.overall is 0: nothing to allocate, nothing placed"}
        self._sent = SendResult()
        if params["dryRun"]:
            return self._allocate(params, config, deadline, overall)
        window = timedelta(minutes=config.number("retryCheckMinutes"))
        claims = RunClaims(self.store, self.settings.trading_mode, self.name)
        earlier = claims.claim(self.signature, self.activity_id, self.clock(), window)
        if earlier is not None:
            state = ("is still running" if earlier["status"] == "running"
                     else f"placed {earlier['ordersPlaced']} order(s)")
            return {"status": "duplicate", "earlierActivityId": earlier["activityId"],
                    "reason": f"an identical allocation started at {earlier['claimedAt']} {state}; within "
                              f"retryCheckMinutes ({window.total_seconds() / 60:g}) nothing is placed again"}
        locks = StrategyLocks(self.store, self.settings.trading_mode)
        try:
            with locks.holding([s.id for s in self.strategies], self.activity_id, self.clock(),
                               deadline.remaining_s()):
                result = self._allocate(params, config, deadline, overall)
        except Exception:
            # a run that placed nothing (refused by a lock, or failed before sending) gives its claim back
            claims.finish(self.signature, self.activity_id, self._sent.sent, "failed")
            raise
        claims.finish(self.signature, self.activity_id, self._sent.sent, "done")
        return result

    # --- the run ---------------------------------------------------------------------------------------

    def _allocate(self, params: dict, config: TradingConfig, deadline: Deadline, overall: float) -> dict:
        mode = self.settings.trading_mode
        ledger = Ledger(self.store, mode)
        in_flight = ledger.in_flight_by_strategy()
        holdings = ledger.all_holdings()
        plans = [StrategyPlan(s.id, holdings.get(s.id, {}), in_flight.get(s.id, {})) for s in self.strategies]
        held = {con_id for plan in plans for con_id in (*plan.holdings, *plan.in_flight)}
        account = config.get("account", "")

        gateway_now, values, requirements, resolved, min_ticks, bars = self.bridge.run(
            lambda ib: _fetch_inputs(ib, self.strategies, held), timeout_s=deadline.remaining_s())
        frames = {(strategy.id, name): bars_frame(bars.get((strategy.id, name), []))
                  for strategy in self.strategies for name in requirements[strategy.id].histories}
        today = trading_date(gateway_now)
        net_liquidation, base = account_net_liquidation(values, account)
        if not params["dryRun"]:
            self._record_start_of_day(today, net_liquidation, base)

        ib_contracts = {c.conId: c for c in resolved.values() if not isinstance(c, Exception)}
        contracts = {con_id: ContractInfo.from_contract(c) for con_id, c in ib_contracts.items()}
        for strategy, plan in zip(self.strategies, plans):
            self._decide(strategy, plan, config, overall, net_liquidation, requirements[strategy.id], resolved,
                         frames)
        unresolved_held = sorted(con_id for con_id in held if con_id not in contracts)
        for plan in plans:
            missing = [c for c in (*plan.holdings, *plan.in_flight) if c in unresolved_held]
            if missing and plan.error is None:
                plan.error = f"IB does not know held conId(s) {missing}: {resolved[ByConId(missing[0])]}"

        wanted: set[int] = set()
        for plan in plans:
            if plan.error is None:
                wanted |= {*plan.holdings, *plan.in_flight, *(plan.signals.weights or {})}
        market_data_type = int(config.get("marketDataType", 1))
        prices, fx = self.bridge.run(
            lambda ib: _fetch_prices(ib, [ib_contracts[c] for c in sorted(wanted)], base, market_data_type, today),
            timeout_s=deadline.remaining_s())
        fx_by_con_id = {con_id: fx[contracts[con_id].currency] for con_id in wanted}
        multipliers = {con_id: contracts[con_id].multiplier for con_id in wanted}
        for plan in plans:
            try:
                size(plan, prices, multipliers, fx_by_con_id)
            except ValueError as exc:
                plan.error = str(exc)

        planned = net_orders(plans, contracts, prices, fx_by_con_id, config.number("maxOrderNotional", None))
        offset = params["orderProperties"].get("limitOffsetPercent")
        if offset is not None:
            planned = with_limit_prices(planned, prices, min_ticks, offset)
        result = {
            "status": "dryRun" if params["dryRun"] else "done",
            "netLiquidation": {"value": net_liquidation, "currency": base},
            "gatewayTime": gateway_now.isoformat(),
            "strategies": {plan.strategy: plan.report() for plan in plans},
            "contracts": {str(c): {"localSymbol": info.local_symbol, "secType": info.sec_type,
                                   "currency": info.currency, "multiplier": info.multiplier}
                          for c, info in sorted(contracts.items()) if c in wanted},
            "prices": {str(c): _reportable(p) for c, p in sorted(prices.items())},
            "fx": {currency: _reportable(rate) for currency, rate in sorted(fx.items())},
            "consolidatedTrades": [order.report() for order in planned],
            "errors": {plan.strategy: plan.error for plan in plans if plan.error},
        }
        for plan in plans:
            if plan.error:
                log.warning("strategy %s: %s", plan.strategy, plan.error)
        sendable = [order for order in planned if order.refused is None]
        if params["dryRun"]:
            result["orders"] = []
            return result
        result["orders"] = self._place(sendable, ib_contracts, params["orderProperties"], config, account, ledger,
                                       gateway_now, deadline)
        return result

    def _decide(self, strategy: Strategy, plan: StrategyPlan, config: TradingConfig, overall: float,
                net_liquidation: float, requirements: Requirements, resolved: dict, frames: dict) -> None:
        try:
            share = config.number(f"exposure.strategies.{strategy.id}")
            plan.exposure = round(net_liquidation * overall * share, 2)
            contracts = {}
            for name, instrument in requirements.instruments.items():
                contract = resolved[instrument]
                if isinstance(contract, Exception):
                    raise StrategyError(f"instrument {name}: {contract}")
                contracts[name] = ContractInfo.from_contract(contract)
            bars = {name: frames[(strategy.id, name)] for name in requirements.histories}
            inputs = StrategyInputs(contracts=contracts, bars=bars, holdings=plan.holdings)
            plan.signals = strategy.signals(inputs)
            plan.contract_ids = strategy.contract_ids(inputs)
        except (ServiceError, ValueError) as exc:
            plan.error = f"{type(exc).__name__}: {exc}"

    def _record_start_of_day(self, today, net_liquidation: float, base: str) -> None:
        """The first allocation of a trading day keeps that day's opening NetLiquidation for the risk check."""
        path = f"status/{self.settings.trading_mode}"

        def record(tx):
            current = tx.get(path) or {}
            if current.get("date") != today.isoformat():
                tx.set(path, {"date": today.isoformat(), "startOfDayNetLiquidation": net_liquidation,
                              "currency": base, "recordedAt": self.clock().isoformat(),
                              "activityId": self.activity_id})

        self.store.run_transaction(record)

    def _place(self, planned: list[PlannedOrder], ib_contracts: dict[int, Contract], properties: dict,
               config: TradingConfig, account: str, ledger: Ledger, gateway_now: datetime,
               deadline: Deadline) -> list[dict]:
        style = OrderStyle(
            order_ref=f"allocation-{self.activity_id}", priority=adaptive_priority(config), account=account,
            good_after_time=to_ib_utc(properties["goodAfterTime"], gateway_now) if "goodAfterTime" in properties
            else "",
            outside_rth=properties.get("outsideRth", False))
        orders = [StrategyOrder(ib_contracts[order.trade.con_id], order.trade.quantity, order.trade.source,
                                order.limit_price) for order in planned]
        send_recorded(self.bridge, ledger, orders, style, deadline, lambda: self.clock().isoformat(), self._sent)
        return self._sent.reports


async def _fetch_inputs(ib: IB, strategies: list[Strategy], held: set[int]):
    """Gateway time, account values, each strategy's requirements on the gateway's trading day, every instrument
    resolved (with its minimum tick by conId) and the bars of every history: one bridge round trip."""
    gateway_now = await ib_requests.current_time(ib)
    today = trading_date(gateway_now)
    requirements = {strategy.id: strategy.requirements(today) for strategy in strategies}
    instruments = [i for r in requirements.values() for i in r.instruments.values()]
    instruments += [ByConId(con_id) for con_id in sorted(held)]
    details = await market_data.resolve_details(ib, instruments, today)
    resolved = market_data.contracts_of(details)
    min_ticks = {found.contract.conId: found.minTick for found in details.values()
                 if not isinstance(found, Exception)}
    history_requests = {}
    for strategy_id, requirement in requirements.items():
        for name, request in requirement.histories.items():
            contract = resolved[requirement.instruments[request.instrument]]
            if not isinstance(contract, Exception):
                history_requests[(strategy_id, name)] = (contract, request)
    bars = await market_data.histories(ib, history_requests)
    return gateway_now, ib.accountValues(), requirements, resolved, min_ticks, bars


async def _fetch_prices(ib: IB, contracts: list[Contract], base: str, market_data_type: int, today):
    prices = await market_data.prices(ib, contracts, market_data_type)
    fx = await market_data.fx_rates(ib, {c.currency for c in contracts}, base, market_data_type, today)
    return prices, fx


def _json_object(value, name: str) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise BadRequest(f"parameter {name!r} must be a JSON object, got {value!r}") from None
    if not isinstance(value, dict):
        raise BadRequest(f"parameter {name!r} must be a JSON object, got {value!r}")
    return dict(value)


def _reportable(value):
    return f"{type(value).__name__}: {value}" if isinstance(value, Exception) else value
