"""What several request decoders share: the contract block, combo legs and tag-value lists."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.protocol.wire import FieldReader, MalformedRequest


@dataclass
class ContractFields:
    """The contract as a client describes it in a request (empty strings and 0 mean "not given")."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    include_expired: bool = False
    sec_id_type: str = ""
    sec_id: str = ""


def read_contract(r: FieldReader) -> ContractFields:
    """Read the contract block most requests share (conId .. tradingClass)."""
    c = ContractFields()
    c.con_id = r.int("conId")
    c.symbol = r.str("symbol")
    c.sec_type = r.str("secType")
    c.last_trade_date = r.str("lastTradeDateOrContractMonth")
    c.strike = r.float("strike", 0.0)
    c.right = r.str("right")
    c.multiplier = r.str("multiplier")
    c.exchange = r.str("exchange")
    c.primary_exchange = r.str("primaryExchange")
    c.currency = r.str("currency")
    c.local_symbol = r.str("localSymbol")
    c.trading_class = r.str("tradingClass")
    c.right = "" if c.right in ("?", "0") else c.right
    c.multiplier = "" if c.multiplier in ("0", "0.0") else c.multiplier
    return c


def skip_combo_legs(r: FieldReader, fields_per_leg: int) -> None:
    for _ in range(r.int("comboLegsCount")):
        r.skip(fields_per_leg, "comboLeg")


def read_tag_values(r: FieldReader, what: str) -> list[tuple[str, str]]:
    count = r.int(f"{what}Count")
    if count < 0 or count > r.remaining:
        raise MalformedRequest(f"bad {what} count {count}")
    return [(r.str(f"{what}Tag"), r.str(f"{what}Value")) for _ in range(count)]
