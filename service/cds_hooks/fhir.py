"""Read medications, dose, route and the patient's age out of FHIR R4 resources as EHRs send them.

Everything is validated against FHIR R4 with ``fhir.resources`` (its R4B models: R4B changed no
element this door reads) before it is read. What cannot be read is never dropped: a value that is
not a Bundle at all is ``Unreadable`` (the door fetches it again or answers 412); an entry of a
readable Bundle that is not valid FHIR becomes an unreadable medication, which the check reports as
not checked and the log records as incomplete.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from ..domain import medtext
from ..domain.check import MAX_PATIENT_AGE, MedicationInput
from ..domain.text import DOSE_UNITS, to_milligrams

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
MEDICATION_RESOURCES = ("MedicationRequest", "MedicationStatement")
# What CDS Hooks' draftOrders hold (order-select, order-sign): the resources a selection names.
ORDER_RESOURCES = (
    *MEDICATION_RESOURCES,
    *("DeviceRequest", "NutritionOrder", "ServiceRequest", "VisionPrescription"),
)
# Records that a patient takes a medicine, but no order or statement of it: not read here.
TAKEN_RESOURCES = ("MedicationDispense", "MedicationAdministration")
# Text no medication name can match: what the check is given for an order it could not read, so the
# order is counted as not checked (and the log says incomplete) without any EHR text reaching
# recognition.
UNREADABLE_TEXT = "(unreadable FHIR data)"
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")


class Unreadable(Exception):
    """A whole value (a prefetch, a fetched page) cannot be read; the message says why, for the EHR."""


@dataclass(frozen=True)
class FhirMedication:
    """One order or statement, as the check reads it and as the log records it.

    ``problem`` says why it could not be read; its ``item`` then identifies nothing, so the check
    reports it as not checked.
    """

    reference: str
    origin: str
    item: MedicationInput
    problem: str | None = None
    # Bundle.entry.fullUrl: how context.selections names an order that has no id.
    full_url: str | None = None

    @property
    def identified(self) -> bool:
        """Whether ``reference`` names one resource: read, and with an id (``MedicationRequest/``
        is what a resource without id gets, and names none)."""
        return not self.problem and not self.reference.endswith("/")

    @property
    def names(self) -> set[str]:
        """What a selection may name it by: its ``ResourceType/id``, its entry's fullUrl."""
        return {n for n in (self.reference if self.identified else None, self.full_url) if n}

    @property
    def label(self) -> str:
        if self.problem:
            return f"{self.reference}: {self.problem}"
        return self.item.text or f"RxCUI {self.item.rxcui}"

    def log_entry(self) -> dict[str, Any]:
        entry = {
            "reference": self.reference,
            "from": self.origin,
            "unreadable": self.problem,
            "text": None if self.problem else self.item.text,
            "rxcui": self.item.rxcui,
            "daily_dose_mg": self.item.daily_dose_mg,
            "route": self.item.route,
        }
        return {k: v for k, v in entry.items() if v is not None and v != ""}


def unreadable(reference: str, origin: str, problem: str) -> FhirMedication:
    """An order or medication that could not be read: reported, never dropped."""
    return FhirMedication(reference, origin, MedicationInput(text=UNREADABLE_TEXT), problem)


@dataclass
class BundlePage:
    """A Bundle whose envelope is valid FHIR R4; its entries are validated one by one when read."""

    entries: list[Any]
    next_url: str | None = None
    total: int | None = None
    kind: str | None = None


def bundle_page(value: Any, what: str) -> BundlePage:
    """The envelope of a Bundle; raises ``Unreadable`` when ``value`` is no valid FHIR R4 Bundle."""
    if not isinstance(value, dict):
        raise Unreadable(f"{what} is a JSON {_json_type(value)}, not a FHIR Bundle")
    if value.get("resourceType") != "Bundle":
        kind = value.get("resourceType")
        named = f"resourceType {str(kind)[:40]!r}" if kind is not None else "no resourceType"
        raise Unreadable(f"{what} has {named}, not a FHIR Bundle")
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise Unreadable(f"{what}: Bundle.entry is not a list")
    # The envelope alone: each entry's resource is validated by itself, so one bad entry does not
    # hide the others.
    envelope = {
        **value,
        "entry": [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
            for e in entries
        ],
    }
    try:
        bundle = Bundle.model_validate(envelope)
    except ValidationError as error:
        raise Unreadable(f"{what} is not a valid FHIR R4 Bundle ({_where(error)})") from error
    # RFC 8288: relation types are case-insensitive, and a link may carry several.
    next_url = next(
        (link.url for link in bundle.link or [] if "next" in (link.relation or "").lower().split()),
        None,
    )
    return BundlePage(entries, next_url, bundle.total, bundle.type)


def medications(page: BundlePage, origin: str, *, orders: bool = False) -> list[FhirMedication]:
    """Every MedicationRequest/MedicationStatement in the Bundle, each resolved to text and RxCUI.

    Entries that cannot be read come back unreadable, and so do those that may hold medications
    this door does not read (a nested Bundle; a dispense or administration among the active
    medications). With ``orders`` (draftOrders), other request types (ServiceRequest,
    NutritionOrder, …) are not medications and are left out.
    """
    readable: list[tuple[dict[str, Any], str | None]] = []  # each resource, with its fullUrl
    found: list[FhirMedication] = []
    for number, entry in enumerate(page.entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        where = f"{origin} entry {number}"
        if not isinstance(resource, dict):
            found.append(unreadable(where, origin, "the entry has no resource"))
            continue
        kind = resource.get("resourceType")
        model = _model(kind)
        if model is None:
            found.append(
                unreadable(where, origin, "its resourceType is not a FHIR R4 resource type")
            )
            continue
        if (not_read := _not_read(kind, orders=orders)) is not None:
            found.append(unreadable(where, origin, not_read))
            continue
        try:
            model.model_validate(resource)
        except ValidationError as error:
            if kind in (*MEDICATION_RESOURCES, "Medication"):
                found.append(unreadable(where, origin, f"not valid FHIR R4 ({_where(error)})"))
            continue  # an invalid resource of another type holds no medication
        if kind == "OperationOutcome" and (problem := _search_problem(resource)) is not None:
            found.append(unreadable(where, origin, problem))
            continue
        readable.append((resource, _full_url(entry)))
    shared = {
        f"Medication/{r.get('id')}": r for r, _ in readable if r["resourceType"] == "Medication"
    }
    found += [
        _medication(resource, shared, origin, full_url)
        for resource, full_url in readable
        if resource["resourceType"] in MEDICATION_RESOURCES
    ]
    if not orders and page.kind == "searchset" and page.total is not None:
        matches = sum(
            1
            for e in page.entries
            if isinstance(e, dict) and (e.get("search") or {}).get("mode", "match") == "match"
        )
        if page.total > matches:
            missing = page.total - matches
            found.append(
                unreadable(
                    f"{origin} (search results)",
                    origin,
                    f"the FHIR server counted {page.total} results but sent {matches}; "
                    f"{missing} were not received",
                )
            )
    return found


def entry_names(page: BundlePage) -> set[str]:
    """What context.selections may name the Bundle's orders by, of any order type:
    ``ResourceType/id`` of each that has an id, and each one's entry fullUrl. A bundled
    ``Medication`` is no order: selecting it alone would select nothing to check."""
    names = set()
    for entry in page.entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") not in ORDER_RESOURCES:
            continue
        if resource.get("id"):
            names.add(f"{resource['resourceType']}/{resource['id']}")
        if full_url := _full_url(entry):
            names.add(full_url)
    return names


def _full_url(entry: Any) -> str | None:
    full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
    return full_url if isinstance(full_url, str) and full_url else None


def _not_read(kind: Any, *, orders: bool) -> str | None:
    """Why an entry of this type, which may hold medications, is not read; None when it is read
    or holds none. Skipping it would leave its medications unchecked without a word."""
    if kind == "Bundle":
        return "a Bundle inside a Bundle is not read; send its entries in the Bundle itself"
    if not orders and kind in TAKEN_RESOURCES:
        return "not read as an active medication: send MedicationRequest or MedicationStatement"
    return None


def _model(kind: Any) -> Any:
    if not isinstance(kind, str) or not _FIELD_NAME.match(kind):
        return None
    try:
        return get_fhir_model_class(kind)
    except (ValueError, KeyError, AttributeError, ImportError):
        return None


# OperationOutcome issue codes saying a search returned less than it found, even as a warning.
_CUT_SHORT = frozenset(["incomplete", "too-costly", "throttled", "timeout"])


def _search_problem(outcome: dict[str, Any]) -> str | None:
    """What a search's OperationOutcome says went wrong: an error, or results cut short."""
    issues = [i for i in outcome.get("issue") or [] if isinstance(i, dict)]
    if any(i.get("severity") in ("error", "fatal") for i in issues):
        return "the FHIR server reported an error in its search"
    if any(i.get("code") in _CUT_SHORT for i in issues):
        return "the FHIR server reported its search results incomplete"
    return None


def _medication(
    resource: dict[str, Any], shared: dict[str, Any], origin: str, full_url: str | None
) -> FhirMedication:
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
        # Never drop an order we cannot read: it comes back not checked, by reference.
        return unreadable(reference, origin, "it names no medication code or name")
    dosage = [d for d in resource.get("dosageInstruction") or resource.get("dosage") or []]
    # The product's name is parsed only for what needs it: a dose in tablets, or only in words.
    dose = daily_dose_mg(dosage, _unit_mg(text) if _in_tablets(dosage) else None)
    if dose is None and dosage:
        dose = _dose_from_text(text, dosage)
    item = MedicationInput(text=text, rxcui=rxcui, daily_dose_mg=dose, route=route(dosage))
    return FhirMedication(reference, origin, item, full_url=full_url)


def _unit_mg(product: str | None) -> float | None:
    """Milligrams in one unit of a product its text names with one strength ("clonazepam 0.5 MG
    Oral Tablet"): what a dose in tablets multiplies."""
    parsed = medtext.parse(product) if product else None
    if parsed is None or len(parsed.strengths) != 1:
        return None
    strength = parsed.strengths[0]
    if strength.per is not None or strength.unit not in DOSE_UNITS:
        return None
    return to_milligrams(strength.value, strength.unit)


def _dose_from_text(product: str | None, dosage: list[dict[str, Any]]) -> float | None:
    """The daily dose an instruction gives only as text ("2 mg by mouth three times daily"), read as
    the JSON API reads a sig: by itself, else after the product's name ("2 tablets three times
    daily" of "clonazepam 0.5 MG Oral Tablet"). The largest of the instructions counts."""
    doses = []
    for instruction in dosage:
        sig = instruction.get("text")
        if not isinstance(sig, str) or not sig.strip():
            continue
        dose = medtext.daily_dose_mg(medtext.parse(sig))
        if dose is None and product:
            dose = medtext.daily_dose_mg(medtext.parse(f"{product} {sig}"))
        if dose is not None:
            doses.append(dose)
    return max(doses) if doses else None


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
    # One line: EHR text goes into Markdown, where a line break could start a heading or a list.
    flat = " ".join(str(text).split())[:200] if text else None
    return (str(rxnorm["code"]) if rxnorm else None), (flat or None)


# Milligrams per unit, by UCUM code or the unit words EHRs print.
_MG_PER_UNIT = {
    **{u: 1.0 for u in ("mg", "milligram", "milligrams")},
    **{u: 1000.0 for u in ("g", "gram", "grams")},
    **{u: 0.001 for u in ("ug", "mcg", "µg", "microgram", "micrograms")},
    "ng": 1e-6,
}
# Units that count tablets or capsules: a dose in them is so many of the product's strength.
_COUNTED = frozenset(
    ["tbl", "tab", "tabs", "tablet", "tablets", "cap", "caps", "capsule", "capsules"]
)
# UCUM period units in days.
_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}
# HL7 v3 GTSAbbreviation timing codes: administrations per day.
_PER_DAY = {
    "QD": 1,
    "AM": 1,
    "PM": 1,
    "BED": 1,
    "BID": 2,
    "TID": 3,
    "QID": 4,
    "Q1H": 24,
    "Q2H": 12,
    "Q3H": 8,
    "Q4H": 6,
    "Q6H": 4,
    "Q8H": 3,
    "QOD": 0.5,
    "WK": 1 / 7,
    "MO": 1 / 30,
}


def daily_dose_mg(dosage: Iterable[dict[str, Any]], unit_mg: float | None = None) -> float | None:
    """Milligrams a day from dose times frequency per period, when every part is stated in units we know.

    Instructions with the same ``sequence`` run together and add up; sequential ones (a taper) are
    read as their largest. A dose range counts its high end, a frequency range its maximum, and a
    stated maximum per period wins when larger: the dose alerts ask how much could be taken. A dose
    in tablets or capsules counts ``unit_mg`` (the product's strength) each, when it is known.
    """
    by_sequence: dict[int, float] = defaultdict(float)
    for instruction in dosage:
        daily = _instruction_daily_mg(instruction, unit_mg)
        if daily is None:
            continue
        by_sequence[int(instruction.get("sequence") or 0)] += daily
    return round(max(by_sequence.values()), 6) if by_sequence else None


def _instruction_daily_mg(instruction: dict[str, Any], unit_mg: float | None) -> float | None:
    per_day = _per_day(instruction.get("timing") or {})
    doses = [_dose_mg(d, unit_mg) for d in instruction.get("doseAndRate") or []]
    known = [d for d in doses if d is not None]
    scheduled = max(known) * per_day if known and per_day is not None else None
    stated_max = _max_per_day(instruction.get("maxDosePerPeriod"))
    candidates = [d for d in (scheduled, stated_max) if d is not None]
    return max(candidates) if candidates else None


def _quantity(dose_and_rate: dict[str, Any]) -> dict[str, Any] | None:
    """The dose of a ``doseAndRate``: its quantity, or the high end of its range."""
    quantity = dose_and_rate.get("doseQuantity")
    if quantity is None and dose_and_rate.get("doseRange"):
        quantity = dose_and_rate["doseRange"].get("high")
    return quantity


def _in_tablets(dosage: Iterable[dict[str, Any]]) -> bool:
    quantities = (_quantity(d) for i in dosage for d in i.get("doseAndRate") or [])
    return any(q and _units(q) & _COUNTED for q in quantities)


def _dose_mg(dose_and_rate: dict[str, Any], unit_mg: float | None) -> float | None:
    """A dose in milligrams; one in tablets or capsules counts ``unit_mg`` each, when known."""
    quantity = _quantity(dose_and_rate)
    dose = _mg(quantity)
    if dose is None and unit_mg is not None and quantity and _units(quantity) & _COUNTED:
        count = _positive(quantity.get("value"))
        dose = count * unit_mg if count is not None else None
    return dose


def _mg(quantity: dict[str, Any] | None) -> float | None:
    if not quantity:
        return None
    value = _positive(quantity.get("value"))
    factor = next((_MG_PER_UNIT[u] for u in _units(quantity) if u in _MG_PER_UNIT), None)
    return value * factor if value is not None and factor is not None else None


def _units(quantity: dict[str, Any]) -> set[str]:
    """A quantity's UCUM code and printed unit, as the tables spell them (``{tbl}`` is ``tbl``)."""
    named = (quantity.get("code"), quantity.get("unit"))
    return {str(u).strip().lower().strip("{}") for u in named if u}


def _positive(value: Any) -> float | None:
    """A dose or count as stated; none that is not a positive number (no negative dose is read)."""
    try:
        number = float(Decimal(str(value)))
    except ArithmeticError:
        return None
    return number if number > 0 else None


def _per_day(timing: dict[str, Any]) -> float | None:
    repeat = timing.get("repeat") or {}
    frequency = repeat.get("frequencyMax") or repeat.get("frequency")
    if frequency is None and repeat.get("timeOfDay"):
        frequency = len(repeat["timeOfDay"])
    period, unit = repeat.get("period"), repeat.get("periodUnit")
    if frequency is not None and period and unit in _DAYS:
        return float(frequency) / (float(period) * _DAYS[unit])
    codes = [c.get("code") for c in (timing.get("code") or {}).get("coding") or []]
    return next((float(_PER_DAY[c]) for c in codes if c in _PER_DAY), None)


def _max_per_day(ratio: dict[str, Any] | None) -> float | None:
    if not ratio:
        return None
    amount = _mg(ratio.get("numerator"))
    denominator = ratio.get("denominator") or {}
    unit = str(denominator.get("code") or denominator.get("unit") or "").strip().lower()
    value = denominator.get("value")
    if amount is None or not value or unit not in _DAYS:
        return None
    return amount / (float(value) * _DAYS[unit])


# SNOMED CT route concepts (the FHIR route value set) and HL7 v3 RouteOfAdministration codes.
_ROUTE_CODES = {
    "26643006": "oral",
    "PO": "oral",
    "37839007": "sublingual",
    "SL": "sublingual",
    "54471007": "buccal",
    "BUC": "buccal",
    "372473007": "mucosal",
    "46713006": "nasal",
    "NASAL": "nasal",
    "NASINHL": "nasal",
    "447694001": "inhalation",
    "18679011000001101": "inhalation",
    "IPINHL": "inhalation",
    "ORINHL": "inhalation",
    "47625008": "injectable",
    "78421000": "injectable",
    "34206005": "injectable",
    "IV": "injectable",
    "IVINJ": "injectable",
    "IVINJBOL": "injectable",
    "IVINFUS": "injectable",
    "IM": "injectable",
    "SQ": "injectable",
    "SC": "injectable",
    "45890007": "transdermal",
    "TRNSDERM": "transdermal",
    "37161004": "rectal",
    "RECTAL": "rectal",
    "6064005": "topical",
    "TOPICAL": "topical",
    "54485002": "ophthalmic",
    "OPTHALTA": "ophthalmic",
    "10547007": "otic",
    "OT": "otic",
    "16857009": "vaginal",
    "VAGINS": "vaginal",
    "372449004": "dental",
    "DENTAL": "dental",
    "419993007": "intrauterine",
    "IUINSTIL": "intrauterine",
}
_ROUTE_WORDS = (
    ("sublingual", "sublingual"),
    ("buccal", "buccal"),
    ("transdermal", "transdermal"),
    ("ophthalmic", "ophthalmic"),
    ("otic", "otic"),
    ("vaginal", "vaginal"),
    ("rectal", "rectal"),
    ("intrauterine", "intrauterine"),
    ("inhal", "inhalation"),
    ("nasal", "nasal"),
    ("intravenous", "injectable"),
    ("intramuscular", "injectable"),
    ("subcutaneous", "injectable"),
    ("injection", "injectable"),
    ("topical", "topical"),
    ("cutaneous", "topical"),
    ("dental", "dental"),
    ("oral", "oral"),
    ("by mouth", "oral"),
)


def route(dosage: Iterable[dict[str, Any]]) -> str | None:
    """The route id of the first instruction whose route we know; None (systemic) otherwise."""
    for instruction in dosage:
        concept = instruction.get("route") or {}
        for coding in concept.get("coding") or []:
            found = _ROUTE_CODES.get(str(coding.get("code") or "").upper()) or _ROUTE_CODES.get(
                str(coding.get("code") or "")
            )
            if found:
                return found
        words = " ".join(
            str(t).lower()
            for t in [concept.get("text"), *[c.get("display") for c in concept.get("coding") or []]]
            if t
        )
        for word, route_id in _ROUTE_WORDS:
            if word in words:
                return route_id
    return None


def patient_age(patient: Any, today: date) -> tuple[int | None, str | None]:
    """Age in whole years from Patient.birthDate, and why it could not be read when it could not.

    A year or year-month counts from its start. ``None`` (no data) or a Patient without birthDate
    has no age and no problem: there was nothing to read.
    """
    if patient is None:
        return None, None
    candidates = [patient]
    if isinstance(patient, dict) and patient.get("resourceType") == "Bundle":
        candidates = [e.get("resource") for e in patient.get("entry") or [] if isinstance(e, dict)]
    found = next(
        (r for r in candidates if isinstance(r, dict) and r.get("resourceType") == "Patient"), None
    )
    if found is None:
        return None, "the patient prefetch holds no Patient resource"
    try:
        get_fhir_model_class("Patient").model_validate(found)
    except ValidationError as error:
        return None, f"the Patient resource is not valid FHIR R4 ({_where(error)})"
    birth = found.get("birthDate")
    if not birth:
        return None, None
    parts = [int(p) for p in str(birth).split("-")[:3]]
    year, month, day = [*parts, 1, 1][:3]
    try:
        born = date(year, month, day)
    except ValueError:
        return None, "the Patient's birthDate is not a date"
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    # A birth in the future, or in year 0001: a placeholder, not an age.
    if not 0 <= age <= MAX_PATIENT_AGE:
        return None, f"the Patient's birthDate gives an age of {age} years"
    return age, None


def _where(error: ValidationError) -> str:
    """Where validation failed, by FHIR element names only (never the values the EHR sent)."""
    places = []
    for item in error.errors()[:3]:
        parts = [
            f"[{p}]" if isinstance(p, int) else (p if _FIELD_NAME.match(str(p)) else "?")
            for p in item["loc"]
        ]
        place = ".".join(parts).replace(".[", "[") or "the resource"
        kind = "unknown element" if item["type"] == "extra_forbidden" else "invalid"
        if item["type"] == "extra_forbidden" and parts and parts[-1] == "?":
            place = ".".join(parts[:-1]).replace(".[", "[") or "the resource"
        places.append(f"{place}: {kind}" if "missing" not in item["type"] else f"{place}: missing")
    more = len(error.errors()) - len(places)
    return "; ".join(places) + (f"; and {more} more" if more > 0 else "")


def _json_type(value: Any) -> str:
    return {str: "string", list: "array", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "value"
    )
