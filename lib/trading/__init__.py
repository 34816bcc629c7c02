"""The service's trading rules over the store: sizing, limit prices, order times, the market calendar, the
holdings ledger and its reconciliation with the broker, duplicate-run claims and the flow of strategy orders."""
