"""Intents by URL name: one job each, run by `GET|POST /{name}`."""
from intents.gateway_time import GatewayTime
from intents.summary import Summary

REGISTRY = {cls.name: cls for cls in (GatewayTime, Summary)}
