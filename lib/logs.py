"""JSON-lines logging for Cloud Run: one object per line with `severity`, `message` and the request id."""
from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import datetime, timezone

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


class JsonFormatter(logging.Formatter):
    """Formats a record as the JSON object Cloud Logging parses into a structured entry."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "logger": record.name,
            # gunicorn workers share stdout: the pid tells their lines apart
            "pid": record.process,
        }
        rid = request_id.get()
        if rid:
            entry["requestId"] = rid
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        return json.dumps(entry, default=str)


def configure(level: int = logging.INFO) -> None:
    """Route the root logger to stdout as JSON lines; safe to call more than once."""
    root = logging.getLogger()
    if not any(getattr(h, "_json_lines", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler._json_lines = True
        root.addHandler(handler)
    root.setLevel(level)
    # ib_async logs every message at INFO; only its warnings and errors matter in production logs.
    logging.getLogger("ib_async").setLevel(logging.WARNING)
