"""The review pages: what an auditor sees on the list, a check, the events and the banner."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from service.audit import views
from service.db import events, logged_alerts
from service.db.models import AlertLog, AuditEvent, KbVersion, LoggedAlert
from service.domain.checkpoint import SigningKey
from service.pseudonyms import patient_ref

from ..factories import AuditEventFactory, CdsFeedbackFactory
from .conftest import Log

pytestmark = pytest.mark.both_databases  # audit queries

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def text(response: TestResponse) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_list_shows_counts_sortable_headers_export_links_and_a_next_page(
    auditor: FlaskClient, log: Log
) -> None:
    response = auditor.get("/audit/checks?channel=cds-hooks&sort=client&dir=asc")
    html = response.get_data(as_text=True)
    matching = sum(1 for s in log.specs if s.channel == "cds-hooks")
    assert response.status_code == 200
    assert f"{matching} checks match" in text(response)
    assert "<caption>" in html and 'scope="col"' in html and 'scope="row"' in html
    assert 'aria-sort="ascending"' in html
    assert "/audit/export.csv?channel=cds-hooks" in html
    assert "/audit/export.jsonl?channel=cds-hooks" in html
    assert "Next page" not in html  # eight rows fit on one page
    # Every column header is a link that keeps the filters.
    headers = re.findall(r'<th scope="col"[^>]*>\s*<a href="([^"]+)"', html)
    assert len(headers) == 9 and all("channel=cds-hooks" in h for h in headers)


def test_more_rows_than_a_page_get_a_next_page_link_that_continues_the_list(
    auditor: FlaskClient, log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 10)
    first = auditor.get("/audit/checks?sort=time&dir=desc").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first)
    assert link
    second = auditor.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Previous page" in second and "First page" in second
    first_ids = set(re.findall(r"/audit/checks/([0-9a-f-]{36})", first))
    second_ids = set(re.findall(r"/audit/checks/([0-9a-f-]{36})", second))
    assert len(first_ids) == len(second_ids) == 10 and not first_ids & second_ids


def test_invalid_filters_are_shown_beside_their_fields(auditor: FlaskClient, log: Log) -> None:
    response = auditor.get("/audit/checks?from=soon&channel=fax")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="f-from" name="from" value="soon"' in html and 'aria-invalid="true"' in html
    assert "must be one of" in html


def test_a_check_shows_inputs_medications_alerts_rules_feedback_and_chain(
    auditor: FlaskClient, client: FlaskClient, session: Session
) -> None:
    answer = client.post(
        "/api/v1/checks",
        json={
            "medications": ["clonazepam", "oxycodone", "zolpidem", "klonopinn"],
            "min_severity": "major",
        },
    ).get_json()
    check_id = answer["check_id"]
    logged_alerts.project(session.connection())
    r1 = session.scalars(select(LoggedAlert).filter_by(alert_log_id=check_id, rule_code="R1")).one()
    CdsFeedbackFactory(
        alert=r1,
        outcome="overridden",
        override_reason={
            "code": "pall",
            "display": "Palliative care",
            "system": "http://example.org/reasons",
        },
        override_comment="Comfort care only",
    )
    session.commit()
    entry = session.get_one(AlertLog, check_id)

    page = text(auditor.get(f"/audit/checks/{check_id}"))
    assert "Inputs as received" in page and '"klonopinn"' in page
    assert "NOT recognised" in page and "Klonopin" in page  # the suggestion
    assert "R1" in page and "R11" in page and "C1" in page
    assert "filtered: below the minimum severity (major)" in page
    assert "Palliative care" in page and "pall" in page and "Comfort care only" in page
    assert entry.kb_version_id in page
    assert "Rules that fired, as they were in this version" in page
    assert "Boxed warning" in page or "boxed warning" in page  # R1's text from the KB version
    rules = session.get_one(KbVersion, entry.kb_version_id).counts["rules"]
    assert f"All {rules} rules of this version" in page
    assert f"Position in the log Entry {entry.seq} " in page


def test_an_unknown_check_is_not_found(auditor: FlaskClient, log: Log) -> None:
    assert auditor.get("/audit/checks/no-such-check").status_code == 404


def test_searching_by_identifier_lists_that_patient_without_putting_it_in_the_address(
    app: Flask, auditor: FlaskClient, session: Session, log: Log
) -> None:
    token = CSRF.search(auditor.get("/audit/checks").get_data(as_text=True))
    assert token
    response = auditor.post(
        "/audit/checks/patient",
        data={"patient": " MRN-3 ", "channel": "cds-hooks", "csrf_token": token.group(1)},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "MRN" not in location
    with app.test_request_context():
        reference = patient_ref("MRN-3")
    assert parse_qs(urlsplit(location).query) == {
        "channel": ["cds-hooks"],
        "patient_ref": [reference],
    }
    page = auditor.get(location).get_data(as_text=True)
    want = {s.id for s in log.specs if s.patient == "MRN-3" and s.channel == "cds-hooks"}
    assert want and set(re.findall(r"/audit/checks/([0-9a-f-]{36})", page)) == want
    searches = session.scalars(select(AuditEvent).filter_by(action="audit.patient_search")).all()
    assert [(e.actor, e.target) for e in searches] == [("user:avery", reference)]


def test_a_patient_search_without_its_csrf_token_is_refused(auditor: FlaskClient, log: Log) -> None:
    assert auditor.post("/audit/checks/patient", data={"patient": "MRN-3"}).status_code == 400


def test_an_empty_patient_search_says_what_to_enter(auditor: FlaskClient, log: Log) -> None:
    token = CSRF.search(auditor.get("/audit/checks").get_data(as_text=True))
    assert token
    response = auditor.post(
        "/audit/checks/patient", data={"patient": " ", "csrf_token": token.group(1)}
    )
    assert response.status_code == 400 and "Enter the patient identifier" in text(response)


def test_the_events_page_filters_sorts_and_lists_details(
    auditor: FlaskClient, session: Session
) -> None:
    AuditEventFactory(actor="cli:ops", action="client.create", target="north")
    AuditEventFactory(
        actor="user:morgan", action="client.revoke", target="north", outcome="failure"
    )
    AuditEventFactory(
        actor="cli:ops", action="kb.load", target="abc", details={"counts": {"rules": 21}}
    )
    session.commit()
    response = auditor.get("/audit/events?action=client&sort=actor&dir=asc")
    page = text(response)
    assert response.status_code == 200
    assert "2 events match" in page
    assert page.index("cli:ops") < page.index("user:morgan")
    assert "kb.load" not in page
    assert "1 event match" in text(auditor.get("/audit/events?outcome=failure"))
    assert '{"counts": {"rules": 21}}' in text(auditor.get("/audit/events?action=kb.load"))


def test_every_page_says_when_the_log_was_last_verified_and_the_result(
    app: Flask, auditor: FlaskClient, session: Session, log: Log
) -> None:
    assert "never been verified" in text(auditor.get("/audit/checks"))
    app.config["AUDIT_SIGNING_KEY"] = SigningKey.generate("pages-test").text()
    sealed = app.test_cli_runner().invoke(args=["audit", "seal", "--once"])  # verify reads leaves
    assert sealed.exit_code == 0, sealed.output
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    page = text(auditor.get("/audit/reports"))
    assert "Logs intact" in page and f"alert_log {len(log.specs)} entries" in page
    # A failed run is shown as such, with the entry it stopped at.
    with app.app_context():
        events.record_event(
            session,
            actor="cli:ops",
            action="audit.verify",
            target="logs",
            outcome="failure",
            details={
                "alert_log": {
                    "entries": 2,
                    "head": "0" * 64,
                    "first_broken": 3,
                    "problem": "entry 3 does not match its hash",
                },
                "audit_event": {
                    "entries": 1,
                    "head": "0" * 64,
                    "first_broken": None,
                    "problem": None,
                },
            },
        )
    session.commit()
    page = text(auditor.get("/audit/events"))
    assert "The last verification FAILED" in page and "broken at entry 3" in page


def test_pages_carry_strict_headers_and_no_inline_script_or_style(
    auditor: FlaskClient, log: Log
) -> None:
    spec = log.specs[1]
    for url in ("/audit/checks", f"/audit/checks/{spec.id}", "/audit/events", "/audit/reports"):
        response = auditor.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
        assert "<script" not in html and " style=" not in html, url
