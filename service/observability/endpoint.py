"""``GET /metrics`` for Prometheus, behind a bearer token: the figures are the operator's, not the public's."""

from __future__ import annotations

import hmac
from pathlib import Path

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST

from ..auth import bearer_token
from ..problems import problem, unauthorized
from . import metrics

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def scrape() -> Response:
    """All metrics in Prometheus' text format; 404 when no ``METRICS_TOKEN`` is configured."""
    expected: str = current_app.config.get("METRICS_TOKEN") or ""
    if not expected:
        return problem(404, "Not found", "Metrics are not enabled on this service.", "not-found")
    given = bearer_token() or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return unauthorized(
            "Metrics need the bearer token the service was configured with.", realm="metrics"
        )
    directory = current_app.config.get("PROMETHEUS_MULTIPROC_DIR")
    body = metrics.exposition(Path(directory) if directory else None)
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)
