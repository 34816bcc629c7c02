"""The simulated world of one paper account, free of sockets and of the TWS encoding: the clock, the contract
catalog and its trading hours, the market (deterministic price paths, the price model, historical bars), the
broker with its order records, ledger, account valuation, margin, commissions and order checks, and the saving
and loading of that state. Everything here is synchronous and runs on plain values; the gateway drives it."""
