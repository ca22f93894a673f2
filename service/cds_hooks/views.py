"""CDS Hooks routes: discovery, the two order services, feedback. Thin: parse, check, render."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any, Literal

from flask import Response, current_app, jsonify, request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from ..appctx import database, note_client, request_id, snapshots
from ..auth import bearer_token, caller_from_api_key, known_caller
from ..callers import ApiKey, Caller, Credentials, NotAuthenticated, VerifiedJwt
from ..checking import CheckRequest, ServiceUnavailable, check_and_log
from ..db import clients, events, logged_alerts
from ..db.models import AlertLog, CdsFeedback, LoggedAlert
from ..domain.answer import AnswerDocument
from ..domain.check import CheckContext
from ..domain.naloxone import NaloxoneSuggestion, naloxone_suggestion
from ..pseudonyms import patient_ref
from . import blueprint, fhir
from .cards import CardRenderer
from .fetch import FetchFailed, FhirServer, Limits
from .tokens import InvalidToken, forget, redeem, verify

log = logging.getLogger(__name__)

ACTIVE_MEDICATIONS = "activeMedications"
PATIENT = "patient"
SERVICES = {
    "interaction-alerts-order-select": "order-select",
    "interaction-alerts-order-sign": "order-sign",
}
# Orders, drafts and active medications checked in one call. No patient has more; a list past it
# is junk or an attack, and checking it would hold a worker for seconds to minutes (1,000 took 1 s,
# 3,000 took 5 s: the pairs grow with the square).
MAX_MEDICATIONS = 1000
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


def _authenticate(*audiences: str) -> tuple[Credentials, Caller] | None:
    """A JWT signed by a registered client, or one of our API keys for systems that cannot sign;
    with the client they name as last read here (the check confirms it where it logs)."""
    token = bearer_token()
    if token is None:
        return None
    if token.startswith("ia_"):
        caller = known_caller(token)
        return (ApiKey(token), caller) if caller is not None else None
    configured: str | None = current_app.config.get("PUBLIC_BASE_URL")
    if not configured:
        # The audience must come from configuration: a Host header is whatever the caller sends,
        # so a token made for another service would pass if it named that host.
        log.warning(
            "refused a CDS Hooks JWT: PUBLIC_BASE_URL is not set, so the token's audience cannot "
            "be checked; set it to the address CDS clients call (e.g. https://alerts.example.org)"
        )
        return None
    base = configured.rstrip("/")
    try:
        credentials, caller = verify(database(), token, [f"{base}{path}" for path in audiences])
    except InvalidToken as error:
        log.info("refused a CDS Hooks JWT: %s", error)  # the reason only; never the token
        return None
    note_client(caller.client_id)
    return credentials, caller


def _confirmed(credentials: Credentials, *audiences: str) -> Caller | None:
    """The client, read now (a JWT is used up): for the requests that are no check. As for a
    check, a JWT's issuer whose client is gone is read once more."""
    if not isinstance(credentials, VerifiedJwt):
        return caller_from_api_key()
    for _ in range(2):
        try:
            return redeem(database(), credentials)
        except InvalidToken as error:
            log.info("refused a CDS Hooks JWT: %s", error)
            again = _authenticate(*audiences)
            if again is None or again[0] == credentials or not isinstance(again[0], VerifiedJwt):
                return None
            credentials = again[0]
    return None


def _unauthorized() -> Response:
    """A 401 with an empty body: the spec says not to tell a caller why its token failed."""
    response = Response(status=401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="cds-services"'
    return response


@blueprint.before_request
def _body_limit() -> None:
    """CDS requests carry whole medication lists: their own, larger limit (``CDS_MAX_REQUEST_BYTES``)."""
    request.max_content_length = current_app.config["CDS_MAX_REQUEST_BYTES"]


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Response:
    limit = current_app.config["CDS_MAX_REQUEST_BYTES"]
    return operation_outcome(
        413, "too-costly", f"The request body is larger than this service accepts ({limit} bytes)."
    )


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return operation_outcome(error.code or 500, "processing", error.description or "")


@blueprint.errorhandler(ServiceUnavailable)
def _unavailable(error: ServiceUnavailable) -> Response:
    log.warning("service unavailable: %s", error)
    return operation_outcome(503, "transient", f"No alerts were produced because {error}.")


@blueprint.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    # Still an OperationOutcome, and never cards: the EHR must not read a failure as "no alerts".
    log.exception("unhandled error in a CDS Hooks call", exc_info=error)
    return operation_outcome(500, "exception", "The request failed; no interaction check was done.")


@blueprint.before_app_request
def _routing_failed() -> Response | None:
    """A wrong URL or method under /cds-services: 404, or 405 with ``Allow``, as an
    OperationOutcome like every CDS error.

    Routing fails before any blueprint is chosen, so this runs for the whole app and acts only on
    CDS paths (no PUT/PATCH/DELETE routes are registered just to refuse them).
    """
    error = request.routing_exception
    if not isinstance(error, NotFound | MethodNotAllowed) or not (
        request.path == blueprint.url_prefix or request.path.startswith(f"{blueprint.url_prefix}/")
    ):
        return None
    if not isinstance(error, MethodNotAllowed):
        return operation_outcome(404, "not-found", "No CDS service at this URL.")
    allowed = ", ".join(sorted(error.valid_methods or []))
    response = operation_outcome(405, "not-supported", f"This URL answers {allowed} only.")
    response.headers["Allow"] = allowed
    return response


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
    # A FHIR id: it goes into the prefetch queries, so nothing that could change their path or query.
    patientId: str = Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$")
    draftOrders: dict[str, Any]
    selections: list[str] | None = None


class _HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    hook: str
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: dict[str, Any] | None = None
    context: _Context
    # Read by this door, not by the model: a malformed prefetch is 412 (fetch it), not 400.
    prefetch: Any = None

    @model_validator(mode="after")
    def _server_with_authorization(self) -> _HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is required when fhirAuthorization is present (cds-r-1)")
        return self


class _PrefetchMissing(Exception):
    """Required data could not be read completely, from the prefetch or the FHIR server: 412."""


@blueprint.post("/<service_id>")
def call_service(service_id: str) -> Response:
    if service_id not in SERVICES:
        return operation_outcome(404, "not-found", f"No CDS service {service_id!r}.")
    if (authenticated := _authenticate(f"/cds-services/{service_id}")) is None:
        return _unauthorized()
    credentials, caller = authenticated
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
    try:
        drafts_page = fhir.bundle_page(context.draftOrders, "context.draftOrders")
    except fhir.Unreadable as error:
        return operation_outcome(400, "invalid", f"{error}.")
    drafts = fhir.medications(drafts_page, "draftOrders", orders=True)
    try:
        new = _new_orders(hook, context, fhir.entry_names(drafts_page), drafts)
    except ValueError as error:
        return operation_outcome(400, "invalid", str(error))
    if not new:
        # Only other kinds of orders (a lab test, a referral): nothing for this service to check.
        return jsonify(cards=[])
    pending = [d for d in drafts if d not in new]

    server = _LazyServer(hook_request, caller)
    try:
        active = _active_medications(hook_request, server)
        age, age_problem = _patient_age(hook_request, server)
    except _PrefetchMissing as error:
        return operation_outcome(412, "required", str(error))
    finally:
        server.close()

    drafted = {_order_key(d) for d in drafts} - {None}
    current = [m for m in active if _order_key(m) not in drafted]
    orders = new + pending + current
    if len(orders) > MAX_MEDICATIONS:
        return operation_outcome(
            400,
            "too-costly",
            f"{len(orders)} medications to check; this service checks at most {MAX_MEDICATIONS} "
            "at once. Nothing was checked.",
        )
    items = [o.log_entry() for o in orders]
    check_request = CheckRequest(
        raw_items=items,
        items=[o.item for o in orders],
        context=CheckContext(patient_age=age),
        min_severity=None,
        raw_request={"hook": hook, "hookInstance": hook_request.hookInstance, "medications": items},
    )
    try:
        answer = _logged(check_request, credentials, context.patientId, service_id)
    except NotAuthenticated:
        return _unauthorized()
    except ServiceUnavailable as error:
        return operation_outcome(503, "transient", f"No alerts were produced because {error}.")
    naloxone = _naloxone(answer)
    renderer = CardRenderer(orders, len(new), context.patientId, _base_url(), naloxone)
    notes = [f"The patient's age could not be read: {age_problem}."] if age_problem else []
    return jsonify(cards=renderer.cards(answer, notes))


def _logged(
    check_request: CheckRequest, credentials: Credentials, patient_id: str, service_id: str
) -> AnswerDocument:
    """The check, logged for the client ``credentials`` name; raises ``NotAuthenticated``.

    A JWT was verified against its issuer's client as last read here; when the check finds that
    client gone, the issuer may now belong to a client registered since: read it once more.
    """
    for _ in range(2):
        try:
            return check_and_log(
                database(),
                snapshots(),
                check_request,
                credentials,
                channel="cds-hooks",
                request_id=request_id(),
                patient_ref=patient_ref(patient_id),
            )
        except NotAuthenticated:
            if not isinstance(credentials, VerifiedJwt):
                raise
            forget(credentials.issuer)
            again = _authenticate(f"/cds-services/{service_id}")
            if again is None or again[0] == credentials:
                raise
            credentials = again[0]
    raise NotAuthenticated


def _new_orders(
    hook: str, context: _Context, in_drafts: set[str], drafts: list[fhir.FhirMedication]
) -> list[fhir.FhirMedication]:
    """The orders to check as new: the selected ones (order-select) or all drafts (order-sign).

    Every selection must name an order in draftOrders (``in_drafts``, of any order type: a selected
    lab order is no medication); one that names none would leave its order unchecked, so it is a
    ``ValueError``. A draft that could not be read may be the one selected, so it is always checked
    as new, and it excuses a selection that names no draft: it is reported as not checked.
    """
    if hook != "order-select":
        return list(drafts)
    named = {s: _draft_named(s, in_drafts) for s in context.selections or []}
    unmatched = sorted(s for s, name in named.items() if name is None)
    if unmatched and not any(d.problem for d in drafts):
        raise ValueError(f"context.selections names no order in draftOrders: {unmatched}.")
    chosen = {name for name in named.values() if name is not None}
    return [d for d in drafts if d.problem or d.names & chosen]


def _draft_named(selection: str, in_drafts: set[str]) -> str | None:
    """The draft a selection names: exactly (``ResourceType/id`` or a fullUrl), or by the last two
    segments of an absolute URL or a longer relative reference; None when it names none."""
    if selection in in_drafts:
        return selection
    tail = "/".join(selection.split("/")[-2:])
    return tail if "/" in tail and tail in in_drafts else None


def _order_key(medication: fhir.FhirMedication) -> tuple[str, str | None, str | None] | None:
    """What makes an active medication the draft itself (an order being renewed or changed), so it
    is checked once: the same resource, by id, naming the same drug. None when it names no one
    resource: then it is never taken for a draft, as a duplicate card is better than a hidden one."""
    if not medication.identified:
        return None
    return medication.reference, medication.item.rxcui, medication.item.text


class _LazyServer:
    """Access to the EHR's FHIR server, opened on first use, or why there is none."""

    def __init__(self, hook_request: _HookRequest, caller: Caller) -> None:
        self._request = hook_request
        self._caller = caller
        self._server: FhirServer | None = None
        self._why_not: str | None = None

    def get(self) -> FhirServer:
        """The server; raises ``_PrefetchMissing`` naming why the service may not fetch."""
        if self._server is None and self._why_not is None:
            self._server, self._why_not = self._open()
        if self._server is None:
            raise _PrefetchMissing(self._why_not or "no FHIR server")
        return self._server

    def _open(self) -> tuple[FhirServer | None, str | None]:
        given = self._request
        if not given.fhirServer or not given.fhirAuthorization:
            return None, "the request lacks fhirServer and fhirAuthorization to fetch it with"
        token = given.fhirAuthorization.get("access_token")
        if not isinstance(token, str) or not token:
            return None, "fhirAuthorization has no access_token to fetch it with"
        base = clients.normalize_fhir_base(given.fhirServer)
        with database().unit_of_work(read_only=True) as session:
            registered = clients.fhir_servers(session, self._caller.client_id)
        if base is None or base not in registered:
            log.warning("refused to fetch from a fhirServer not registered for the client")
            return None, "fhirServer is not a FHIR server registered for this client"
        config = current_app.config
        limits = Limits(
            connect_timeout=float(config["CDS_FHIR_CONNECT_TIMEOUT"]),
            total_timeout=float(config["CDS_FHIR_TOTAL_TIMEOUT"]),
            max_bytes=int(config["CDS_FHIR_MAX_BYTES"]),
            max_pages=int(config["CDS_FHIR_MAX_PAGES"]),
        )
        return FhirServer(base, token, limits), None

    def fetch(self, query_or_url: str, what: str) -> Any:
        """A query relative to the base, or a ``next`` URL; raises ``_PrefetchMissing`` on failure."""
        server = self.get()
        try:
            if "://" in query_or_url:
                return server.get(query_or_url)
            return server.query(query_or_url)
        except FetchFailed as error:
            log.warning("could not fetch %s from the FHIR server: %s", what, error)
            raise _PrefetchMissing(f"{what} could not be fetched: {error}") from error

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


def _prefetched(hook_request: _HookRequest, key: str) -> tuple[bool, Any]:
    """(provided, value). An absent key, or an OperationOutcome in its place, is not provided; a
    null value is provided and means "no data" (CDS Hooks §Prefetch)."""
    prefetch = hook_request.prefetch
    if not isinstance(prefetch, dict) or key not in prefetch:
        return False, None
    value = prefetch[key]
    if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
        return False, None
    return True, value


def _query(hook_request: _HookRequest, key: str) -> str:
    return PREFETCH[key].replace("{{context.patientId}}", hook_request.context.patientId)


def _active_medications(
    hook_request: _HookRequest, server: _LazyServer
) -> list[fhir.FhirMedication]:
    """Every active medication, from the prefetch or the FHIR server, every page of it; or 412."""
    what = f"prefetch {ACTIVE_MEDICATIONS!r} ({PREFETCH[ACTIVE_MEDICATIONS]})"
    provided, value = _prefetched(hook_request, ACTIVE_MEDICATIONS)
    if provided and value is None:
        return []
    first: fhir.BundlePage | None = None
    problem = f"{what} is missing"
    if provided:
        try:
            first = fhir.bundle_page(value, what)
        except fhir.Unreadable as error:
            problem = str(error)
    if first is None:
        try:
            server.get()
        except _PrefetchMissing as why_not:
            raise _PrefetchMissing(f"{problem}, and {why_not}.") from None
        fetched = server.fetch(_query(hook_request, ACTIVE_MEDICATIONS), ACTIVE_MEDICATIONS)
        first = _page(fetched, f"the FHIR server's answer to {PREFETCH[ACTIVE_MEDICATIONS]}")
    entries, page = list(first.entries), first
    while page.next_url:
        try:
            server.get()
        except _PrefetchMissing as why_not:
            raise _PrefetchMissing(
                f"{what} has more pages (Bundle.link next) that were not sent, and {why_not}."
            ) from None
        number = len(entries)
        page = _page(server.fetch(page.next_url, f"{ACTIVE_MEDICATIONS} page"), "a next page")
        entries += page.entries
        if len(entries) == number and page.next_url:
            raise _PrefetchMissing(f"{what}: a next page was empty but pointed to another.")
    combined = fhir.BundlePage(entries, None, first.total, first.kind)
    return fhir.medications(combined, ACTIVE_MEDICATIONS)


def _page(value: Any, what: str) -> fhir.BundlePage:
    try:
        return fhir.bundle_page(value, what)
    except fhir.Unreadable as error:
        raise _PrefetchMissing(f"{error}.") from error


def _patient_age(hook_request: _HookRequest, server: _LazyServer) -> tuple[int | None, str | None]:
    """The age from the Patient prefetch, else fetched; unknown when neither can be had."""
    provided, value = _prefetched(hook_request, PATIENT)
    if not provided:
        try:
            server.get()
        except _PrefetchMissing:
            return None, None  # optional: without it, age-dependent rules assume no age
        try:
            value = server.fetch(_query(hook_request, PATIENT), PATIENT)
        except _PrefetchMissing as error:
            return None, str(error).removeprefix("patient could not be fetched: ")
    return fhir.patient_age(value, date.today())


def _naloxone(answer: AnswerDocument) -> NaloxoneSuggestion | None:
    """The naloxone suggestion of the KB version that answered (still in memory: no database trip)."""
    kb = snapshots().cached(answer["kb_version"])
    if kb is None:
        return None
    taken = (i["name"] for m in answer["medications"] for i in m["ingredients"])
    return naloxone_suggestion(kb, taken)


class _Coding(BaseModel):
    model_config = ConfigDict(extra="allow")

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class _AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)


class _OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: _Coding | None = None
    userComment: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _says_something(self) -> _OverrideReason:
        if self.reason is None and not self.userComment:
            raise ValueError("overrideReason needs a reason or a userComment (cds-fb-3)")
        return self


class _Feedback(BaseModel):
    """One card's outcome, with the spec's rules: an error in any item refuses the whole batch."""

    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1, max_length=200)
    outcome: Literal["accepted", "overridden"]
    outcomeTimestamp: AwareDatetime  # RFC 3339, so with a time zone
    acceptedSuggestions: list[_AcceptedSuggestion] | None = None
    overrideReason: _OverrideReason | None = None

    @model_validator(mode="after")
    def _fits_the_outcome(self) -> _Feedback:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted card needs acceptedSuggestions (cds-fb-2)")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason is for an overridden card only")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions are for an accepted card only")
        return self


class _FeedbackRequest(BaseModel):
    feedback: list[_Feedback] = Field(min_length=1, max_length=100)


@blueprint.post("/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    if service_id not in SERVICES:
        return operation_outcome(404, "not-found", f"No CDS service {service_id!r}.")
    audiences = (f"/cds-services/{service_id}/feedback", f"/cds-services/{service_id}")
    authenticated = _authenticate(*audiences)
    if authenticated is None or (caller := _confirmed(authenticated[0], *audiences)) is None:
        return _unauthorized()
    try:
        body = _FeedbackRequest.model_validate(request.get_json(force=True, silent=True))
    except ValidationError as error:
        return operation_outcome(400, "invalid", f"Not valid CDS Hooks feedback: {error}")
    cards = list({f.card for f in body.feedback})
    logged_alerts.catch_up(database())  # the cards answered so far are in the index
    with database().unit_of_work() as session:
        # Each card's check and its time, copied onto the feedback for the auditors' filters.
        known = {
            uuid: (check_id, check_created_at)
            for uuid, check_id, check_created_at in session.execute(
                select(LoggedAlert.uuid, AlertLog.id, AlertLog.created_at)
                .join(AlertLog, AlertLog.id == LoggedAlert.alert_log_id)
                .where(
                    LoggedAlert.uuid.in_(cards),
                    AlertLog.client_id == caller.client_id,
                    AlertLog.channel == "cds-hooks",
                )
            )
        }
        # The "could not be checked" card is the check's own: its uuid is the check's id.
        checks = set(
            session.scalars(
                select(AlertLog.id).where(
                    AlertLog.id.in_([c for c in cards if c not in known]),
                    AlertLog.client_id == caller.client_id,
                    AlertLog.channel == "cds-hooks",
                )
            )
        )
        unknown = [c for c in cards if c not in known and c not in checks]
        if unknown:
            return operation_outcome(404, "not-found", f"Unknown card(s): {', '.join(unknown)}.")
        now = datetime.now(UTC)
        for item in body.feedback:
            accepted = [s.id for s in item.acceptedSuggestions or []]
            reason = item.overrideReason
            details: dict[str, Any] = {
                "accepted_suggestions": accepted,
                "override_reason": reason.reason.model_dump(exclude_none=True)
                if reason and reason.reason
                else None,
                "override_comment": reason.userComment if reason else None,
                "outcome_at": item.outcomeTimestamp.isoformat(),
            }
            if item.card in checks:
                # No alert to attach it to: it is kept in the hash-chained event log only.
                details["check_id"] = item.card
                details["card"] = "not-checked"
            else:
                check_id, check_created_at = known[item.card]
                row = CdsFeedback(
                    alert_uuid=item.card,
                    alert_log_id=check_id,
                    check_created_at=check_created_at,
                    client_id=caller.client_id,
                    outcome=item.outcome,
                    accepted_suggestions=accepted,
                    override_reason=details["override_reason"],
                    override_comment=details["override_comment"],
                    outcome_at=item.outcomeTimestamp,
                    received_at=now,
                )
                session.add(row)
                session.flush()
                details["feedback_id"] = row.id
            # The feedback also enters the hash-chained event log, so altering it is detectable.
            events.record_event(
                session,
                actor=f"client:{caller.client_id}",
                action=f"cds.feedback.{item.outcome}",
                target=item.card,
                details=details,
            )
        session.commit()
    return Response(status=200)
