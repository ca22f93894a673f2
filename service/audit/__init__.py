"""The auditors' door: review pages under ``/audit`` and a read-only JSON API under ``/api/v1/audit``.

Both only read the logs (exports and patient searches add an ``audit_event``); nothing here can
change or delete a log entry.
"""

from flask import Blueprint

blueprint = Blueprint("audit", __name__, url_prefix="/audit")
api_blueprint = Blueprint("audit_api", __name__, url_prefix="/api/v1/audit")

from . import api, views  # noqa: E402,F401  (routes register on import)
