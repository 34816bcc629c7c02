"""Intents by URL name: one job each, run by `GET|POST /{name}`."""
from intents.allocation import Allocation
from intents.close_all import CloseAll
from intents.gateway_time import GatewayTime
from intents.reconcile import Reconcile
from intents.summary import Summary
from intents.trade_reconciliation import TradeReconciliation

REGISTRY = {cls.name: cls for cls in (GatewayTime, Summary, Allocation, TradeReconciliation, Reconcile, CloseAll)}
