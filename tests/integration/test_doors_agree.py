"""The same patient gets the same alerts through every door: JSON, CDS Hooks and RxNav.

Each case is sent three ways, with drugs and age only (the context all three doors carry):

- JSON: ``POST /api/v1/checks`` with RxCUIs and ``patient.age``;
- CDS Hooks: ``order-select`` with the last drug as the selected draft order, the others as active
  MedicationRequests, and a Patient prefetch whose ``birthDate`` makes the age;
- RxNav: ``list.json?rxcuis=...&age=...``.

Compared: the rule ids and severities each door answered (CDS: the cards' ``source.topic.code`` and
``indicator``, with the severities of the log row the cards were made from). CDS shows only alerts
involving the new order, so every case's alerts all involve the last drug.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import AlertLog
from service.domain.severity import Severity

from ..cds_hooks.fhir_samples import bundle, coded_request, hook_request, patient

pytestmark = pytest.mark.both_databases  # every door writes its log row

SELECT = "/cds-services/interaction-alerts-order-select"
NAMES = {
    "2598": "clonazepam",
    "7804": "oxycodone",
    "8134": "phenobarbital",
    "39993": "zolpidem",
    "21949": "cyclobenzaprine",
    "448": "ethanol",
}
Alerts = set[tuple[str, str]]


def _birth_date(age: int) -> str:
    """1 January of the year that makes ``age`` in whole years for all of this year."""
    return f"{date.today().year - age}-01-01"


def by_json(client: FlaskClient, rxcuis: list[str], age: int) -> Alerts:
    response = client.post(
        "/api/v1/checks",
        json={"medications": [{"rxcui": r} for r in rxcuis], "patient": {"age": age}},
    )
    assert response.status_code == 200, response.get_json()
    return {(a["rule"]["id"], a["severity"]) for a in response.get_json()["alerts"]}


def by_cds(client: FlaskClient, session: Session, rxcuis: list[str], age: int) -> Alerts:
    *active, new = rxcuis
    body = hook_request(
        "order-select",
        drafts=[coded_request("new", new, NAMES[new])],
        prefetch={
            "activeMedications": bundle(
                *(
                    coded_request(f"old{i}", rxcui, NAMES[rxcui], status="active")
                    for i, rxcui in enumerate(active)
                ),
                kind="searchset",
            ),
            "patient": patient(_birth_date(age)),
        },
    )
    response = client.post(SELECT, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards = [c for c in response.get_json()["cards"] if "topic" in c["source"]]
    # The severities the cards were made from: the log row of this hook call.
    row = session.scalars(
        select(AlertLog).where(AlertLog.channel == "cds-hooks").order_by(AlertLog.seq.desc())
    ).first()
    assert row is not None
    logged = {a["rule"]["id"]: a["severity"] for a in row.alerts if a["shown"]}
    answered = set()
    for card in cards:
        rule_id = card["source"]["topic"]["code"]
        severity = logged[rule_id]
        assert card["indicator"] == Severity(severity).mapping.cds_indicator
        answered.add((rule_id, severity))
    return answered


def by_rxnav(client: FlaskClient, rxcuis: list[str], age: int) -> Alerts:
    response = client.get(f"/REST/interaction/list.json?rxcuis={'+'.join(rxcuis)}&age={age}")
    assert response.status_code == 200, response.get_json()
    entries = response.get_json().get("fullInteractionTypeGroup", [{}])[0]
    answered = set()
    for entry in entries.get("fullInteractionType", []):
        if entry["kind"] not in {"interaction", "duplication", "cumulative", "dose"}:
            continue
        pair = entry["interactionPair"][0]
        rule_id = pair["interactionConcept"][0]["sourceConceptItem"]["id"]
        severity = Severity(pair["description"].split(":")[0].lower())
        assert pair["severity"] == severity.mapping.rxnav_severity
        answered.add((rule_id, severity.value))
    return answered


CASES = [
    pytest.param(["2598", "7804"], 70, {("R1", "major")}, id="clonazepam+oxycodone-at-70"),
    pytest.param(["2598", "8134"], 45, {("R10", "major")}, id="clonazepam+phenobarbital"),
    pytest.param(
        ["2598", "39993", "21949"],
        70,
        {("C1", "major"), ("R11", "moderate"), ("R93", "moderate")},
        id="three-cns-depressants-at-70-beers",
    ),
    pytest.param(
        ["2598", "39993", "21949"],
        40,
        {("C1", "moderate"), ("R11", "moderate"), ("R93", "moderate")},
        id="three-cns-depressants-at-40",
    ),
    pytest.param(["448", "2598"], 70, {("R4", "major")}, id="alcohol+clonazepam-at-70"),
]


@pytest.mark.parametrize(("rxcuis", "age", "expected"), CASES)
def test_json_cds_hooks_and_rxnav_answer_the_same_rules_and_severities(
    client: FlaskClient, session: Session, rxcuis: list[str], age: int, expected: Alerts
) -> None:
    json_alerts = by_json(client, rxcuis, age)
    cds_alerts = by_cds(client, session, rxcuis, age)
    rxnav_alerts = by_rxnav(client, rxcuis, age)
    assert json_alerts == expected
    assert cds_alerts == json_alerts
    assert rxnav_alerts == json_alerts
