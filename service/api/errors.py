"""HTTP errors rendered as problem documents, so no error ever reaches a client as an HTML page."""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..config import MAX_REQUEST_BYTES
from ..problems import problem

log = logging.getLogger(__name__)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error: RequestEntityTooLarge) -> Response:
        return problem(
            413,
            "Request too large",
            f"The body is larger than {MAX_REQUEST_BYTES // 1024} KiB.",
            "request-too-large",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        slug = (error.name or "error").lower().replace(" ", "-")
        return problem(status, error.name or "Error", error.description or "", slug)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        return problem(
            500, "Internal error", "The request failed; no alerts were produced.", "internal-error"
        )
