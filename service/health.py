"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from .appctx import database, snapshots
from .checking import ServiceUnavailable
from .problems import problem

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process is up; says nothing about the database on purpose."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> Response:
    """Ready only when the database answers and a knowledge base is loaded."""
    try:
        with database().transaction(read_only=True) as connection:
            kb = snapshots().get(connection)  # reading the active version tests the database too
    except (SQLAlchemyError, ServiceUnavailable) as error:
        reason = (
            str(error) if isinstance(error, ServiceUnavailable) else "the database is unreachable"
        )
        return problem(503, "Not ready", reason, "not-ready")
    return jsonify(status="ready", kb_version=kb.version)
