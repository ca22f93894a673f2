"""Realistic FHIR R4 resources as EHRs send them in CDS Hooks requests."""

from __future__ import annotations

import uuid
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def coded_request(res_id: str, rxcui: str, display: str, status: str = "draft") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": res_id,
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/example"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rxcui, "display": display}],
            "text": display,
        },
    }


def contained_request(res_id: str, rxcui: str, display: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": res_id,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/example"},
        "contained": [
            {
                "resourceType": "Medication",
                "id": "med1",
                "code": {"coding": [{"system": RXNORM, "code": rxcui, "display": display}]},
            }
        ],
        "medicationReference": {"reference": "#med1"},
    }


def text_request(res_id: str, text: str, status: str = "draft") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": res_id,
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/example"},
        "medicationCodeableConcept": {"text": text},
    }


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def patient(birth_date: str = "1950-03-01") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "example", "birthDate": birth_date}


def hook_request(
    hook: str,
    drafts: list[dict[str, Any]],
    active: list[dict[str, Any]] | None = None,
    selections: list[str] | None = None,
    prefetch: dict[str, Any] | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "userId": "Practitioner/example",
        "patientId": "example",
        "draftOrders": bundle(*drafts),
    }
    if hook == "order-select":
        context["selections"] = selections or [f"MedicationRequest/{drafts[0]['id']}"]
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch
        if prefetch is not None
        else {"activeMedications": bundle(*(active or []), kind="searchset"), "patient": patient()},
    }
