"""Who may read the audit log: every audit URL against every kind of caller."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from service.db import kb_store
from service.db.models import User

from .conftest import T0, Alert, Spec, write


@pytest.fixture()
def check_id(app: Flask, session: Session) -> str:
    """One logged check is enough to open every URL."""
    spec = Spec(T0, "api", alerts=[Alert("R1", "major", ("clonazepam", "oxycodone"))])
    version = kb_store.active_version_id(session)
    assert version
    with app.test_request_context():
        write(session, [spec], version, {})
    session.commit()
    return spec.id


PAGES = [
    "/audit/",
    "/audit/checks",
    "/audit/checks/{check}",
    "/audit/events",
    "/audit/reports",
    "/audit/export.csv",
    "/audit/export.jsonl",
    "/audit/events/export.csv",
    "/audit/events/export.jsonl",
]
API = [
    "/api/v1/audit/checks",
    "/api/v1/audit/checks/{check}",
    "/api/v1/audit/events",
    "/api/v1/audit/reports/alerts-per-day",
    "/api/v1/audit/reports/top-rules",
    "/api/v1/audit/reports/override-by-rule",
    "/api/v1/audit/reports/override-by-client",
    "/api/v1/audit/reports/unrecognised-inputs",
]
Request = Callable[[FlaskClient], TestResponse]


def _get(url: str, check_id: str) -> Request:
    def get(browser: FlaskClient) -> TestResponse:
        response = browser.get(url.format(check=check_id))
        response.get_data()  # finish streamed exports before the next request shares the connection
        response.close()
        return response

    return get


def _people(request: pytest.FixtureRequest, who: str) -> FlaskClient:
    if who == "anonymous":
        app: Flask = request.getfixturevalue("app")
        return app.test_client()
    return request.getfixturevalue(who)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("pharmacy", 302),
        ("auditor", 200),
        ("admin", 200),
        ("auditor_token", 200),
    ],
)
def test_pages_send_strangers_to_sign_in_and_open_for_auditors_and_admins(
    request: pytest.FixtureRequest, check_id: str, who: str, status: int
) -> None:
    browser = _people(request, who)
    wrong: dict[str, tuple[object, ...]] = {}
    for url in PAGES:
        response = _get(url, check_id)(browser)
        expected = 302 if url == "/audit/" and status == 200 else status  # /audit/ → the list
        signs_in = response.headers.get("Location", "").startswith("/login?next=")
        if response.status_code != expected or (status == 302 and not signs_in):
            wrong[url] = (response.status_code, response.headers.get("Location"))
    assert wrong == {}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("pharmacy", 403),
        ("auditor", 200),
        ("admin", 200),
        ("auditor_token", 200),
    ],
)
def test_the_api_wants_an_auditor_and_refuses_pharmacy_keys(
    request: pytest.FixtureRequest, check_id: str, who: str, status: int
) -> None:
    browser = _people(request, who)
    wrong: dict[str, tuple[object, ...]] = {}
    for url in API:
        response = _get(url, check_id)(browser)
        kind = "application/problem+json" if status != 200 else "application/json"
        if (response.status_code, response.mimetype) != (status, kind):
            wrong[url] = (response.status_code, response.mimetype)
        elif status == 200 and response.headers["Cache-Control"] != "no-store":
            wrong[url] = ("cacheable",)
    assert wrong == {}


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("pharmacy", 403), ("auditor_token", 200), ("admin", 200)],
)
def test_turning_an_identifier_into_a_patient_reference_needs_an_auditor(
    request: pytest.FixtureRequest, check_id: str, who: str, status: int
) -> None:
    response = _people(request, who).post(
        "/api/v1/audit/patient-refs", json={"identifier": "MRN-1"}
    )
    assert response.status_code == status


def test_the_patient_search_sends_strangers_to_sign_in(app: Flask, check_id: str) -> None:
    stranger = app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', stranger.get("/login").get_data(as_text=True)
    )
    assert token
    response = stranger.post(
        "/audit/checks/patient", data={"patient": "MRN-1", "csrf_token": token.group(1)}
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_disabled_auditors_session_no_longer_opens_the_pages(
    auditor: FlaskClient, session: Session, check_id: str
) -> None:
    assert auditor.get("/audit/checks").status_code == 200
    session.execute(update(User).where(User.name == "avery").values(disabled_at=datetime.now(UTC)))
    session.commit()
    assert auditor.get("/audit/checks").status_code == 302
