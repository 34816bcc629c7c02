"""Replays a strategy over years of daily bars through the same requirements, signals, sizing and netting code that
trades (strategies.plan, lib.trading.sizing); the service never imports it."""
