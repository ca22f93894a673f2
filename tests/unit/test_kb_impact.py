"""Logged checks rebuilt for re-evaluation, from what each door logged."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain.answer import MedicationDocument
from service.domain.check import MedicationInput
from service.kb.impact import age_band, logged_check


def _documents(*raw: Any) -> list[MedicationDocument]:
    """Medication documents as logged; the report reads only each one's ``input``."""
    return [
        {
            "input": r,
            "status": "recognized",
            "matched": None,
            "rxcui": None,
            "ingredients": [],
            "route": None,
            "dose_form": None,
            "suggestions": [],
        }
        for r in raw
    ]


def test_a_json_api_check_keeps_its_items_doses_routes_and_age() -> None:
    structured = {
        "text": "Klonopin",
        "daily_dose": {"value": 2, "unit": "mg"},
        "indication": "x",
        "route": "oral",
    }
    logged = logged_check("v1", {"patient": {"age": 70}}, _documents("Percocet", structured))
    assert logged is not None and logged.patient_age == 70
    assert logged.items == (
        MedicationInput(text="Percocet"),
        MedicationInput(text="Klonopin", daily_dose_mg=2.0, indication="x", route="oral"),
    )


def test_the_patient_page_logs_its_age_at_the_top() -> None:
    logged = logged_check("v1", {"medications": ["a"], "age": 81}, _documents("a"))
    assert logged is not None and logged.patient_age == 81


def test_a_cds_hooks_check_keeps_text_and_rxcui_but_not_its_reference() -> None:
    entry = {"reference": "MedicationRequest/1", "from": "draftOrders", "text": "X", "rxcui": "1"}
    logged = logged_check("v1", {"hook": "order-select"}, _documents(entry))
    assert logged is not None and logged.patient_age is None
    assert logged.items == (MedicationInput(text="X", rxcui="1"),)


def test_a_one_drug_lookup_is_not_a_check_to_re_run() -> None:
    inputs = {"endpoint": "interaction/interaction.json", "rxcui": "2598"}
    assert logged_check("v1", inputs, _documents({"rxcui": "2598"})) is None


@pytest.mark.parametrize(
    ("age", "band"),
    [(None, None), (0, "0-17"), (17, "0-17"), (18, "18-44"), (64, "45-64"), (65, "65-74"),
     (84, "75-84"), (85, "85+"), (104, "85+")],
)  # fmt: skip
def test_ages_are_reported_only_as_bands(age: int | None, band: str | None) -> None:
    assert age_band(age) == band
