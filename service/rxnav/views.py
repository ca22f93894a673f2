"""RxNav-compatible routes. Thin: parse NLM's query parameters, call the check or lookup, render.

Decisions (NLM's retired API had neither keys nor logging, and answered 200 for everything):

- Every route needs an API key, as ``Authorization: Bearer`` or an ``apiKey`` query parameter
  (OpenEMR builds a bare URL and cannot set headers); 401 problem otherwise. The key is never logged.
- Failures are HTTP errors with a problem document (400 bad parameters, 404 a URL we do not serve,
  405 a method we do not serve, 503 no KB or no log), never a 200 without interactions, which
  NLM-era clients would show as "No interactions found". OpenEMR 7.x reads the body whatever the
  status, so every failure's body also carries a "CHECK FAILED" entry where it looks
  (``shapes.failure_group``). OpenEMR 5.0.x drops the body of anything but a 200: a client created
  with ``--rxnav-failure-status 200`` gets its failures as 200 with the same entry (and the problem
  in ``checkFailed``), once the service knows which client is calling (not for a missing key).
- Every other path under ``/REST`` (and the same paths without ``/REST``, a base URL missing it) is a
  404 in that shape, so a wrong base URL is a visible failure rather than "No interactions found".
- An unrecognised RxCUI in a list is answered 200 but reported (see ``shapes``); on
  ``interaction.json`` it is a 404 problem, because NLM's "no group" answer there would read as
  "interacts with nothing".
- ``list.json`` and ``interaction.json`` are logged (channel ``rxnav``) and filtered by the client's
  minimum severity, which leaves a visible "not shown" entry; ``rxcui.json`` is a name lookup that
  gives no alerts, so it is not logged.
- Extensions to NLM's parameters on ``list.json``: ``age`` (whole years, 0-130) and ``indication``
  (free text, up to 200 characters, applied to every drug), the context the other doors take.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from flask import Response, jsonify, request

from ..appctx import database, request_id, snapshots
from ..auth import caller_from_api_key, known_caller, presented_api_key
from ..callers import ApiKey, Caller, NotAuthenticated, known_key
from ..checking import CheckRequest, ServiceUnavailable, check_and_log
from ..domain.answer import AnswerDocument
from ..domain.check import MAX_PATIENT_AGE, CheckContext, MedicationInput
from ..domain.lookup import rxcuis_for_name, rxnorm_tty
from ..domain.snapshot import KbSnapshot
from ..problems import problem, unauthorized, unavailable
from ..request_guard import NulCharacter
from . import blueprint, shapes

MAX_RXCUIS = 100
MAX_NAME_LENGTH = 200
MAX_INDICATION_LENGTH = 200
_RXCUI = re.compile(r"[0-9]{1,12}")  # ASCII digits: \d also matches other scripts
_AGE = re.compile(r"[0-9]{1,3}")  # ASCII digits: int() would also read full-width ones
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The URLs this door serves, by their path under /REST: the others are answered 404 (or 405).
SERVED = ("interaction/list.json", "interaction/interaction.json", "rxcui.json")
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
_FAILURE_GROUPS = ("fullInteractionTypeGroup", "interactionTypeGroup")
MAX_PATH_SHOWN = 200  # a URL is echoed in failures; a long one is cut
# GET and POST (HEAD and OPTIONS Flask answers itself). No route of the application takes PUT,
# PATCH or DELETE (tests/accounts/test_routes.py), so those get the application's own 405.
_ANY_METHOD = ["GET", "POST"]
# Werkzeug already turned '+' into a space; a '%2B'-encoded plus arrives as '+'.
_LIST_SEPARATORS = re.compile(r"[\s+]+")


@blueprint.get("/REST/interaction/list.json")
def interaction_list() -> Response:
    """findInteractionsFromList: the check of the listed drugs, most severe first."""
    if (known := _known_key()) is None:
        return _unauthorized(**_list_failure("the API key is missing or not valid"))
    key, caller = known
    if (repeated := _given_twice("age", "indication", "sources")) is not None:
        return _invalid(repeated, "give it once", caller)
    given = [v for raw in request.args.getlist("rxcuis") for v in _LIST_SEPARATORS.split(raw) if v]
    if (message := _invalid_rxcuis(given)) is not None:
        return _invalid("rxcuis", message, caller)
    age, indication = request.args.get("age"), request.args.get("indication")
    for field, check_value in (("age", _invalid_age), ("indication", _invalid_indication)):
        value = request.args.get(field)
        if value is not None and (message := check_value(value)) is not None:
            return _invalid(field, message, caller)
    sources = request.args.get("sources", "")
    raw_request: dict[str, Any] = {
        "endpoint": "interaction/list.json",
        "rxcuis": given,
        "sources": sources,
    }
    if age is not None:
        raw_request["age"] = int(age)
    if indication is not None:
        raw_request["indication"] = indication.strip()
    check_request = CheckRequest(
        raw_items=[{"rxcui": rxcui} for rxcui in given],
        items=[
            MedicationInput(rxcui=rxcui, indication=indication.strip() if indication else None)
            for rxcui in given
        ],
        context=CheckContext(patient_age=int(age) if age is not None else None),
        min_severity=None,
        raw_request=raw_request,
    )
    try:
        answer = _check(check_request, key)
    except NotAuthenticated:
        return _unauthorized(**_list_failure("the API key is missing or not valid"))
    except ServiceUnavailable as error:
        return _unavailable(error, caller)
    ttys = _term_types(given, answer)
    return jsonify(shapes.interaction_list(answer, given, ttys, sources))


@blueprint.get("/REST/interaction/interaction.json")
def drug_interactions() -> Response:
    """findDrugInteractions: what one drug interacts with, logged like any answer we give."""
    if (known := _known_key()) is None:
        return _unauthorized(**_drug_failure("the API key is missing or not valid"))
    key, caller = known
    if (repeated := _given_twice("rxcui", "sources")) is not None:
        return _invalid(repeated, "give it once (this URL checks one drug)", caller)
    rxcui = request.args.get("rxcui", "").strip()
    if not _RXCUI.fullmatch(rxcui):
        return _invalid("rxcui", "give one RxCUI (digits only)", caller)
    sources = request.args.get("sources", "")
    check_request = CheckRequest(
        raw_items=[{"rxcui": rxcui}],
        items=[MedicationInput(rxcui=rxcui)],
        context=CheckContext(),
        min_severity=None,
        raw_request={
            "endpoint": "interaction/interaction.json",
            "rxcui": rxcui,
            "sources": sources,
        },
        one_drug=True,
    )
    try:
        answer = _check(check_request, key)
    except NotAuthenticated:
        return _unauthorized(**_drug_failure("the API key is missing or not valid"))
    except ServiceUnavailable as error:
        return _unavailable(error, caller)
    if answer["medications"][0]["status"] != "recognized":
        detail = (
            f"RxCUI {rxcui} is not in this service's knowledge base, so its interactions were NOT "
            "checked. This is not 'no interactions'."
        )
        return _failed(
            problem(
                404,
                "RxCUI not recognised",
                detail,
                "unrecognized-rxcui",
                check_id=answer["check_id"],
                **_drug_failure(f"RxCUI {rxcui} was not recognised"),
            ),
            caller,
        )
    return jsonify(shapes.drug_interactions(answer, rxcui, _term_types([rxcui], answer), sources))


@blueprint.get("/REST/rxcui.json")
def find_rxcui() -> Response:
    """findRxcuiByString over the KB's names: search 0 exact, 1 normalized, 2 exact then normalized."""
    if caller_from_api_key(allow_query_parameter=True) is None:
        return _unauthorized(**_both_failures("the API key is missing or not valid"))
    name = request.args.get("name", "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        return _invalid("name", f"give a name of 1 to {MAX_NAME_LENGTH} characters", None)
    search = request.args.get("search", "0").strip()
    if search not in ("0", "1", "2"):
        return _invalid("search", "must be 0 (exact), 1 (normalized) or 2 (best match)", None)
    try:
        kb = _snapshot()
    except ServiceUnavailable as error:
        return _unavailable(error, None)
    found = () if search == "1" else rxcuis_for_name(name, kb, normalized=False)
    if not found and search != "0":
        found = rxcuis_for_name(name, kb, normalized=True)
    return jsonify(shapes.id_group(name, found))


@blueprint.route("/REST", methods=_ANY_METHOD)
@blueprint.route("/REST/", methods=_ANY_METHOD)
@blueprint.route("/REST/<path:rest>", methods=_ANY_METHOD)
@blueprint.route("/rest/<path:rest>", methods=_ANY_METHOD)
@blueprint.route("/interaction/<path:rest>", methods=_ANY_METHOD)
@blueprint.route("/rxcui.json", methods=_ANY_METHOD)
@blueprint.route("/rxcui/<path:rest>", methods=_ANY_METHOD)
@blueprint.route("/approximateTerm.json", methods=_ANY_METHOD)
@blueprint.route("/drugs.json", methods=_ANY_METHOD)
@blueprint.route("/spellingsuggestions.json", methods=_ANY_METHOD)
@blueprint.route("/Prescribe/<path:rest>", methods=_ANY_METHOD)
def not_served(rest: str = "") -> Response:
    """Any other RxNav URL: a visible CHECK FAILED, never a bare 404 read as "no interactions"."""
    path = request.path[:MAX_PATH_SHOWN]
    under_rest = path.removeprefix("/REST/") if path.startswith("/REST/") else None
    caller = _caller_if_known()
    if under_rest in SERVED:
        response = problem(
            405,
            "Method not allowed",
            f"{path} answers GET only, not {request.method}. Nothing was checked.",
            "method-not-allowed",
            **_both_failures(f"{request.method} is not allowed on {path} (use GET)"),
        )
        response.headers["Allow"] = ALLOWED_METHODS
        return _failed(response, caller)
    served = ", ".join(f"/REST/{p}" for p in SERVED)
    if under_rest is None:
        # A base URL without /REST (or spelt /rest): say which URL was meant.
        hint = (
            f"This service answers RxNav URLs under /REST ({served}): set the RxNav base URL "
            "to end in /REST."
        )
    else:
        hint = f"This service answers {served}."
    return _failed(
        problem(
            404,
            "Not an RxNav URL this service answers",
            f"{path} is not served, so nothing was checked. {hint}",
            "rxnav-not-served",
            **_both_failures(f"{path} is not a URL this service answers. {hint}"),
        ),
        caller,
    )


def _caller_if_known() -> Caller | None:
    """The client behind the key, if any, for its failure status; a failure here is no failure."""
    try:
        return caller_from_api_key(allow_query_parameter=True)
    except ServiceUnavailable:
        return _remembered()


def _remembered() -> Caller | None:
    """The client last seen here with the presented key: for a failure status when the database
    cannot tell (an unconfirmed caller only ever changes the status of a failure)."""
    key = presented_api_key(allow_query_parameter=True)
    return known_key(key) if key is not None else None


def _known_key() -> tuple[ApiKey, Caller] | None:
    """The presented key and the client it names (as last read here, else read now), or None."""
    key = presented_api_key(allow_query_parameter=True)
    caller = known_caller(key) if key is not None else None
    return (ApiKey(key), caller) if key is not None and caller is not None else None


def _check(check_request: CheckRequest, key: ApiKey) -> AnswerDocument:
    return check_and_log(
        database(), snapshots(), check_request, key, channel="rxnav", request_id=request_id()
    )


def _given_twice(*names: str) -> str | None:
    """The first of these one-value parameters the URL repeats: reading only one of its values
    would drop the others without a word (``rxcui=2598&rxcui=7804`` checked 2598 alone)."""
    return next((name for name in names if len(request.args.getlist(name)) > 1), None)


def _invalid_rxcuis(given: Sequence[str]) -> str | None:
    if not given:
        return "give one or more RxCUIs separated by '+' or spaces"
    if len(given) > MAX_RXCUIS:
        return f"give at most {MAX_RXCUIS} RxCUIs (got {len(given)})"
    bad = [v for v in given if not _RXCUI.fullmatch(v)]
    if bad:
        return f"RxCUIs are digits only, not {', '.join(repr(v[:20]) for v in bad[:5])}"
    return None


def _invalid_age(value: str) -> str | None:
    if not _AGE.fullmatch(value.strip()) or int(value) > MAX_PATIENT_AGE:
        return f"give the patient's age in whole years, 0 to {MAX_PATIENT_AGE}"
    return None


def _invalid_indication(value: str) -> str | None:
    text = value.strip()
    if not text or len(text) > MAX_INDICATION_LENGTH or _CONTROL.search(text):
        return f"give the indication as text of 1 to {MAX_INDICATION_LENGTH} printable characters"
    return None


def _list_failure(reason: str) -> dict[str, Any]:
    """Problem extension member for ``list.json`` errors: see ``shapes.failure_group``."""
    return {"fullInteractionTypeGroup": shapes.failure_group(reason)}


def _drug_failure(reason: str) -> dict[str, Any]:
    """The same for ``interaction.json`` errors."""
    return {"interactionTypeGroup": shapes.drug_failure_group(reason)}


def _both_failures(reason: str) -> dict[str, Any]:
    """For a URL whose client we cannot tell: both shapes."""
    return _list_failure(reason) | _drug_failure(reason)


def _failure_for_endpoint(reason: str) -> dict[str, Any]:
    if request.endpoint == "rxnav.interaction_list":
        return _list_failure(reason)
    if request.endpoint == "rxnav.drug_interactions":
        return _drug_failure(reason)
    return _both_failures(reason)


def _failed(response: Response, caller: Caller | None) -> Response:
    """A failure as this client can see it: its own status, or 200 for a client that drops
    non-200 bodies (then not a problem document, whose ``status`` must be the real one)."""
    if caller is None or caller.rxnav_failure_status != 200:
        return response
    body = response.get_json()
    groups = {k: body.pop(k) for k in _FAILURE_GROUPS if k in body}
    # The problem document (with its real status) as a member; the entry where clients look.
    answer = jsonify({"nlmDisclaimer": shapes.NOT_NLM, "checkFailed": body} | groups)
    answer.headers["X-Check-Failed"] = str(body["status"])
    return answer


@blueprint.errorhandler(NulCharacter)
def _nul_character(error: NulCharacter) -> Response:
    return _invalid(error.field, error.message, _caller_if_known())


@blueprint.errorhandler(ServiceUnavailable)
def _database_failed(error: ServiceUnavailable) -> Response:
    """Key checks and KB reads touch the database too (the app maps their failures to
    ``ServiceUnavailable``): a 503, not a 500, in the shape RxNav clients read."""
    return _failed(
        unavailable(error, **_failure_for_endpoint(str(error))),
        _remembered(),
    )


def _snapshot() -> KbSnapshot:
    with database().transaction(read_only=True) as connection:
        return snapshots().get(connection)


def _term_types(rxcuis: Sequence[str], answer: AnswerDocument) -> dict[str, str]:
    """RxNorm term types for the ``tty`` fields, which the logged answer does not carry, from
    the KB version that answered."""
    kb = snapshots().cached(answer["kb_version"]) or _snapshot()
    return {rxcui: tty for rxcui in rxcuis if (tty := rxnorm_tty(rxcui, kb))}


def _invalid(field: str, message: str, caller: Caller | None) -> Response:
    return _failed(
        problem(
            400,
            "Invalid request",
            f"{field}: {message}.",
            "validation-error",
            errors=[{"field": field, "message": message}],
            **_failure_for_endpoint(f"the request is invalid ({field}: {message})"),
        ),
        caller,
    )


def _unauthorized(**extra: Any) -> Response:
    return unauthorized(
        "Send a valid API key as 'Authorization: Bearer <key>' or as the apiKey query parameter.",
        **extra,
    )


def _unavailable(error: ServiceUnavailable, caller: Caller | None) -> Response:
    return _failed(unavailable(error, **_failure_for_endpoint(str(error))), caller)
