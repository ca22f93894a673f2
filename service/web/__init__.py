"""The patients' web door (``/``): a plain HTML form, the one check, a plain-language answer."""

from __future__ import annotations

from flask import Blueprint, Flask

blueprint = Blueprint("web", __name__)

from . import views  # noqa: E402,F401  (routes register on import)
from .i18n import init_i18n  # noqa: E402
from .security import init_security  # noqa: E402


def init_app(app: Flask) -> None:
    """Attach the web door with what it needs: CSRF, the rate limit, strict headers, languages."""
    init_security(app)
    init_i18n(app)
    app.register_blueprint(blueprint)
