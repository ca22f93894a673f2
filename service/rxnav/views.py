"""RxNav-compatible routes. Thin: parse NLM's query parameters, call the check or lookup, render.

Decisions (NLM's retired API had neither keys nor logging, and answered 200 for everything):

- Every route needs an API key, as ``Authorization: Bearer`` or an ``apiKey`` query parameter
  (OpenEMR builds a bare URL and cannot set headers); 401 problem otherwise. The key is never logged.
- Failures are HTTP errors with a problem document (400 bad parameters, 503 no KB or no log),
  never a 200 without interactions, which NLM-era clients would show as "No interactions found".
  OpenEMR reads the body whatever the status, so ``list.json``'s problem documents also carry a
  "check FAILED" entry where it looks (``shapes.failure_group``).
- An unrecognised RxCUI in a list is answered 200 but reported (see ``shapes``); on
  ``interaction.json`` it is a 404 problem, because NLM's "no group" answer there would read as
  "interacts with nothing".
- ``list.json`` and ``interaction.json`` are logged (channel ``rxnav``) and filtered by the client's
  minimum severity; ``rxcui.json`` is a name lookup that gives no alerts, so it is not logged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from ..appctx import database, request_id, snapshots
from ..auth import caller_from_api_key
from ..checking import CheckRequest, ServiceUnavailable, answer_and_log, run_check
from ..domain.check import CheckContext, CheckResult, MedicationInput, recognize
from ..domain.lookup import known_interactions, rxcuis_for_name, rxnorm_tty
from ..domain.snapshot import KbSnapshot
from ..problems import problem, unauthorized, unavailable
from . import blueprint, shapes

MAX_RXCUIS = 100
MAX_NAME_LENGTH = 200
_RXCUI = re.compile(r"\d{1,12}")
# Werkzeug already turned '+' into a space; a '%2B'-encoded plus arrives as '+'.
_LIST_SEPARATORS = re.compile(r"[\s+]+")


@blueprint.get("/REST/interaction/list.json")
def interaction_list() -> Response:
    """findInteractionsFromList: the check of the listed drugs, most severe first."""
    if (caller := caller_from_api_key(allow_query_parameter=True)) is None:
        return _unauthorized(**_list_failure("the API key is missing or not valid"))
    given = [v for raw in request.args.getlist("rxcuis") for v in _LIST_SEPARATORS.split(raw) if v]
    if (message := _invalid_rxcuis(given)) is not None:
        return _invalid("rxcuis", message, **_list_failure(f"the request is invalid ({message})"))
    sources = request.args.get("sources", "")
    check_request = CheckRequest(
        raw_items=[{"rxcui": rxcui} for rxcui in given],
        items=[MedicationInput(rxcui=rxcui) for rxcui in given],
        context=CheckContext(),
        min_severity=None,
        raw_request={"endpoint": "interaction/list.json", "rxcuis": given, "sources": sources},
    )
    try:
        ttys = _term_types(given)
        answer = run_check(
            database(),
            snapshots(),
            check_request,
            channel="rxnav",
            request_id=request_id(),
            caller=caller,
        )
    except ServiceUnavailable as error:
        return _unavailable(error, **_list_failure(str(error)))
    return jsonify(shapes.interaction_list(answer, given, ttys, sources))


@blueprint.get("/REST/interaction/interaction.json")
def drug_interactions() -> Response:
    """findDrugInteractions: what one drug interacts with, logged like any answer we give."""
    if (caller := caller_from_api_key(allow_query_parameter=True)) is None:
        return _unauthorized()
    rxcui = request.args.get("rxcui", "").strip()
    if not _RXCUI.fullmatch(rxcui):
        return _invalid("rxcui", "give one RxCUI (digits only)")
    sources = request.args.get("sources", "")
    item = MedicationInput(rxcui=rxcui)

    def evaluate(kb: KbSnapshot) -> CheckResult:
        return known_interactions(recognize([item], kb)[0], kb)

    check_request = CheckRequest(
        raw_items=[{"rxcui": rxcui}],
        items=[item],
        context=CheckContext(),
        min_severity=None,
        raw_request={
            "endpoint": "interaction/interaction.json",
            "rxcui": rxcui,
            "sources": sources,
        },
    )
    try:
        ttys = _term_types([rxcui])
        answer = answer_and_log(
            database(),
            snapshots(),
            evaluate,
            check_request,
            channel="rxnav",
            request_id=request_id(),
            caller=caller,
        )
    except ServiceUnavailable as error:
        return _unavailable(error)
    if answer["medications"][0]["status"] != "recognized":
        return problem(
            404,
            "RxCUI not recognised",
            f"RxCUI {rxcui} is not in this service's knowledge base, so its interactions were NOT "
            "checked. This is not 'no interactions'.",
            "unrecognized-rxcui",
            check_id=answer["check_id"],
        )
    return jsonify(shapes.drug_interactions(answer, rxcui, ttys, sources))


@blueprint.get("/REST/rxcui.json")
def find_rxcui() -> Response:
    """findRxcuiByString over the KB's names: search 0 exact, 1 normalized, 2 exact then normalized."""
    if caller_from_api_key(allow_query_parameter=True) is None:
        return _unauthorized()
    name = request.args.get("name", "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        return _invalid("name", f"give a name of 1 to {MAX_NAME_LENGTH} characters")
    search = request.args.get("search", "0").strip()
    if search not in ("0", "1", "2"):
        return _invalid("search", "must be 0 (exact), 1 (normalized) or 2 (best match)")
    try:
        kb = _snapshot()
    except ServiceUnavailable as error:
        return _unavailable(error)
    found = () if search == "1" else rxcuis_for_name(name, kb, normalized=False)
    if not found and search != "0":
        found = rxcuis_for_name(name, kb, normalized=True)
    return jsonify(shapes.id_group(name, found))


def _invalid_rxcuis(given: Sequence[str]) -> str | None:
    if not given:
        return "give one or more RxCUIs separated by '+' or spaces"
    if len(given) > MAX_RXCUIS:
        return f"give at most {MAX_RXCUIS} RxCUIs (got {len(given)})"
    bad = [v for v in given if not _RXCUI.fullmatch(v)]
    if bad:
        return f"RxCUIs are digits only, not {', '.join(repr(v[:20]) for v in bad[:5])}"
    return None


def _list_failure(reason: str) -> dict[str, Any]:
    """Problem extension member for ``list.json`` errors: see ``shapes.failure_group``."""
    return {"fullInteractionTypeGroup": shapes.failure_group(reason)}


@blueprint.errorhandler(SQLAlchemyError)
@blueprint.errorhandler(ServiceUnavailable)
def _database_failed(error: SQLAlchemyError | ServiceUnavailable) -> Response:
    """Key checks and KB reads touch the database too: a failure there is a 503, not a 500,
    in the shape OpenEMR reads from ``list.json``."""
    if isinstance(error, SQLAlchemyError):
        error = ServiceUnavailable("the database could not be read")
    if request.endpoint == "rxnav.interaction_list":
        return _unavailable(error, **_list_failure(str(error)))
    return _unavailable(error)


def _snapshot() -> KbSnapshot:
    with database().transaction(read_only=True) as connection:
        return snapshots().get(connection)


def _term_types(rxcuis: Sequence[str]) -> dict[str, str]:
    """RxNorm term types for the ``tty`` fields, which the logged answer does not carry."""
    kb = _snapshot()
    return {rxcui: tty for rxcui in rxcuis if (tty := rxnorm_tty(rxcui, kb))}


def _invalid(field: str, message: str, **extra: Any) -> Response:
    return problem(
        400,
        "Invalid request",
        f"{field}: {message}.",
        "validation-error",
        errors=[{"field": field, "message": message}],
        **extra,
    )


def _unauthorized(**extra: Any) -> Response:
    return unauthorized(
        "Send a valid API key as 'Authorization: Bearer <key>' or as the apiKey query parameter.",
        **extra,
    )


def _unavailable(error: ServiceUnavailable, **extra: Any) -> Response:
    return unavailable(error, **extra)
