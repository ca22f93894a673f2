"""POST /api/v1/checks and GET /api/v1/checks/<id> through the Flask app on a real database."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.api.schemas import CheckResponse
from service.db import kb_store, logged_alerts
from service.db.models import AlertLog, LoggedAlert
from service.kb.loader import read_knowledge_base

from ..conftest import SEED_DIR

pytestmark = pytest.mark.both_databases  # log writes


def post_check(client: FlaskClient, body: Any) -> Any:
    return client.post("/api/v1/checks", json=body)


def test_a_benzodiazepine_with_an_opioid_is_answered_with_a_major_alert(
    client: FlaskClient,
) -> None:
    response = post_check(client, {"medications": ["Klonopin 2 mg tablet", "PERCOCET 5/325"]})
    assert response.status_code == 200
    body = response.get_json()
    CheckResponse.model_validate(body)  # the documented contract
    assert body["complete"] is True
    assert body["highest_severity"] == "major"
    alert = body["alerts"][0]
    assert alert["rule"]["id"] == "R1"
    assert [i["name"] for i in alert["ingredients"]] == ["clonazepam", "oxycodone"]
    assert alert["medications"] == [0, 1]
    assert alert["ncpdp"] == {"reason_for_service": "DD", "clinical_significance": "1"}
    assert alert["cds_indicator"] == "critical"
    assert alert["sources"] and all(s["url"].startswith("http") for s in alert["sources"])
    assert body["scope"]["statement"]


def test_every_answer_is_logged_before_it_is_sent(client: FlaskClient, session: Session) -> None:
    body = post_check(client, {"medications": ["clonazepam", "alcohol"]}).get_json()
    row = session.get(AlertLog, body["check_id"])
    assert row is not None
    assert row.channel == "api" and row.kb_version_id == body["kb_version"]
    assert row.inputs == {"medications": ["clonazepam", "alcohol"]}
    assert [a["id"] for a in row.alerts] == [a["id"] for a in body["alerts"]]
    assert row.highest_severity == "major"


def test_the_logged_check_is_served_as_it_was_answered(client: FlaskClient) -> None:
    answer = post_check(client, {"medications": ["clonazepam", "oxycodone"]}).get_json()
    again = client.get(f"/api/v1/checks/{answer['check_id']}")
    assert again.status_code == 200
    assert again.get_json() == answer


def test_an_unknown_check_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/api/v1/checks/does-not-exist")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_unrecognised_items_come_back_with_suggestions_and_mark_the_check_incomplete(
    client: FlaskClient,
) -> None:
    body = post_check(client, {"medications": ["klonopinn", "oxycodone"]}).get_json()
    assert body["complete"] is False
    typo = body["medications"][0]
    assert typo["status"] == "unrecognized" and "Klonopin (clonazepam)" in typo["suggestions"]
    assert body["scope"]["not_checked"] == ["klonopinn"]


def test_no_alerts_means_checked_and_nothing_found(client: FlaskClient) -> None:
    body = post_check(client, {"medications": ["clonazepam", "amoxicillin"]}).get_json()
    assert body["alerts"] == [] and body["highest_severity"] is None and body["complete"] is True
    assert "amoxicillin" in body["scope"]["recognized_without_rules"]


def test_structured_items_carry_dose_and_indication(client: FlaskClient) -> None:
    body = post_check(
        client,
        {
            "medications": [
                {
                    "text": "clonazepam 2 mg",
                    "daily_dose": {"value": 6000, "unit": "mcg"},
                    "indication": "panic disorder",
                },
            ]
        },
    ).get_json()
    assert [(a["kind"], a["rule"]["id"], a["severity"]) for a in body["alerts"]] == [
        ("dose", "H2", "moderate")
    ]
    assert body["alerts"][0]["ncpdp"]["reason_for_service"] == "HD"


def test_an_rxcui_alone_is_enough(client: FlaskClient) -> None:
    body = post_check(client, {"medications": [{"rxcui": "2598"}, "oxycodone"]}).get_json()
    assert body["medications"][0]["ingredients"][0]["name"] == "clonazepam"
    assert body["highest_severity"] == "major"


def test_min_severity_hides_lower_alerts_but_the_log_keeps_them(
    client: FlaskClient, session: Session
) -> None:
    body = post_check(
        client, {"medications": ["clonazepam", "zolpidem", "oxycodone"], "min_severity": "major"}
    ).get_json()
    assert body["alerts"] and all(
        a["severity"] in ("major", "contraindicated") for a in body["alerts"]
    )
    row = session.get(AlertLog, body["check_id"])
    assert row is not None
    hidden = [a for a in row.alerts if not a["shown"]]
    assert any(a["severity"] == "moderate" for a in hidden)
    # Hidden is not silent: the answer says how many were left out, and below what.
    assert body["alerts_not_shown"] == len(hidden) and body["min_severity"] == "major"
    CheckResponse.model_validate(body)


def test_an_answer_with_nothing_hidden_says_so(client: FlaskClient) -> None:
    body = post_check(client, {"medications": ["clonazepam", "oxycodone"]}).get_json()
    assert body["alerts_not_shown"] == 0 and body["min_severity"] == "minor"  # the client's own


def test_drug_alcohol_and_cumulative_alerts_carry_oh_and_at(client: FlaskClient) -> None:
    body = post_check(client, {"medications": ["clonazepam", "oxycodone", "alcohol"]}).get_json()
    codes = {a["rule"]["id"]: a["ncpdp"]["reason_for_service"] for a in body["alerts"]}
    assert codes == {"R1": "DD", "R4": "OH", "R5": "OH", "C1": "AT"}


def test_every_logged_alert_is_a_row_for_the_auditors_filters(
    client: FlaskClient, session: Session
) -> None:
    body = post_check(
        client, {"medications": ["clonazepam", "zolpidem", "oxycodone"], "min_severity": "major"}
    ).get_json()
    logged_alerts.project(session.connection())
    row = session.get(AlertLog, body["check_id"])
    assert row is not None
    rows = session.scalars(select(LoggedAlert).filter_by(alert_log_id=row.id)).all()
    as_rows = {(r.uuid, r.alert_id, r.rule_code, r.severity, r.shown) for r in rows}
    as_logged = {
        (a["uuid"], a["id"], a["rule"]["id"], a["severity"], a["shown"]) for a in row.alerts
    }
    assert as_rows == as_logged and len(rows) == len(row.alerts)
    assert {False, True} <= {r.shown for r in rows}  # the hidden alerts are indexed too
    assert {r.created_at for r in rows} == {row.created_at}


def test_patient_age_escalates_the_beers_rule(client: FlaskClient) -> None:
    meds = ["clonazepam", "zolpidem", "cyclobenzaprine"]
    young = post_check(client, {"medications": meds, "patient": {"age": 40}}).get_json()
    old = post_check(client, {"medications": meds, "patient": {"age": 80}}).get_json()
    severity = {
        b: next(a["severity"] for a in r["alerts"] if a["kind"] == "cumulative")
        for b, r in (("young", young), ("old", old))
    }
    assert severity == {"young": "moderate", "old": "major"}


def test_rejected_requests_write_nothing(client: FlaskClient, session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(AlertLog))
    assert post_check(client, {"medications": []}).status_code == 422
    assert session.scalar(select(func.count()).select_from(AlertLog)) == before


def test_a_newly_loaded_knowledge_base_is_used_by_the_next_check(
    client: FlaskClient, session: Session, tmp_path: Path
) -> None:
    first = post_check(client, {"medications": ["clonazepam", "oxycodone"]}).get_json()
    shutil.copytree(SEED_DIR, tmp_path / "kb")
    rules = tmp_path / "kb" / "rules" / "01-cns-depression.yaml"
    rules.write_text(
        rules.read_text().replace(
            "title: Opioid with a benzodiazepine", "title: Opioid + benzodiazepine", 1
        )
    )
    version, _ = kb_store.store(session, read_knowledge_base(tmp_path / "kb"))
    kb_store.activate(session, version)
    session.commit()
    second = post_check(client, {"medications": ["clonazepam", "oxycodone"]}).get_json()
    assert second["kb_version"] == version.id != first["kb_version"]
    assert second["alerts"][0]["rule"]["title"] == "Opioid + benzodiazepine"


def test_every_other_matching_rule_is_listed_with_its_own_words(client: FlaskClient) -> None:
    answer = post_check(client, {"medications": ["Klonopin", "phenobarbital"]}).get_json()
    (alert,) = answer["alerts"]
    # Policy v2 P1/P3: the barbiturate rule's severity decides; the narrower clonazepam rule, a
    # moderate one, is listed first among the others, with its own management line.
    assert (alert["severity"], alert["rule"]["id"]) == ("major", "R10")
    listed = [(other["id"], other["severity"]) for other in alert["also_applies"]]
    assert listed[0] == ("R14", "moderate")
    assert alert["also_matched"] == [other["id"] for other in alert["also_applies"]]
    assert all(other["summary"] and other["management"] for other in alert["also_applies"])
    CheckResponse.model_validate(answer)


def test_a_topical_product_does_not_trigger_a_drug_metabolism_rule(client: FlaskClient) -> None:
    oral = post_check(client, {"medications": ["Xanax", "ketoconazole 200 mg tablets"]})
    shampoo = post_check(client, {"medications": ["Xanax", "Nizoral A-D"]})
    declared = post_check(
        client, {"medications": ["Xanax", {"text": "ketoconazole", "route": "topical"}]}
    )
    assert oral.get_json()["highest_severity"] == "contraindicated"
    assert shampoo.get_json()["alerts"] == [] and shampoo.get_json()["complete"]
    assert declared.get_json()["alerts"] == []


def test_an_unknown_route_is_a_422(client: FlaskClient) -> None:
    response = post_check(client, {"medications": [{"text": "ketoconazole", "route": "skin"}]})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"].endswith("route")


def test_a_list_of_drugs_no_rule_mentions_is_complete_without_alerts(client: FlaskClient) -> None:
    body = post_check(
        client, {"medications": ["lisinopril 10 mg daily", "metformin 500 mg bid", "Eliquis 5 mg"]}
    ).get_json()
    assert body["complete"] is True and body["alerts"] == []
    assert body["scope"]["recognized_without_rules"] == ["apixaban", "lisinopril", "metformin"]
    assert [m["rxcui"] for m in body["medications"]] == ["29046", "6809", "1364436"]


def test_a_medication_answers_the_rxcui_of_the_concept_recognised(client: FlaskClient) -> None:
    body = post_check(
        client,
        {"medications": [{"rxcui": "1364441"}, "apixaban 2.5 MG Oral Tablet [Eliquis]"]},
    ).get_json()
    assert [m["rxcui"] for m in body["medications"]] == ["1364441", "1364441"]


def test_long_or_hostile_items_are_refused_or_unrecognised_never_a_5xx(
    client: FlaskClient,
) -> None:
    assert post_check(client, {"medications": ["x" * 10_000]}).status_code == 422
    hostile = ["\u202eoxycodone\u0007", "клоназепам 2 мг", "😀" * 60, "1-" * 90, "\t\r\n\x0b"]
    response = post_check(client, {"medications": hostile})
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        statuses = {m["status"] for m in response.get_json()["medications"]}
        assert response.get_json()["complete"] is False and "unrecognized" in statuses


@pytest.mark.parametrize(
    ("medications", "rule"),
    [
        # A body site in the indication once made the inhibitor "vaginal" or "dental": no alert.
        (["Diflucan 150 mg tablet x1 vaginal yeast infection", "methadone 10 mg"], "R83"),
        (["clarithromycin 500 mg bid dental infection", "oxycodone 5 mg"], "R17"),
        # British "OD" (once daily) after a liquid form was read as the right eye.
        (["methadone 10 mg daily", "itraconazole 10 mg/mL solution 200 mg OD"], "R18"),
    ],
)
def test_pharmacy_text_keeps_its_alerts(
    client: FlaskClient, medications: list[str], rule: str
) -> None:
    body = post_check(client, {"medications": medications}).get_json()
    assert body["complete"] is True
    assert rule in [a["rule"]["id"] for a in body["alerts"]]


def test_a_line_of_two_medicines_is_not_checked_never_half_read(client: FlaskClient) -> None:
    # Read as acetaminophen alone, its codeine was dropped: "complete": true and no alert.
    medications = ["acetaminophen 300 mg, codeine 30 mg", "alprazolam 1 mg"]
    body = post_check(client, {"medications": medications}).get_json()
    assert body["complete"] is False
    assert body["medications"][0]["status"] == "unrecognized"
    assert body["medications"][0]["suggestions"] == ["acetaminophen", "codeine"]
    assert body["scope"]["not_checked"] == ["acetaminophen 300 mg, codeine 30 mg"]
