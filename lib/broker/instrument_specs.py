"""Instruments as JSON objects, the form config (`marketData.instruments`) and requests name them in:
{"kind": "stock", "symbol": "SPY"}, {"kind": "future", "symbol": "MNQ", "exchange": "CME"},
{"kind": "forex", "pair": "EURUSD"}, {"kind": "index", "symbol": "VIX", "exchange": "CBOE"}."""
from __future__ import annotations

from dataclasses import fields

from lib.broker.instruments import Forex, Future, Index, Instrument, Stock

KINDS = {"stock": Stock, "future": Future, "forex": Forex, "index": Index}


def instrument_from_spec(spec) -> Instrument:
    """The instrument a spec names (its other keys are the instrument's fields).

    Raises:
        ValueError: not an object, an unknown kind, or fields the kind does not accept.
    """
    if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
        raise ValueError(f"an object with kind one of {sorted(KINDS)}")
    values = {key: value for key, value in spec.items() if key != "kind"}
    try:
        return KINDS[spec["kind"]](**values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a valid {spec['kind']} ({exc})") from None


def instrument_spec(instrument: Instrument) -> dict:
    """The spec naming `instrument`, fields at their defaults left out.

    Raises:
        ValueError: an instrument kind without a spec (e.g. ByConId).
    """
    kind = next((name for name, cls in KINDS.items() if type(instrument) is cls), None)
    if kind is None:
        raise ValueError(f"{instrument} has no instrument spec")
    spec = {"kind": kind}
    for field in fields(instrument):
        value = getattr(instrument, field.name)
        if value != field.default:
            spec[field.name] = value
    return spec
