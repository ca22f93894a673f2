"""Typed access to what ``create_app`` attached, and to what a request notes about itself, for the doors."""

from __future__ import annotations

import re
import uuid

from flask import current_app, g, request

from .checking import SnapshotCache
from .db import Database

# Bounded (the log's column holds 64) and free of spaces, quotes and control characters, so an id
# a caller sends can be echoed in a header and written to a log line as it is.
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,63}")


def database() -> Database:
    db: Database = current_app.extensions["database"]
    return db


def snapshots() -> SnapshotCache:
    cache: SnapshotCache = current_app.extensions["snapshots"]
    return cache


def request_id() -> str:
    """The caller's ``X-Request-ID`` when well-formed, else a new one; logged with the check, echoed."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if WELL_FORMED_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return str(g.request_id)


def note_client(client_id: str) -> None:
    """The authenticated client of this request, for its access log line."""
    g.client_id = client_id


def note_problem(slug: str) -> None:
    """The problem type this request is answered with, for its access log line."""
    g.problem = slug
