"""CDS Hooks routes: discovery, the two order services, feedback. Thin: parse, check, render."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import requests
from flask import Response, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from ..appctx import database, request_id, snapshots
from ..auth import bearer_token, caller_from_api_key
from ..checking import Caller, CheckRequest, ServiceUnavailable, run_check
from ..db import events, logged_alerts
from ..db.models import AlertLog, CdsFeedback, LoggedAlert
from ..domain.check import CheckContext
from ..pseudonyms import patient_ref
from . import blueprint, fhir
from .cards import CardRenderer
from .tokens import InvalidToken, verify

log = logging.getLogger(__name__)

ACTIVE_MEDICATIONS = "activeMedications"
PATIENT = "patient"
SERVICES = {
    "interaction-alerts-order-select": "order-select",
    "interaction-alerts-order-sign": "order-sign",
}
PREFETCH = {
    ACTIVE_MEDICATIONS: "MedicationRequest?patient={{context.patientId}}&status=active",
    PATIENT: "Patient/{{context.patientId}}",
}


def operation_outcome(status: int, code: str, diagnostics: str) -> Response:
    """CDS Hooks errors are FHIR OperationOutcomes, by the community's convention."""
    response = jsonify(
        resourceType="OperationOutcome",
        issue=[{"severity": "error", "code": code, "diagnostics": diagnostics}],
    )
    response.status_code = status
    return response


def _base_url() -> str:
    configured: str | None = current_app.config.get("PUBLIC_BASE_URL")
    return (configured or request.host_url).rstrip("/")


def _authenticate(*audiences: str) -> Caller | None:
    """A JWT signed by a registered client, or one of our API keys for systems that cannot sign."""
    token = bearer_token()
    if token is None:
        return None
    if token.startswith("ia_"):
        return caller_from_api_key()
    try:
        return verify(database(), token, [f"{_base_url()}{path}" for path in audiences])
    except InvalidToken as error:
        log.info("refused a CDS Hooks JWT: %s", error)  # the reason only; never the token
        return None


def _unauthorized() -> Response:
    """A bare 401: the spec says not to tell a caller why its token failed."""
    return Response(status=401)


@blueprint.get("")
def discovery() -> Response:
    return jsonify(
        services=[
            {
                "hook": hook,
                "id": service_id,
                "title": "CNS-depressant and respiratory-depression interaction alerts",
                "description": f"On {hook}: checks the new medication orders against each other and "
                "against the patient's active medications for CNS-depressant and "
                "respiratory-depression interactions, duplicate sedatives and opioids, and "
                "clonazepam dose limits. Unrecognised medications are reported, never skipped.",
                "prefetch": PREFETCH,
                "usageRequirements": "Send MedicationRequest resources coded in RxNorm where possible.",
            }
            for service_id, hook in SERVICES.items()
        ]
    )


class _Context(BaseModel):
    model_config = ConfigDict(extra="allow")

    userId: str = Field(min_length=1)
    patientId: str = Field(min_length=1)
    draftOrders: dict[str, Any]
    selections: list[str] | None = None


class _HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    hook: str
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: dict[str, Any] | None = None
    context: _Context
    prefetch: dict[str, Any] | None = None


class _PrefetchMissing(Exception):
    pass


@blueprint.post("/<service_id>")
def call_service(service_id: str) -> Response:
    if service_id not in SERVICES:
        return operation_outcome(404, "not-found", f"No CDS service {service_id!r}.")
    caller = _authenticate(f"/cds-services/{service_id}")
    if caller is None:
        return _unauthorized()
    try:
        hook_request = _HookRequest.model_validate(request.get_json(force=True, silent=True))
    except ValidationError as error:
        return operation_outcome(400, "invalid", f"Not a valid CDS Hooks request: {error}")
    hook = SERVICES[service_id]
    if hook_request.hook != hook:
        return operation_outcome(
            400, "invalid", f"This service answers {hook}, not {hook_request.hook}."
        )
    context = hook_request.context
    if hook == "order-select" and not context.selections:
        return operation_outcome(400, "required", "order-select needs context.selections.")
    if context.draftOrders.get("resourceType") != "Bundle":
        return operation_outcome(400, "invalid", "context.draftOrders must be a FHIR Bundle.")
    try:
        active = _prefetched(hook_request, ACTIVE_MEDICATIONS, required=True)
        patient = _prefetched(hook_request, PATIENT, required=False)
    except _PrefetchMissing as error:
        return operation_outcome(412, "required", str(error))

    drafts = fhir.medications(context.draftOrders, "draftOrders")
    selected = set(context.selections or [d.reference for d in drafts])
    new = [d for d in drafts if d.reference in selected]
    pending = [d for d in drafts if d.reference not in selected]
    seen = {d.reference for d in drafts}
    current = [m for m in fhir.medications(active, ACTIVE_MEDICATIONS) if m.reference not in seen]
    orders = new + pending + current
    if not new:
        return operation_outcome(
            400, "invalid", "None of the selected orders is a medication order."
        )

    items = [o.log_entry() for o in orders]
    check_request = CheckRequest(
        raw_items=items,
        items=[o.item for o in orders],
        context=CheckContext(patient_age=fhir.patient_age(patient, date.today())),
        min_severity=None,
        raw_request={"hook": hook, "hookInstance": hook_request.hookInstance, "medications": items},
    )
    try:
        answer = run_check(
            database(),
            snapshots(),
            check_request,
            channel="cds-hooks",
            request_id=request_id(),
            caller=caller,
            patient_ref=patient_ref(context.patientId),
        )
    except ServiceUnavailable as error:
        return operation_outcome(503, "transient", f"No alerts were produced because {error}.")
    naloxone = _naloxone(answer["kb_version"])
    renderer = CardRenderer(orders, len(new), context.patientId, _base_url(), naloxone)
    return jsonify(cards=renderer.cards(answer))


def _prefetched(hook_request: _HookRequest, key: str, *, required: bool) -> Any:
    """The prefetched value, else fetched from the EHR's FHIR server, else 412 when required.

    An absent key means "not provided"; a null value means "no data" (CDS Hooks §Prefetch).
    """
    prefetch = hook_request.prefetch or {}
    if key in prefetch and not _is_operation_outcome(prefetch[key]):
        return prefetch[key]
    server, authorization = hook_request.fhirServer, hook_request.fhirAuthorization or {}
    query = PREFETCH[key].replace("{{context.patientId}}", hook_request.context.patientId)
    if server:
        try:
            response = requests.get(
                f"{server.rstrip('/')}/{query}",
                headers={
                    "Accept": "application/fhir+json",
                    **(
                        {"Authorization": f"Bearer {authorization['access_token']}"}
                        if authorization.get("access_token")
                        else {}
                    ),
                },
                timeout=5,
            )
            if response.ok:
                return response.json()
            log.warning("FHIR server answered %s for %s", response.status_code, key)
        except (requests.RequestException, ValueError) as error:
            log.warning("could not fetch %s from the FHIR server: %s", key, type(error).__name__)
    if required:
        raise _PrefetchMissing(
            f"Prefetch {key!r} ({PREFETCH[key]}) is missing and could not be fetched from fhirServer."
        )
    return None


def _is_operation_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def _naloxone(kb_version: str) -> dict[str, str] | None:
    """The naloxone product of the KB version that answered (still in memory: no database trip)."""
    kb = snapshots().cached(kb_version)
    rxcui = kb.kb.naloxone_rxcui if kb else None
    if kb is None or rxcui is None:
        return None
    concept = kb.lookup_code(rxcui)
    return {"rxcui": rxcui, "name": concept.display if concept else "naloxone nasal spray"}


class _Feedback(BaseModel):
    card: str
    outcome: str = Field(pattern="^(accepted|overridden)$")
    outcomeTimestamp: datetime
    acceptedSuggestions: list[dict[str, Any]] = []
    overrideReason: dict[str, Any] | None = None


class _FeedbackRequest(BaseModel):
    feedback: list[_Feedback] = Field(min_length=1, max_length=100)


@blueprint.post("/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    if service_id not in SERVICES:
        return operation_outcome(404, "not-found", f"No CDS service {service_id!r}.")
    caller = _authenticate(f"/cds-services/{service_id}/feedback", f"/cds-services/{service_id}")
    if caller is None:
        return _unauthorized()
    try:
        body = _FeedbackRequest.model_validate(request.get_json(force=True, silent=True))
    except ValidationError as error:
        return operation_outcome(400, "invalid", f"Not valid CDS Hooks feedback: {error}")
    logged_alerts.catch_up(database())  # the cards answered so far are in the index
    with database().unit_of_work() as session:
        # Each card's check and its time, copied onto the feedback for the auditors' filters.
        known = {
            uuid: (check_id, check_created_at)
            for uuid, check_id, check_created_at in session.execute(
                select(LoggedAlert.uuid, AlertLog.id, AlertLog.created_at)
                .join(AlertLog, AlertLog.id == LoggedAlert.alert_log_id)
                .where(
                    LoggedAlert.uuid.in_([f.card for f in body.feedback]),
                    AlertLog.client_id == caller.client_id,
                    AlertLog.channel == "cds-hooks",
                )
            )
        }
        unknown = [f.card for f in body.feedback if f.card not in known]
        if unknown:
            return operation_outcome(404, "not-found", f"Unknown card(s): {', '.join(unknown)}.")
        now = datetime.now(UTC)
        for item in body.feedback:
            check_id, check_created_at = known[item.card]
            row = CdsFeedback(
                alert_uuid=item.card,
                alert_log_id=check_id,
                check_created_at=check_created_at,
                client_id=caller.client_id,
                outcome=item.outcome,
                accepted_suggestions=[str(s.get("id")) for s in item.acceptedSuggestions],
                override_reason=(item.overrideReason or {}).get("reason"),
                override_comment=(item.overrideReason or {}).get("userComment"),
                outcome_at=item.outcomeTimestamp,
                received_at=now,
            )
            session.add(row)
            session.flush()
            # The feedback also enters the hash-chained event log, so altering it is detectable.
            events.record_event(
                session,
                actor=f"client:{caller.client_id}",
                action=f"cds.feedback.{item.outcome}",
                target=item.card,
                details={
                    "feedback_id": row.id,
                    "accepted_suggestions": row.accepted_suggestions,
                    "override_reason": row.override_reason,
                    "override_comment": row.override_comment,
                    "outcome_at": item.outcomeTimestamp.isoformat(),
                },
            )
        session.commit()
    return Response(status=200)
