"""Read medications and the patient's age out of FHIR R4 resources as EHRs send them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ..domain.check import MedicationInput

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
MEDICATION_RESOURCES = ("MedicationRequest", "MedicationStatement")


@dataclass(frozen=True)
class FhirMedication:
    """One order or statement, as the check reads it and as the log records it."""

    reference: str
    origin: str
    item: MedicationInput

    @property
    def label(self) -> str:
        return self.item.text or f"RxCUI {self.item.rxcui}"

    def log_entry(self) -> dict[str, Any]:
        entry = {"reference": self.reference, "from": self.origin, "text": self.item.text}
        return {k: v for k, v in {**entry, "rxcui": self.item.rxcui}.items() if v}


def entries(bundle: Any) -> list[dict[str, Any]]:
    """Resources in a Bundle (or a lone resource); anything else holds none."""
    if not isinstance(bundle, dict):
        return []
    if bundle.get("resourceType") != "Bundle":
        return [bundle] if "resourceType" in bundle else []
    found = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            found.append(resource)
    return found


def medications(bundle: Any, origin: str) -> list[FhirMedication]:
    """Every MedicationRequest/MedicationStatement in ``bundle``, each resolved to text and RxCUI."""
    resources = entries(bundle)
    shared = {
        f"Medication/{r.get('id')}": r for r in resources if r.get("resourceType") == "Medication"
    }
    return [
        _medication(resource, shared, origin)
        for resource in resources
        if resource.get("resourceType") in MEDICATION_RESOURCES
    ]


def _medication(resource: dict[str, Any], shared: dict[str, Any], origin: str) -> FhirMedication:
    reference = f"{resource['resourceType']}/{resource.get('id', '')}"
    concept = resource.get("medicationCodeableConcept")
    if concept is None:
        target = (resource.get("medicationReference") or {}).get("reference", "")
        medication = _referenced(resource, target, shared)
        concept = medication.get("code") if medication else None
        if concept is None and (resource.get("medicationReference") or {}).get("display"):
            concept = {"text": resource["medicationReference"]["display"]}
    rxcui, text = _code_and_text(concept or {})
    if not rxcui and not text:
        # Never drop an order we cannot read: it comes back unrecognised, by reference.
        text = f"{reference} (no medication code or name)"
    return FhirMedication(reference, origin, MedicationInput(text=text, rxcui=rxcui))


def _referenced(
    resource: dict[str, Any], target: str, shared: dict[str, Any]
) -> dict[str, Any] | None:
    if target.startswith("#"):
        for contained in resource.get("contained") or []:
            if contained.get("resourceType") == "Medication" and contained.get("id") == target[1:]:
                return dict(contained)
        return None
    found = shared.get(target) or shared.get(f"Medication/{target.rsplit('/', 1)[-1]}")
    return dict(found) if found else None


def _code_and_text(concept: dict[str, Any]) -> tuple[str | None, str | None]:
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    rxnorm = next((c for c in codings if c.get("system") == RXNORM and c.get("code")), None)
    text = concept.get("text") or next(
        (c.get("display") for c in codings if c.get("display")), None
    )
    return (str(rxnorm["code"]) if rxnorm else None), (str(text).strip()[:200] if text else None)


def patient_age(patient: Any, today: date) -> int | None:
    """Age in whole years from Patient.birthDate (a year or year-month counts from its start)."""
    resources = entries(patient)
    birth = next(
        (r.get("birthDate") for r in resources if r.get("resourceType") == "Patient"), None
    )
    if not isinstance(birth, str) or len(birth) < 4 or not birth[:4].isdigit():
        return None
    parts = [int(p) for p in birth.split("-")[:3] if p.isdigit()]
    year, month, day = [*parts, 1, 1][:3]
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
