"""Exports say what clinicians did with each alert (who, when, what, why) and every rule an alert
matched; security events name the clients that acted instead of showing their ids."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.db import clients, kb_store

from ..factories import AuditEventFactory
from .conftest import Alert, Spec, exported_as_sealed, write

pytestmark = pytest.mark.both_databases  # audit queries

MONITOR = ("monitor", "Will monitor the patient")
AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


@pytest.fixture()
def answered(app: Flask, session: Session) -> list[Spec]:
    """An overridden R1 (that also matched R3 and R4) and an accepted R11 in one check; one
    check nobody answered."""
    ids = {n: clients.create(session, n, "minor", actor="test")[0].id for n in ("north", "south")}
    specs = [
        Spec(AT, "cds-hooks", "north", alerts=[
            Alert("R1", "major", ("clonazepam", "oxycodone"), feedback=("overridden",),
                  also=("R3", "R4"), reason=MONITOR),
            Alert("R11", "moderate", ("clonazepam", "zolpidem"), feedback=("accepted",),
                  suggestions=("naloxone",)),
        ]),
        Spec(AT, "api", "south", alerts=[Alert("R5", "contraindicated", ("sodium oxybate", "ethanol"))]),
    ]  # fmt: skip
    version = kb_store.active_version_id(session)
    assert version
    with app.test_request_context():
        write(session, specs, version, ids)
    session.commit()
    return specs


def test_the_csv_export_has_each_checks_feedback_and_also_matched_rules(
    auditor: FlaskClient, answered: list[Spec]
) -> None:
    response = auditor.get("/audit/export.csv")
    first, second = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert (first["rules"], first["also_matched"]) == ("R1;R11", "R3;R4")
    assert (first["overridden"], first["accepted"]) == ("1", "1")
    assert first["override_reasons"] == "R1: Will monitor the patient"
    overridden, accepted = json.loads(first["feedback"])
    assert first["client_id"]
    assert overridden == {
        "alert": "R1:clonazepam+oxycodone",
        "rule": "R1",
        "outcome": "overridden",
        "accepted_suggestions": [],
        "override_reason": {"code": "monitor", "display": "Will monitor the patient"},
        "comment": "Palliative care",
        "client_id": first["client_id"],  # the check's client, read from the feedback row
        "client": "north",
        "outcome_at": "2026-03-02T08:31:00.000000Z",
        "received_at": "2026-03-02T08:32:00.000000Z",
    }
    assert (accepted["rule"], accepted["accepted_suggestions"]) == ("R11", ["naloxone"])
    assert [second[c] for c in ("also_matched", "overridden", "override_reasons", "feedback")] == [
        "",
        "0",
        "",
        "",
    ]


def test_the_jsonl_export_carries_the_feedback_and_still_verifies(
    auditor: FlaskClient, session: Session, answered: list[Spec]
) -> None:
    lines = auditor.get("/audit/export.jsonl").get_data(as_text=True).splitlines()
    first, second = (json.loads(line) for line in lines)
    assert [f["outcome"] for f in first["feedback"]] == ["overridden", "accepted"]
    assert first["feedback"][0]["override_reason"]["code"] == "monitor"
    assert first["feedback"][0]["client"] == "north"
    assert first["alerts"][0]["rule"]["id"] == "R1"
    assert first["alerts"][0]["also_matched"] == ["R3", "R4"]
    assert second["feedback"] == []
    assert exported_as_sealed(session, first) and exported_as_sealed(session, second)


@pytest.fixture()
def client_event(session: Session) -> str:
    """A CDS client's feedback event, which the log records under the client's id."""
    client, _ = clients.create(session, "Northside Pharmacy", "minor", actor="cli:ops")
    AuditEventFactory(actor=f"client:{client.id}", action="cds.feedback.overridden", target="c1")
    session.commit()
    return client.id


def test_the_events_page_names_the_client_not_its_id(
    auditor: FlaskClient, client_event: str
) -> None:
    html = auditor.get("/audit/events?action=cds.feedback").get_data(as_text=True)
    assert "client:Northside Pharmacy" in html
    assert client_event not in html


def test_events_are_found_by_the_clients_name(
    auditor: FlaskClient, auditor_token: FlaskClient, client_event: str
) -> None:
    body = auditor_token.get("/api/v1/audit/events?actor=northside").get_json()
    ((item,),) = [[i for i in body["items"] if i["action"] == "cds.feedback.overridden"]]
    assert item["actor"] == f"client:{client_event}"
    assert item["actor_name"] == "client:Northside Pharmacy"
    page = auditor.get("/audit/events?actor=Northside").get_data(as_text=True)
    assert "cds.feedback.overridden" in page


def test_the_events_export_names_the_client_beside_the_hashed_actor(
    auditor: FlaskClient, client_event: str
) -> None:
    rows = csv.DictReader(
        io.StringIO(auditor.get("/audit/events/export.csv?action=cds").get_data(as_text=True))
    )
    ((actor, name),) = [(r["actor"], r["actor_name"]) for r in rows]
    assert (actor, name) == (f"client:{client_event}", "client:Northside Pharmacy")
