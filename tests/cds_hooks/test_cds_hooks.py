"""CDS Hooks through HTTP: discovery, both hooks on realistic FHIR, cards, 412/400, feedback."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Literal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationrequest import MedicationRequest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db import clients
from service.db.models import AlertLog, CdsFeedback

from .conftest import MakeToken
from .fhir_samples import coded_request, contained_request, hook_request, text_request

SELECT = "/cds-services/interaction-alerts-order-select"
SIGN = "/cds-services/interaction-alerts-order-sign"
CLONAZEPAM_SCD = "197527"
PERCOCET_SBD = "1049640"
GABAPENTIN_SCD = "310431"


# A strict model of the CDS Hooks 2.0 response: cards must fit it exactly (no unknown or null fields).
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Coding(_Strict):
    system: str
    code: str
    display: str


class Source(_Strict):
    label: str
    url: str | None = None
    topic: Coding | None = None


class Action(_Strict):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class Suggestion(_Strict):
    label: str
    uuid: uuid.UUID
    isRecommended: bool | None = None
    actions: list[Action] = Field(min_length=1)


class Card(_Strict):
    uuid: uuid.UUID
    summary: str = Field(max_length=139)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None


class CdsResponse(_Strict):
    cards: list[Card]


def _no_nulls(value: Any) -> None:
    assert value not in (None, "", {}), "CDS Hooks forbids null and empty values"
    if isinstance(value, dict):
        for item in value.values():
            _no_nulls(item)
    elif isinstance(value, list):
        assert value, "CDS Hooks forbids empty arrays"
        for item in value:
            _no_nulls(item)


def call(client: FlaskClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    CdsResponse.model_validate(answer)
    for card in answer["cards"]:
        _no_nulls(card)
        assert (card.get("suggestions") is None) == (card.get("selectionBehavior") is None)
    return answer


def test_discovery_lists_both_order_services_with_prefetch(anonymous: FlaskClient) -> None:
    services = anonymous.get("/cds-services").get_json()["services"]
    assert {s["hook"] for s in services} == {"order-select", "order-sign"}
    for service in services:
        assert service["prefetch"]["activeMedications"] == (
            "MedicationRequest?patient={{context.patientId}}&status=active"
        )
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert service["description"] and service["id"]


def test_a_new_opioid_order_against_an_active_benzodiazepine_gets_a_critical_card(
    client: FlaskClient,
) -> None:
    body = hook_request(
        "order-select",
        drafts=[coded_request("new1", PERCOCET_SBD, "Percocet 5/325")],
        active=[
            coded_request("old1", CLONAZEPAM_SCD, "clonazepam 0.5 MG Oral Tablet", status="active")
        ],
    )
    Bundle.model_validate(body["context"]["draftOrders"])
    Bundle.model_validate(body["prefetch"]["activeMedications"])
    cards = call(client, SELECT, body)["cards"]
    card = cards[0]
    assert card["indicator"] == "critical" and "clonazepam" in card["summary"].lower()
    assert card["source"]["topic"]["code"] == "R1"
    assert {r["display"] for r in card["overrideReasons"]} >= {
        "Benefit outweighs risk",
        "Will monitor the patient",
    }
    labels = [s["label"] for s in card["suggestions"]]
    assert any(label.startswith("Remove the draft order") for label in labels)
    naloxone = next(s for s in card["suggestions"] if "naloxone" in s["label"].lower())
    resource = naloxone["actions"][0]["resource"]
    MedicationRequest.model_validate(resource)
    assert resource["medicationCodeableConcept"]["coding"][0]["code"] == "1725059"
    # The knowledge base's words for its nasal spray, as the cards have always said them.
    assert naloxone["label"] == "Add naloxone nasal spray (opioid overdose rescue)"
    assert naloxone["actions"][0]["description"] == "Add a draft order for naloxone nasal spray."
    assert resource["dosageInstruction"] == [
        {
            "text": "For suspected opioid overdose: 1 spray in one nostril; call 911; may repeat in "
            "the other nostril after 2 to 3 minutes."
        }
    ]
    remove = next(s for s in card["suggestions"] if s["label"].startswith("Remove"))
    assert remove["actions"][0] == {
        "type": "delete",
        "description": "Remove the draft order for Percocet 5/325.",
        "resourceId": "MedicationRequest/new1",
    }


def test_alerts_between_active_medications_alone_make_no_card(client: FlaskClient) -> None:
    body = hook_request(
        "order-select",
        drafts=[coded_request("new1", "314076", "lisinopril 10 MG Oral Tablet")],
        active=[
            coded_request("a1", CLONAZEPAM_SCD, "clonazepam", status="active"),
            coded_request("a2", "1049621", "oxycodone 5 mg", status="active"),
        ],
    )
    assert call(client, SELECT, body)["cards"] == []


def test_order_sign_checks_every_draft_order_including_contained_and_text_only(
    client: FlaskClient,
) -> None:
    body = hook_request(
        "order-sign",
        drafts=[
            contained_request("d1", CLONAZEPAM_SCD, "clonazepam 0.5 MG Oral Tablet"),
            text_request("d2", "gabapentin 300 mg capsule"),
            text_request("d3", "oxycodone 5 mg"),
        ],
    )
    cards = call(client, SIGN, body)["cards"]
    topics = {c["source"]["topic"]["code"] for c in cards if "topic" in c["source"]}
    assert {"R1", "R9", "C1"} <= topics
    assert cards[0]["indicator"] == "critical"


def test_an_unknown_code_gets_an_info_card_so_nothing_is_skipped(client: FlaskClient) -> None:
    body = hook_request(
        "order-sign",
        drafts=[
            coded_request("d1", "999999999", "Experimental drug X"),
            text_request("d2", "klonopinn"),
        ],
    )
    cards = call(client, SIGN, body)["cards"]
    info = [c for c in cards if c["indicator"] == "info"]
    assert len(info) == 1 and "2 medications could not be checked" in info[0]["summary"]
    assert "Experimental drug X" in info[0]["detail"] and "klonopinn" in info[0]["detail"]


def test_older_patients_from_prefetch_escalate_the_beers_rule(client: FlaskClient) -> None:
    drafts = [
        text_request("d1", "zolpidem"),
        text_request("d2", "cyclobenzaprine"),
        text_request("d3", "clonazepam"),
    ]
    old = hook_request("order-sign", drafts=drafts)
    cards = call(client, SIGN, old)["cards"]
    cumulative = next(c for c in cards if c["source"]["topic"]["code"] == "C1")
    assert cumulative["indicator"] == "critical"  # major for a patient born in 1950
    young = hook_request(
        "order-sign",
        drafts=drafts,
        prefetch={
            "activeMedications": None,
            "patient": {"resourceType": "Patient", "id": "example", "birthDate": "1990-01-01"},
        },
    )
    cards = call(client, SIGN, young)["cards"]
    assert next(c for c in cards if c["source"]["topic"]["code"] == "C1")["indicator"] == "warning"


def test_the_check_is_logged_with_channel_and_client_but_no_patient_id(
    client: FlaskClient, session: Session
) -> None:
    body = hook_request(
        "order-sign", drafts=[text_request("d1", "clonazepam"), text_request("d2", "oxycodone")]
    )
    call(client, SIGN, body)
    row = session.scalars(select(AlertLog).filter_by(channel="cds-hooks")).one()
    assert row.client_id is not None and row.alerts
    assert "example" not in str(row.inputs)  # the patient id is not kept in the log


def test_missing_prefetch_without_a_fhir_server_is_412(client: FlaskClient) -> None:
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")], prefetch={})
    response = client.post(SIGN, json=body)
    assert response.status_code == 412
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_null_prefetch_means_no_active_medications(client: FlaskClient) -> None:
    body = hook_request(
        "order-sign",
        drafts=[text_request("d1", "clonazepam")],
        prefetch={"activeMedications": None},
    )
    assert call(client, SIGN, body)["cards"] == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("context"),
        lambda b: b.update(hook="patient-view"),
        lambda b: b["context"].pop("selections"),
        lambda b: b["context"].update(draftOrders={"resourceType": "Patient"}),
        lambda b: b.pop("hookInstance"),
    ],
)
def test_an_invalid_request_is_400_with_an_operation_outcome(
    client: FlaskClient, mutate: Any
) -> None:
    body = hook_request("order-select", drafts=[text_request("d1", "clonazepam")])
    mutate(body)
    response = client.post(SELECT, json=body)
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_a_body_that_is_not_json_is_400(client: FlaskClient) -> None:
    response = client.post(SIGN, data="nope", content_type="application/json")
    assert response.status_code == 400 and response.get_json()["resourceType"] == "OperationOutcome"


def _cards_for_feedback(client: FlaskClient) -> list[dict[str, Any]]:
    body = hook_request(
        "order-sign", drafts=[text_request("d1", "clonazepam"), text_request("d2", "oxycodone")]
    )
    cards: list[dict[str, Any]] = call(client, SIGN, body)["cards"]
    return cards


# On PostgreSQL a trigger checks the feedback's check and alert (the logs are partitioned).
@pytest.mark.both_databases
def test_feedback_is_recorded_against_the_logged_card(
    client: FlaskClient, session: Session
) -> None:
    card = _cards_for_feedback(client)[0]
    naloxone = next(s for s in card["suggestions"] if "naloxone" in s["label"].lower())
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": naloxone["uuid"]}],
                "outcomeTimestamp": "2026-11-26T08:00:00Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-26T08:01:00Z",
                "overrideReason": {
                    "reason": card["overrideReasons"][0],
                    "userComment": "on stable doses for years",
                },
            },
        ]
    }
    response = client.post(f"{SIGN}/feedback", json=feedback)
    assert response.status_code == 200
    rows = session.scalars(select(CdsFeedback).order_by(CdsFeedback.outcome_at)).all()
    assert [(r.alert_uuid, r.outcome) for r in rows] == [
        (card["uuid"], "accepted"),
        (card["uuid"], "overridden"),
    ]
    assert rows[0].accepted_suggestions == [naloxone["uuid"]]
    assert rows[1].override_reason == card["overrideReasons"][0]
    assert rows[1].override_comment == "on stable doses for years"


# On PostgreSQL a trigger checks the feedback's check and alert (the logs are partitioned).
@pytest.mark.both_databases
def test_feedback_carries_its_cards_check_and_the_checks_time(
    client: FlaskClient, session: Session
) -> None:
    card = _cards_for_feedback(client)[0]
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-26T08:00:00Z",
            }
        ]
    }
    assert client.post(f"{SIGN}/feedback", json=feedback).status_code == 200
    row = session.scalars(select(CdsFeedback)).one()
    check = session.scalars(select(AlertLog).where(AlertLog.channel == "cds-hooks")).one()
    assert (row.alert_log_id, row.check_created_at) == (check.id, check.created_at)


def test_feedback_on_an_unknown_card_is_404_and_records_nothing(
    client: FlaskClient, session: Session
) -> None:
    feedback = {
        "feedback": [
            {
                "card": str(uuid.uuid4()),
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-26T08:00:00Z",
            }
        ]
    }
    assert client.post(f"{SIGN}/feedback", json=feedback).status_code == 404
    assert session.scalars(select(CdsFeedback)).all() == []


def test_jwt_authenticated_calls_work_with_rs384_and_es384(
    anonymous: FlaskClient, ehr: str, make_token: MakeToken
) -> None:
    body = hook_request(
        "order-sign", drafts=[text_request("d1", "clonazepam"), text_request("d2", "oxycodone")]
    )
    for alg in ("RS384", "ES384"):
        headers = {"Authorization": f"Bearer {make_token(SIGN, alg=alg)}"}
        response = anonymous.post(SIGN, json=body, headers=headers)
        assert response.status_code == 200, alg
        assert response.get_json()["cards"]


@pytest.mark.parametrize(
    "token_options",
    [
        {"expires_in": -120},
        {"audience": "http://localhost/cds-services/someone-else"},
        {"kid": "unknown-key"},
        {"issuer": "https://rogue.example.org"},
        {"issued_at": 0, "expires_in": 300},  # claims a lifetime far beyond one hour
    ],
    ids=["expired", "wrong-audience", "unknown-kid", "unknown-issuer", "too-long-lived"],
)
def test_invalid_jwts_get_a_bare_401(
    anonymous: FlaskClient, ehr: str, make_token: MakeToken, token_options: dict[str, Any]
) -> None:
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    headers = {"Authorization": f"Bearer {make_token(SIGN, **token_options)}"}
    response = anonymous.post(SIGN, json=body, headers=headers)
    assert response.status_code == 401 and response.get_data() == b""


def test_a_jwt_signed_with_a_key_we_do_not_know_is_refused(
    anonymous: FlaskClient, ehr: str, make_token: MakeToken
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    headers = {"Authorization": f"Bearer {make_token(SIGN, key=stranger)}"}
    assert anonymous.post(SIGN, json=body, headers=headers).status_code == 401


def test_a_replayed_jti_is_refused(anonymous: FlaskClient, ehr: str, make_token: MakeToken) -> None:
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    headers = {"Authorization": f"Bearer {make_token(SIGN, jti='once-only')}"}
    assert anonymous.post(SIGN, json=body, headers=headers).status_code == 200
    assert anonymous.post(SIGN, json=body, headers=headers).status_code == 401


def test_hs256_tokens_are_refused(anonymous: FlaskClient, ehr: str) -> None:
    import time

    import jwt

    now = int(time.time())
    claims = {
        "iss": "https://ehr.example.org",
        "aud": f"http://localhost{SIGN}",
        "iat": now,
        "exp": now + 60,
        "jti": "x",
    }
    token = jwt.encode(
        claims,
        "a-shared-secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
        headers={"kid": "rsa-1"},
    )
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    assert (
        anonymous.post(SIGN, json=body, headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_no_credentials_get_a_bare_401(anonymous: FlaskClient) -> None:
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    response = anonymous.post(SIGN, json=body)
    assert response.status_code == 401 and response.get_data() == b""


def test_feedback_accepts_a_jwt_for_the_feedback_url(
    anonymous: FlaskClient, ehr: str, make_token: MakeToken
) -> None:
    body = hook_request(
        "order-sign", drafts=[text_request("d1", "clonazepam"), text_request("d2", "oxycodone")]
    )
    cards = anonymous.post(
        SIGN, json=body, headers={"Authorization": f"Bearer {make_token(SIGN)}"}
    ).get_json()["cards"]
    feedback = {
        "feedback": [
            {
                "card": cards[0]["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-26T08:00:00Z",
            }
        ]
    }
    token = make_token(f"{SIGN}/feedback")
    assert (
        anonymous.post(
            f"{SIGN}/feedback", json=feedback, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )


def test_the_card_detail_lists_the_other_rules_that_apply(client: FlaskClient) -> None:
    body = hook_request(
        "order-select",
        drafts=[text_request("new1", "phenobarbital 30 mg tablet")],
        active=[
            coded_request("old1", CLONAZEPAM_SCD, "clonazepam 0.5 MG Oral Tablet", status="active")
        ],
    )
    (card,) = call(client, SELECT, body)["cards"]
    assert card["source"]["topic"]["code"] == "R10"
    assert "**Also applies:**" in card["detail"] and "rule R14" in card["detail"]


def test_naloxone_is_never_alerted_nor_offered_for_removal(client: FlaskClient) -> None:
    body = hook_request(
        "order-select",
        drafts=[text_request("new1", "Narcan nasal spray")],
        active=[text_request("old1", "Suboxone 8 mg/2 mg film", status="active")],
    )
    assert call(client, SELECT, body)["cards"] == []


def test_a_pack_coded_only_in_the_rxnorm_vocabulary_gets_its_card(client: FlaskClient) -> None:
    diazepam_nasal_gpck = "2272621"
    body = hook_request(
        "order-select",
        drafts=[coded_request("new1", diazepam_nasal_gpck, "diazepam nasal spray 10 mg")],
        active=[coded_request("old1", PERCOCET_SBD, "Percocet 5/325", status="active")],
    )
    cards = call(client, SELECT, body)["cards"]
    assert cards[0]["indicator"] == "critical" and "diazepam" in cards[0]["summary"].lower()


def test_without_a_configured_public_address_every_jwt_is_refused_and_the_log_says_why(
    app: Flask,
    anonymous: FlaskClient,
    ehr: str,
    make_token: MakeToken,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The audience is never taken from the Host header, which the caller chooses."""
    app.config["PUBLIC_BASE_URL"] = ""
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    token = make_token(SIGN)  # made for http://localhost, the Host the test client sends
    with caplog.at_level(logging.WARNING, logger="service.cds_hooks.views"):
        response = anonymous.post(SIGN, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.get_data() == b""
    assert "PUBLIC_BASE_URL is not set" in caplog.text
    assert session_free_of_checks(app)


def test_the_audience_is_the_configured_address_whatever_the_host_header_says(
    app: Flask, anonymous: FlaskClient, ehr: str, make_token: MakeToken
) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://alerts.example.org/"
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    for_the_host = {
        "Authorization": f"Bearer {make_token(SIGN, audience=f'http://evil.example{SIGN}')}"
    }
    refused = anonymous.post(SIGN, json=body, headers=for_the_host, base_url="http://evil.example")
    assert refused.status_code == 401
    for_us = {
        "Authorization": f"Bearer {make_token(SIGN, audience=f'https://alerts.example.org{SIGN}')}"
    }
    accepted = anonymous.post(SIGN, json=body, headers=for_us, base_url="http://evil.example")
    assert accepted.status_code == 200


def session_free_of_checks(app: Flask) -> bool:
    """No check was run (and so none logged) for a refused token."""
    with app.extensions["database"].unit_of_work(read_only=True) as db:
        return db.scalars(select(AlertLog)).first() is None


def test_a_jwt_client_revoked_after_its_first_check_is_refused_at_once(
    anonymous: FlaskClient, session: Session, ehr: str, make_token: MakeToken
) -> None:
    """Its issuer and keys are remembered to verify tokens without a read; the check's own
    transaction reads the client, so the revocation counts from the next request on."""
    body = hook_request("order-sign", drafts=[text_request("d1", "clonazepam")])
    first = anonymous.post(SIGN, json=body, headers={"Authorization": f"Bearer {make_token(SIGN)}"})
    assert first.status_code == 200
    clients.revoke(session, ehr, actor="test")
    session.commit()
    logged = session.scalar(select(func.count()).select_from(AlertLog))
    again = anonymous.post(SIGN, json=body, headers={"Authorization": f"Bearer {make_token(SIGN)}"})
    assert again.status_code == 401
    assert session.scalar(select(func.count()).select_from(AlertLog)) == logged
