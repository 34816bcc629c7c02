"""The default intent: IB Gateway's current time, a cheap end-to-end probe of the connection."""
from __future__ import annotations

from intents.base import Intent, IntentParams, Seconds
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.gateway import ib_requests


class GatewayTimeParams(IntentParams):
    timeout_seconds: Seconds = 10.0


class GatewayTime(Intent):
    """`GET /`: asks the gateway for its clock."""

    name = ""
    description = "IB Gateway's clock: a cheap check that IB answers"
    Params = GatewayTimeParams

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        gateway_time = self.bridge.run(ib_requests.current_time, timeout_s=deadline.remaining_s())
        return {"gatewayTime": gateway_time.isoformat(), "tradingMode": self.settings.trading_mode}
