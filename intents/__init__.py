"""Intents by URL name: one job each, run by `GET|POST /{name}`."""
from intents.allocation import Allocation
from intents.cash_balancer import CashBalancer
from intents.close_all import CloseAll
from intents.collect_market_data import CollectMarketData
from intents.daily_report import DailyReport
from intents.eod_check import EodCheck
from intents.gateway_time import GatewayTime
from intents.reconcile import Reconcile
from intents.risk_check import RiskCheck
from intents.summary import Summary
from intents.trade_reconciliation import TradeReconciliation

REGISTRY = {cls.name: cls for cls in (GatewayTime, Summary, Allocation, TradeReconciliation, Reconcile, CloseAll,
                                      CashBalancer, RiskCheck, EodCheck, CollectMarketData, DailyReport)}
