"""The service's own app plus one bench-only route, ``POST /bench/bare-insert``, for bench/http.py.

Why: issue 2 sets its bar against "a bare Flask endpoint that only inserts one row and commits"
(about 0.43 of ``/healthz`` on SQLite and 0.25 on PostgreSQL on this machine). Served by the same
app, hooks, engine and worker model as ``/healthz`` and the checks, that endpoint shows in every
run what the write alone reaches here, so a check's ratio can be read against it. The route stores
the request body in a table of its own (bench/http.py creates it); nothing of the service's is
touched.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, Response, jsonify, request
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert
from uuid_utils import uuid7

from service import create_app as create_service_app
from service.appctx import database

BARE_INSERT = Table(
    "bench_bare_insert",
    MetaData(),
    Column("id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
)


def create_app() -> Flask:
    app = create_service_app()

    @app.post("/bench/bare-insert")
    def bare_insert() -> Response:
        with database().transaction() as connection:
            connection.execute(
                insert(BARE_INSERT).values(
                    id=str(uuid7()),
                    created_at=datetime.now(UTC),
                    body=request.get_data(as_text=True),
                )
            )
        return jsonify(status="ok")

    return app
