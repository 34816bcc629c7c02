"""The connection to IB Gateway: the socket's loop thread, the bridge request threads call through, the supervisor
that keeps it connected, each worker's clientIds, and the requests that must take turns on a shared connection.
Knows nothing of trading."""
