"""The simulated world of one paper account, free of sockets and of the TWS encoding: the clock, the contract
catalog and its trading hours, the market (deterministic price paths, the price model, historical bars), the
broker with its order records, ledger, account valuation, margin, commissions and order checks, trading hours of
orders and the trade log's day, the catalogue of faults armed on demand with IB's message codes and texts, and the
saving and loading of that state. Everything here is synchronous and runs on plain values; the gateway drives it."""
