"""The auditor API answers the pages' questions as JSON, for auditors' own tools."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import logged_alerts
from service.db.models import AlertLog, AuditEvent, KbVersion, LoggedAlert
from service.pseudonyms import patient_ref

from ..factories import AuditEventFactory, CdsFeedbackFactory
from .conftest import Log

pytestmark = pytest.mark.both_databases  # audit queries


def test_one_check_as_json_has_everything_the_detail_page_shows(
    auditor_token: FlaskClient, client: FlaskClient, session: Session
) -> None:
    answer = client.post(
        "/api/v1/checks",
        json={"medications": ["clonazepam", "oxycodone", "zolpidem"], "min_severity": "major"},
    ).get_json()
    check_id = answer["check_id"]
    logged_alerts.project(session.connection())
    r1 = session.scalars(select(LoggedAlert).filter_by(alert_log_id=check_id, rule_code="R1")).one()
    entry = session.get_one(AlertLog, check_id)
    CdsFeedbackFactory(alert=r1, accepted_suggestions=["s1"])
    session.commit()

    body = auditor_token.get(f"/api/v1/audit/checks/{check_id}").get_json()
    assert body["inputs"]["medications"] == ["clonazepam", "oxycodone", "zolpidem"]
    assert body["min_severity"] == "major" and body["client"] == "test-pharmacy"
    shown = {a["rule"]["id"]: a["shown"] for a in body["alerts"]}
    assert shown == {"R1": True, "C1": True, "R11": False, "R12": True}
    r1_json = next(a for a in body["alerts"] if a["rule"]["id"] == "R1")
    assert r1_json["feedback"][0]["outcome"] == "accepted"
    assert r1_json["feedback"][0]["accepted_suggestions"] == ["s1"]
    fired = {r["id"] for r in body["kb_version"]["rules_fired"]}
    assert fired == {"R1", "C1", "R11", "R12"}
    assert (
        body["kb_version"]["rules"]
        == session.get_one(KbVersion, entry.kb_version_id).counts["rules"]
    )
    assert body["chain"] == {
        "seq": entry.seq, "previous": None, "next": None,
    }  # fmt: skip


def test_an_unknown_check_is_a_404_problem(auditor_token: FlaskClient, log: Log) -> None:
    response = auditor_token.get("/api/v1/audit/checks/nope")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_events_filter_by_actor_action_family_and_sort(
    auditor_token: FlaskClient, session: Session
) -> None:
    AuditEventFactory(actor="cli:ops", action="cds.feedback.overridden", target="a")
    AuditEventFactory(actor="CLI:OPS", action="cds.feedback.accepted", target="b")
    AuditEventFactory(actor="user:morgan", action="cds.feedbackish", target="c")
    AuditEventFactory(actor="cli:ops", action="kb.load", target="d")
    session.commit()
    body = auditor_token.get(
        "/api/v1/audit/events?actor=cli:&action=cds.feedback&sort=target&dir=desc"
    ).get_json()
    assert body["count"] == 2
    assert [e["target"] for e in body["items"]] == ["b", "a"]


def test_a_patient_reference_is_asked_for_in_a_body_and_the_search_is_recorded(
    app: Flask, auditor_token: FlaskClient, session: Session, log: Log
) -> None:
    response = auditor_token.post("/api/v1/audit/patient-refs", json={"identifier": "MRN-1"})
    with app.test_request_context():
        reference = patient_ref("MRN-1")
    assert response.get_json()["patient_ref"] == reference
    listed = auditor_token.get(response.get_json()["checks"]).get_json()
    assert {i["id"] for i in listed["items"]} == {s.id for s in log.specs if s.patient == "MRN-1"}
    (event,) = session.scalars(select(AuditEvent).filter_by(action="audit.patient_search")).all()
    assert (event.actor, event.target) == ("user:tool-owner", reference)
    assert auditor_token.post("/api/v1/audit/patient-refs", json={}).status_code == 422


def test_a_check_is_found_by_its_alerts_as_soon_as_it_is_answered(
    auditor_token: FlaskClient, client: FlaskClient
) -> None:
    answered = [
        client.post("/api/v1/checks", json={"medications": meds}).get_json()["check_id"]
        for meds in (["clonazepam", "oxycodone"], ["amoxicillin"], ["alprazolam", "hydrocodone"])
    ]
    listed = auditor_token.get("/api/v1/audit/checks?rule=R1").get_json()
    assert {i["id"] for i in listed["items"]} == {answered[0], answered[2]}
