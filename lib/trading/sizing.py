"""Allocation arithmetic: weights to target positions, targets to per-strategy trades, trades netted per contract.

Formulas (quantities are signed contract counts: positive long/buy, negative short/sell):

    target   = round_half_away(exposure_base x weight / (price x multiplier x fx_to_base))
    trade    = target - holdings - in_flight                      (per strategy, per conId)
    net      = sum over strategies of trade                       (per conId, one order)

where exposure_base is the strategy's share of the account in base currency, price is in the contract's
currency, and fx_to_base is base-currency units per one unit of the contract's currency.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field


def round_half_away(value: float) -> int:
    """Round to the nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3), not to even as round() does."""
    if not math.isfinite(value):
        raise ValueError(f"cannot round {value!r} to a position")
    magnitude = math.floor(abs(value) + 0.5)
    return int(math.copysign(magnitude, value)) if magnitude else 0


def target_position(exposure_base: float, weight: float, price: float, multiplier: float, fx_to_base: float) -> int:
    """Contracts to hold so that weight x exposure_base is invested: round_half_away(E x w / (p x m x fx)).

    Args:
        exposure_base: the strategy's exposure in base currency (>= 0).
        weight: signed fraction of the exposure (1 long, -1 short, 0 flat).
        price: one unit's price in the contract's currency (> 0).
        multiplier: units per contract (> 0; 1 for stocks).
        fx_to_base: base-currency units per one unit of the contract's currency (> 0; 1 when equal).

    Raises:
        ValueError: a non-finite argument, negative exposure, or a non-positive price, multiplier or fx_to_base.
    """
    for name, value in (("price", price), ("multiplier", multiplier), ("fx_to_base", fx_to_base)):
        if not _finite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    if not _finite(exposure_base) or exposure_base < 0:
        raise ValueError(f"exposure_base must be a finite number >= 0, got {exposure_base!r}")
    if not _finite(weight):
        raise ValueError(f"weight must be a finite number, got {weight!r}")
    return round_half_away(exposure_base * weight / (price * multiplier * fx_to_base))


def target_positions(weights: Mapping[int, float], exposure_base: float, prices: Mapping[int, float],
                     multipliers: Mapping[int, float], fx_to_base: Mapping[int, float]) -> dict[int, int]:
    """`target_position` for every conId in `weights`, in conId order.

    Raises:
        ValueError: a conId in `weights` has no price, multiplier or FX rate, or a value is invalid (as above).
    """
    targets = {}
    for con_id in sorted(weights):
        missing = [name for name, table in (("price", prices), ("multiplier", multipliers), ("FX rate", fx_to_base))
                   if con_id not in table]
        if missing:
            raise ValueError(f"conId {con_id} has no {', '.join(missing)}")
        try:
            targets[con_id] = target_position(exposure_base, weights[con_id], prices[con_id], multipliers[con_id],
                                              fx_to_base[con_id])
        except ValueError as exc:
            raise ValueError(f"conId {con_id}: {exc}") from None
    return targets


def strategy_trades(targets: Mapping[int, int], holdings: Mapping[int, int],
                    in_flight: Mapping[int, int]) -> dict[int, int]:
    """One strategy's trades: target - holdings - in_flight per conId, zero trades dropped, in conId order.

    Every conId in any of the three maps counts. A conId held (or in flight) but absent from `targets` has target
    0, so the strategy closes it: a strategy that stops naming a contract (e.g. after a futures rollover) exits it.
    `in_flight` is this strategy's share of its orders still working at the broker, so a rerun does not
    buy the same quantity again. A trade against orders in flight stops at zero, though, when it would take the
    strategy to the side neither its target nor its holding is on: those orders may never fill (a held order
    waiting for its time, a DAY order expiring), and the strategy would be left with a position it never wanted.
    """
    trades = {}
    for con_id in sorted({*targets, *holdings, *in_flight}):
        target, held = targets.get(con_id, 0), holdings.get(con_id, 0)
        quantity = target - held - in_flight.get(con_id, 0)
        unfilled = held + quantity      # where the trade leaves the strategy if nothing in flight fills
        if unfilled and _sign(unfilled) not in (_sign(target), _sign(held)):
            quantity = -held
        if quantity:
            trades[con_id] = quantity
    return trades


def _sign(quantity: int) -> int:
    return (quantity > 0) - (quantity < 0)


@dataclass(frozen=True)
class ConsolidatedTrade:
    """The net order for one contract and each strategy's signed share of it.

    Attributes:
        quantity: the net signed quantity (sum of `source`); 0 when the strategies' trades cancel out, in which
            case no order is placed but the trade is still reported.
        source: {strategy id: signed quantity}, strategy ids in sorted order, zero shares left out.
    """

    con_id: int
    quantity: int
    source: dict[str, int] = field(default_factory=dict)

    @property
    def action(self) -> str | None:
        """"BUY", "SELL", or None when the sources cancel out."""
        if self.quantity > 0:
            return "BUY"
        return "SELL" if self.quantity < 0 else None

    def as_record(self) -> dict:
        """The activity-document form: {"conId", "quantity", "source"}."""
        return {"conId": self.con_id, "quantity": self.quantity, "source": dict(self.source)}


def consolidate(trades_by_strategy: Mapping[str, Mapping[int, int]]) -> dict[int, ConsolidatedTrade]:
    """Net the strategies' trades into one trade per conId, keeping each strategy's share.

    Ordered by conId; each `source` ordered by strategy id. Zero shares are left out of `source`; a conId whose
    shares cancel out is kept with quantity 0 (reported, not ordered).
    """
    shares: dict[int, dict[str, int]] = {}
    for strategy in sorted(trades_by_strategy):
        for con_id, quantity in trades_by_strategy[strategy].items():
            if quantity:
                shares.setdefault(con_id, {})[strategy] = quantity
    return {con_id: ConsolidatedTrade(con_id, sum(shares[con_id].values()), shares[con_id])
            for con_id in sorted(shares)}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def closing_quantity(holding: int, working: int) -> int:
    """The trade that closes `holding` without taking the position past zero, whatever part of `working` fills.

    `working` is the signed quantity still to fill of the strategy's orders that stay working (they could not be
    cancelled). The position ends between holding + trade and holding + trade + working; for a long holding both
    must stay >= 0 and the trade must not buy, so trade = -max(0, holding + min(working, 0)), and a short mirrors
    it. An order that reduces the holding is counted as filling (the close sends that much less); one that adds
    to it is not (it is reported as left working); nothing held, nothing to close.
    """
    if holding > 0:
        return -max(0, holding + min(working, 0))
    if holding < 0:
        return max(0, -holding - max(working, 0))
    return 0
