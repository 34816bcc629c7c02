"""The container's entrypoint (`python -m deploy.entrypoint` under tini): it writes IBC's settings, starts the virtual
display, IB Gateway under IBC and gunicorn, restarts a gateway that exits and stops the whole tree on SIGTERM."""
