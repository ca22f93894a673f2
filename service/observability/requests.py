"""Per request: an ``X-Request-ID`` in and out, a count by door and status, one JSON access line.

The access line names the route's template (``/api/v1/checks/<check_id>``), never the raw path or
query, and no body: URLs of the RxNav door and the web form can carry medication names.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flask import Flask, Response, g, request

from ..appctx import request_id
from . import metrics
from .endpoint import blueprint as metrics_blueprint
from .logs import FIELDS, configure_logging

access_log = logging.getLogger("service.access")


def init_app(app: Flask) -> None:
    """Call first in ``create_app``, so the timing starts before any other hook and ends after all."""
    configure_logging(app.config["LOG_LEVEL"])
    if shared := app.config.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus_client writes there at the first count and fails if the directory is missing.
        Path(shared).mkdir(parents=True, exist_ok=True)
    app.before_request(_start)
    app.after_request(_finish)
    app.register_blueprint(metrics_blueprint)


def _start() -> None:
    g.started = time.perf_counter()
    request_id()  # settled now, so every log line of the request carries it


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = request_id()
    door = request.blueprint or "none"
    metrics.REQUESTS.labels(door, str(response.status_code)).inc()
    started = g.get("started")
    fields = {
        "door": door,
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule is not None else None,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
        "client_id": g.get("client_id"),
        "problem": g.get("problem"),
    }
    access_log.info("request", extra={FIELDS: fields})
    return response
