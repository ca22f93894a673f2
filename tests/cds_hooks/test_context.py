"""CDS reads the dose, route and age an EHR states, so the same patient gets the JSON API's alerts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cds_hooks.fhir import daily_dose_mg, route
from service.db.models import AlertLog

from .fhir_samples import coded_request, hook_request, patient

SIGN = "/cds-services/interaction-alerts-order-sign"
UCUM = "http://unitsofmeasure.org"


def mg(value: float, unit: str = "mg") -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def per_day(times: int) -> dict[str, Any]:
    return {"repeat": {"frequency": times, "period": 1, "periodUnit": "d"}}


THIRTY_MG_A_DAY = [
    (
        "10 mg three times a day",
        [{"doseAndRate": [{"doseQuantity": mg(10)}], "timing": per_day(3)}],
    ),
    (
        "10 mg TID by code",
        [
            {
                "doseAndRate": [{"doseQuantity": mg(10)}],
                "timing": {"code": {"coding": [{"code": "TID"}]}},
            }
        ],
    ),
    (
        "10 mg every 8 hours",
        [
            {
                "doseAndRate": [{"doseQuantity": mg(10)}],
                "timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}},
            }
        ],
    ),
    ("10000 ug TID", [{"doseAndRate": [{"doseQuantity": mg(10000, "ug")}], "timing": per_day(3)}]),
    (
        "a range up to 10 mg TID",
        [{"doseAndRate": [{"doseRange": {"low": mg(5), "high": mg(10)}}], "timing": per_day(3)}],
    ),
    (
        "15 mg morning and 15 mg night as two instructions",
        [
            {"doseAndRate": [{"doseQuantity": mg(15)}], "timing": per_day(1)},
            {"doseAndRate": [{"doseQuantity": mg(15)}], "timing": per_day(1)},
        ],
    ),
    (
        "as needed, at most 30 mg a day",
        [
            {
                "asNeededBoolean": True,
                "doseAndRate": [{"doseQuantity": mg(2)}],
                "maxDosePerPeriod": {"numerator": mg(30), "denominator": {"value": 1, "code": "d"}},
            }
        ],
    ),
    (
        "a taper: the larger step counts",
        [
            {"sequence": 1, "doseAndRate": [{"doseQuantity": mg(10)}], "timing": per_day(3)},
            {"sequence": 2, "doseAndRate": [{"doseQuantity": mg(5)}], "timing": per_day(3)},
        ],
    ),
]


@pytest.mark.parametrize(
    "dosage", [d for _, d in THIRTY_MG_A_DAY], ids=[name for name, _ in THIRTY_MG_A_DAY]
)
def test_the_daily_dose_is_dose_times_frequency_in_milligrams(dosage: list[dict[str, Any]]) -> None:
    assert daily_dose_mg(dosage) == pytest.approx(30)


@pytest.mark.parametrize(
    "dosage",
    [
        [],
        [{"text": "one tablet three times a day"}],
        [{"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}], "timing": per_day(3)}],
        [{"doseAndRate": [{"doseQuantity": mg(10)}]}],  # no timing: how often is unknown
        [
            {
                "doseAndRate": [{"doseQuantity": mg(10)}],
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "fortnight"}},
            }
        ],
    ],
    ids=["none", "text-only", "tablets", "no-timing", "unknown-period-unit"],
)
def test_a_dose_in_units_we_cannot_convert_is_unknown_not_guessed(
    dosage: list[dict[str, Any]],
) -> None:
    assert daily_dose_mg(dosage) is None


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]}, "oral"),
        ({"coding": [{"system": "http://snomed.info/sct", "code": "6064005"}]}, "topical"),
        ({"coding": [{"system": "http://snomed.info/sct", "code": "37839007"}]}, "sublingual"),
        ({"coding": [{"code": "IV"}]}, "injectable"),
        ({"coding": [{"code": "OPTHALTA"}]}, "ophthalmic"),
        ({"text": "Transdermal patch"}, "transdermal"),
        ({"text": "by mouth"}, "oral"),
        ({"coding": [{"code": "999999"}], "text": "per protocol"}, None),
        (None, None),
    ],
)
def test_the_route_becomes_one_of_the_knowledge_bases_routes(
    concept: dict[str, Any] | None, expected: str | None
) -> None:
    assert route([{"route": concept}] if concept else [{}]) == expected


def _alerts(answer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(a["rule"]["id"], a["cds_indicator"]) for a in answer["alerts"]}


@pytest.mark.parametrize(
    "dosage", [d for _, d in THIRTY_MG_A_DAY[:3]], ids=[name for name, _ in THIRTY_MG_A_DAY[:3]]
)
def test_clonazepam_30_mg_a_day_raises_the_same_dose_alert_over_cds_as_on_the_json_api(
    client: FlaskClient, session: Session, dosage: list[dict[str, Any]]
) -> None:
    api = client.post(
        "/api/v1/checks",
        json={"medications": [{"rxcui": "197527", "daily_dose": {"value": 30, "unit": "mg"}}]},
    ).get_json()
    order = coded_request("d1", "197527", "clonazepam 0.5 MG Oral Tablet") | {
        "dosageInstruction": dosage
    }
    cards = client.post(SIGN, json=hook_request("order-sign", drafts=[order])).get_json()["cards"]
    expected = _alerts(api)
    assert any(rule.startswith("H") for rule, _ in expected)  # a dose rule fired on the JSON API
    assert {(c["source"]["topic"]["code"], c["indicator"]) for c in cards} == expected
    row = session.scalars(select(AlertLog).where(AlertLog.channel == "cds-hooks")).one()
    assert row.inputs["medications"][0]["daily_dose_mg"] == 30


@pytest.mark.parametrize(
    ("product", "dosage"),
    [
        # Once read as no dose at all, so the dose alert was missed without a word.
        ("clonazepam 0.5 MG Oral Tablet", [{"text": "10 mg by mouth three times daily"}]),
        ("clonazepam 2 MG Oral Tablet", [{"text": "5 tablets three times daily"}]),
        (
            "clonazepam 2 MG Oral Tablet",
            [
                {
                    "doseAndRate": [{"doseQuantity": {"value": 5, "code": "{tbl}"}}],
                    "timing": per_day(3),
                }
            ],
        ),
        (
            "clonazepam 0.5 MG Oral Tablet",
            [
                {
                    "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "milligram"}}],
                    "timing": per_day(3),
                }
            ],
        ),
    ],
    ids=["sig-text-in-mg", "sig-text-in-tablets", "dose-in-tablets", "unit-word-without-code"],
)
def test_a_dose_stated_in_text_or_tablets_raises_the_json_apis_dose_alert(
    client: FlaskClient, session: Session, product: str, dosage: list[dict[str, Any]]
) -> None:
    api = client.post(
        "/api/v1/checks",
        json={"medications": [{"rxcui": "197527", "daily_dose": {"value": 30, "unit": "mg"}}]},
    ).get_json()
    order = coded_request("d1", "197527", product) | {"dosageInstruction": dosage}
    cards = client.post(SIGN, json=hook_request("order-sign", drafts=[order])).get_json()["cards"]
    expected = _alerts(api)
    assert any(rule.startswith("H") for rule, _ in expected)
    assert {(c["source"]["topic"]["code"], c["indicator"]) for c in cards} == expected
    row = session.scalars(select(AlertLog).where(AlertLog.channel == "cds-hooks")).one()
    assert row.inputs["medications"][0]["daily_dose_mg"] == 30


def test_a_negative_dose_is_no_dose() -> None:
    dosage = [{"doseAndRate": [{"doseQuantity": mg(-10)}], "timing": per_day(3)}]
    assert daily_dose_mg(dosage) is None


def test_the_route_reaches_the_check(client: FlaskClient, session: Session) -> None:
    order = coded_request("d1", "197527", "clonazepam 0.5 MG Oral Tablet") | {
        "dosageInstruction": [
            {"route": {"coding": [{"system": "http://snomed.info/sct", "code": "37839007"}]}}
        ]
    }
    client.post(SIGN, json=hook_request("order-sign", drafts=[order]))
    row = session.scalars(select(AlertLog).where(AlertLog.channel == "cds-hooks")).one()
    assert row.medications[0]["route"] == "sublingual"


def test_the_age_from_the_patient_prefetch_gives_the_json_apis_alerts(client: FlaskClient) -> None:
    names = ["zolpidem", "cyclobenzaprine", "clonazepam"]
    born = date(date.today().year - 76, 1, 1).isoformat()
    api = client.post(
        "/api/v1/checks", json={"medications": names, "patient": {"age": 76}}
    ).get_json()
    drafts = [
        {
            "resourceType": "MedicationRequest",
            "id": f"d{n}",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/example"},
            "medicationCodeableConcept": {"text": name},
        }
        for n, name in enumerate(names)
    ]
    body = hook_request(
        "order-sign",
        drafts=drafts,
        prefetch={"activeMedications": None, "patient": patient(born)},
    )
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert {(c["source"]["topic"]["code"], c["indicator"]) for c in cards} == _alerts(api)
