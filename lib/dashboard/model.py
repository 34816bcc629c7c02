"""What `GET /dashboard/data.json` answers, as pydantic models: the page renders these, the OpenAPI document shows
their JSON schema, and the answer is their JSON (camelCase names)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Data(BaseModel):
    # every member is always in the answer, so the schema requires it (defaults included)
    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True, frozen=True,
                              json_schema_serialization_defaults_required=True)


class Trading(Data):
    """The kill switch and the trading mode."""

    mode: Literal["paper", "live"]
    enabled: bool = Field(description="config `tradingEnabled` is true (and, live, config/live exists): runs that "
                                      "could place orders are allowed")
    reason: str


class Gateway(Data):
    """The answering worker's IB connection (each gunicorn worker has its own) and the broker's clock."""

    connected: bool
    ready: bool
    pid: int = Field(description="the gunicorn worker that answered")
    client_id: int | None = None
    reconnects: int | None = None
    last_error: str | None = None
    server_version: int | None = None
    broker_time: str | None = Field(None, description="IB's clock (reqCurrentTime), ISO-8601 UTC")
    read_error: str | None = Field(None, description="why the broker could not be read for this answer")


class Sample(Data):
    at: str
    value: float
    currency: str
    source: str = Field(description="the intent whose run read it")
    activity_id: str | None = None


class StartOfDay(Data):
    date: str = Field(description="the New York trading day")
    value: float
    currency: str
    recorded_at: str
    activity_id: str | None = None
    today: bool = Field(description="it belongs to the current trading day")


class NetLiquidation(Data):
    current: float | None = Field(description="now, from the broker (or the latest sample when it cannot be read)")
    currency: str | None
    samples: list[Sample] = Field(description="oldest first")
    start_of_day: StartOfDay | None
    max_daily_drawdown_percent: float | None
    drawdown_limit: float | None = Field(description="the NetLiquidation at which `risk-check` alerts: the start of "
                                                     "day less `maxDailyDrawdownPercent`")
    drawdown_percent: float | None = Field(description="how far `current` is below the start of day")


class Holding(Data):
    con_id: int
    local_symbol: str
    quantity: int
    market_price: float | None
    market_value: float | None = Field(description="the strategy's part of the broker's market value")
    unrealized_pnl: float | None = Field(alias="unrealizedPNL",
                                         description="the market value less the strategy's cost basis from its own "
                                                     "fills; null when the broker's price is unknown or the basis "
                                                     "does not cover the quantity (an adopted position)")


class StrategyHoldings(Data):
    strategy: str
    holdings: list[Holding]
    market_value: float | None = Field(description="the sum, when every holding has one")
    unrealized_pnl: float | None = Field(alias="unrealizedPNL")


class StrategyDay(Data):
    strategy: str
    realized_pnl: float = Field(alias="realizedPNL")
    unrealized_pnl: float = Field(alias="unrealizedPNL")
    commissions: float
    pnl: float = Field(description="realised + unrealised - commissions")
    fills: int


class DailyReport(Data):
    """The latest `daily-report`: the day's NetLiquidation and what each strategy made of it."""

    day: str
    currency: str
    net_liquidation_open: float
    net_liquidation_close: float
    net_liquidation_change: float
    total_pnl: float = Field(description="the strategies' PnL after commissions")
    commissions: float
    fills: int
    failures: int = Field(description="runs that failed during the day")
    differences: int = Field(description="contracts where the ledger and the broker differed")
    strategies: list[StrategyDay]
    activity_id: str | None
    url: str | None = Field(description="the report run's activity document")


class Comparison(Data):
    con_id: int
    local_symbol: str
    ledger: int = Field(description="the strategies' holdings summed")
    broker: int
    difference: int = Field(description="broker - ledger")
    differs: bool


class LedgerVsBroker(Data):
    source: Literal["broker", "snapshot", "none"] = Field(
        description="broker: positions read now; snapshot: `reconcile`'s (field `latest_portfolio`) while the "
                    "gateway is down; none: neither")
    as_of: str | None
    rows: list[Comparison]
    differences: int


class WorkingOrder(Data):
    owner: Literal["service", "other"] = Field(description="service: recorded in the ledger or sent by one of the "
                                                           "service's runs (orderRef); other: a person's or another "
                                                           "program's")
    listed_by_broker: bool = Field(description="false for a ledger record the broker does not list as open")
    perm_id: int
    client_id: int
    order_id: int
    con_id: int
    local_symbol: str
    action: str
    total_quantity: float
    filled: float | None
    status: str
    order_type: str
    limit_price: float | None
    order_ref: str
    strategies: dict[str, int] = Field(description="each strategy's signed share (the service's orders)")
    activity_id: str | None = Field(description="the run that sent it")


class WorkingOrders(Data):
    source: Literal["broker", "ledger"]
    orders: list[WorkingOrder]


class Trigger(Data):
    kind: str = Field(description="scheduler (Cloud Scheduler's headers), manual, or unknown")
    job_name: str | None = None
    schedule_time: str | None = None
    user_agent: str | None = None


class Run(Data):
    id: str
    intent: str
    status: str = Field(description="running, done or failed")
    outcome: str | None = Field(description="the result's own status (dryRun, duplicate, market closed, nothing to "
                                            "trade, ...) or alert for a risk-check past its limit")
    started_at: str
    finished_at: str | None
    duration_seconds: float | None
    trigger: Trigger
    error: str | None
    url: str = Field(description="the run's full activity document")


class IntentRuns(Data):
    intent: str
    runs: list[Run] = Field(description="newest first")


class Runs(Data):
    scanned: int = Field(description="activity documents read, newest first")
    intents: list[IntentRuns]


class Dashboard(Data):
    """The operator's dashboard, as data."""

    generated_at: str
    trading: Trading
    gateway: Gateway
    degraded: bool = Field(description="the broker could not be read: the store's view only")
    banner: str | None
    account: str
    net_liquidation: NetLiquidation
    strategies: list[StrategyHoldings]
    daily_report: DailyReport | None = Field(description="the latest day's report, null before the first")
    ledger_vs_broker: LedgerVsBroker
    working_orders: WorkingOrders
    runs: Runs
