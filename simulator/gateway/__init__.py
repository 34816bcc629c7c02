"""The paper gateway's TWS API side: the socket server and its sessions, the dispatch of decoded requests to
their handlers, the handlers that answer from the engine, the fan-out of engine events to the sessions
concerned, and the watch loop that streams quote changes and re-checks resting orders as prices move."""
