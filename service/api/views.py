"""JSON API routes. Thin: parse and validate, call the check, render; no clinical decisions here."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from flask import Response, current_app, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from ..appctx import database, request_id, snapshots
from ..auth import bearer_token, caller_from_api_key, known_caller, presented_api_key
from ..callers import ApiKey, NotAuthenticated, read_key
from ..checking import (
    CheckRequest,
    ServiceUnavailable,
    active_snapshot,
    check_and_log,
    find_check,
    iso_utc,
)
from ..db import kb_store, proofs
from ..domain.answer import AnswerDocument
from ..domain.check import CheckContext, MedicationInput
from ..domain.document import ingredient_refs
from ..domain.knowledge import PATIENT_LANGUAGES, SOURCE_LANGUAGE
from ..domain.severity import Severity
from ..domain.text import to_milligrams
from ..problems import problem, unauthorized, unavailable
from ..sealing import MissingSigningKey, signing_key
from ..staff.access import current_user, has_role
from . import blueprint
from .schemas import CheckRequestBody, MedicationItem
from .validation import field_errors


def _patient_language() -> str:
    """The language the caller prefers for patient texts (``Accept-Language``, quality values
    honoured, ``es-MX`` read as ``es``), among those the knowledge base is written in."""
    return request.accept_languages.best_match(PATIENT_LANGUAGES, default=SOURCE_LANGUAGE)


def _in_language(response: Response, language: str, used: Iterable[str]) -> Response:
    """``Content-Language`` lists the languages the patient texts are really in (an old KB
    version answers in English); the one asked for when there is no patient text at all."""
    response.headers["Content-Language"] = ", ".join(sorted(set(used)) or [language])
    response.vary.add("Accept-Language")
    return response


def _unauthorized() -> Response:
    return unauthorized("Send a valid API key as 'Authorization: Bearer <key>'.")


@blueprint.post("/checks")
def create_check() -> Response | tuple[Response, int]:
    key = presented_api_key()
    if key is None or known_caller(key) is None:  # refused before the body is read
        return _unauthorized()
    if not request.is_json:
        return problem(
            415,
            "Unsupported media type",
            "Send the request as application/json.",
            "unsupported-media-type",
        )
    raw = request.get_data(cache=False)
    if not raw.strip():
        return problem(
            400, "Empty body", "The request has no body; send a JSON object.", "malformed-json"
        )
    try:
        body = json.loads(raw)
    except RecursionError:  # nested deeper than the parser goes: no medication list looks like it
        return problem(
            400, "Malformed JSON", "The body is nested too deeply to be a check.", "malformed-json"
        )
    except (ValueError, UnicodeDecodeError) as error:
        return problem(
            400, "Malformed JSON", f"The body is not valid JSON: {error}", "malformed-json"
        )
    try:
        parsed = CheckRequestBody.model_validate(body)
    except ValidationError as error:
        errors = field_errors(error, body)
        return problem(
            422,
            "Invalid request",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            "validation-error",
            errors=errors,
        )
    language = _patient_language()
    check_request = CheckRequest(
        raw_items=body["medications"],
        items=[_domain_item(item) for item in parsed.medications],
        context=CheckContext(patient_age=parsed.patient.age if parsed.patient else None),
        min_severity=Severity(parsed.min_severity) if parsed.min_severity else None,
        raw_request=body,
    )
    try:
        answer = check_and_log(
            database(),
            snapshots(),
            check_request,
            ApiKey(key),
            channel="api",
            request_id=request_id(),
            language=language,
        )
    except NotAuthenticated:
        return _unauthorized()
    except ServiceUnavailable as error:
        return _unavailable(error)
    response = _answer_in(answer, language)
    response.headers["Location"] = f"/api/v1/checks/{answer['check_id']}"
    return response, 200


def _domain_item(item: str | MedicationItem) -> MedicationInput:
    if isinstance(item, str):
        return MedicationInput(text=item)
    dose = item.daily_dose
    return MedicationInput(
        text=item.text,
        rxcui=item.rxcui,
        daily_dose_mg=to_milligrams(dose.value, dose.unit) if dose else None,
        indication=item.indication,
        route=item.route,
    )


def _answer_in(answer: AnswerDocument, language: str) -> Response:
    return _in_language(
        jsonify(answer), language, (a["patient_text_language"] for a in answer["alerts"])
    )


def _unavailable(error: ServiceUnavailable) -> Response:
    return unavailable(error)


@blueprint.get("/checks/<check_id>")
def get_check(check_id: str) -> Response:
    caller = caller_from_api_key()
    if caller is None:
        return _unauthorized()
    language = _patient_language()
    try:
        answer = find_check(database(), snapshots(), check_id, caller.client_id, language)
    except ServiceUnavailable as error:
        return _unavailable(error)
    if answer is None:
        return problem(404, "Not found", f"No check with id {check_id!r}.", "not-found")
    return _answer_in(answer, language)


@blueprint.get("/checks/<check_id>/proof")
def check_proof(check_id: str) -> Response:
    """The inclusion proof of a check's log entry: for its own client, and for auditors."""
    try:
        proof = _proof_for_the_caller(check_id)
    except _NoCredentials:
        return _unauthorized()
    except _NotShown:
        return problem(404, "Not found", f"No check with id {check_id!r}.", "not-found")
    except proofs.NotSealed:
        response = problem(
            409,
            "Not sealed yet",
            "The check is logged but not yet in a signed checkpoint; ask again in a second.",
            "not-sealed",
        )
        response.headers["Retry-After"] = "1"
        return response
    except proofs.BrokenTree as broken:
        return problem(500, "Log integrity failure", str(broken), "log-integrity")
    except (ServiceUnavailable, SQLAlchemyError):
        return problem(
            503,
            "Service unavailable",
            "The log could not be read; try again.",
            "service-unavailable",
        )
    return jsonify(
        log=proof.log,
        leaf_index=proof.leaf_index,
        tree_size=proof.checkpoint.tree_size,
        leaf=_b64(proof.leaf),
        leaf_hash=_b64(proof.leaf_hash),
        inclusion_proof=[_b64(h) for h in proof.path],
        checkpoint=proof.checkpoint.note,
        verifier_key=_verifier_text(),
    )


class _NoCredentials(Exception):
    """The request carries no API key or auditor credentials at all (401)."""


class _NotShown(Exception):
    """No such check, or not one this caller may see: the two are not told apart (404)."""


def _proof_for_the_caller(check_id: str) -> proofs.InclusionProof:
    """The proof, if the caller is the check's client or an auditor."""
    key = presented_api_key()
    auditor = current_user() if key is None else None
    if key is None and auditor is None:
        raise _NoCredentials if bearer_token() is None else _NotShown
    with database().transaction(read_only=True) as connection:
        caller = read_key(connection, ApiKey(key)) if key is not None else None
        entry = proofs.check_entry(connection, check_id)
        allowed = entry is not None and (
            (caller is not None and entry.client_id == caller.client_id)
            or (auditor is not None and has_role(auditor, "auditor"))
        )
        if entry is None or not allowed:
            raise _NotShown
        return proofs.inclusion(connection, entry)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _verifier_text() -> str | None:
    try:
        return signing_key(current_app.config).verifier_text()
    except MissingSigningKey:
        return None


def _invalid_parameter(field: str, message: str) -> Response:
    return problem(
        422,
        "Invalid request",
        f"{field} {message}.",
        "validation-error",
        errors=[{"field": field, "message": message}],
    )


@blueprint.get("/drugs")
def search_drugs() -> Response:
    query = request.args.get("q", "").strip()
    if not query or len(query) > 100:
        return _invalid_parameter("q", "must be 1 to 100 characters")
    try:
        limit = min(max(int(request.args.get("limit", 20)), 1), 50)
    except ValueError:
        return _invalid_parameter("limit", "must be a number from 1 to 50")
    try:
        kb = active_snapshot(database(), snapshots())
    except ServiceUnavailable as error:
        return _unavailable(error)
    results = [
        {
            "name": c.concept.display,
            "label": c.label,
            "rxcui": c.concept.rxcui,
            "tty": c.concept.tty,
            "ingredients": ingredient_refs(c.concept.ingredients, kb),
        }
        for c in kb.search_names(query, limit)
    ]
    return jsonify(query=query, results=results)


@blueprint.get("/rules")
def list_rules() -> Response:
    try:
        kb = active_snapshot(database(), snapshots())
    except ServiceUnavailable as error:
        return _unavailable(error)
    language = _patient_language()
    rules: list[dict[str, Any]] = []
    for rule in kb.kb.rules:
        criteria = rule.duplication or rule.cumulative or rule.dose_limit
        translated = rule.patient_texts(language)
        patient_text_language = language if translated else SOURCE_LANGUAGE
        patient_text = translated[0] if translated else rule.patient_text
        rules.append(
            {
                "id": rule.id,
                "kind": rule.kind.value,
                "title": rule.title,
                "severity": rule.severity.value,
                "between": [[str(r) for r in side] for side in rule.between]
                if rule.between
                else None,
                "criteria": json.loads(json.dumps(asdict(criteria), default=str))
                if criteria
                else None,
                "summary": rule.summary,
                "effect": rule.effect,
                "mechanism": rule.mechanism,
                "management": rule.management,
                "patient_text": patient_text,
                "patient_text_language": patient_text_language,
                "notes": rule.notes,
                "sources": [
                    {"id": s, "label": kb.sources[s].label, "url": kb.sources[s].url}
                    for s in rule.sources
                ],
            }
        )
    response = jsonify(kb_version=kb.version, rules=rules)
    return _in_language(response, language, (r["patient_text_language"] for r in rules))


@blueprint.get("/kb")
def kb_info() -> Response:
    try:
        with database().unit_of_work(read_only=True) as session:
            version = kb_store.active_version(session)
            if version is None or version.activated_at is None:
                raise ServiceUnavailable("no knowledge base is loaded")
            counts = kb_store.counts(session, version.id)
    except ServiceUnavailable as error:
        return _unavailable(error)
    return jsonify(
        version=version.id,
        activated_at=iso_utc(version.activated_at),
        scope=version.scope,
        counts=counts,
    )
