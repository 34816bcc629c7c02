"""`allocation`: strategies' target weights sized against the account, netted per contract, placed and confirmed."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial

from ib_async import IB, Contract

from intents.base import Intent
from intents.allocation_params import AllocationParams
from lib.broker import market_data
from lib.broker.account import net_liquidation as account_net_liquidation
from lib.broker.instruments import ByConId, bars_frame
from lib.broker.parsing import ContractInfo
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import ServiceError
from lib.gateway import ib_requests
from lib.trading import net_liquidation_samples, start_of_day
from lib.trading.confirmation import Confirmed, confirm_positions
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import trading_date
from lib.trading.order_flow import OrderStyle, SendResult, StrategyOrder, adaptive_priority, send_recorded
from lib.trading.order_time import to_ib_utc
from lib.trading.run_claims import StrategyLocks
from strategies import get_strategy
from strategies.base import Strategy, StrategyError, StrategyInputs
from strategies.plan import (PlannedOrder, StrategyPlan, at_limit_prices, net_orders, size, strategy_exposure,
                             with_limit_prices)

log = logging.getLogger(__name__)

# the status of a run, not a dry run, that sent no order; `reasons` says why per strategy
NOTHING_TO_TRADE = "nothing to trade"


class EveryStrategyFailed(ServiceError):
    """No strategy of the run could be planned, so it placed nothing (HTTP 500, so alerting fires and Cloud
    Scheduler retries); the message names each strategy and its error."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("every strategy failed, nothing placed: "
                         + "; ".join(f"{strategy}: {error}" for strategy, error in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class BrokerInputs:
    """What one bridge round trip reads before planning: the gateway's clock, account values, each strategy's
    requirements, every instrument resolved (a Contract, or the error for it), minimum ticks by conId, and the
    bars of every history by (strategy id, history name)."""

    gateway_now: datetime
    account_values: list
    requirements: dict
    resolved: dict
    min_ticks: dict[int, float]
    bars: dict


@dataclass(frozen=True)
class Priced:
    """The second read: a price per conId and an FX rate to base per currency (each a value or its error)."""

    prices: dict
    fx: dict


class Allocation(Intent):
    """`allocation`: run the listed strategies and place the netted orders.

    Parameters: AllocationParams (strategies, dryRun, orderProperties, strategyParams).
    """

    name = "allocation"
    description = ("runs the listed strategies, sizes and nets their trades, places and confirms the orders; a run "
                   "that places none answers `status: \"nothing to trade\"` with each strategy's reason (`reasons`)")
    Params = AllocationParams
    places_orders = True
    conflicts = "another run is trading the same strategies"

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        config.require("exposure.overall")
        strategies = [get_strategy(i, params["strategyParams"].get(i, {})) for i in params["strategies"]]
        sent = SendResult()
        if params["dryRun"]:
            return self._allocate(strategies, params, config, deadline, sent)
        locks = StrategyLocks(self.store, self.settings.trading_mode, self.settings.claim_margin_s)
        with locks.holding([s.id for s in strategies], self.activity_id, self.clock(), deadline.remaining_s()):
            return self._allocate(strategies, params, config, deadline, sent)

    # --- the run ---------------------------------------------------------------------------------------

    def _allocate(self, strategies: list[Strategy], params: dict, config: TradingConfig, deadline: Deadline,
                  sent: SendResult) -> dict:
        ledger = Ledger(self.store, self.settings.trading_mode)
        # the day's executions applied first: a strategy sized from a ledger that missed a fill would trade it again
        confirmed = confirm_positions(self.bridge, ledger, config.get("account", ""), self.clock, deadline, self.name)
        book = ledger.view()
        plans = [StrategyPlan(s.id, book.holdings.get(s.id, {}), book.in_flight.get(s.id, {})) for s in strategies]
        held = sorted({con_id for plan in plans for con_id in (*plan.holdings, *plan.in_flight)})
        inputs = self.bridge.run(partial(fetch_inputs, strategies=strategies, held=held),
                                 timeout_s=deadline.remaining_s())
        today = trading_date(inputs.gateway_now)
        net_liquidation, base = account_net_liquidation(inputs.account_values, config.get("account", ""))
        net_liquidation_samples.record(self.store, self.settings.trading_mode, net_liquidation_samples.Sample(
            self.clock().isoformat(), net_liquidation, base, self.name, self.activity_id))
        if not params["dryRun"]:
            start_of_day.record_once(self.store, self.settings.trading_mode, start_of_day.StartOfDay(
                today, net_liquidation, base, self.clock().isoformat(), self.activity_id))
        contracts = decide(strategies, plans, inputs, config, net_liquidation)
        wanted = sorted({c for plan in plans if plan.error is None
                         for c in (*plan.holdings, *plan.in_flight, *plan.signals.con_ids)})
        ib_contracts = {c.conId: c for c in inputs.resolved.values() if not isinstance(c, Exception)}
        priced = self.bridge.run(partial(fetch_prices, contracts=[ib_contracts[c] for c in wanted], base=base,
                                         market_data_type=int(config.get("marketDataType", 1)), today=today),
                                 timeout_s=deadline.remaining_s())
        planned = unconfirmed_refused(plan_orders(plans, contracts, wanted, priced, inputs.min_ticks, config,
                                                  params["orderProperties"].get("limitOffsetPercent")), confirmed)
        result = _report(params, inputs.gateway_now, net_liquidation, base, plans, contracts, wanted, priced,
                         planned)
        result["unconfirmed"] = confirmed.report()
        if all(plan.error for plan in plans):
            raise EveryStrategyFailed(result["errors"])
        if params["dryRun"]:
            result["orders"] = []
            return result
        sendable = [order for order in planned if order.refused is None]
        result["orders"] = self._place(sendable, ib_contracts, params["orderProperties"], config, ledger,
                                       inputs.gateway_now, deadline, sent)
        if not result["orders"]:
            result["status"] = NOTHING_TO_TRADE
            result["reasons"] = nothing_traded(plans, planned, contracts)
        return result

    def _place(self, planned: list[PlannedOrder], ib_contracts: dict[int, Contract], properties: dict,
               config: TradingConfig, ledger: Ledger, gateway_now: datetime, deadline: Deadline,
               sent: SendResult) -> list[dict]:
        style = OrderStyle(
            order_ref=f"allocation-{self.activity_id}", priority=adaptive_priority(config),
            account=config.get("account", ""),
            good_after_time=to_ib_utc(properties["goodAfterTime"], gateway_now) if "goodAfterTime" in properties
            else "",
            outside_rth=properties.get("outsideRth", False))
        orders = [StrategyOrder(ib_contracts[order.trade.con_id], order.trade.quantity, order.trade.source,
                                order.limit_price) for order in planned]
        send_recorded(self.bridge, ledger, orders, style, deadline, lambda: self.clock().isoformat(), sent,
                      self.claim)
        return sent.reports


# --- planning (pure: broker data in, plans out) ---------------------------------------------------------

def decide(strategies: list[Strategy], plans: list[StrategyPlan], inputs: BrokerInputs, config: TradingConfig,
           net_liquidation: float) -> dict[int, ContractInfo]:
    """Each plan's exposure, signals and contract ids (or its error); returns the resolved contracts by conId.

    A strategy whose instruments, history or config keys are missing, or that holds a contract IB no longer
    knows, gets an error and trades nothing; the others go on.
    """
    today = trading_date(inputs.gateway_now)
    frames = {key: bars if isinstance(bars, Exception) else bars_frame(bars) for key, bars in inputs.bars.items()}
    contracts = {c.conId: ContractInfo.from_contract(c) for c in inputs.resolved.values()
                 if not isinstance(c, Exception)}
    for strategy, plan in zip(strategies, plans):
        try:
            plan.exposure = strategy_exposure(net_liquidation, config, strategy.id)
            requirements = inputs.requirements[strategy.id]
            named = {}
            for name, instrument in requirements.instruments.items():
                contract = inputs.resolved[instrument]
                if isinstance(contract, Exception):
                    raise StrategyError(f"instrument {name}: {contract}")
                named[name] = ContractInfo.from_contract(contract)
            bars = {name: frames.get((strategy.id, name), bars_frame([])) for name in requirements.histories}
            failed = {name: frame for name, frame in bars.items() if isinstance(frame, Exception)}
            if failed:
                name, error = next(iter(failed.items()))
                raise StrategyError(f"history {name}: {type(error).__name__}: {error}")
            strategy_inputs = StrategyInputs(contracts=named, bars=bars, holdings=plan.holdings, today=today)
            plan.signals = strategy.signals(strategy_inputs)
            plan.contract_ids = strategy.contract_ids(strategy_inputs)
        except (ServiceError, ValueError) as exc:
            plan.error = f"{type(exc).__name__}: {exc}"
    for plan in plans:
        missing = [c for c in (*plan.holdings, *plan.in_flight) if c not in contracts]
        if missing and plan.error is None:
            plan.error = f"IB does not know held conId(s) {missing}: {inputs.resolved[ByConId(missing[0])]}"
    return contracts


def plan_orders(plans: list[StrategyPlan], contracts: dict[int, ContractInfo], wanted: list[int], priced: Priced,
                min_ticks: dict[int, float], config: TradingConfig,
                limit_offset_percent: float | None) -> list[PlannedOrder]:
    """Size every plan at the prices read, then net the trades per contract (limits priced when asked)."""
    fx_by_con_id = {con_id: priced.fx[contracts[con_id].currency] for con_id in wanted}
    multipliers = {con_id: contracts[con_id].multiplier for con_id in wanted}
    for plan in plans:
        try:
            size(plan, priced.prices, multipliers, fx_by_con_id)
        except ValueError as exc:
            plan.error = str(exc)
    max_notional = config.number("maxOrderNotional", None)
    planned = net_orders(plans, contracts, priced.prices, fx_by_con_id, max_notional)
    if limit_offset_percent is not None:
        planned = with_limit_prices(planned, priced.prices, min_ticks, limit_offset_percent)
        planned = at_limit_prices(planned, fx_by_con_id, max_notional)
    for plan in plans:
        if plan.error:
            log.warning("strategy %s: %s", plan.strategy, plan.error)
    return planned


def unconfirmed_refused(planned: list[PlannedOrder], confirmed: Confirmed) -> list[PlannedOrder]:
    """The orders, those in a contract whose ledger total IB does not confirm refused (the others go on)."""
    return [replace(order, refused=confirmed.refusal(order.trade.con_id))
            if order.refused is None and confirmed.refusal(order.trade.con_id) else order for order in planned]


def nothing_traded(plans: list[StrategyPlan], planned: list[PlannedOrder],
                   contracts: dict[int, ContractInfo]) -> dict[str, str]:
    """Why each strategy of a run that sent no order traded nothing, by strategy id: its error, its decision to
    keep its holdings, a target it already holds (weight 0 with nothing held among them), a target that rounds to
    no whole share or contract, its orders refused (maxOrderNotional, a contract IB does not confirm, a limit that
    cannot be priced), or trades that net out against other strategies' in the same contracts."""
    by_con_id = {order.trade.con_id: order for order in planned}
    reasons = {}
    for plan in plans:
        if plan.error is not None:
            reasons[plan.strategy] = f"strategy error: {plan.error}"
        elif plan.signals is None or plan.signals.hold:
            why = plan.signals.details.get("reason") if plan.signals is not None else None
            reasons[plan.strategy] = "the strategy keeps its holdings" + (f": {why}" if why else "")
        elif plan.trades:
            refused = [f"{contracts[c].local_symbol}: {by_con_id[c].refused}" for c in plan.trades
                       if c in by_con_id and by_con_id[c].refused]
            reasons[plan.strategy] = ("order refused: " + "; ".join(refused) if refused
                                      else "its trades net out against other strategies' trades in the same contracts")
        else:
            reasons[plan.strategy] = _no_trade(plan, contracts)
    return reasons


def _no_trade(plan: StrategyPlan, contracts: dict[int, ContractInfo]) -> str:
    """Why a plan sized to no trade: its targets equal what it holds and has in flight."""
    weights = plan.signals.weights or {}
    rounded = [contracts[c].local_symbol for c, weight in weights.items()
               if weight and not (plan.targets or {}).get(c) and not plan.holdings.get(c) and not plan.in_flight.get(c)]
    if rounded:
        return (f"the trade rounds to zero shares or contracts: exposure {plan.exposure:,.2f} x weight buys less than "
                f"one of {', '.join(rounded)}")
    if weights and not any(weights.values()) and not plan.holdings and not plan.in_flight:
        return "weight 0: no position wanted, and none held"
    return "the target positions equal the holdings (with the orders in flight)"


def _report(params: dict, gateway_now: datetime, net_liquidation: float, base: str, plans: list[StrategyPlan],
            contracts: dict[int, ContractInfo], wanted: list[int], priced: Priced,
            planned: list[PlannedOrder]) -> dict:
    return {
        "status": "dryRun" if params["dryRun"] else "done",
        "netLiquidation": {"value": net_liquidation, "currency": base},
        "gatewayTime": gateway_now.isoformat(),
        "strategies": {plan.strategy: plan.report() for plan in plans},
        "contracts": {str(c): {"localSymbol": contracts[c].local_symbol, "secType": contracts[c].sec_type,
                               "currency": contracts[c].currency, "multiplier": contracts[c].multiplier}
                      for c in wanted},
        "prices": {str(c): _reportable(p) for c, p in sorted(priced.prices.items())},
        "fx": {currency: _reportable(rate) for currency, rate in sorted(priced.fx.items())},
        "consolidatedTrades": [order.report() for order in planned],
        "errors": {plan.strategy: plan.error for plan in plans if plan.error},
    }


# --- broker reads (coroutines on the IB loop) -----------------------------------------------------------

async def fetch_inputs(ib: IB, strategies: list[Strategy], held: list[int]) -> BrokerInputs:
    """Gateway time, account values, each strategy's requirements on the gateway's trading day, every instrument
    resolved (with its minimum tick by conId) and the bars of every history: one bridge round trip."""
    gateway_now = await ib_requests.current_time(ib)
    today = trading_date(gateway_now)
    requirements = {strategy.id: strategy.requirements(today) for strategy in strategies}
    instruments = [i for r in requirements.values() for i in r.instruments.values()]
    instruments += [ByConId(con_id) for con_id in held]
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
    return BrokerInputs(gateway_now, list(ib.accountValues()), requirements, resolved, min_ticks, bars)


async def fetch_prices(ib: IB, contracts: list[Contract], base: str, market_data_type: int, today: date) -> Priced:
    prices = await market_data.prices(ib, contracts, market_data_type)
    fx = await market_data.fx_rates(ib, {c.currency for c in contracts}, base, market_data_type, today)
    return Priced(prices, fx)


def _reportable(value):
    return f"{type(value).__name__}: {value}" if isinstance(value, Exception) else value
