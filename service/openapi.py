"""The OpenAPI 3.1 document of every door (above the doors, as the app factory is: it reads them all), generated from the pydantic models that shape the answers.

One way of describing an operation (``_operation``): its parameters, its body model and, for each
status, a model and a media type. The JSON API and the auditor API answer errors as RFC 9457
problems, CDS Hooks as FHIR OperationOutcomes, the RxNav-compatible URLs as problems that also
carry a CHECK FAILED entry where RxNav clients look.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .api.schemas import (
    CheckProof,
    CheckRequestBody,
    CheckResponse,
    DrugSearchResponse,
    Health,
    KbResponse,
    Ready,
    RulesResponse,
)
from .audit.filters import (
    CHANNELS,
    CHECK_SORTS,
    EVENT_OUTCOMES,
    EVENT_SORTS,
    MAX_PAGE_SIZE,
    MAX_TEXT,
    OUTCOMES,
    PAGE_SIZE,
    SEVERITIES,
)
from .audit.reports import REPORTS
from .audit.schemas import (
    AuditCheckDetail,
    AuditCheckList,
    AuditEventList,
    AuditReport,
    PatientRefRequest,
    PatientRefResponse,
)
from .cds_hooks.schemas import CdsDiscovery, CdsFeedback, CdsRequest, CdsResponse, OperationOutcome
from .config import MAX_REQUEST_BYTES
from .rxnav.schemas import DrugInteractions, IdGroup, InteractionList, ListProblem
from .shared_schemas import Problem

_REF = "#/components/schemas/{model}"
JSON = "application/json"
PROBLEM = "application/problem+json"

_CHECK_ID = "01a218b8-dde3-7429-b4c2-2a7b9d027b33"
_CDS_SERVICES = ["interaction-alerts-order-select", "interaction-alerts-order-sign"]


@dataclass(frozen=True)
class Reply:
    """One documented answer: what it means, and the model and media type of its body."""

    description: str
    model: type[BaseModel] | None = None
    media: str = JSON
    headers: dict[str, Any] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {"description": self.description}
        if self.model is not None:
            schema = {"$ref": _REF.format(model=self.model.__name__)}
            rendered["content"] = {self.media: {"schema": schema}}
        elif self.media != JSON:  # a text download (CSV): its columns are in the description
            rendered["content"] = {self.media: {"schema": {"type": "string"}}}
        if self.headers:
            rendered["headers"] = self.headers
        return rendered


def _problem(description: str) -> Reply:
    return Reply(description, Problem, PROBLEM)


def _unauthorized(description: str, model: type[BaseModel] | None = Problem) -> Reply:
    challenge = {
        "WWW-Authenticate": {
            "description": 'The Bearer challenge (RFC 6750): `Bearer realm="…"`, with '
            '`error="invalid_token"` when credentials were sent but not accepted.',
            "schema": {"type": "string", "pattern": "^Bearer "},
        }
    }
    return Reply(description, model, PROBLEM if model is Problem else JSON, challenge)


def _outcome(description: str) -> Reply:
    return Reply(description, OperationOutcome)


def _list_problem(description: str) -> Reply:
    return Reply(description, ListProblem, PROBLEM)


_UNAVAILABLE = _problem(
    "The knowledge base or the alert log is unavailable: no alerts were produced."
)


def _query(
    name: str,
    schema: dict[str, Any],
    description: str,
    *,
    required: bool = False,
    example: Any = None,
) -> dict[str, Any]:
    parameter = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }
    if example is not None:
        parameter["example"] = example
    return parameter


def _path(name: str, schema: dict[str, Any], description: str, example: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
        "example": example,
    }


def _operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: dict[int, Reply],
    *,
    description: str | None = None,
    security: list[str] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    body: type[BaseModel] | None = None,
) -> dict[str, Any]:
    """An operation object; every operation of every door is described through this one helper."""
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        operation["description"] = description
    operation["security"] = [{name: []} for name in security] if security else []
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        schema = {"$ref": _REF.format(model=body.__name__)}
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
    operation["responses"] = {str(status): reply.render() for status, reply in responses.items()}
    return operation


# ---- the JSON API -------------------------------------------------------------------------------

_KEY_401 = _unauthorized("No valid API key (checked before the body is read).")
_ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "The language for patient_text: en (the default) or es, quality values "
    "honoured (es-MX reads as es). Clinician texts are always English.",
    "schema": {"type": "string"},
    "example": "es-MX, es;q=0.9, en;q=0.5",
}
_CONTENT_LANGUAGE = {
    "Content-Language": {
        "description": "The languages patient_text is in: the one asked for, or en where the "
        "knowledge-base version has no translation.",
        "schema": {"type": "string", "examples": ["es", "en"]},
    }
}


def _json_api() -> dict[str, Any]:
    return {
        "/api/v1/checks": {
            "post": _operation(
                "createCheck",
                "Check a medication list",
                "checks",
                {
                    200: Reply(
                        "The alerts, most severe first; logged before it is sent.",
                        CheckResponse,
                        headers=_CONTENT_LANGUAGE,
                    ),
                    400: _problem("The body is empty or not JSON."),
                    401: _KEY_401,
                    413: _problem(f"The body is larger than {MAX_REQUEST_BYTES // 1024} KiB."),
                    415: _problem("The body is not application/json."),
                    422: _problem("A field is invalid; `errors` says which."),
                    503: _UNAVAILABLE,
                },
                security=["apiKey"],
                parameters=[_ACCEPT_LANGUAGE],
                body=CheckRequestBody,
            )
        },
        "/api/v1/checks/{check_id}": {
            "get": _operation(
                "getCheck",
                "A logged check, as it was answered",
                "checks",
                {
                    200: Reply(
                        "The answer as it was given (patient texts in the language asked for now).",
                        CheckResponse,
                        headers=_CONTENT_LANGUAGE,
                    ),
                    401: _KEY_401,
                    404: _problem("No such check for this client."),
                    503: _UNAVAILABLE,
                },
                description="A client sees only its own checks.",
                security=["apiKey"],
                parameters=[
                    _path("check_id", {"type": "string"}, "The answer's check_id.", _CHECK_ID),
                    _ACCEPT_LANGUAGE,
                ],
            )
        },
        "/api/v1/checks/{check_id}/proof": {
            "get": _operation(
                "getCheckProof",
                "Proof that a check is in the signed transparency log",
                "checks",
                {
                    200: Reply(
                        "The entry's leaf, its inclusion proof and the checkpoint.", CheckProof
                    ),
                    401: _unauthorized("No API key or auditor credentials."),
                    404: _problem("No such check for this client (auditors see every check)."),
                    409: Reply(
                        "The check is logged but not sealed into a checkpoint yet.",
                        Problem,
                        PROBLEM,
                        {
                            "Retry-After": {
                                "description": "Seconds to wait: the sealer runs every second.",
                                "schema": {"type": "string", "pattern": "^[0-9]+$"},
                            }
                        },
                    ),
                    500: _problem(
                        "The stored log no longer proves the entry: it was tampered with."
                    ),
                    503: _problem("The log could not be read."),
                },
                description="A client sees proofs of its own checks, an auditor of every check. "
                "docs/transparency.md shows how to check one with a SHA-256 implementation.",
                security=["apiKey", "auditorToken"],
                parameters=[
                    _path("check_id", {"type": "string"}, "The answer's check_id.", _CHECK_ID)
                ],
            )
        },
        "/api/v1/drugs": {
            "get": _operation(
                "searchDrugs",
                "Search brand and generic names (autocomplete)",
                "knowledge base",
                {
                    200: Reply("Matching names with their ingredients.", DrugSearchResponse),
                    422: _problem("q is missing or too long, or limit is not a number."),
                    503: _UNAVAILABLE,
                },
                parameters=[
                    _query(
                        "q",
                        {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S"},
                        "The start of a name, any case.",
                        required=True,
                        example="klon",
                    ),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
                        "At most this many results.",
                        example=10,
                    ),
                ],
            )
        },
        "/api/v1/rules": {
            "get": _operation(
                "listRules",
                "The active rules with their sources",
                "knowledge base",
                {
                    200: Reply("Every rule.", RulesResponse, headers=_CONTENT_LANGUAGE),
                    503: _UNAVAILABLE,
                },
                parameters=[_ACCEPT_LANGUAGE],
            )
        },
        "/api/v1/kb": {
            "get": _operation(
                "getKb",
                "The active knowledge-base version and its counts",
                "knowledge base",
                {200: Reply("Version, scope and counts.", KbResponse), 503: _UNAVAILABLE},
            )
        },
        "/healthz": {
            "get": _operation(
                "healthz",
                "The process is alive",
                "operations",
                {200: Reply("Alive (says nothing about the database, on purpose).", Health)},
            )
        },
        "/readyz": {
            "get": _operation(
                "readyz",
                "Ready to answer checks",
                "operations",
                {
                    200: Reply(
                        "The database answers, a knowledge base is loaded and the alert "
                        "log takes writes (probed with a write that is rolled back).",
                        Ready,
                    ),
                    503: _problem("Not ready: `detail` says why."),
                },
            )
        },
    }


# ---- the auditor API ----------------------------------------------------------------------------

_AUDIT_401 = _unauthorized("No auditor session or token.")
_AUDIT_403 = _problem("A pharmacy API key, or a user without the auditor role.")
_AUDIT_422 = _problem("A filter is invalid; `errors` says which.")


def _text_filter(name: str, description: str, example: str | None = None) -> dict[str, Any]:
    return _query(name, {"type": "string", "maxLength": MAX_TEXT}, description, example=example)


def _choice(name: str, values: tuple[str, ...], description: str) -> dict[str, Any]:
    return _query(name, {"type": "string", "enum": list(values)}, description)


# Years FIRST_YEAR to LAST_YEAR only (audit.filters): room for a report's default month either side.
_MOMENT = {
    "type": "string",
    "format": "date-time",
    "pattern": "^(19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-",
}
_PERIOD = [
    _query(
        "from",
        _MOMENT,
        "Start of the period (ISO 8601; a bare date is its midnight, UTC).",
        example="2026-11-01T00:00:00Z",
    ),
    _query(
        "to",
        _MOMENT,
        "End of the period, exclusive (a bare date includes that day).",
        example="2026-12-01T00:00:00Z",
    ),
]


def _paging(sorts: tuple[str, ...]) -> list[dict[str, Any]]:
    cursor = {"type": "integer", "minimum": 0, "maximum": 10**17}
    return [
        _choice("sort", sorts, "The column to sort by (default time)."),
        _choice("dir", ("asc", "desc"), "Sort direction (default desc: newest first)."),
        _query("after", cursor, "Keyset cursor: entries after this one (from `next`)."),
        _query("before", cursor, "Keyset cursor: entries before this one (from `previous`)."),
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": PAGE_SIZE},
            "Entries per page.",
        ),
    ]


_CHECK_FILTERS = [
    *_PERIOD,
    _choice("channel", CHANNELS, "The door the check came through."),
    _text_filter(
        "client", "An API client's id or name (any case); an unknown client is a 422.", "north"
    ),
    _choice("severity", SEVERITIES, "The check's highest severity."),
    _choice("alert_severity", SEVERITIES, "Checks with any alert of this severity."),
    _text_filter(
        "ingredient",
        "Checks with an alert involving any of these medicines (comma-separated or repeated): "
        "ingredients, synonyms or brands, read as a check reads them (alcohol is ethanol, Xanax "
        "alprazolam). A name the knowledge base does not know is a 422.",
        "alcohol, Xanax",
    ),
    _text_filter(
        "rule",
        "Checks with an alert of this rule (any case); a rule no version has is a 422.",
        "R1",
    ),
    _choice(
        "outcome",
        OUTCOMES,
        "CDS feedback: accepted, overridden, or none (shown, no answer). With `rule`, the "
        "answer is to that rule's alert.",
    ),
    _query(
        "patient_ref",
        {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
        "A patient reference from POST /api/v1/audit/patient-refs.",
    ),
]
_EVENT_FILTERS = [
    *_PERIOD,
    _text_filter(
        "actor", "Part of the actor or of an acting client's name, any case.", "user:morgan"
    ),
    _text_filter("action", "An action, or a family such as cds.feedback.", "client.revoke"),
    _text_filter("target", "The target of the action.", "north-pharmacy"),
    _choice("outcome", EVENT_OUTCOMES, "success or failure."),
]


def _auditor_api() -> dict[str, Any]:
    common = {401: _AUDIT_401, 403: _AUDIT_403}
    return {
        "/api/v1/audit/checks": {
            "get": _operation(
                "auditListChecks",
                "The alert log, filtered, sorted and paged",
                "audit",
                {200: Reply("A page of checks.", AuditCheckList), **common, 422: _AUDIT_422},
                security=["auditorToken"],
                parameters=_CHECK_FILTERS + _paging(CHECK_SORTS),
            )
        },
        "/api/v1/audit/checks/{check_id}": {
            "get": _operation(
                "auditGetCheck",
                "One logged check with its alerts, feedback, rules and chain links",
                "audit",
                {
                    200: Reply("The check.", AuditCheckDetail),
                    **common,
                    404: _problem("No check with this id."),
                },
                security=["auditorToken"],
                parameters=[_path("check_id", {"type": "string"}, "The check id.", _CHECK_ID)],
            )
        },
        "/api/v1/audit/events": {
            "get": _operation(
                "auditListEvents",
                "The security event log, filtered, sorted and paged",
                "audit",
                {200: Reply("A page of events.", AuditEventList), **common, 422: _AUDIT_422},
                security=["auditorToken"],
                parameters=_EVENT_FILTERS + _paging(EVENT_SORTS),
            )
        },
        "/api/v1/audit/reports/{name}": {
            "get": _operation(
                "auditReport",
                "A report over a period (default: the last 30 days)",
                "audit",
                {
                    200: Reply("The report.", AuditReport),
                    **common,
                    404: _problem("No such report."),
                    422: _AUDIT_422,
                },
                description="; ".join(f"`{name}`: {title}" for name, title in REPORTS.items())
                + ".",
                security=["auditorToken"],
                parameters=[
                    _path(
                        "name",
                        {"type": "string", "enum": list(REPORTS)},
                        "The report.",
                        "top-rules",
                    ),
                    *_CHECK_FILTERS,
                ],
            )
        },
        "/api/v1/audit/reports/{name}.csv": {
            "get": _operation(
                "auditReportCsv",
                "A report as a CSV download, one row per counted thing",
                "audit",
                {
                    200: Reply(
                        "The report's table as CSV, with a header row; the columns depend on "
                        "the report.",
                        media="text/csv",
                    ),
                    **common,
                    404: _problem("No such report."),
                    422: _AUDIT_422,
                },
                security=["auditorToken"],
                parameters=[
                    _path(
                        "name",
                        {"type": "string", "enum": list(REPORTS)},
                        "The report.",
                        "override-matrix",
                    ),
                    *_CHECK_FILTERS,
                ],
            )
        },
        "/api/v1/audit/patient-refs": {
            "post": _operation(
                "auditPatientRef",
                "The reference for a patient identifier (recorded as a patient search)",
                "audit",
                {
                    200: Reply(
                        "The reference and the URL of that patient's checks.", PatientRefResponse
                    ),
                    **common,
                    422: _problem("No identifier, or more than 200 characters."),
                },
                security=["auditorToken"],
                body=PatientRefRequest,
            )
        },
    }


# ---- CDS Hooks ----------------------------------------------------------------------------------


def _cds_hooks() -> dict[str, Any]:
    service = _path(
        "service_id",
        {"type": "string", "enum": _CDS_SERVICES},
        "The service's id from discovery.",
        _CDS_SERVICES[0],
    )
    unauthorized = Reply(
        "No valid JWT or API key; an empty body, as the spec asks.",
        headers=_unauthorized("").headers,
    )
    return {
        "/cds-services": {
            "get": _operation(
                "cdsDiscovery",
                "CDS Hooks discovery: the services and their prefetch",
                "CDS Hooks",
                {200: Reply("The services.", CdsDiscovery)},
            )
        },
        "/cds-services/{service_id}": {
            "post": _operation(
                "cdsCall",
                "Call a service: cards for the new medication orders",
                "CDS Hooks",
                {
                    200: Reply(
                        "One card per alert involving a new order, and one naming "
                        "anything that could not be checked.",
                        CdsResponse,
                    ),
                    400: _outcome("Not a valid CDS Hooks request."),
                    401: unauthorized,
                    404: _outcome("No such service."),
                    412: _outcome(
                        "The prefetch is missing or unreadable and could not be fetched."
                    ),
                    413: _outcome("The body is larger than the configured limit."),
                    503: _outcome("No alerts were produced (knowledge base or log unavailable)."),
                },
                description="Authenticate with a JWT signed by a registered key (CDS Hooks "
                "§Trusting CDS Clients) or, for systems that cannot sign, an API key.",
                security=["cdsJwt"],
                parameters=[service],
                body=CdsRequest,
            )
        },
        "/cds-services/{service_id}/feedback": {
            "post": _operation(
                "cdsFeedback",
                "Record what the clinician did with the cards",
                "CDS Hooks",
                {
                    200: Reply("Recorded (empty body)."),
                    400: _outcome("Not valid CDS Hooks feedback."),
                    401: unauthorized,
                    404: _outcome("No such service, or a card this client was never sent."),
                    413: _outcome("The body is larger than the configured limit."),
                },
                security=["cdsJwt"],
                parameters=[service],
                body=CdsFeedback,
            )
        },
    }


# ---- RxNav-compatible URLs ----------------------------------------------------------------------

_RXNAV_NOTE = (
    "In the shape of NLM's retired RxNav interaction API, so its clients (OpenEMR) change only the "
    "base URL and add a key, as a Bearer header or the apiKey query parameter."
)
_SOURCES = _query(
    "sources",
    {"type": "string"},
    "Accepted and echoed in userInput, as NLM did; ignored.",
    example="DrugBank",
)


def _rxnav() -> dict[str, Any]:
    key = ["apiKey", "apiKeyQuery"]
    return {
        "/REST/interaction/list.json": {
            "get": _operation(
                "rxnavInteractionList",
                "findInteractionsFromList: the interactions among the listed drugs",
                "RxNav-compatible",
                {
                    200: Reply(
                        "One entry per shown alert, most severe first, then what was NOT checked.",
                        InteractionList,
                    ),
                    400: _list_problem("The list is empty, too long or not RxCUIs."),
                    401: _unauthorized("No valid API key.", ListProblem),
                    503: _list_problem("No alerts were produced: the check FAILED."),
                },
                description=_RXNAV_NOTE,
                security=key,
                parameters=[
                    _query(
                        "rxcuis",
                        {"type": "string", "pattern": r"^[0-9]{1,12}([ +][0-9]{1,12}){0,99}$"},
                        "RxCUIs separated by '+' or spaces (at most 100).",
                        required=True,
                        example="2598+7804+448",
                    ),
                    _SOURCES,
                    _query(
                        "age",
                        {"type": "string", "pattern": r"^[0-9]{1,3}$"},
                        "Extension (not NLM's): the patient's age in whole years, 0-130; it "
                        "matters for the Beers rule at 65 and older.",
                        example="70",
                    ),
                    _query(
                        "indication",
                        {"type": "string", "minLength": 1, "maxLength": 200},
                        "Extension (not NLM's): why the drugs are taken, e.g. 'seizure disorder' "
                        "(the clonazepam dose limit does not apply to it).",
                        example="seizure disorder",
                    ),
                ],
            )
        },
        "/REST/interaction/interaction.json": {
            "get": _operation(
                "rxnavDrugInteractions",
                "findDrugInteractions: what one drug interacts with",
                "RxNav-compatible",
                {
                    200: Reply(
                        "Everything the knowledge base says interacts with the drug.",
                        DrugInteractions,
                    ),
                    400: _problem("rxcui is missing or not digits."),
                    401: _unauthorized("No valid API key."),
                    404: _problem(
                        "The RxCUI is not recognised: NOT checked (not 'no interactions')."
                    ),
                    503: _UNAVAILABLE,
                },
                description=_RXNAV_NOTE,
                security=key,
                parameters=[
                    _query(
                        "rxcui",
                        {"type": "string", "pattern": "^[0-9]{1,12}$"},
                        "One RxCUI.",
                        required=True,
                        example="2598",
                    ),
                    _SOURCES,
                ],
            )
        },
        "/REST/rxcui.json": {
            "get": _operation(
                "rxnavFindRxcui",
                "findRxcuiByString over the knowledge base's names",
                "RxNav-compatible",
                {
                    200: Reply("The matching RxCUIs (rxnormId omitted when none).", IdGroup),
                    400: _problem("name is missing or too long, or search is not 0, 1 or 2."),
                    401: _unauthorized("No valid API key."),
                    503: _UNAVAILABLE,
                },
                description=_RXNAV_NOTE,
                security=key,
                parameters=[
                    _query(
                        "name",
                        {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"},
                        "A drug name.",
                        required=True,
                        example="Klonopin",
                    ),
                    _query(
                        "search",
                        {"type": "string", "enum": ["0", "1", "2"], "default": "0"},
                        "0 exact, 1 normalized, 2 exact then normalized.",
                        example="2",
                    ),
                ],
            )
        },
    }


_MODELS: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
    (CheckRequestBody, "validation"),
    (CheckResponse, "serialization"),
    (CheckProof, "serialization"),
    (DrugSearchResponse, "serialization"),
    (RulesResponse, "serialization"),
    (KbResponse, "serialization"),
    (Problem, "serialization"),
    (Health, "serialization"),
    (Ready, "serialization"),
    (AuditCheckList, "serialization"),
    (AuditCheckDetail, "serialization"),
    (AuditEventList, "serialization"),
    (AuditReport, "serialization"),
    (PatientRefRequest, "validation"),
    (PatientRefResponse, "serialization"),
    (CdsDiscovery, "serialization"),
    (CdsRequest, "validation"),
    (CdsResponse, "serialization"),
    (CdsFeedback, "validation"),
    (OperationOutcome, "serialization"),
    (InteractionList, "serialization"),
    (DrugInteractions, "serialization"),
    (IdGroup, "serialization"),
    (ListProblem, "serialization"),
]


@cache
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema(_MODELS, ref_template=_REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Drug-interaction safety alerts",
            "version": "1",
            "description": "Severity-rated alerts for CNS-depressant and respiratory-depression "
            "interactions, through four doors: the JSON API, CDS Hooks 2.0, RxNav-compatible URLs "
            "and the auditors' read-only API. Every answer is written to the alert log before it "
            "is sent; when it cannot be, the answer is an error, never an empty list.",
        },
        "tags": [
            {"name": "checks", "description": "The JSON API: check a list, read a logged check."},
            {"name": "knowledge base", "description": "Names, rules and the active version."},
            {
                "name": "CDS Hooks",
                "description": "CDS Hooks 2.0 for EHRs; errors are OperationOutcomes.",
            },
            {"name": "RxNav-compatible", "description": _RXNAV_NOTE},
            {"name": "audit", "description": "The auditors' read-only API over the logs."},
            {"name": "operations", "description": "Liveness and readiness."},
        ],
        "paths": _json_api() | _auditor_api() | _cds_hooks() | _rxnav(),
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The key printed by `flask --app service clients create NAME`.",
                },
                "apiKeyQuery": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "apiKey",
                    "description": "The same key as a query parameter, for RxNav clients that "
                    "cannot set headers.",
                },
                "auditorToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An auditor's personal token (`flask --app service users "
                    "token NAME`), or the session cookie of a signed-in auditor.",
                },
                "cdsJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JWT signed by a key registered for the client (`clients "
                    "add-jwk`), or an API key for systems that cannot sign.",
                },
            },
        },
    }
