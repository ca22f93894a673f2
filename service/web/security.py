"""CSRF, a per-address rate limit and strict headers for the patients' pages, and nothing else."""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]

from ..page_security import strict_headers
from . import blueprint

csrf = CSRFProtect()


def init_security(app: Flask) -> None:
    """Attach CSRF checks, the rate limit and the headers to the web door only."""
    # The machine doors authenticate with bearer keys, not cookies, so CSRF is not theirs:
    # the web door asks for the check itself (below) instead of Flask-WTF guarding every POST.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:  # Flask's default is None, not absent
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    csrf.init_app(app)

    # Derived from SECRET_KEY, not random: gunicorn workers sharing a storage (redis://) must agree.
    app.extensions["web_client_key_salt"] = hmac.new(
        str(app.config["SECRET_KEY"]).encode(), b"web rate-limit client key", hashlib.sha256
    ).digest()
    # One limiter per app: its in-memory counters must not leak between apps (tests build many).
    limiter = Limiter(
        key_func=_client_key, storage_uri=app.config["WEB_RATE_LIMIT_STORAGE"], key_prefix="web"
    )
    # Limits registered by blueprint name, in this limiter only: the blueprint itself is untouched.
    limiter.limit(_rate_limit, methods=["POST"])(blueprint)
    limiter.init_app(app)
    app.extensions["web_limiter"] = limiter

    app.after_request(_page_headers)


def protect_form_posts() -> None:
    """Every POST to the web door carries the form's CSRF token (the blueprint calls this)."""
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def _rate_limit() -> str:
    return str(current_app.config["WEB_RATE_LIMIT"])


def _client_key() -> str:
    """The client address, keyed with a secret, so no address sits in the limiter's storage or logs."""
    salt: bytes = current_app.extensions["web_client_key_salt"]
    address = (request.remote_addr or "unknown").encode()
    return hmac.new(salt, address, hashlib.sha256).hexdigest()[:32]


def _page_headers(response: Response) -> Response:
    """Strict headers on our pages, their static files and the error pages of unknown paths."""
    if request.blueprint != "web" and request.endpoint not in (None, "static"):
        return response
    # A result lists someone's medicines: keep it out of shared and back-forward caches.
    return strict_headers(response, no_store=response.mimetype == "text/html")
