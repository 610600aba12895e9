"""Log lines as plain text (the default) or as one JSON object per line
(`INCIDENTDESK_LOG_FORMAT=json`), for a log collector to read without parsing prose.

Every JSON line has `time` (UTC, ISO 8601), `level`, `logger` and `message`; a line written
while a request is answered also has its `request_id`; the line that closes a request
(logger `incidentdesk.requests`) adds `method`, `path`, `route`, `status` and `duration_ms`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from typing import Any

FORMATS = ("text", "json")
# what the request line carries beyond the message, in this order
REQUEST_FIELDS = ("method", "path", "route", "status", "duration_ms")

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "incidentdesk_request_id", default=None
)


class RequestIdFilter(logging.Filter):
    """Adds the id of the request being answered (if any) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(log_format: str) -> dict[str, Any]:
    """Django's LOGGING for the chosen format."""
    if log_format not in FORMATS:
        raise ValueError(
            f"INCIDENTDESK_LOG_FORMAT is {log_format!r}; it is one of: {', '.join(FORMATS)}."
        )
    formatter = (
        {"()": "incidentdesk.core.logs.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "incidentdesk.core.logs.RequestIdFilter"}},
        "formatters": {"line": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "incidentdesk": {"handlers": ["console"], "level": "INFO"},
            "django.request": {"handlers": ["console"], "level": "ERROR"},
        },
    }


def server_logging(log_format: str) -> dict[str, Any] | None:
    """The web server's (granian's) logging: its own lines in the same format, or None to
    keep granian's plain lines."""
    if log_format != "json":
        return None
    config = logging_config(log_format)
    config["loggers"]["_granian"] = {"handlers": ["console"], "level": "INFO", "propagate": False}
    return config
