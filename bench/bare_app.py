"""The service's own app plus two bench-only routes, the yardsticks of bench/http.py.

Why: issue 2 sets its bar against "a bare Flask endpoint that only inserts one row and commits"
(about 0.43 of ``/healthz`` on SQLite and 0.25 on PostgreSQL on this machine). Served by the same
app, hooks, engine and worker model as ``/healthz`` and the checks, two endpoints split what a
check costs:

* ``POST /bench/bare-insert`` only writes: it stores the request body as one row of a table of its
  own (bench/http.py creates it) and commits; nothing of the service's is touched.
* ``POST /bench/unlogged-check`` only checks: it parses and validates the body as the API does,
  recognises and checks the medications against the KB snapshot in memory, and answers the very
  document a check answers, but writes nothing (not a door of the service: no key, no log).

A logged check does both, so the two together say what a check can reach at best here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert
from uuid_utils import uuid7

from service import create_app as create_service_app
from service.api.schemas import CheckRequestBody
from service.api.views import _domain_item
from service.appctx import database, snapshots
from service.checking import CheckRequest, _log_entry, active_snapshot, answer_document
from service.domain.check import CheckContext, check, recognize

BARE_INSERT = Table(
    "bench_bare_insert",
    MetaData(),
    Column("id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = create_service_app(config)

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

    @app.post("/bench/unlogged-check")
    def unlogged_check() -> Response:
        body = request.get_json()
        parsed = CheckRequestBody.model_validate(body)
        items = [_domain_item(item) for item in parsed.medications]
        kb = snapshots().current() or active_snapshot(database(), snapshots())
        context = CheckContext(patient_age=parsed.patient.age if parsed.patient else None)
        result = check(recognize(items, kb), kb, context)
        unlogged = CheckRequest(body["medications"], items, context, None, body)
        entry = _log_entry(result, kb, unlogged, "api", "bench", None)
        return jsonify(answer_document({**entry, "created_at": datetime.now(UTC), "seq": 0}, kb))

    return app
