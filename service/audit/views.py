"""The review pages. Thin: parse the filters, one query module call, render; SQL lives in queries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from ..appctx import database
from ..checking import iso_utc
from ..db import events, logged_alerts, proofs
from ..domain import knowledge
from ..pseudonyms import patient_ref
from ..staff.access import current_user, require_page_role
from ..staff.security import protect_form_posts, staff_page_headers
from . import blueprint, charts, queries, reports, tables
from .export import FORMATS, MEDIA_TYPES, Export, stream
from .filters import (
    CHANNELS,
    CHECK_FILTER_NAMES,
    CHECK_SORTS,
    EVENT_OUTCOMES,
    EVENT_SORTS,
    OUTCOMES,
    PAGE_SIZE,
    SEVERITIES,
    CheckFilters,
    EventFilters,
    FilterError,
    Sort,
    parse_cursor,
    parse_event_filters,
    parse_sort,
)
from .resolve import read_check_filters

# Text columns read best A→Z; times, numbers and severities most-recent or worst first.
DESCENDING_FIRST = {"time", "seq", "severity", "alerts"}
OUTCOME_LABELS = {
    "accepted": "Accepted",
    "overridden": "Overridden",
    "none": "No response to a shown alert",
}
SORT_LABELS = {
    "seq": "log position",
    "time": "time",
    "channel": "channel",
    "client": "client",
    "patient": "patient reference",
    "severity": "highest severity",
    "alerts": "number of alerts",
    "complete": "all recognised",
    "kb_version": "knowledge-base version",
    "actor": "actor",
    "action": "action",
    "target": "target",
    "outcome": "outcome",
}
DEFAULT_REPORT = "alerts-per-day"
_kb_cache_lock = threading.Lock()


@blueprint.app_template_filter("audit_iso")
def _iso(moment: datetime) -> str:
    return iso_utc(moment)


@blueprint.app_template_filter("audit_time")
def _time_text(moment: datetime) -> str:
    """Readable UTC, to the second: "2026-01-31 14:05:09"."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


# The staff pages' rules: strict headers and no caching; every POST carries its CSRF token.
def index_the_log() -> None:
    """Every alert logged so far is in the auditors' index before a signed-in user's request reads it."""
    if current_user() is not None:
        logged_alerts.catch_up(database())


blueprint.before_request(protect_form_posts)
blueprint.before_request(index_the_log)
blueprint.after_request(staff_page_headers)


def _actor() -> str:
    user = current_user()
    return f"user:{user.name}" if user else "anonymous"


def _links(endpoint: str, params: Mapping[str, str], sort: Sort) -> dict[str, Callable[..., str]]:
    """URL builders that keep the filters: for sorting, paging and the export links."""

    def page(**cursor: int | None) -> str:
        values: dict[str, Any] = {**params, "sort": sort.column, "dir": sort.direction}
        values.update({k: v for k, v in cursor.items() if v is not None})
        return url_for(endpoint, **values)

    def sort_by(column: str) -> str:
        if column == sort.column:
            direction = "asc" if sort.descending else "desc"
        else:
            direction = "desc" if column in DESCENDING_FIRST else "asc"
        values: dict[str, Any] = {**params, "sort": column, "dir": direction}
        return url_for(endpoint, **values)

    def export(fmt: str) -> str:
        target = "audit.export_checks" if endpoint == "audit.checks" else "audit.export_events"
        values: dict[str, Any] = {**params, "fmt": fmt}
        return url_for(target, **values)

    return {"page_link": page, "sort_link": sort_by, "export_link": export}


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    with database().unit_of_work(read_only=True) as session:
        verification = queries.last_verification(session)
    html = render_template(template, verification=verification, **context)
    return html, status


def _form_choices() -> dict[str, Any]:
    with database().unit_of_work(read_only=True) as session:
        clients = queries.client_choices(session)
        rules = queries.rule_choices(session)
    return {
        "channel_options": [(c, c) for c in CHANNELS],
        "severity_options": [(s, s) for s in SEVERITIES],
        "outcome_options": [(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        "clients": clients,
        "rules_options": [(code, f"{code} {title}") for code, title in rules],
        "sort_labels": SORT_LABELS,
    }


def kb_cache() -> dict[str, knowledge.KnowledgeBase]:
    """Rebuilt knowledge-base versions of this app; a version id is its content hash, so never stale."""
    with _kb_cache_lock:
        cache: dict[str, knowledge.KnowledgeBase] = current_app.extensions.setdefault(
            "audit_kb_versions", {}
        )
    return cache


@blueprint.get("/")
@require_page_role("auditor")
def index() -> ResponseReturnValue:
    return redirect(url_for(".checks"))


@blueprint.get("/checks")
@require_page_role("auditor")
def checks() -> ResponseReturnValue:
    return _checks_page(request.args)


def _checks_page(
    args: Mapping[str, str], extra_errors: dict[str, str] | None = None
) -> tuple[str, int]:
    errors: dict[str, str] = dict(extra_errors or {})
    try:
        filters = read_check_filters(args)
    except FilterError as error:
        errors.update(error.errors)
        filters = CheckFilters(params={k: v for k, v in args.items() if k in CHECK_FILTER_NAMES})
    try:
        sort, cursor = parse_sort(args, CHECK_SORTS), parse_cursor(args)
    except FilterError as error:
        errors.update(error.errors)
        sort, cursor = parse_sort({}, CHECK_SORTS), parse_cursor({})
    context: dict[str, Any] = {
        "filters": filters,
        "sort": sort,
        "errors": errors,
        "section": "checks",
        **_form_choices(),
        **_links("audit.checks", filters.params, sort),
    }
    if errors:
        return _render("audit/checks.html", 400, page=None, total=None, **context)
    with database().unit_of_work(read_only=True) as session:
        page = queries.list_checks(session, filters, sort, cursor, PAGE_SIZE)
        total = queries.count_checks(session, filters)
    return _render("audit/checks.html", page=page, total=total, **context)


@blueprint.post("/checks/patient")
@require_page_role("auditor")
def find_patient() -> ResponseReturnValue:
    """Hash the identifier and list that patient's checks; the identifier never enters a URL."""
    kept = MultiDict(
        {k: v for k, v in request.form.items() if k in CHECK_FILTER_NAMES and k != "patient_ref"}
    )
    identifier = request.form.get("patient", "").strip()
    if not identifier or len(identifier) > 200:
        return _checks_page(
            kept, {"patient": "Enter the patient identifier (1 to 200 characters)."}
        )
    reference = patient_ref(identifier)
    with database().unit_of_work() as session:
        # Looking a person up is itself an access to their data (ASTM E2147 "query"): record it.
        events.record_event(
            session, actor=_actor(), action="audit.patient_search", target=reference
        )
        session.commit()
    values: dict[str, Any] = {**kept.to_dict(), "patient_ref": reference}
    return redirect(url_for(".checks", **values))


@blueprint.get("/checks/<check_id>")
@require_page_role("auditor")
def check(check_id: str) -> ResponseReturnValue:
    with database().unit_of_work(read_only=True) as session:
        detail = queries.check_detail(session, check_id, kb_cache())
        seal = proofs.seal_of(session.connection(), detail.entry.seq) if detail else None
    if detail is None:
        abort(404)
    age = (datetime.now(UTC) - _aware(detail.entry.created_at)).total_seconds()
    return _render(
        "audit/check.html",
        detail=detail,
        seal=seal,
        unsealed_age=age,
        overdue=age > current_app.config["UNSEALED_MAX_AGE"],
        section="checks",
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@blueprint.get("/events")
@require_page_role("auditor")
def events_page() -> ResponseReturnValue:
    args = request.args
    errors: dict[str, str] = {}
    try:
        filters = parse_event_filters(args)
    except FilterError as error:
        errors.update(error.errors)
        filters = EventFilters(params={k: v for k, v in args.items() if k in ("from", "to")})
    try:
        sort, cursor = parse_sort(args, EVENT_SORTS), parse_cursor(args)
    except FilterError as error:
        errors.update(error.errors)
        sort, cursor = parse_sort({}, EVENT_SORTS), parse_cursor({})
    context: dict[str, Any] = {
        "filters": filters,
        "sort": sort,
        "errors": errors,
        "section": "events",
        "outcome_options": [(o, o) for o in EVENT_OUTCOMES],
        "sort_labels": SORT_LABELS,
        **_links("audit.events_page", filters.params, sort),
    }
    if errors:
        return _render("audit/events.html", 400, page=None, total=None, **context)
    with database().unit_of_work(read_only=True) as session:
        page = queries.list_events(session, filters, sort, cursor, PAGE_SIZE)
        total = queries.count_events(session, filters)
    return _render("audit/events.html", page=page, total=total, **context)


@blueprint.get("/reports")
@require_page_role("auditor")
def reports_page() -> ResponseReturnValue:
    """One report per page view (``?report=``): each view runs one report's query, not all five."""
    name = request.args.get("report", DEFAULT_REPORT)
    if name not in reports.REPORTS:
        abort(404)
    context: dict[str, Any] = {
        "report": name,
        "report_titles": reports.REPORTS,
        "section": "reports",
        **_form_choices(),
    }
    try:
        filters = read_check_filters(request.args)
        period = reports.check_report_period(reports.report_period(filters.period))
    except FilterError as error:
        return _render(
            "audit/reports.html",
            400,
            errors=error.errors,
            filters=CheckFilters(
                params={k: v for k, v in request.args.items() if k in CHECK_FILTER_NAMES}
            ),
            result=None,
            **context,
        )
    with database().unit_of_work(read_only=True) as session:
        result, chart = _run_report(session, name, filters)
    return _render(
        "audit/reports.html",
        errors={},
        filters=filters,
        period=period,
        result=result,
        chart=chart,
        # Links from a report to the checks it counts carry the report's (possibly default) period.
        link_params={
            **filters.params,
            "from": iso_utc(period.start) if period.start else "",
            "to": iso_utc(period.end) if period.end else "",
        },
        **context,
    )


def _run_report(session: Session, name: str, filters: CheckFilters) -> tuple[object, Markup]:
    """The named report's numbers and its chart."""
    if name == "alerts-per-day":
        per_day = reports.alerts_per_day(session, filters)
        return per_day, charts.per_day_chart(per_day)
    if name == "top-rules":
        rules = reports.top_rules(session, filters)
        return rules, charts.top_rules_chart(rules)
    if name == "override-by-rule":
        rates = reports.override_by_rule(session, filters)
        return rates, charts.override_chart(name, rates)
    if name == "override-by-client":
        rates = reports.override_by_client(session, filters)
        return rates, charts.override_chart(name, rates)
    # The rule × client table and the reasons are read as tables; a chart would repeat them.
    if name == "override-matrix":
        return reports.override_matrix(session, filters), Markup("")
    if name == "override-reasons":
        return reports.override_reasons(session, filters), Markup("")
    unrecognised = reports.unrecognised_inputs(session, filters)
    return unrecognised, charts.unrecognised_chart(unrecognised)


@blueprint.get("/reports/<name>.csv")
@require_page_role("auditor")
def report_csv(name: str) -> ResponseReturnValue:
    """A report's numbers as a CSV download, for the same filters and period as the page."""
    if name not in reports.REPORTS:
        abort(404)
    try:
        filters = read_check_filters(request.args)
        reports.check_report_period(reports.report_period(filters.period))
    except FilterError:
        abort(400)
    with database().unit_of_work(read_only=True) as session:
        text = tables.as_csv(tables.report_table(session, name, filters))
    return csv_download(text, name)


def csv_download(text: str, name: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response = Response(text, content_type=MEDIA_TYPES["csv"])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


def _download(export: Export) -> Response:
    """A streamed response: the generator reads the log batch by batch while the client downloads."""
    response = Response(stream(database(), export), content_type=MEDIA_TYPES[export.format])
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@blueprint.get("/export.<fmt>")
@require_page_role("auditor")
def export_checks(fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    try:
        filters = read_check_filters(request.args)
    except FilterError:
        abort(400)
    return _download(Export("checks", "csv" if fmt == "csv" else "jsonl", filters, _actor()))


@blueprint.get("/events/export.<fmt>")
@require_page_role("auditor")
def export_events(fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    try:
        filters = parse_event_filters(request.args)
    except FilterError:
        abort(400)
    return _download(Export("events", "csv" if fmt == "csv" else "jsonl", filters, _actor()))
