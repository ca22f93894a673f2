"""Pydantic models of the CDS Hooks 2.0 exchange, as this service speaks it: they document
``/cds-services`` in ``/openapi.json`` (the views validate requests with their own models).

Field texts follow the CDS Hooks 2.0 specification (https://cds-hooks.hl7.org/2.0/).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_PREFETCH_EXAMPLE = {
    "activeMedications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "patient": "Patient/{{context.patientId}}",
}


class CdsService(BaseModel):
    hook: Literal["order-select", "order-sign"] = Field(
        description="The hook this service answers."
    )
    id: str = Field(
        description="The service's id: POST to /cds-services/{id}.",
        examples=["interaction-alerts-order-select"],
    )
    title: str
    description: str
    prefetch: dict[str, str] = Field(
        description="FHIR queries the EHR should run and send as `prefetch`.",
        examples=[_PREFETCH_EXAMPLE],
    )
    usageRequirements: str | None = None


class CdsDiscovery(BaseModel):
    """The discovery document (CDS Hooks §Discovery)."""

    services: list[CdsService]


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str = Field(description="OAuth 2.0 access token for fhirServer.")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Lifetime of the token in seconds.")
    scope: str = Field(examples=["patient/MedicationRequest.read patient/Patient.read"])
    subject: str = Field(description="The OAuth 2.0 client id of this CDS service.")


class Bundle(BaseModel):
    """A FHIR R4 Bundle (only what the service reads is described)."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Bundle"]
    type: str | None = Field(default=None, examples=["collection"])
    entry: list[dict[str, Any]] | None = Field(
        default=None, description="Each entry's `resource`: MedicationRequest and other orders."
    )


class OrderContext(BaseModel):
    """Context of order-select and order-sign."""

    model_config = ConfigDict(extra="allow")

    userId: str = Field(min_length=1, examples=["Practitioner/123"])
    patientId: str = Field(
        pattern=r"^[A-Za-z0-9\-\.]{1,64}$",
        description="A FHIR id: it goes into the prefetch queries.",
        examples=["1288992"],
    )
    encounterId: str | None = Field(default=None, examples=["89284"])
    selections: list[str] | None = Field(
        default=None,
        description="order-select: references of the newly selected orders in draftOrders.",
        examples=[["MedicationRequest/new1"]],
    )
    draftOrders: Bundle = Field(
        description="A FHIR R4 Bundle of the draft orders (MedicationRequest and others).",
    )


class CdsRequest(BaseModel):
    """A hook call (CDS Hooks §Calling a CDS Service)."""

    model_config = ConfigDict(extra="allow")

    hook: Literal["order-select", "order-sign"]
    hookInstance: str = Field(
        min_length=1,
        description="A UUID for this call.",
        examples=["d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"],
    )
    fhirServer: str | None = Field(
        default=None,
        description="Base URL of the EHR's FHIR server, for what prefetch does not carry.",
        examples=["https://ehr.example.org/fhir"],
    )
    fhirAuthorization: FhirAuthorization | None = None
    context: OrderContext
    prefetch: dict[str, Any] | None = Field(
        default=None,
        description="Results of the discovery document's prefetch queries, by key: "
        "`activeMedications` (a Bundle of MedicationRequest) and `patient` (a Patient).",
    )


class Coding(BaseModel):
    system: str | None = None
    code: str
    display: str | None = None


class Link(BaseModel):
    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Source(BaseModel):
    label: str = Field(description="The rule and its primary source.")
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = Field(default=None, description="The rule: its id and title.")


class Action(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = Field(default=None, description="For create and update.")
    resourceId: str | None = Field(default=None, description="For delete: the draft order.")


class Suggestion(BaseModel):
    label: str
    uuid: str | None = Field(default=None, description="Identifies the suggestion in feedback.")
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Card(BaseModel):
    """One alert, or a card naming what could not be checked."""

    model_config = ConfigDict(extra="allow")

    uuid: str | None = Field(default=None, description="The alert's uuid: feedback names it.")
    summary: str = Field(max_length=140, description="One line, under 140 characters.")
    detail: str | None = Field(default=None, description="GitHub-flavoured Markdown.")
    indicator: Literal["info", "warning", "critical"] = Field(
        description="From the severity: contraindicated and major → critical, moderate → "
        "warning, minor → info."
    )
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None


class CdsResponse(BaseModel):
    """Cards for the new orders; no card only when everything was checked and nothing found."""

    cards: list[Card]
    systemActions: list[Action] | None = None


class OverrideReason(BaseModel):
    reason: Coding | None = None
    userComment: str | None = None


class FeedbackItem(BaseModel):
    card: str = Field(
        min_length=1,
        description="The uuid of the card.",
        examples=["0d1ba12b-b5c5-41f8-8cd9-e7276b0b13fc"],
    )
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[dict[str, Any]] | None = Field(
        default=None, description='With "accepted": each suggestion as {"id": uuid}.'
    )
    overrideReason: OverrideReason | None = Field(default=None, description='With "overridden".')
    outcomeTimestamp: str = Field(
        description="When the clinician acted (ISO 8601, with a time zone).",
        examples=["2026-11-26T07:30:00Z"],
        json_schema_extra={"format": "date-time"},
    )


class CdsFeedback(BaseModel):
    """What the clinician did with the cards (CDS Hooks §Feedback)."""

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


class OperationOutcomeIssue(BaseModel):
    model_config = ConfigDict(extra="allow")

    severity: Literal["fatal", "error", "warning", "information"]
    code: str = Field(description="FHIR issue type (invalid, required, not-found, …).")
    diagnostics: str | None = None


class OperationOutcome(BaseModel):
    """Every CDS Hooks error: a FHIR OperationOutcome."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["OperationOutcome"]
    issue: list[OperationOutcomeIssue] = Field(min_length=1)
