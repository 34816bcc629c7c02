"""Paper gateway: a TWS-API-compatible IB Gateway simulator."""
