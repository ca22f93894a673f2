"""The shapes of the answer and of its log row, typed once for every door that reads them.

A check's answer is plain JSON: the JSON API serves it as is, and the CDS Hooks, RxNav, patient
page and auditor doors rearrange it. TypedDicts, not dataclasses, because the dict *is* the wire
format (and the stored JSON): a typo in a key is caught by mypy in every renderer, and the bytes
served and logged stay exactly what they were. ``service/api/schemas.py`` documents the same
shape for ``/openapi.json``; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypedDict

MedicationStatus = Literal["recognized", "unrecognized"]


class IngredientRef(TypedDict):
    name: str
    rxcui: str | None


class MedicationDocument(TypedDict):
    """One input as the check read it; ``input`` is the item exactly as the request sent it."""

    input: str | dict[str, Any]
    status: MedicationStatus
    matched: str | None
    rxcui: str | None
    ingredients: list[IngredientRef]
    route: str | None
    dose_form: str | None
    suggestions: list[str]


class RuleRef(TypedDict):
    id: str
    title: str


class NcpdpCodes(TypedDict):
    reason_for_service: str
    clinical_significance: str


class SourceRef(TypedDict):
    id: str
    label: str
    url: str


class AlsoApplies(TypedDict):
    """Another matching rule, listed beside the one that decided the alert."""

    id: str
    title: str
    patient_title: str
    severity: str
    summary: str
    management: str


class _AlertFacts(TypedDict):
    """What an alert is, as logged and as answered alike."""

    id: str
    kind: str
    severity: str
    rule: RuleRef
    also_matched: list[str]
    ingredients: list[IngredientRef]
    medications: list[int]
    summary: str
    suggest_naloxone: bool
    ncpdp: NcpdpCodes
    cds_indicator: str
    uuid: str


class AlertRecord(_AlertFacts):
    """An alert in the log: no rule texts (its KB version holds them), and whether it was shown."""

    shown: bool


class AlertWording(TypedDict):
    """An alert's wording that follows from its rules and language alone (the summary aside):
    built once per KB version and shared by every answer that needs it."""

    patient_text: str
    patient_text_language: str
    patient_title: str
    management: str
    sources: Sequence[SourceRef]  # the KB version's own tuple, shared by every answer
    also_applies: list[AlsoApplies]
    unconfirmed: bool
    clinical_weight: int


class AnsweredAlert(_AlertFacts, AlertWording):
    """An alert as served: the log's facts with its rules' wording in the reader's language."""

    clinician_text: str


class ScopeDocument(TypedDict):
    statement: str
    not_checked: list[str]
    recognized_without_rules: list[str]


class CheckRecord(TypedDict):
    """A check's log row as evaluated, before the write gives it a time and a place in the chain."""

    id: str
    channel: str
    client_id: str | None
    request_id: str
    kb_version_id: str
    inputs: dict[str, Any]
    medications: list[MedicationDocument]
    alerts: list[AlertRecord]
    scope: ScopeDocument
    complete: bool
    highest_severity: str | None
    min_severity: str | None
    patient_ref: str | None


class CheckLogRow(CheckRecord):
    """A check as written to the log: stamped, with its place (``seq``) in the log."""

    created_at: datetime
    seq: int


class AnswerDocument(TypedDict):
    """What every door's caller receives, rebuilt from the log row and its KB version."""

    check_id: str
    kb_version: str
    checked_at: str
    complete: bool
    highest_severity: str | None
    scope: ScopeDocument
    medications: list[MedicationDocument]
    alerts: list[AnsweredAlert]
    min_severity: str | None
    alerts_not_shown: int
