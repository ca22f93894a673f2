"""The app factory: configuration, database, KB snapshot cache, doors and CLI, wired into one app."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.typing import ResponseReturnValue
from flask_cors import CORS
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config
from .checking import ServiceUnavailable, SnapshotCache
from .db import Database
from .json_provider import OrjsonProvider
from .observability.requests import init_app as init_observability

log = logging.getLogger(__name__)


class AlertsApp(Flask):
    """Flask with the one app-wide mapping of database failures: at any door, a failed read or
    write is "service unavailable" (503 in the door's own shape), never a 500.

    It happens before Flask chooses a handler, so every door's ``ServiceUnavailable`` handler
    renders it, including doors that handle every other exception themselves (CDS Hooks).
    """

    def handle_user_exception(self, e: Exception) -> HTTPException | ResponseReturnValue:
        if isinstance(e, SQLAlchemyError):
            # The class only: the message holds the statement and its parameters (patient data).
            log.warning("database failure: %s", type(getattr(e, "orig", None) or e).__name__)
            unavailable = ServiceUnavailable("the database could not be used")
            unavailable.__cause__ = e
            e = unavailable
        return super().handle_user_exception(e)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build a fresh app: configuration, database, KB snapshot cache, doors, CLI."""
    app = AlertsApp(__name__, instance_relative_config=True)
    app.json = OrjsonProvider(app)
    app.config.from_mapping(config.from_environment(Path(app.instance_path)))
    if overrides:
        app.config.from_mapping(overrides)
    # First, so a request's timing and id start before any other hook and its log line comes last.
    init_observability(app)
    hops = app.config["PROXY_HOPS"]
    if hops:
        # Behind nginx every client would otherwise share the proxy's address (one rate limit for
        # all) and look like plain HTTP. Trusted only as deep as configured: a client could forge
        # the headers if the app believed them without a proxy in front.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    # DATABASE and SNAPSHOTS let an embedding process or a test hand in its own.
    database = app.config.get("DATABASE") or Database.from_url(
        app.config["DATABASE_URL"],
        timeouts=config.database_timeouts(app.config),
        fast_paths=app.config["DATABASE_FAST_PATHS"],
    )
    app.extensions["database"] = database
    app.extensions["snapshots"] = app.config.get("SNAPSHOTS") or SnapshotCache()

    from .accounts import init_app as init_accounts
    from .api import blueprint as api_blueprint
    from .api.errors import register_error_handlers
    from .api_docs import blueprint as docs_blueprint
    from .audit import api_blueprint as audit_api_blueprint
    from .audit import blueprint as audit_blueprint
    from .cds_hooks import blueprint as cds_hooks_blueprint
    from .cli import register_commands
    from .health import blueprint as health_blueprint
    from .request_guard import drain_unread_body, refuse_nul_bytes
    from .rxnav import blueprint as rxnav_blueprint
    from .web import init_app as init_web

    app.before_request(refuse_nul_bytes)  # first, before any door's own hooks read the request
    app.teardown_request(drain_unread_body)
    app.register_blueprint(health_blueprint)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(docs_blueprint)
    app.register_blueprint(cds_hooks_blueprint)
    app.register_blueprint(rxnav_blueprint)
    app.register_blueprint(audit_blueprint)
    app.register_blueprint(audit_api_blueprint)
    init_web(app)  # the patients' pages at /, with CSRF, a rate limit and strict headers
    init_accounts(app)  # sign-in, /account, /admin: sessions, sign-in limits and roles
    origins = [o.strip() for o in app.config.get("CDS_CORS_ORIGINS", "").split(",") if o.strip()]
    if origins:
        # Browser-based CDS clients (the CDS Hooks sandbox) need CORS; only vetted origins get it.
        CORS(
            app,
            resources={r"/cds-services*": {"origins": origins}},
            allow_headers=["Authorization", "Content-Type"],
        )
    register_error_handlers(app)
    register_commands(app)
    return app
