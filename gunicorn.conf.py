"""gunicorn settings: gthread workers, each owning one IB bridge started after fork."""
import os

# gunicorn reads every module-level name as a setting, so nothing here may be called `config`.
from lib.config import load as _load_settings

_settings = _load_settings(os.environ)

bind = f"{_settings.host}:{_settings.port}"
worker_class = "gthread"
# Cloud Run gives one or two vCPUs per instance; one worker per core keeps one IB connection per core.
workers = _settings.workers
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# gthread workers heartbeat from their main loop, so this only catches a hung worker, not a slow intent.
timeout = 60
# Cloud Run sends SIGTERM and kills 10 s later: finish in-flight requests and disconnect inside that window.
graceful_timeout = 8
keepalive = 5
# Cloud Run manages the process; a control socket in $HOME would also be shared by every gunicorn on a machine
control_socket_disable = True
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "lib.logs.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    # the app adds its own JSON handler to the root logger (lib.logs.configure)
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "WARNING", "propagate": False},
    },
}


# The master imports the app once and every worker forks with it loaded: a worker (re)starts in milliseconds
# instead of importing pandas, exchange-calendars and the Google clients again. create_app does no I/O and starts no
# thread (the store opens on first use, the bridge in post_worker_init), so nothing is shared across the fork.
preload_app = True


def post_worker_init(worker):
    # after the fork: the bridge's loop thread and its IB connection belong to this worker only
    worker.wsgi.extensions["services"].start(worker_index=worker.age)


def worker_exit(server, worker):
    services = getattr(worker, "wsgi", None) and worker.wsgi.extensions.get("services")
    if services is not None:
        services.stop()
