"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from .appctx import database, snapshots
from .checking import ServiceUnavailable, probe_log_write
from .problems import problem

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process is up; says nothing about the database on purpose."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> Response:
    """Ready only when the database answers, a knowledge base is loaded and the log takes writes.

    A check that cannot be logged is refused (fail closed), so a service whose alert log refuses
    writes (a read-only database, a revoked INSERT grant, a full disk) is not ready either.
    """
    try:
        with database().transaction(read_only=True) as connection:
            kb = snapshots().get(connection)  # reading the active version tests the database too
        probe_log_write(database(), kb.version)
    except (SQLAlchemyError, ServiceUnavailable) as error:
        reason = (
            str(error) if isinstance(error, ServiceUnavailable) else "the database is unreachable"
        )
        return problem(503, "Not ready", reason, "not-ready")
    return jsonify(status="ready", kb_version=kb.version)
