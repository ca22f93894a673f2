"""People: auditors and admins, their sign-in (rate-limited), sessions and personal API tokens."""

from __future__ import annotations

from flask import Flask

from ..staff.security import configure
from .views import blueprint


def init_app(app: Flask) -> None:
    """Attach sign-in, the account pages and the admin pages, with their cookie and sign-in limit settings."""
    configure(app)
    app.register_blueprint(blueprint)
