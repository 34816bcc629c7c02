"""The paper gateway's TWS API side: the socket server and its sessions, the dispatch of decoded requests to
their handlers, the handlers that answer from the engine, the fan-out of engine events to the sessions
concerned, the link to IB's servers (lost and restored on demand), and the watch loop that streams quote changes,
pushes account values at IB's interval and re-checks resting orders as prices move."""
