"""Typed access to what ``create_app`` attached, for the doors."""

from __future__ import annotations

import uuid

from flask import current_app, g, request

from .checking import SnapshotCache
from .db import Database


def database() -> Database:
    db: Database = current_app.extensions["database"]
    return db


def snapshots() -> SnapshotCache:
    cache: SnapshotCache = current_app.extensions["snapshots"]
    return cache


def request_id() -> str:
    """The caller's ``X-Request-ID`` when sensible, else a new one; logged with the check."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
    return str(g.request_id)
