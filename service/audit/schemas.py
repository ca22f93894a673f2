"""Pydantic models of the auditor API's answers: they document ``/api/v1/audit`` in ``/openapi.json``.

The views build their answers from the log's queries; these models say what those answers hold,
and the tests (schemathesis among them) hold the views to them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..shared_schemas import SeverityLabel
from .filters import CHANNELS

Channel = Literal[CHANNELS]  # type: ignore[valid-type]

_CHECK_ID = "01a218b8-dde3-7429-b4c2-2a7b9d027b33"
_PATIENT_REF = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


class SortOrder(BaseModel):
    by: str = Field(description="The column the list is sorted by.", examples=["time"])
    dir: Literal["asc", "desc"] = Field(description="Sort direction.", examples=["desc"])


class _Page(BaseModel):
    count: int = Field(ge=0, description="How many entries match the filters, on every page.")
    sort: SortOrder
    next: str | None = Field(
        description="URL of the next page (keyset cursor), or null on the last page.",
        examples=["/api/v1/audit/checks?sort=time&dir=desc&after=1234&limit=50"],
    )
    previous: str | None = Field(description="URL of the previous page, or null on the first page.")


class AuditCheckItem(BaseModel):
    seq: int = Field(description="The entry's place in the alert log.", examples=[42])
    id: str = Field(
        description="The check id (also the JSON API's check_id).", examples=[_CHECK_ID]
    )
    created_at: str = Field(description="When it was logged (UTC, ISO 8601).")
    channel: Channel = Field(description="The door the check came through.")
    client_id: str | None = Field(description="The API client that asked (null: a patient page).")
    client: str | None = Field(description="That client's name.", examples=["north-pharmacy"])
    patient_ref: str | None = Field(
        description="Pseudonymous patient reference (CDS Hooks only).", examples=[_PATIENT_REF]
    )
    highest_severity: SeverityLabel | None
    alerts: int = Field(ge=0, description="Alerts the check produced.")
    alerts_shown: int = Field(ge=0, description="Of those, shown (at or above the floor).")
    complete: bool = Field(description="False when an input was not recognised.")
    kb_version: str = Field(description="The knowledge-base version that answered.")
    href: str = Field(description="This check in the auditor API.")


class AuditCheckList(_Page):
    """A page of the alert log, newest first unless sorted otherwise."""

    items: list[AuditCheckItem]


class FeedbackEntry(BaseModel):
    outcome: Literal["accepted", "overridden"]
    override_reason: str | None = Field(description="The override reason code the EHR sent.")
    comment: str | None = Field(description="The clinician's comment, if any.")
    accepted_suggestions: list[str] = Field(description="Ids of the suggestions accepted.")
    outcome_at: str = Field(description="When the clinician acted (the EHR's time).")
    received_at: str = Field(description="When the feedback arrived here.")


class AuditAlert(BaseModel):
    """A logged alert as it was answered, with whether it was shown and what came back."""

    model_config = ConfigDict(extra="allow")

    shown: bool = Field(description="False when below the client's or request's minimum severity.")
    feedback: list[FeedbackEntry] = Field(description="CDS Hooks feedback on this alert's card.")


class FiredRule(BaseModel):
    id: str = Field(examples=["R1"])
    title: str
    kind: str
    severity: SeverityLabel
    between: Any = Field(description="The classes or ingredients the rule is between, if a pair.")
    summary: str
    effect: str
    mechanism: str
    management: str
    sources: list[dict[str, str]] = Field(description="Each source's label and url.")


class AuditKbVersion(BaseModel):
    id: str = Field(description="The knowledge-base version id (a content hash).")
    activated_at: str | None
    scope: str | None = Field(description="The version's scope statement.")
    rules: int = Field(ge=0, description="How many rules the version holds.")
    rules_fired: list[FiredRule] = Field(description="The rules behind this check's alerts.")


class ChainLinks(BaseModel):
    seq: int = Field(description="The entry's place in the log (a leaf once sealed).")
    previous: str | None = Field(description="Id of the previous check in the log.")
    next: str | None = Field(description="Id of the next check in the log.")


class AuditCheckDetail(BaseModel):
    """One logged check: what was asked, what was answered and shown, and its place in the log."""

    id: str = Field(examples=[_CHECK_ID])
    created_at: str
    channel: Channel
    client_id: str | None
    client: str | None
    request_id: str = Field(description="The request id the service logged with the answer.")
    patient_ref: str | None
    min_severity: SeverityLabel | None = Field(description="The floor in force for this check.")
    highest_severity: SeverityLabel | None
    complete: bool
    inputs: dict[str, Any] = Field(description="The request as received (keys never included).")
    medications: list[Any] = Field(description="Each input and how it was recognised.")
    scope: dict[str, Any] = Field(description="What the check covered and what it did not.")
    alerts: list[AuditAlert]
    kb_version: AuditKbVersion
    chain: ChainLinks


class AuditEventItem(BaseModel):
    seq: int
    created_at: str
    actor: str = Field(examples=["user:morgan"])
    actor_name: str = Field(
        examples=["client:Northside Pharmacy"],
        description="The actor as a person reads it: a client by its name, not its id.",
    )
    action: str = Field(examples=["client.revoke"])
    target: str | None = Field(examples=["north-pharmacy"])
    outcome: Literal["success", "failure"]
    details: dict[str, Any] | None = Field(description="Old and new values, where it changed one.")


class AuditEventList(_Page):
    """A page of the security event log (clients, users, sign-ins, exports, feedback)."""

    items: list[AuditEventItem]


class ReportPeriod(BaseModel):
    from_: str | None = Field(alias="from", description="Start of the period (UTC).")
    to: str | None = Field(description="End of the period (UTC, exclusive).")


class AuditReport(BaseModel):
    """One report over a period; which list it carries depends on the report."""

    model_config = ConfigDict(extra="allow")

    report: Literal[
        "alerts-per-day",
        "top-rules",
        "override-by-rule",
        "override-by-client",
        "override-matrix",
        "override-reasons",
        "unrecognised-inputs",
    ]
    period: ReportPeriod
    days: list[dict[str, Any]] | None = Field(
        default=None, description="alerts-per-day: per day, alerts by severity and total."
    )
    rules: list[dict[str, Any]] | None = Field(
        default=None,
        description="top-rules, override-by-rule and override-matrix: one entry per rule (the "
        "matrix: with its total, top reasons and one entry per client that answered).",
    )
    clients: list[dict[str, Any]] | None = Field(
        default=None, description="override-by-client: one entry per client."
    )
    reasons: list[dict[str, Any]] | None = Field(
        default=None,
        description="override-reasons: each reason, how often, its share, its rules and clients.",
    )
    inputs: list[dict[str, Any]] | None = Field(
        default=None, description="unrecognised-inputs: the inputs and how often."
    )
    scanned_only_latest: bool | None = Field(
        default=None, description="unrecognised-inputs: true when only the latest checks were read."
    )


class PatientRefRequest(BaseModel):
    identifier: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="The patient identifier, sent in a body so it never lands in a URL or a log.",
        examples=["MRN-0012345"],
    )


class PatientRefResponse(BaseModel):
    patient_ref: str = Field(
        description="The pseudonymous reference the log stores.", examples=[_PATIENT_REF]
    )
    checks: str = Field(description="The auditor API's list of that patient's checks.")
