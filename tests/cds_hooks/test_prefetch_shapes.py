"""A prefetch the service cannot read completely is a 412 or a card saying what was not checked.

Never 200 with no cards, never a check logged as complete: each shape here once answered
``{"cards": []}`` for clonazepam plus a new oxycodone order.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markdown_it import MarkdownIt
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import create_app
from service.db.models import AlertLog, AuditEvent

from .fhir_samples import bundle, coded_request, hook_request, patient, text_request

SIGN = "/cds-services/interaction-alerts-order-sign"
SELECT = "/cds-services/interaction-alerts-order-select"
CLONAZEPAM = coded_request("a1", "197527", "clonazepam 0.5 MG Oral Tablet", status="active")
OXYCODONE = coded_request("new1", "1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
# Clonazepam as a pharmacy or a nurse records it: proof the patient takes it, but no order.
_TAKEN = {k: v for k, v in CLONAZEPAM.items() if k not in ("status", "intent")}
DISPENSED = {**_TAKEN, "resourceType": "MedicationDispense", "status": "completed"}
ADMINISTERED = {
    **_TAKEN,
    "resourceType": "MedicationAdministration",
    "status": "completed",
    "effectiveDateTime": "2026-11-30",
}


def _with(change: Any) -> Any:
    """The active-medications Bundle (clonazepam), changed by ``change``."""
    value = bundle(copy.deepcopy(CLONAZEPAM), kind="searchset")
    return change(value)


def _resource(value: dict[str, Any], **fields: Any) -> dict[str, Any]:
    value["entry"][0]["resource"].update(fields)
    return value


# (id, active-medications prefetch, what the answer must be)
SHAPES = [
    ("a-string", "clonazepam 0.5 mg", 412),
    ("lower-case-bundle", _with(lambda b: {**b, "resourceType": "bundle"}), 412),
    ("no-resource-type", _with(lambda b: {k: v for k, v in b.items() if k != "resourceType"}), 412),
    ("an-array-of-resources", [copy.deepcopy(CLONAZEPAM)], 412),
    ("a-lone-medication-request", copy.deepcopy(CLONAZEPAM), 412),
    ("entry-not-a-list", _with(lambda b: {**b, "entry": b["entry"][0]}), 412),
    ("bundle-without-type", _with(lambda b: {k: v for k, v in b.items() if k != "type"}), 412),
    ("an-entry-that-is-a-string", _with(lambda b: {**b, "entry": ["clonazepam"]}), 412),
    (
        "paginated-without-a-fhir-server",
        _with(lambda b: {**b, "link": [{"relation": "next", "url": "https://ehr.example/p2"}]}),
        412,
    ),
    *[
        (
            f"paginated-with-relation-{relation.strip()}",
            _with(lambda b, r=relation: {**b, "link": [{"relation": r, "url": "https://e.x/p2"}]}),
            412,
        )
        for relation in ("Next", " NEXT ")  # RFC 8288: relation types are case-insensitive
    ],
    (
        "entry-without-resource",
        _with(lambda b: {**b, "entry": [{"fullUrl": "urn:uuid:1"}]}),
        "card",
    ),
    (
        "resource-is-a-string",
        _with(lambda b: {**b, "entry": [{"resource": "MedicationRequest/a1"}]}),
        "card",
    ),
    (
        "medication-codeable-concept-as-a-string",
        _with(lambda b: _resource(b, medicationCodeableConcept="clonazepam 0.5 MG")),
        "card",
    ),
    (
        "coding-not-a-list",
        _with(
            lambda b: _resource(
                b,
                medicationCodeableConcept={
                    "coding": {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "197527",
                    }
                },
            )
        ),
        "card",
    ),
    ("status-a-number", _with(lambda b: _resource(b, status=1)), "card"),
    (
        "wrong-case-resource-type",
        _with(lambda b: _resource(b, resourceType="medicationrequest")),
        "card",
    ),
    (
        "no-medication-at-all",
        _with(
            lambda b: {
                **b,
                "entry": [
                    {
                        "resource": {
                            k: v for k, v in CLONAZEPAM.items() if k != "medicationCodeableConcept"
                        }
                    }
                ],
            }
        ),
        "card",
    ),
    (
        "dosage-instruction-as-a-string",
        _with(lambda b: _resource(b, dosageInstruction="1 tab")),
        "card",
    ),
    ("an-unknown-element", _with(lambda b: _resource(b, medication="clonazepam")), "card"),
    ("total-larger-than-the-entries", _with(lambda b: {**b, "total": 2}), "card"),
    (
        "a-bundle-inside-a-bundle",
        _with(lambda b: {**b, "type": "batch-response", "entry": [{"resource": b}]}),
        "card",
    ),
    ("a-medication-dispense", bundle(DISPENSED, kind="searchset"), "card"),
    ("a-medication-administration", bundle(ADMINISTERED, kind="searchset"), "card"),
    (
        "a-search-error-outcome",
        _with(
            lambda b: {
                **b,
                "entry": [
                    *b["entry"],
                    {
                        "resource": {
                            "resourceType": "OperationOutcome",
                            "issue": [{"severity": "error", "code": "too-costly"}],
                        },
                        "search": {"mode": "outcome"},
                    },
                ],
            }
        ),
        "card",
    ),
    (
        "a-search-outcome-saying-results-were-cut-short",  # a warning, yet pages are missing
        _with(
            lambda b: {
                **b,
                "entry": [
                    *b["entry"],
                    {
                        "resource": {
                            "resourceType": "OperationOutcome",
                            "issue": [
                                {
                                    "severity": "warning",
                                    "code": "incomplete",
                                    "diagnostics": "Results truncated",
                                }
                            ],
                        },
                        "search": {"mode": "outcome"},
                    },
                ],
            }
        ),
        "card",
    ),
]


@pytest.mark.parametrize(
    ("active", "expected"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES]
)
def test_an_unreadable_active_medication_list_is_412_or_a_card_never_no_cards(
    client: FlaskClient, session: Session, active: Any, expected: int | str
) -> None:
    body = hook_request(
        "order-sign",
        drafts=[copy.deepcopy(OXYCODONE)],
        prefetch={"activeMedications": active, "patient": patient()},
    )
    response = client.post(SIGN, json=body)
    answer = response.get_json()
    if expected == 412:
        assert response.status_code == 412, answer
        assert answer["resourceType"] == "OperationOutcome"
        assert answer["issue"][0]["diagnostics"]
    else:
        assert response.status_code == 200, answer
        not_checked = [c for c in answer["cards"] if "could not be checked" in c["summary"]]
        assert len(not_checked) == 1, answer["cards"]
        assert not_checked[0]["indicator"] == "warning"
        assert "could not be read" in not_checked[0]["detail"]
    logged = session.scalars(select(AlertLog).where(AlertLog.channel == "cds-hooks")).all()
    assert all(not row.complete for row in logged)


def test_the_card_says_exactly_what_could_not_be_read_and_checks_the_rest(
    client: FlaskClient, session: Session
) -> None:
    broken = copy.deepcopy(CLONAZEPAM) | {"id": "a2", "medicationCodeableConcept": "lorazepam"}
    active = bundle(copy.deepcopy(CLONAZEPAM), broken, kind="searchset")
    body = hook_request(
        "order-sign", drafts=[copy.deepcopy(OXYCODONE)], prefetch={"activeMedications": active}
    )
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert cards[0]["source"]["topic"]["code"] == "R1"  # the readable clonazepam is still checked
    not_checked = cards[-1]
    assert "activeMedications entry 2" in not_checked["detail"]
    assert "medicationCodeableConcept" in not_checked["detail"]
    assert "lorazepam" not in not_checked["detail"]  # the EHR's values are not echoed
    row = session.scalars(select(AlertLog).where(AlertLog.channel == "cds-hooks")).one()
    assert row.complete is False
    assert any(
        isinstance(m["input"], dict) and m["input"].get("unreadable") for m in row.medications
    )


def test_an_unreadable_draft_order_is_checked_as_new_and_reported(client: FlaskClient) -> None:
    broken = copy.deepcopy(OXYCODONE) | {"dosageInstruction": {"text": "one tablet"}}
    body = hook_request(
        "order-select",
        drafts=[broken],
        selections=["MedicationRequest/new1"],
        active=[copy.deepcopy(CLONAZEPAM)],
    )
    response = client.post(SELECT, json=body)
    assert response.status_code == 200
    (card,) = response.get_json()["cards"]
    assert "could not be checked" in card["summary"] and "draftOrders entry 1" in card["detail"]


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_a_bundle_inside_draft_orders_is_reported_not_skipped(
    client: FlaskClient, session: Session, hook: str
) -> None:
    body = hook_request(
        hook,
        drafts=[bundle(copy.deepcopy(OXYCODONE))],
        selections=["MedicationRequest/new1"],
        active=[copy.deepcopy(CLONAZEPAM)],
    )
    response = client.post(SIGN if hook == "order-sign" else SELECT, json=body)
    assert response.status_code == 200, response.get_json()
    (card,) = response.get_json()["cards"]
    assert "could not be checked" in card["summary"]
    assert "draftOrders entry 1" in card["detail"] and "a Bundle inside a Bundle" in card["detail"]
    assert session.scalars(select(AlertLog.complete)).one() is False


def test_a_dispensed_medication_is_named_in_the_card_as_not_read(client: FlaskClient) -> None:
    body = hook_request(
        "order-sign",
        drafts=[copy.deepcopy(OXYCODONE)],
        prefetch={"activeMedications": bundle(copy.deepcopy(DISPENSED), kind="searchset")},
    )
    (card,) = client.post(SIGN, json=body).get_json()["cards"]
    assert "activeMedications entry 1" in card["detail"]
    assert "send MedicationRequest or MedicationStatement" in card["detail"]


def test_null_prefetch_still_means_no_medications_and_the_check_is_complete(
    client: FlaskClient, session: Session
) -> None:
    body = hook_request(
        "order-sign",
        drafts=[copy.deepcopy(OXYCODONE)],
        prefetch={"activeMedications": None, "patient": patient()},
    )
    assert client.post(SIGN, json=body).get_json()["cards"] == []
    assert session.scalars(select(AlertLog.complete)).one() is True


def test_a_malformed_patient_leaves_the_age_unknown_and_says_so(client: FlaskClient) -> None:
    body = hook_request(
        "order-sign",
        drafts=[copy.deepcopy(OXYCODONE)],
        prefetch={
            "activeMedications": bundle(copy.deepcopy(CLONAZEPAM), kind="searchset"),
            "patient": {"resourceType": "Patient", "birthDate": "03/01/1950"},
        },
    )
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert "age could not be read" in cards[-1]["detail"] and cards[-1]["indicator"] == "info"


@pytest.mark.parametrize("birth_date", ["2090-01-01", "0001-01-01"])
def test_a_birth_date_that_gives_no_possible_age_leaves_the_age_unknown_and_says_so(
    client: FlaskClient, birth_date: str
) -> None:
    body = hook_request(
        "order-sign",
        drafts=[copy.deepcopy(OXYCODONE)],
        prefetch={
            "activeMedications": bundle(copy.deepcopy(CLONAZEPAM), kind="searchset"),
            "patient": patient(birth_date),
        },
    )
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert "age could not be read" in cards[-1]["detail"] and "years" in cards[-1]["detail"]


# Non-medication orders: EHRs call order-select and order-sign for every order.
LAB = {
    "resourceType": "ServiceRequest",
    "id": "lab1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/example"},
    "code": {"text": "Basic metabolic panel"},
}


def test_an_order_that_is_not_a_medication_gets_200_and_no_cards(
    client: FlaskClient, session: Session
) -> None:
    body = hook_request("order-sign", drafts=[LAB], active=[copy.deepcopy(CLONAZEPAM)])
    assert client.post(SIGN, json=body).get_json() == {"cards": []}
    select_body = hook_request(
        "order-select",
        drafts=[LAB, copy.deepcopy(OXYCODONE)],
        selections=["ServiceRequest/lab1"],
        active=[copy.deepcopy(CLONAZEPAM)],
    )
    assert client.post(SELECT, json=select_body).get_json() == {"cards": []}
    assert session.scalars(select(AlertLog)).all() == []  # nothing was checked


def test_medication_orders_among_other_orders_get_their_cards(client: FlaskClient) -> None:
    body = hook_request(
        "order-sign", drafts=[LAB, copy.deepcopy(OXYCODONE)], active=[copy.deepcopy(CLONAZEPAM)]
    )
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["R1"]


# HTTP hygiene on the CDS door.
def test_a_large_medication_list_is_accepted(client: FlaskClient) -> None:
    many = [
        coded_request(
            f"a{n}", "314076", f"lisinopril 10 MG Oral Tablet number {n}", status="active"
        )
        for n in range(600)
    ]
    body = hook_request(
        "order-sign", drafts=[copy.deepcopy(OXYCODONE)], active=[*many, copy.deepcopy(CLONAZEPAM)]
    )
    assert len(json.dumps(body)) > 64 * 1024
    response = client.post(SIGN, json=body)
    assert response.status_code == 200
    assert response.get_json()["cards"][0]["source"]["topic"]["code"] == "R1"


@pytest.fixture()
def small_app(app: Flask) -> Flask:
    return create_app({**app.config, "CDS_MAX_REQUEST_BYTES": 2000})


def test_a_body_over_the_configured_limit_is_413_with_an_operation_outcome(
    small_app: Flask, api_key: str
) -> None:
    body = hook_request(
        "order-sign", drafts=[text_request(f"d{n}", "clonazepam") for n in range(40)]
    )
    response = small_app.test_client().post(
        SIGN, json=body, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 413
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_a_401_names_the_bearer_scheme_and_nothing_else(anonymous: FlaskClient) -> None:
    response = anonymous.post(
        SIGN, json=hook_request("order-sign", drafts=[copy.deepcopy(OXYCODONE)])
    )
    assert response.status_code == 401 and response.get_data() == b""
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", SIGN, "OPTIONS, POST"),
        ("put", SELECT, "OPTIONS, POST"),
        ("delete", f"{SIGN}/feedback", "OPTIONS, POST"),
        ("post", "/cds-services", "GET, HEAD, OPTIONS"),
    ],
)
def test_a_wrong_method_is_405_with_allow_and_an_operation_outcome(
    client: FlaskClient, method: str, path: str, allowed: str
) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_an_unexpected_failure_is_a_500_operation_outcome_never_cards(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.cds_hooks import views

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "check_and_log", broken)
    body = hook_request("order-sign", drafts=[copy.deepcopy(OXYCODONE)])
    response = client.post(SIGN, json=body)
    assert response.status_code == 500
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_a_prefetch_that_is_not_an_object_is_412(client: FlaskClient) -> None:
    body = hook_request("order-sign", drafts=[copy.deepcopy(OXYCODONE)])
    body["prefetch"] = "activeMedications"
    response = client.post(SIGN, json=body)
    assert response.status_code == 412 and response.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "patient_id", ["../Observation", "x?_include=*", "http://evil.example/", ""]
)
def test_a_patient_id_that_is_no_fhir_id_is_400(client: FlaskClient, patient_id: str) -> None:
    body = hook_request("order-sign", drafts=[copy.deepcopy(OXYCODONE)])
    body["context"]["patientId"] = patient_id
    response = client.post(SIGN, json=body)
    assert response.status_code == 400 and response.get_json()["resourceType"] == "OperationOutcome"


def test_fhir_authorization_without_a_fhir_server_is_400(client: FlaskClient) -> None:
    body = hook_request("order-sign", drafts=[copy.deepcopy(OXYCODONE)])
    body["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer"}
    response = client.post(SIGN, json=body)
    assert response.status_code == 400 and response.get_json()["resourceType"] == "OperationOutcome"


HOSTILE = "[click](https://evil.example) <img src=x onerror=alert(1)> www.evil.example\n# Heading"


def test_ehr_text_in_card_markdown_is_text_only(client: FlaskClient) -> None:
    body = hook_request(
        "order-sign",
        drafts=[text_request("d1", HOSTILE)],
        active=[text_request("a1", HOSTILE, status="active")],
    )
    (card,) = client.post(SIGN, json=body).get_json()["cards"]
    html = MarkdownIt("commonmark", {"linkify": False}).render(card["detail"])
    assert "<a " not in html and "<img" not in html and "<h1>" not in html
    assert "evil" in html  # shown, as text


# Feedback: the spec's rules are enforced; the service's own card takes feedback too.
def _feedback(**item: Any) -> dict[str, Any]:
    return {"feedback": [{"outcomeTimestamp": "2026-11-26T08:00:00Z", **item}]}


@pytest.mark.parametrize(
    "item",
    [
        {"outcome": "accepted"},  # cds-fb-2: accepted needs acceptedSuggestions
        {"outcome": "overridden", "overrideReason": {}},  # cds-fb-3
        {
            "outcome": "overridden",
            "overrideReason": {"reason": {"code": "x"}},
        },  # Coding needs system
        {"outcome": "ignored"},
        {"outcome": "overridden", "outcomeTimestamp": "2026-11-26T08:00:00"},  # no time zone
        {"outcome": "overridden", "outcomeTimestamp": "yesterday"},
        {"outcome": "overridden", "acceptedSuggestions": [{"id": "s1"}]},
        {"outcome": "accepted", "acceptedSuggestions": [{}]},
    ],
)
def test_feedback_that_breaks_the_specs_rules_is_400(
    client: FlaskClient, item: dict[str, Any]
) -> None:
    response = client.post(f"{SIGN}/feedback", json=_feedback(card="c1", **item))
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_feedback_on_the_could_not_be_checked_card_is_accepted(
    client: FlaskClient, session: Session
) -> None:
    body = hook_request(
        "order-sign",
        drafts=[copy.deepcopy(OXYCODONE)],
        prefetch={"activeMedications": _with(lambda b: {**b, "entry": [{"fullUrl": "x"}]})},
    )
    card = client.post(SIGN, json=body).get_json()["cards"][-1]
    assert "could not be checked" in card["summary"]
    feedback = _feedback(
        card=card["uuid"], outcome="overridden", overrideReason={"userComment": "reviewed by hand"}
    )
    assert client.post(f"{SIGN}/feedback", json=feedback).status_code == 200
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "cds.feedback.overridden")
    ).one()
    assert event.target == card["uuid"] and event.details["override_comment"] == "reviewed by hand"


def test_a_selected_medication_order_missing_from_draft_orders_is_400(client: FlaskClient) -> None:
    body = hook_request(
        "order-select", drafts=[copy.deepcopy(OXYCODONE)], selections=["MedicationRequest/other"]
    )
    response = client.post(SELECT, json=body)
    assert response.status_code == 400 and response.get_json()["resourceType"] == "OperationOutcome"


def test_the_readmes_example_request_is_valid_fhir_and_gets_the_critical_card(
    client: FlaskClient,
) -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "cds-order-select.json"
    cards = client.post(SELECT, json=json.loads(example.read_text())).get_json()["cards"]
    assert cards[0]["indicator"] == "critical" and cards[0]["source"]["topic"]["code"] == "R1"
    assert not any("could not be checked" in c["summary"] for c in cards)


# An active medication is left out as the draft itself only when both name one resource and one drug.
def _without_id(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in copy.deepcopy(resource).items() if k != "id"}


@pytest.mark.parametrize(
    ("draft", "active"),
    [
        (_without_id(OXYCODONE), _without_id(CLONAZEPAM)),
        (copy.deepcopy(OXYCODONE), copy.deepcopy(CLONAZEPAM) | {"id": "new1"}),
    ],
    ids=["neither-has-an-id", "one-id-two-drugs"],
)
def test_an_active_medication_is_not_hidden_by_a_draft_that_is_not_the_same_order(
    client: FlaskClient, session: Session, draft: dict[str, Any], active: dict[str, Any]
) -> None:
    body = hook_request("order-sign", drafts=[draft], active=[active])
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert [(c["indicator"], c["source"]["topic"]["code"]) for c in cards] == [("critical", "R1")]
    row = session.scalars(select(AlertLog).where(AlertLog.channel == "cds-hooks")).one()
    assert row.complete is True and len(row.medications) == 2


def test_a_draft_also_in_the_active_medications_is_checked_once(
    client: FlaskClient, session: Session
) -> None:
    also_active = copy.deepcopy(OXYCODONE) | {"status": "active"}
    body = hook_request(
        "order-sign",
        drafts=[copy.deepcopy(OXYCODONE)],
        active=[also_active, copy.deepcopy(CLONAZEPAM)],
    )
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["R1"]  # no duplicate-opioid card
    row = session.scalars(select(AlertLog).where(AlertLog.channel == "cds-hooks")).one()
    assert row.complete is True and len(row.medications) == 2


# order-select: a selection must name an order in draftOrders, or nothing it means gets checked.
def _oxycodone_selected(selection: str) -> dict[str, Any]:
    """order-select of a new oxycodone order, by ``selection``, for a patient on clonazepam."""
    return hook_request(
        "order-select",
        drafts=[copy.deepcopy(OXYCODONE)],
        selections=[selection],
        active=[copy.deepcopy(CLONAZEPAM)],
    )


@pytest.mark.parametrize(
    "selection",
    ["new1", "medicationrequest/new1", "ServiceRequest/x", "MedicationRequest/", "Patient/example"],
)
def test_a_selection_naming_no_draft_order_is_400_naming_it(
    client: FlaskClient, session: Session, selection: str
) -> None:
    body = _oxycodone_selected(selection)
    response = client.post(SELECT, json=body)
    answer = response.get_json()
    assert response.status_code == 400, answer
    assert answer["resourceType"] == "OperationOutcome"
    assert repr(selection) in answer["issue"][0]["diagnostics"]
    assert session.scalars(select(AlertLog)).all() == []


def test_a_selection_naming_a_bundled_medication_not_an_order_is_400(client: FlaskClient) -> None:
    body = _oxycodone_selected("Medication/med1")
    medication = {"resourceType": "Medication", "id": "med1", "code": {"text": "oxycodone"}}
    body["context"]["draftOrders"]["entry"].append({"resource": medication})
    response = client.post(SELECT, json=body)
    assert response.status_code == 400
    assert "'Medication/med1'" in response.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "selection",
    [
        "MedicationRequest/new1",
        "https://ehr.example/fhir/MedicationRequest/new1",
        "fhir/MedicationRequest/new1",
    ],
)
def test_a_selection_by_reference_or_url_gets_the_critical_card(
    client: FlaskClient, session: Session, selection: str
) -> None:
    body = _oxycodone_selected(selection)
    cards = client.post(SELECT, json=body).get_json()["cards"]
    assert [(c["indicator"], c["source"]["topic"]["code"]) for c in cards] == [("critical", "R1")]
    assert session.scalars(select(AlertLog.complete)).one() is True


def test_a_draft_without_id_is_selected_by_its_full_url(
    client: FlaskClient, session: Session
) -> None:
    full_url = "urn:uuid:5b2c3f0e-8d1a-4c59-9f43-2d8e6a1b7c90"
    body = _oxycodone_selected(full_url)
    body["context"]["draftOrders"]["entry"] = [
        {"fullUrl": full_url, "resource": _without_id(OXYCODONE)},
        {"fullUrl": "urn:uuid:0d5e7a52-1f3b-4a8e-b6c4-93f1e2d4a7b8", "resource": LAB},
    ]
    cards = client.post(SELECT, json=body).get_json()["cards"]
    assert [(c["indicator"], c["source"]["topic"]["code"]) for c in cards] == [("critical", "R1")]
    assert session.scalars(select(AlertLog.complete)).one() is True
