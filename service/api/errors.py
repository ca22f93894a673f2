"""HTTP errors: problem documents for the machine doors, friendly HTML pages for people."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from ..checking import ServiceUnavailable
from ..config import MAX_REQUEST_BYTES
from ..problems import problem, unavailable

log = logging.getLogger(__name__)

# Paths of the doors that machines call; everything else is a page a person reads.
MACHINE_PATHS = (
    "/api",
    "/cds-services",
    "/REST",
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/metrics",
)


def _under(prefix: str) -> bool:
    return request.path == prefix or request.path.startswith(prefix + "/")


def _for_a_person() -> bool:
    return not any(_under(p) for p in MACHINE_PATHS)


def _page(status: int) -> tuple[str, int]:
    return render_template("web/error.html", status=status), status


def _method_not_allowed(error: MethodNotAllowed) -> Response:
    """405 in the door's own error shape, always with ``Allow`` (RFC 9110 §15.5.6 requires it).

    CDS Hooks answers its own 405s as OperationOutcomes before routing gets here
    (``cds_hooks.views._method_not_allowed``).
    """
    allowed = sorted(error.valid_methods or ())
    detail = f"{request.method} is not allowed here; use {', '.join(allowed) or 'nothing'}."
    response: Response
    if _for_a_person():
        body, status = _page(405)
        response = Response(body, status=status, mimetype="text/html")
    else:
        response = problem(405, "Method not allowed", detail, "method-not-allowed")
    response.headers["Allow"] = ", ".join(allowed)
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error: RequestEntityTooLarge) -> Response | tuple[str, int]:
        if _for_a_person():
            return _page(413)
        return problem(
            413,
            "Request too large",
            f"The body is larger than {MAX_REQUEST_BYTES // 1024} KiB.",
            "request-too-large",
        )

    app.register_error_handler(MethodNotAllowed, _method_not_allowed)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | tuple[str, int]:
        status = error.code or 500
        if _for_a_person():
            return _page(status)
        slug = (error.name or "error").lower().replace(" ", "-")
        return problem(status, error.name or "Error", error.description or "", slug)

    @app.errorhandler(ServiceUnavailable)
    def service_unavailable(error: ServiceUnavailable) -> Response | tuple[str, int]:
        # A door that did not catch it itself (the key's read, say) still fails closed with a 503.
        log.warning("service unavailable: %s", error)
        return _page(503) if _for_a_person() else unavailable(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error", exc_info=error)
        if _for_a_person():
            return _page(500)
        return problem(
            500, "Internal error", "The request failed; no alerts were produced.", "internal-error"
        )
