"""Every door answers as ``/openapi.json`` says: schemathesis generates requests from the document,
sends them through the WSGI app with valid credentials, and checks each answer against it.

Per operation and backend: ``EXAMPLES`` generated requests (positive and negative data, plus the
document's own examples), derandomized so a run is reproducible; no 5xx, no undocumented status,
no undocumented content type, no body or header that breaks the schema.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks
from sqlalchemy.orm import Session

from service.accounts.access import token_hash
from service.api.openapi import openapi_document
from service.db.models import User, UserToken

EXAMPLES = 25
AUDITOR_TOKEN = "iat_conformance-auditor-token"

load_all_checks()
from schemathesis.checks import (  # noqa: E402  (registered by load_all_checks)
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

OPERATIONS = [
    pytest.param(path, method, id=operation["operationId"])
    for path, methods in openapi_document()["paths"].items()
    for method, operation in methods.items()
]


@pytest.fixture()
def auditor_token(session: Session) -> str:
    user = User(name="conformance", role="auditor", password_hash="-", created_at=datetime.now(UTC))
    session.add(user)
    session.flush()
    token = UserToken(
        user_id=user.id, token_hash=token_hash(AUDITOR_TOKEN), created_at=user.created_at
    )
    session.add(token)
    session.commit()
    return AUDITOR_TOKEN


def test_the_document_describes_every_door() -> None:
    paths = openapi_document()["paths"]
    for prefix in ("/api/v1/checks", "/api/v1/audit/", "/cds-services", "/REST/", "/readyz"):
        assert any(p.startswith(prefix) for p in paths), prefix
    for path, methods in paths.items():
        for method, operation in methods.items():
            assert operation["summary"] and operation["responses"], (method, path)
            for parameter in operation.get("parameters", []):
                assert parameter["description"], (path, parameter["name"])


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_the_operation_answers_as_documented(
    app: Flask, api_key: str, auditor_token: str, path: str, method: str
) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operation = schema[path][method.upper()]
    token = auditor_token if path.startswith("/api/v1/audit/") else api_key
    headers = {"Authorization": f"Bearer {token}"}
    seen: list[Any] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def positive(case: schemathesis.Case) -> None:
        seen.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def negative(case: schemathesis.Case) -> None:
        seen.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    positive()
    described = openapi_document()["paths"][path][method]
    if "parameters" in described or "requestBody" in described:  # something to get wrong
        negative()
    assert seen
    # -s shows the figures: requests sent and the statuses they got
    print(f"\n{method.upper()} {path}: {len(seen)} requests, {dict(sorted(Counter(seen).items()))}")
