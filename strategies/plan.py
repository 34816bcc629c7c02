"""The allocation plan: from signals, prices and FX rates to each strategy's targets and the netted orders (pure)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from lib.broker.parsing import ContractInfo
from lib.config import TradingConfig
from lib.trading.limit_prices import limit_price
from lib.trading.sizing import ConsolidatedTrade, consolidate, strategy_trades, target_positions
from strategies.base import Signals


# weights whose absolute values add up to less than this more than 1 are left as they are (float sums)
GROSS_TOLERANCE = 1e-9


@dataclass
class StrategyPlan:
    """One strategy's part of a run; `error` set means it trades nothing this run. `weight_scale` is what its
    weights were multiplied by when sized (`size`): below 1 when their absolute values added up to more than 1."""

    strategy: str
    holdings: dict[int, int]
    in_flight: dict[int, int]
    exposure: float | None = None
    signals: Signals | None = None
    contract_ids: list[int] = field(default_factory=list)
    targets: dict[int, int] | None = None
    trades: dict[int, int] = field(default_factory=dict)
    error: str | None = None
    weight_scale: float = 1.0

    def report(self) -> dict:
        return {
            "exposure": self.exposure,
            "signals": None if self.signals is None else {
                "weights": None if self.signals.weights is None else _str_keys(self.signals.weights),
                **({} if self.signals.quantities is None else {"quantities": _str_keys(self.signals.quantities)}),
                "hold": self.signals.hold, "details": self.signals.details},
            "holdings": _str_keys(self.holdings),
            "inFlight": _str_keys(self.in_flight),
            "contractIds": self.contract_ids,
            "targetPositions": None if self.targets is None else _str_keys(self.targets),
            "trades": _str_keys(self.trades),
            "weightScale": self.weight_scale,
            "error": self.error,
        }


@dataclass(frozen=True)
class PlannedOrder:
    """A netted trade and whether it may be sent."""

    trade: ConsolidatedTrade
    contract: ContractInfo
    notional: float | None
    refused: str | None = None
    limit_price: float | None = None

    def report(self) -> dict:
        report = {**self.trade.as_record(), "localSymbol": self.contract.local_symbol, "action": self.trade.action,
                  "notionalInBase": self.notional, "refused": self.refused}
        if self.limit_price is not None:
            report["limitPrice"] = self.limit_price
        return report


def strategy_exposure(net_liquidation: float, config: TradingConfig, strategy_id: str) -> float:
    """The strategy's exposure in base currency: NetLiquidation x exposure.overall x exposure.strategies.{id}.

    Raises:
        MissingConfigKey, InvalidConfig: either key is absent or not a number >= 0.
    """
    return round(net_liquidation * config.number("exposure.overall")
                 * config.number(f"exposure.strategies.{strategy_id}"), 2)


def size(plan: StrategyPlan, prices: Mapping[int, float | Exception], multipliers: Mapping[int, float],
         fx_by_con_id: Mapping[int, float | Exception]) -> None:
    """Fill in the plan's targets and trades from its signals (a held signal trades nothing; quantities are the
    targets as they are).

    Weights whose absolute values add up to more than 1 (spymacdvixy's bearish SPY -1, VIXY +1) are scaled down to
    add up to 1, so that a strategy's gross exposure never exceeds its share of `exposure.overall`, which is at most
    `maxLeverage`: leverage is configured, never implied by a strategy's weights.
    """
    if plan.error is not None or plan.signals is None or plan.signals.hold:
        return
    if plan.signals.quantities is not None:
        plan.targets = dict(sorted(plan.signals.quantities.items()))
        plan.trades = strategy_trades(plan.targets, plan.holdings, plan.in_flight)
        return
    weights = plan.signals.weights
    gross = sum(abs(weight) for weight in weights.values())
    if gross > 1 + GROSS_TOLERANCE:
        plan.weight_scale = 1 / gross
        weights = {con_id: weight / gross for con_id, weight in weights.items()}
    for con_id in weights:
        for what, table in (("price", prices), ("FX rate", fx_by_con_id)):
            value = table.get(con_id)
            if isinstance(value, Exception) or value is None:
                plan.error = f"no {what} for conId {con_id}: {value}"
                return
    plan.targets = target_positions(weights, plan.exposure, prices, multipliers, fx_by_con_id)
    plan.trades = strategy_trades(plan.targets, plan.holdings, plan.in_flight)


def net_orders(plans: list[StrategyPlan], contracts: Mapping[int, ContractInfo],
               prices: Mapping[int, float | Exception], fx_by_con_id: Mapping[int, float | Exception],
               max_order_notional: float | None) -> list[PlannedOrder]:
    """One order per contract with each strategy's share (`net_orders_of` the plans' netted trades)."""
    trades = consolidate({plan.strategy: plan.trades for plan in plans if plan.error is None and plan.trades})
    return net_orders_of(trades, contracts, prices, fx_by_con_id, max_order_notional)


def net_orders_of(trades: Mapping[int, ConsolidatedTrade], contracts: Mapping[int, ContractInfo],
                  prices: Mapping[int, float | Exception], fx_by_con_id: Mapping[int, float | Exception],
                  max_order_notional: float | None) -> list[PlannedOrder]:
    """The netted trades as orders; orders above `max_order_notional` (base currency) are refused, and so is any
    order whose notional cannot be computed while a limit is set. Trades that cancel out are left out."""
    orders = []
    for con_id, trade in trades.items():
        if not trade.quantity:
            continue
        contract = contracts[con_id]
        price, fx = prices.get(con_id), fx_by_con_id.get(con_id)
        notional = None
        if isinstance(price, float) and isinstance(fx, float):
            notional = _notional(trade, contract, price, fx)
        if notional is None:
            refused = None if max_order_notional is None else "no price to check maxOrderNotional against"
        else:
            refused = _over_limit(notional, "", max_order_notional)
        orders.append(PlannedOrder(trade, contract, notional, refused))
    return orders


def with_limit_prices(orders: list[PlannedOrder], prices: Mapping[int, float | Exception],
                      min_ticks: Mapping[int, float | Exception], offset_percent: float) -> list[PlannedOrder]:
    """The orders with their limits `offset_percent` from their prices; one that cannot be priced is refused."""
    return [order if order.refused is not None else _priced(order, prices.get(order.trade.con_id),
                                                             min_ticks.get(order.trade.con_id), offset_percent)
            for order in orders]


def at_limit_prices(orders: list[PlannedOrder], fx_by_con_id: Mapping[int, float | Exception],
                    max_order_notional: float | None) -> list[PlannedOrder]:
    """Limit orders' notionals at their limit price, the worst price they may execute at, and refused above
    `max_order_notional` (a marketable buy's limit is above the price it was sized at)."""
    checked = []
    for order in orders:
        fx = fx_by_con_id.get(order.trade.con_id)
        if order.refused is None and order.limit_price is not None and isinstance(fx, float):
            notional = _notional(order.trade, order.contract, order.limit_price, fx)
            order = replace(order, notional=notional, refused=_over_limit(notional, " at the limit price",
                                                                          max_order_notional))
        checked.append(order)
    return checked


def _notional(trade: ConsolidatedTrade, contract: ContractInfo, price: float, fx: float) -> float:
    """The trade's value in the base currency at `price`."""
    return round(abs(trade.quantity) * price * contract.multiplier * fx, 2)


def _over_limit(notional: float, priced_at: str, max_order_notional: float | None) -> str | None:
    """Why an order of `notional` (valued as `priced_at` says) is refused, or None within the limit."""
    if max_order_notional is not None and notional > max_order_notional:
        return f"notional {notional:,.2f}{priced_at} exceeds maxOrderNotional {max_order_notional:,.2f}"
    return None


def _priced(order: PlannedOrder, price, tick, offset_percent: float) -> PlannedOrder:
    if not isinstance(price, float):
        return replace(order, refused=f"no price to set a limit from: {price}")
    if not isinstance(tick, float):
        return replace(order, refused=f"no minimum tick to set a limit on: {tick}")
    try:
        return replace(order, limit_price=limit_price(order.trade.action, price, offset_percent, tick))
    except ValueError as exc:
        return replace(order, refused=str(exc))


def _str_keys(mapping: Mapping) -> dict:
    return {str(key): value for key, value in mapping.items()}
