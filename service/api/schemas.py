"""Pydantic models: they validate requests and, through ``openapi.py``, document every response."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ..domain.check import MAX_PATIENT_AGE
from ..domain.knowledge import ROUTE_IDS
from ..domain.severity import Severity
from ..domain.text import DOSE_UNITS
from ..shared_schemas import SeverityLabel

MAX_MEDICATIONS = 100
MAX_ITEM_LENGTH = 200

# The languages of the knowledge base's patient texts (domain.knowledge.PATIENT_LANGUAGES).
PatientLanguage = Literal["en", "es"]
ItemText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ITEM_LENGTH)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DailyDose(_Strict):
    # Strict: ``true`` or ``"10"`` is a client's bug, not a dose to guess at.
    value: float = Field(gt=0, le=1_000_000, strict=True, description="Total amount per day.")
    unit: str = Field(
        description=f"One of: {', '.join(DOSE_UNITS)} (any case).",
        examples=["mg"],
        json_schema_extra={"enum": list(DOSE_UNITS)},
    )

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        if unit.strip().lower() not in DOSE_UNITS:
            raise ValueError(f"unknown unit {unit!r}; use one of: {', '.join(DOSE_UNITS)}")
        return unit.strip().lower()


RouteLabel = Literal[ROUTE_IDS]  # type: ignore[valid-type]


class MedicationItem(_Strict):
    """A structured item; ``text`` or ``rxcui`` is enough, the rest is optional context."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [{"required": ["text"]}, {"required": ["rxcui"]}]},
    )

    text: ItemText | None = Field(default=None, examples=["Klonopin 2 mg tablet"])
    rxcui: Annotated[str, StringConstraints(pattern=r"^\d{1,12}$")] | None = Field(
        default=None, examples=["2598"]
    )
    daily_dose: DailyDose | None = None
    indication: ItemText | None = Field(default=None, examples=["panic disorder"])
    route: RouteLabel | None = Field(
        default=None,
        examples=["topical"],
        description="How it is taken, when the name does not say. Unknown counts as systemic: "
        "only a non-systemic route (topical, ophthalmic, otic, vaginal, …) keeps a product out of "
        "drug-metabolism and MAO-inhibitor rules.",
    )

    @model_validator(mode="after")
    def _identified(self) -> MedicationItem:
        if not self.text and not self.rxcui:
            raise ValueError("a medication needs text or rxcui")
        return self


class Patient(_Strict):
    # Strict: ``true`` would be read as 1 year and ``"70"`` hides a client's bug; both are refused.
    age: int | None = Field(default=None, ge=0, le=MAX_PATIENT_AGE, strict=True)


class CheckRequestBody(_Strict):
    medications: list[ItemText | MedicationItem] = Field(
        min_length=1,
        max_length=MAX_MEDICATIONS,
        description="Free text (brand, generic, with or without strength) or structured items.",
        examples=[["Klonopin 2 mg tablet", "Percocet 5/325", "alcohol"]],
    )
    patient: Patient | None = None
    min_severity: SeverityLabel | None = Field(
        default=None, description="Hide alerts below this severity (they are still logged)."
    )


class IngredientRef(BaseModel):
    name: str = Field(
        description="RxNorm ingredient name, lower case (alcohol is ethanol).",
        examples=["clonazepam"],
    )
    rxcui: str | None = Field(
        description="The ingredient's RxCUI, if it has one.", examples=["2598"]
    )


class MedicationResult(BaseModel):
    input: str | dict[str, Any] = Field(
        description="The item exactly as received.", examples=["Klonopin 2 mg tablet"]
    )
    status: Literal["recognized", "unrecognized"] = Field(
        description="unrecognized items were NOT checked (see suggestions)."
    )
    matched: str | None = Field(
        description="The name or code it was recognised by.", examples=["Klonopin"]
    )
    rxcui: str | None = Field(
        default=None,
        description="RxCUI of the concept recognised, of any term type (IN, BN, SCD, SBD, GPCK, "
        "BPCK, ...); None when the name has no code (a curated brand such as Tylenol).",
    )
    ingredients: list[IngredientRef]
    route: RouteLabel | None = Field(
        default=None,
        description="The route the check used: the caller's, else the product's, else the text's "
        '("IV", "patch", "cream"). None means unknown, which counts as systemic.',
    )
    dose_form: str | None = Field(
        default=None, description='The dose form the text names ("tablet", "patch", "shampoo").'
    )
    suggestions: list[str] = Field(
        description='"Did you mean" labels for unrecognised text, plainest product first '
        '("Tylenol (acetaminophen)", "acetaminophen"); each reads back as its name.'
    )


class RuleRef(BaseModel):
    id: str = Field(description="The rule's id (GET /api/v1/rules).", examples=["R1"])
    title: str = Field(examples=["Opioid with a benzodiazepine"])


class SourceRef(BaseModel):
    id: str = Field(description="The source's id in the knowledge base.")
    label: str = Field(description="A citation a person can read.")
    url: str = Field(description="Where the primary source can be read.")


_SIGNIFICANCE = "; ".join(
    f"{s.value} → {s.mapping.ncpdp_clinical_significance}" for s in sorted(Severity, reverse=True)
)


class Ncpdp(BaseModel):
    """NCPDP Telecommunication DUR fields, so pharmacy systems can put the alert on a claim."""

    reason_for_service: Literal["DD", "OH", "AT", "ID", "TD", "HD"] = Field(
        description="NCPDP 439-E4 Reason for Service, decided by the check: DD drug-drug "
        "interaction; OH alcohol (an interaction in which one ingredient is in the knowledge "
        "base's alcohol class, e.g. ethanol); AT additive toxicity (the cumulative alert: several "
        "CNS depressants together); ID ingredient duplication (same ingredient twice); TD "
        "therapeutic duplication (two drugs of one duplication class); HD high dose.",
        examples=["DD", "OH", "AT"],
    )
    clinical_significance: Literal["1", "2", "3"] = Field(
        description=f"NCPDP 528-FS Clinical Significance from the alert's severity: {_SIGNIFICANCE} "
        "(1 major, 2 moderate, 3 minor)."
    )


class AlsoApplies(BaseModel):
    id: str
    title: str = Field(description="For clinicians; always in English.")
    patient_title: str = Field(description="The title for the patient, in patient_text_language.")
    severity: SeverityLabel
    summary: str
    management: str


class AlertResult(BaseModel):
    id: str = Field(description="Rule and ingredients: stable for the same alert across checks.")
    uuid: str = Field(
        description="This alert in this check (CDS card uuid; for feedback and audit)."
    )
    kind: Literal["interaction", "duplication", "cumulative", "dose"]
    severity: SeverityLabel
    rule: RuleRef
    also_matched: list[str] = Field(
        description="Ids of the other rules that matched; the named rule decided (see also_applies)."
    )
    also_applies: list[AlsoApplies] = Field(
        description="Every other rule that matched the same pair, more specific ones first, each "
        "with its own summary and management line. The alert's severity is the highest of all."
    )
    unconfirmed: bool = Field(
        description="True when a claim behind a matching rule could not be confirmed against a "
        "primary source; the rule is kept, at the conservative severity."
    )
    clinical_weight: Literal[0, 1, 2] = Field(
        description="How much the clinical policy weighs this alert within its severity: 2 when "
        "naloxone is suggested (an opioid with another drug that slows breathing), 1 for another "
        "combination with an opioid, 0 otherwise. Patient pages show heavier alerts first."
    )
    ingredients: list[IngredientRef]
    medications: list[int] = Field(description="Indexes into the request's medications.")
    summary: str = Field(max_length=139)
    clinician_text: str = Field(description="For clinicians; always in English.")
    patient_text: str = Field(
        description="For the patient, in the language of Accept-Language when the knowledge-base "
        "version has it (English and Spanish today), else in English."
    )
    patient_title: str = Field(
        description="The deciding rule's title for the patient (rule.title is the clinician's, in "
        "English), in patient_text_language."
    )
    patient_text_language: PatientLanguage = Field(
        description="The language patient_text and the patient_title fields are in "
        "(Content-Language lists them all)."
    )
    management: str
    suggest_naloxone: bool
    sources: list[SourceRef]
    ncpdp: Ncpdp
    cds_indicator: Literal["critical", "warning", "info"] = Field(
        description=f"CDS Hooks card indicator: "
        f"{'; '.join(f'{s.value} → {s.mapping.cds_indicator}' for s in sorted(Severity, reverse=True))}."
    )


class Scope(BaseModel):
    statement: str = Field(description="What this service screens for, and what it does not.")
    not_checked: list[str] = Field(description="Inputs that were not recognised, so not checked.")
    recognized_without_rules: list[str] = Field(
        description="Recognised ingredients no rule covers: known, but outside the screen's scope."
    )


class CheckResponse(BaseModel):
    """A check's answer, exactly as logged. No alerts only ever means "checked, nothing found"."""

    check_id: str = Field(
        description="The alert-log entry (GET /api/v1/checks/{check_id}).",
        examples=["01a218b8-dde3-7429-b4c2-2a7b9d027b33"],
    )
    kb_version: str = Field(description="The knowledge-base version that answered.")
    checked_at: str = Field(
        description="When the answer was logged (UTC, ISO 8601).", examples=["2026-11-26T07:30:00Z"]
    )
    complete: bool = Field(description="False when any input was not recognised.")
    highest_severity: SeverityLabel | None = Field(
        description="The most severe shown alert; null when none is shown."
    )
    scope: Scope
    medications: list[MedicationResult] = Field(description="Each input, in the request's order.")
    alerts: list[AlertResult] = Field(description="The shown alerts, most severe first.")
    min_severity: SeverityLabel | None = Field(
        default=None,
        description="The least severity shown: the higher of the request's min_severity and the "
        "client's minimum severity (set by an operator), or null when every alert is shown.",
    )
    alerts_not_shown: int = Field(
        default=0,
        description="How many alerts the check produced below min_severity and left out of "
        "alerts (the alert log keeps them). Show it: hidden is not the same as none.",
        examples=[0, 2],
    )


class CheckProof(BaseModel):
    """That a check's log entry is in the transparency log: checkable without trusting the service.

    Verify with a SHA-256 implementation (RFC 9162): hash `leaf` as SHA-256(0x00 || leaf), fold
    `inclusion_proof` into a root, and compare it with the root in `checkpoint`, whose signature
    `verifier_key` checks (docs/transparency.md has the few lines of Python).
    """

    log: Literal["alert_log"] = Field(description="The log the entry is in.")
    leaf_index: int = Field(description="The entry's leaf in the log's Merkle tree (from 0).")
    tree_size: int = Field(description="The size of the tree the proof is for (the checkpoint's).")
    leaf: str = Field(
        description="The leaf's bytes, base64: the canonical JSON of the log, the entry's seq and "
        "its content, which anyone can read and compare with the check."
    )
    leaf_hash: str = Field(description="SHA-256(0x00 || leaf), base64.")
    inclusion_proof: list[str] = Field(
        description="The audit path of RFC 9162 §2.1.3, base64 hashes, from the leaf upwards."
    )
    checkpoint: str = Field(
        description="The signed checkpoint (C2SP tlog-checkpoint in a C2SP signed note) whose "
        "root the proof leads to."
    )
    verifier_key: str | None = Field(
        description="The note verifier key of the checkpoints' signer; compare it with the one "
        "the operator published (`audit public-key`). Null when this server has no key."
    )


class DrugMatch(BaseModel):
    name: str = Field(description="A brand or generic name.", examples=["Klonopin"])
    label: str = Field(
        description='How to show it: "Brand (generic)", e.g. "Tylenol (acetaminophen)"; '
        "sent back as a medication, it reads as the name."
    )
    rxcui: str | None = Field(description="The name's RxCUI, if it has one.", examples=["202479"])
    tty: str | None = Field(description="RxNorm term type of the name (IN, BN, ...), if known.")
    ingredients: list[IngredientRef]


class DrugSearchResponse(BaseModel):
    query: str = Field(description="The query as understood (trimmed).", examples=["klon"])
    results: list[DrugMatch] = Field(description="Best matches first.")


class RuleResult(BaseModel):
    id: str = Field(examples=["R1"])
    kind: Literal["interaction", "duplication", "cumulative", "dose"]
    title: str = Field(examples=["Opioid with a benzodiazepine"])
    severity: SeverityLabel
    between: list[list[str]] | None = Field(
        description="For pair rules: the two sides, each a list of classes or ingredients.",
        examples=[[["class:opioid"], ["class:benzodiazepine"]]],
    )
    criteria: dict[str, Any] | None = Field(
        description="For duplication, cumulative and dose rules: what makes them fire."
    )
    summary: str
    effect: str
    mechanism: str
    management: str
    patient_text: str = Field(
        description="The rule's own patient text in the language of Accept-Language, else English."
    )
    patient_text_language: PatientLanguage
    notes: str
    sources: list[SourceRef]


class RulesResponse(BaseModel):
    kb_version: str = Field(description="The active knowledge-base version.")
    rules: list[RuleResult]


class KbResponse(BaseModel):
    version: str = Field(description="The active version: a SHA-256 of its content.")
    activated_at: str = Field(description="When it was activated (UTC).")
    scope: str = Field(description="What the knowledge base screens for, and what it does not.")
    counts: dict[str, int] = Field(
        description="How many of each kind of entry it holds.", examples=[{"rules": 21}]
    )


class Health(BaseModel):
    status: Literal["ok"] = Field(description="The process is up.")


class Ready(BaseModel):
    status: Literal["ready"] = Field(
        description="The database answers, a knowledge base is loaded and the alert log takes writes."
    )
    kb_version: str = Field(description="The active knowledge-base version.")
