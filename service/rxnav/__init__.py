"""The RxNav-compatible door: NLM's retired interaction URLs, answered by our check and logged.

A client of the retired API changes only its base URL (and sends an API key).
"""

from flask import Blueprint

blueprint = Blueprint("rxnav", __name__)

from . import views  # noqa: E402,F401  (routes register on import)
