"""Every door answers as ``/openapi.json`` says: schemathesis generates requests from the document,
sends them through the WSGI app with valid credentials, and checks each answer against it.

Per operation and backend: ``EXAMPLES`` generated requests (positive and negative data, plus the
document's own examples), derandomized so a run is reproducible; no 5xx, no undocumented status,
no undocumented content type, no body or header that breaks the schema.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks
from sqlalchemy.orm import Session

from service.audit.reports import REPORTS
from service.db.users import token_hash
from service.openapi import openapi_document

from .. import factories

# Generated queries reach the audit SQL, which differs between the databases (dates, JSON).
pytestmark = pytest.mark.both_databases

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
    user = factories.UserFactory(name="conformance", role="auditor")
    factories.UserTokenFactory(user_id=user.id, token_hash=token_hash(AUDITOR_TOKEN))
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
    def positive(case: schemathesis.Case[Any]) -> None:
        seen.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def negative(case: schemathesis.Case[Any]) -> None:
        seen.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    positive()
    described = openapi_document()["paths"][path][method]
    # Something to get wrong: a body, or a query or path parameter. A header parameter is
    # Accept-Language, which any value satisfies (what it does not name falls back to English).
    parameters = [p for p in described.get("parameters", []) if p["in"] != "header"]
    if parameters or "requestBody" in described:
        negative()
    assert seen
    # -s shows the figures: requests sent and the statuses they got
    print(f"\n{method.upper()} {path}: {len(seen)} requests, {dict(sorted(Counter(seen).items()))}")


ROOT = Path(__file__).resolve().parents[2]


def _call(app: Flask, path: str, method: str, token: str, **case: Any) -> Any:
    """One hand-made request through the documented operation, validated like the generated ones."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    made = schema[path][method].Case(**case)
    return made.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def test_a_check_and_its_log_entries_answer_as_documented(
    app: Flask, api_key: str, auditor_token: str
) -> None:
    body = {
        "medications": ["Klonopin 2 mg tablet", "PERCOCET 5/325", "alcohol", "zzzz"],
        "patient": {"age": 70},
    }
    answer = _call(app, "/api/v1/checks", "POST", api_key, body=body)
    assert answer.status_code == 200 and answer.json()["alerts"]
    check_id = answer.json()["check_id"]
    ids = {"check_id": check_id}
    assert (
        _call(app, "/api/v1/checks/{check_id}", "GET", api_key, path_parameters=ids).status_code
        == 200
    )
    detail = _call(
        app, "/api/v1/audit/checks/{check_id}", "GET", auditor_token, path_parameters=ids
    )
    assert detail.status_code == 200 and detail.json()["alerts"]
    listed = _call(app, "/api/v1/audit/checks", "GET", auditor_token, query={"limit": 1})
    assert listed.json()["items"][0]["id"] == check_id
    for name in REPORTS:
        report = _call(
            app,
            "/api/v1/audit/reports/{name}",
            "GET",
            auditor_token,
            path_parameters={"name": name},
        )
        assert report.status_code == 200


def test_cds_hooks_cards_and_feedback_answer_as_documented(app: Flask, api_key: str) -> None:
    request = json.loads((ROOT / "docs/examples/cds-order-select.json").read_text())
    service = {"service_id": "interaction-alerts-order-select"}
    path = "/cds-services/{service_id}"
    answer = _call(app, path, "POST", api_key, path_parameters=service, body=request)
    cards = answer.json()["cards"]
    assert answer.status_code == 200 and cards
    feedback = {
        "feedback": [
            {
                "card": cards[0]["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": cards[0]["overrideReasons"][0]},
                "outcomeTimestamp": "2026-11-26T07:30:00Z",
            }
        ]
    }
    recorded = _call(
        app, path + "/feedback", "POST", api_key, path_parameters=service, body=feedback
    )
    assert recorded.status_code == 200


def test_rxnav_answers_with_alerts_and_unknowns_as_documented(app: Flask, api_key: str) -> None:
    listed = _call(
        app, "/REST/interaction/list.json", "GET", api_key, query={"rxcuis": "2598+7804+448+999999"}
    )
    assert listed.status_code == 200 and listed.json()["unrecognizedRxcuis"] == ["999999"]
    one = _call(app, "/REST/interaction/interaction.json", "GET", api_key, query={"rxcui": "2598"})
    assert one.status_code == 200 and one.json()["interactionTypeGroup"]
    found = _call(
        app, "/REST/rxcui.json", "GET", api_key, query={"name": "Klonopin", "search": "2"}
    )
    assert found.json()["idGroup"]["rxnormId"]
