"""The auditor API (``/api/v1/audit``): the review pages' questions as JSON, for auditors' own tools.

Same filters, sorting and keyset cursors as the pages, as query parameters. Authenticated with an
auditor's session or personal token; pharmacy keys get 403 (``require_api_role``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify, request, url_for

from ..appctx import database
from ..checking import iso_utc
from ..db import events
from ..problems import problem
from ..pseudonyms import patient_ref
from ..staff.access import current_user, require_api_role
from . import api_blueprint, queries, reports, tables
from .filters import (
    CHECK_SORTS,
    EVENT_SORTS,
    FilterError,
    Period,
    Sort,
    parse_cursor,
    parse_event_filters,
    parse_limit,
    parse_sort,
)
from .resolve import read_check_filters
from .views import csv_download, index_the_log, kb_cache

api_blueprint.before_request(index_the_log)


@api_blueprint.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _invalid(error: FilterError) -> Response:
    return problem(
        422,
        "Invalid request",
        str(error),
        "validation-error",
        errors=[{"field": k, "message": v} for k, v in error.errors.items()],
    )


def _cursor_links(
    endpoint: str, params: Mapping[str, str], sort: Sort, limit: int, page: queries.Page[Any]
) -> dict[str, str | None]:
    def link(**cursor: int) -> str:
        values: dict[str, Any] = {**params, "sort": sort.column, "dir": sort.direction, **cursor}
        return url_for(endpoint, **values, limit=limit)

    return {
        "next": link(after=page.next_after) if page.next_after is not None else None,
        "previous": link(before=page.previous_before) if page.previous_before is not None else None,
    }


def _period(period: Period) -> dict[str, str | None]:
    return {
        "from": iso_utc(period.start) if period.start else None,
        "to": iso_utc(period.end) if period.end else None,
    }


@api_blueprint.get("/checks")
@require_api_role("auditor")
def checks() -> Response:
    try:
        filters = read_check_filters(request.args)
        sort, cursor = parse_sort(request.args, CHECK_SORTS), parse_cursor(request.args)
        limit = parse_limit(request.args)
    except FilterError as error:
        return _invalid(error)
    with database().unit_of_work(read_only=True) as session:
        page = queries.list_checks(session, filters, sort, cursor, limit)
        total = queries.count_checks(session, filters)
    items = [
        {
            "seq": r.seq,
            "id": r.id,
            "created_at": iso_utc(r.created_at),
            "channel": r.channel,
            "client_id": r.client_id,
            "client": r.client_name,
            "patient_ref": r.patient_ref,
            "highest_severity": r.highest_severity,
            "alerts": r.alerts,
            "alerts_shown": r.shown,
            "complete": r.complete,
            "kb_version": r.kb_version_id,
            "href": url_for(".check", check_id=r.id),
        }
        for r in page.rows
    ]
    links = _cursor_links(".checks", filters.params, sort, limit, page)
    return jsonify(
        count=total, sort={"by": sort.column, "dir": sort.direction}, items=items, **links
    )


@api_blueprint.get("/checks/<check_id>")
@require_api_role("auditor")
def check(check_id: str) -> Response:
    with database().unit_of_work(read_only=True) as session:
        detail = queries.check_detail(session, check_id, kb_cache())
    if detail is None:
        return problem(404, "Not found", f"No check with id {check_id!r}.", "not-found")
    entry = detail.entry
    version = detail.kb_version
    return jsonify(
        id=entry.id,
        created_at=iso_utc(entry.created_at),
        channel=entry.channel,
        client_id=entry.client_id,
        client=detail.client_name,
        request_id=entry.request_id,
        patient_ref=entry.patient_ref,
        min_severity=entry.min_severity,
        highest_severity=entry.highest_severity,
        complete=entry.complete,
        inputs=entry.inputs,
        medications=entry.medications,
        scope=entry.scope,
        alerts=[
            {
                **a.document,
                "shown": a.shown,
                "feedback": [
                    {
                        "outcome": f.outcome,
                        "override_reason": f.reason,
                        "comment": f.comment,
                        "accepted_suggestions": f.accepted_suggestions,
                        "outcome_at": iso_utc(f.outcome_at),
                        "received_at": iso_utc(f.received_at),
                    }
                    for f in a.feedback
                ],
            }
            for a in detail.alerts
        ],
        kb_version={
            "id": entry.kb_version_id,
            "activated_at": iso_utc(version.activated_at)
            if version and version.activated_at
            else None,
            "scope": version.scope if version else None,
            "rules": len(detail.rules),
            "rules_fired": [
                {
                    "id": r.code,
                    "title": r.title,
                    "kind": r.kind,
                    "severity": r.severity,
                    "between": r.between,
                    "summary": r.summary,
                    "effect": r.effect,
                    "mechanism": r.mechanism,
                    "management": r.management,
                    "sources": [{"label": label, "url": url} for label, url in r.sources],
                }
                for r in detail.fired_rules
            ],
        },
        chain={
            "seq": entry.seq,
            "previous": detail.previous_id,
            "next": detail.next_id,
        },
    )


@api_blueprint.get("/events")
@require_api_role("auditor")
def events_list() -> Response:
    try:
        filters = parse_event_filters(request.args)
        sort, cursor = parse_sort(request.args, EVENT_SORTS), parse_cursor(request.args)
        limit = parse_limit(request.args)
    except FilterError as error:
        return _invalid(error)
    with database().unit_of_work(read_only=True) as session:
        page = queries.list_events(session, filters, sort, cursor, limit)
        total = queries.count_events(session, filters)
    items = [
        {
            "seq": e.seq,
            "created_at": iso_utc(e.created_at),
            "actor": e.actor,
            "actor_name": e.actor_name,
            "action": e.action,
            "target": e.target,
            "outcome": e.outcome,
            "details": e.details,
        }
        for e in page.rows
    ]
    links = _cursor_links(".events_list", filters.params, sort, limit, page)
    return jsonify(
        count=total, sort={"by": sort.column, "dir": sort.direction}, items=items, **links
    )


@api_blueprint.get("/reports/<name>")
@require_api_role("auditor")
def report(name: str) -> Response:
    if name not in reports.REPORTS:
        return _no_report(name)
    try:
        filters = read_check_filters(request.args)
        period = reports.check_report_period(reports.report_period(filters.period))
    except FilterError as error:
        return _invalid(error)
    with database().unit_of_work(read_only=True) as session:
        body = _report_body(session, name, filters)
    return jsonify(report=name, period=_period(period), **body)


def _no_report(name: str) -> Response:
    return problem(
        404,
        "Not found",
        f"No report {name!r}; reports: {', '.join(reports.REPORTS)}.",
        "not-found",
    )


def _report_body(session: Any, name: str, filters: Any) -> dict[str, Any]:
    if name == "alerts-per-day":
        per_day = reports.alerts_per_day(session, filters)
        return {
            "days": [
                {"day": d.isoformat(), **{s: c[i] for s, c in per_day.counts.items()}}
                | {"total": per_day.totals[i]}
                for i, d in enumerate(per_day.days)
            ]
        }
    if name == "top-rules":
        return {
            "rules": [
                {"rule": r.rule, "title": r.title, "alerts": r.alerts, "shown": r.shown}
                for r in reports.top_rules(session, filters)
            ]
        }
    if name in ("override-by-rule", "override-by-client"):
        by_rule = name == "override-by-rule"
        rates = (reports.override_by_rule if by_rule else reports.override_by_client)(
            session, filters
        )
        key, label = ("rule", "title") if by_rule else ("client_id", "client")
        return {
            "rules" if by_rule else "clients": [
                {
                    key: r.key,
                    label: r.label,
                    "responses": r.responses,
                    "accepted": r.accepted,
                    "overridden": r.overridden,
                    "override_rate": round(r.rate, 4),
                }
                for r in rates
            ]
        }
    if name == "override-matrix":
        return {"rules": _matrix_rules(reports.override_matrix(session, filters))}
    if name == "override-reasons":
        return {
            "reasons": [
                {
                    "reason": r.reason,
                    "code": r.code,
                    "times": r.times,
                    "share_of_overrides": round(r.share, 4),
                    "rules": [{"rule": rule, "times": n} for rule, n in r.rules],
                    "clients": [{"client": client, "times": n} for client, n in r.clients],
                }
                for r in reports.override_reasons(session, filters)
            ]
        }
    found = reports.unrecognised_inputs(session, filters)
    return {
        "inputs": [{"input": i.text, "times": i.times} for i in found.inputs],
        "scanned_only_latest": found.scanned_only_latest,
    }


def _cell(cell: reports.OverrideCell) -> dict[str, Any]:
    return {
        "responses": cell.responses,
        "overridden": cell.overridden,
        "override_rate": round(cell.rate, 4),
        "top_reasons": [
            {"reason": r.reason, "code": r.code, "times": r.times} for r in cell.reasons
        ],
    }


def _matrix_rules(matrix: reports.OverrideMatrix) -> list[dict[str, Any]]:
    """Rules, most overridden first, each with its total and one entry per client that answered."""
    return [
        {
            "rule": code,
            "title": title,
            **_cell(matrix.totals[code]),
            "clients": [
                {"client_id": client_id or None, "client": name, **_cell(cell)}
                for client_id, name in matrix.clients
                if (cell := matrix.cells.get((code, client_id))) is not None
            ],
        }
        for code, title in matrix.rules
    ]


@api_blueprint.get("/reports/<name>.csv")
@require_api_role("auditor")
def report_csv(name: str) -> Response:
    """A report's numbers as CSV: the same table the review page offers for download."""
    if name not in reports.REPORTS:
        return _no_report(name)
    try:
        filters = read_check_filters(request.args)
        reports.check_report_period(reports.report_period(filters.period))
    except FilterError as error:
        return _invalid(error)
    with database().unit_of_work(read_only=True) as session:
        text = tables.as_csv(tables.report_table(session, name, filters))
    return csv_download(text, name)


@api_blueprint.post("/patient-refs")
@require_api_role("auditor")
def patient_reference() -> Response:
    """The reference for a patient identifier, sent in a body so it never lands in a URL or a log."""
    body = request.get_json(silent=True)
    identifier = body.get("identifier") if isinstance(body, dict) else None
    if not isinstance(identifier, str) or not 0 < len(identifier.strip()) <= 200:
        return problem(
            422,
            "Invalid request",
            'Send {"identifier": "..."} with 1 to 200 characters.',
            "validation-error",
            errors=[{"field": "identifier", "message": "must be 1 to 200 characters"}],
        )
    reference = patient_ref(identifier)
    user = current_user()
    with database().unit_of_work() as session:
        events.record_event(
            session,
            actor=f"user:{user.name}" if user else "anonymous",
            action="audit.patient_search",
            target=reference,
        )
        session.commit()
    return jsonify(patient_ref=reference, checks=url_for(".checks", patient_ref=reference))
