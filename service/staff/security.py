"""Cookie, sign-in limit and CSRF settings for people's pages, and the strict headers they carry.

``staff_page_headers`` and ``protect_form_posts`` are meant for every blueprint that people sign in
to use (the accounts and admin pages, the audit pages).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]

from ..page_security import strict_headers


def configure(app: Flask) -> None:
    """Session cookie flags and lifetime, the sign-in limits and CSRF.

    The cookie is ``Secure`` unless ``SESSION_COOKIE_SECURE`` says otherwise or the app runs in
    debug or testing mode (plain HTTP on a developer's machine); always ``HttpOnly`` and ``SameSite``.
    It expires with the session's absolute lifetime; the server enforces both lifetimes anyway.
    """
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    if (
        "csrf" not in app.extensions
    ):  # the web door normally sets it up; we ask for checks ourselves
        app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
        CSRFProtect(app)


def protect_form_posts() -> None:
    """Every POST from a person's page carries the form's CSRF token (a blueprint's before_request)."""
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        current_app.extensions["csrf"].protect()


def staff_page_headers(response: Response) -> Response:
    """Strict headers, and no caching: these pages show log entries, keys and who is signed in."""
    return strict_headers(response, no_store=not (request.endpoint or "").endswith(".static"))
