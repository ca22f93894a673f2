"""The JSON API door (``/api/v1``): parse, one call into the check, render."""

from flask import Blueprint

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

from . import views  # noqa: E402,F401  (routes register on import)
