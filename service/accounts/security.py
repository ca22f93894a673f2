"""Cookie, lockout and CSRF settings for people's pages, and the strict headers those pages carry.

``staff_page_headers`` and ``protect_form_posts`` are meant for every blueprint that people sign in
to use (the accounts and admin pages here, the audit pages too).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]

from ..db.users import LockoutPolicy
from ..page_security import strict_headers


def configure(app: Flask) -> None:
    """Session cookie flags and CSRF; the Secure flag and the lockout policy are settings.

    ``SESSION_COOKIE_SECURE`` is off by default only so a plain-HTTP local install can sign in at all.
    """
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if (
        "csrf" not in app.extensions
    ):  # the web door normally sets it up; we ask for checks ourselves
        app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
        CSRFProtect(app)


def lockout_policy() -> LockoutPolicy:
    return LockoutPolicy(
        max_failures=int(current_app.config["LOGIN_MAX_FAILURES"]),
        duration=timedelta(minutes=int(current_app.config["LOGIN_LOCKOUT_MINUTES"])),
    )


def protect_form_posts() -> None:
    """Every POST from a person's page carries the form's CSRF token (a blueprint's before_request)."""
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        current_app.extensions["csrf"].protect()


def staff_page_headers(response: Response) -> Response:
    """Strict headers, and no caching: these pages show log entries, keys and who is signed in."""
    return strict_headers(response, no_store=not (request.endpoint or "").endswith(".static"))
