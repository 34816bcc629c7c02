"""Each strategy's cost basis from its own fills, so its PnL does not borrow the account's average cost (which mixes
every strategy's and the person's trades): `positions/{mode}/costBasis/{strategy}` = {conId: {quantity, cost}},
`cost` the signed amount paid for the open quantity, at average cost. A fill that reduces a position realises
PnL against that average; the rest of a fill that crosses zero opens the other side at the fill's price.

Amounts are in the contract's currency per unit of quantity (no multiplier): stocks and ETFs, what the strategies
trade; a future's PnL needs its multiplier on top.
"""
from __future__ import annotations

# a position closed to zero keeps no float dust as cost
_EPSILON = 1e-9


def apply_fill(basis: dict, con_id: int, delta: int, price: float) -> tuple[dict, float]:
    """The basis document after a strategy's part `delta` (signed) of a fill at `price`, and the PnL it realised."""
    key = str(con_id)
    entry = basis.get(key, {"quantity": 0, "cost": 0.0})
    quantity, cost = int(entry["quantity"]), float(entry["cost"])
    realized = 0.0
    if quantity and (quantity > 0) != (delta > 0):
        closing = max(delta, -quantity) if quantity > 0 else min(delta, -quantity)
        average = cost / quantity
        realized = -closing * (price - average)
        cost += closing * average
        quantity += closing
        delta -= closing
    quantity += delta
    cost += delta * price
    updated = dict(basis)
    if quantity:
        updated[key] = {"quantity": quantity, "cost": cost}
    else:
        updated.pop(key, None)
    return updated, (0.0 if abs(realized) < _EPSILON else realized)


def unrealized(basis: dict, prices: dict[int, float]) -> tuple[float, list[int]]:
    """The open positions' PnL at `prices` ({conId: mark}); also the conIds without a price (left out)."""
    total, missing = 0.0, []
    for key, entry in basis.items():
        price = prices.get(int(key))
        if price is None:
            missing.append(int(key))
            continue
        total += entry["quantity"] * price - entry["cost"]
    return total, missing
