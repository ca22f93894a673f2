"""Log records as one JSON object per line, each carrying the request id of the request it is about."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from flask import g, has_request_context

# Set on a record (``extra={FIELDS: {...}}``) for fields of its own, as the access line does.
FIELDS = "fields"


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request_id within a request, and the record's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            line["request_id"] = g.request_id
        line |= getattr(record, FIELDS, {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class _StandardErrorHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time, as the process's own stream may be swapped."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _stream: TextIO) -> None:
        pass


def configure_logging(level: str) -> None:
    """JSON lines on standard error for the whole process; idempotent, as tests build many apps."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(handler, _StandardErrorHandler) for handler in root.handlers):
        handler = _StandardErrorHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # chatty at import
    # These log what requests carry, which may name medications or patients, even at DEBUG: the
    # development server's access lines (raw URLs), SQL parameters (the logged inputs) and the URLs
    # of FHIR queries (patient ids). The service logs each request itself, without them.
    for talkative in ("werkzeug", "sqlalchemy.engine", "urllib3"):
        logging.getLogger(talkative).setLevel(logging.WARNING)
