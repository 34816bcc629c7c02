"""`summary`: account values, portfolio, open trades and fills of every client of the account."""
from __future__ import annotations

from intents.base import Intent, IntentParams, Seconds
from lib.broker.snapshots import account_picture
from lib.config import TradingConfig
from lib.deadline import Deadline


class SummaryParams(IntentParams):
    timeout_seconds: Seconds = 20.0


class Summary(Intent):
    """`summary`: a read-only picture of the account (never places orders)."""

    name = "summary"
    description = ("account values (NetLiquidation, CashBalance, MaintMarginReq by currency), portfolio, open orders "
                   "and fills of every client of the account")
    Params = SummaryParams

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        return self.bridge.run(account_picture, timeout_s=deadline.remaining_s())
