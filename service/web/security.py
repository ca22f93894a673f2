"""CSRF, a per-address rate limit and strict headers for the patients' pages, and nothing else."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]

from ..db.rate_limits import Rate
from ..page_security import strict_headers
from ..rate_limiting import RateLimited, client_address, count

csrf = CSRFProtect()


def init_security(app: Flask) -> None:
    """Attach CSRF checks, the rate limit and the headers to the web door only."""
    # The machine doors authenticate with bearer keys, not cookies, so CSRF is not theirs:
    # the web door asks for the check itself (below) instead of Flask-WTF guarding every POST.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:  # Flask's default is None, not absent
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    csrf.init_app(app)
    app.before_request(_rate_limit)
    app.after_request(_page_headers)


def protect_form_posts() -> None:
    """Every POST to the web door carries the form's CSRF token (the blueprint calls this)."""
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def _rate_limit() -> None:
    """Every POST to the web door counts against its address, in the store all workers share."""
    if request.blueprint != "web" or request.method != "POST":
        return
    verdict = count("web", Rate.parse(current_app.config["WEB_RATE_LIMIT"]), client_address())
    if not verdict.allowed:
        raise RateLimited(verdict)


def _page_headers(response: Response) -> Response:
    """Strict headers on our pages, their static files and the error pages of unknown paths."""
    if request.blueprint != "web" and request.endpoint not in (None, "static"):
        return response
    # A result lists someone's medicines: keep it out of shared and back-forward caches.
    return strict_headers(response, no_store=response.mimetype == "text/html")
