"""The CDS Hooks 2.0 door: order-select and order-sign services, cards, and feedback."""

from flask import Blueprint

blueprint = Blueprint("cds_hooks", __name__, url_prefix="/cds-services")

from . import views  # noqa: E402,F401  (routes register on import)
