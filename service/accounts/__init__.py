"""People: auditors and admins, their sign-in (rate-limited), sessions and personal API tokens."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Attach sign-in, the account pages and the admin pages, with their cookie and sign-in limit settings.

    Imported lazily: the repository (``db.users``) imports ``access`` from this package, and must
    not pull the views in with it.
    """
    from .security import configure
    from .views import blueprint

    configure(app)
    app.register_blueprint(blueprint)
