"""CSV and JSON Lines exports of a filtered view, streamed in constant memory, and always recorded.

Rows come from one query read through a server-side cursor (``yield_per``) and leave as chunks of
about 64 KiB, so a million-row export holds one batch in memory, never the result. Rows go out in log
order (``seq``): a JSON Lines export of checks carries every field a leaf of the transparency log
covers, so an auditor can recompute each entry's leaf hash outside the system (``transparency.leaf_bytes``).

The export is recorded as an ``audit.export`` event once the last row is written (or the download is
abandoned, then with outcome ``failure``), with the format, the filters and the number of rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Select, Text, case, cast, func, literal, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from ..db import Database, events
from ..db.models import AlertLog, ApiClient, AuditEvent, CdsFeedback, LoggedAlert
from .filters import CheckFilters, EventFilters
from .queries import actor_names, count_checks, count_events, event_conditions, filtered_checks
from .reports import reason_label

Format = Literal["csv", "jsonl"]
Log = Literal["checks", "events"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
BATCH = 2_000
CHUNK_CHARS = 64 * 1024

CHECK_CSV_COLUMNS = (
    "seq", "check_id", "created_at", "channel", "client_id", "client", "request_id", "kb_version",
    "patient_ref", "complete", "highest_severity", "min_severity", "alerts", "alerts_shown",
    "rules", "also_matched", "overridden", "accepted", "override_reasons", "feedback", "not_checked",
    "inputs",
)  # fmt: skip
EVENT_CSV_COLUMNS = (
    "seq", "created_at", "actor", "actor_name", "action", "target", "outcome", "details",
)  # fmt: skip
# Spreadsheet programs run cells that start with these as formulas; inputs are typed by the public.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def utc_text(moment: datetime) -> str:
    """The leaves' canonical form of a time, so exported entries hash exactly as sealed ones."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _checks_query(filters: CheckFilters, fmt: Format, dialect: str) -> Select[*tuple[Any, ...]]:
    """The rows to export. JSON documents come back as their stored text, never parsed: a JSON
    Lines export splices them into each line as they are, and a CSV export reads alert counts and
    rules from SQL (``logged_alert``) instead of decoding every ``alerts`` document in Python."""
    documents = (
        [cast(c, Text).label(n) for n, c in _DOCUMENTS.items()]
        if fmt == "jsonl"
        else [
            func.json_array_length(AlertLog.alerts).label("alerts_count"),
            _alerts_of_check(func.sum(case((LoggedAlert.shown.is_(True), 1), else_=0))).label(
                "shown_count"
            ),
            _alerts_of_check(
                (func.string_agg if dialect == "postgresql" else func.group_concat)(
                    LoggedAlert.rule_code, literal(";")
                )
            ).label("rules"),
            cast(AlertLog.alerts, Text).label("alerts"),
            cast(AlertLog.scope, Text).label("scope"),
            cast(AlertLog.inputs, Text).label("inputs"),
        ]
    )
    return filtered_checks(
        filters,
        AlertLog.seq,
        AlertLog.id,
        AlertLog.created_at,
        AlertLog.channel,
        AlertLog.client_id,
        ApiClient.name,
        AlertLog.request_id,
        AlertLog.kb_version_id,
        AlertLog.patient_ref,
        AlertLog.complete,
        AlertLog.highest_severity,
        AlertLog.min_severity,
        *documents,
    ).order_by(AlertLog.seq)


_DOCUMENTS = {
    "inputs": AlertLog.inputs,
    "medications": AlertLog.medications,
    "alerts": AlertLog.alerts,
    "scope": AlertLog.scope,
}


def _alerts_of_check(aggregate: Any) -> Any:
    return (
        select(aggregate)
        # By time too: on PostgreSQL each check's alerts are then read from one month's partition.
        .where(
            LoggedAlert.alert_log_id == AlertLog.id, LoggedAlert.created_at == AlertLog.created_at
        )
        .correlate(AlertLog)
        .scalar_subquery()
    )


def _events_query(filters: EventFilters) -> Select[*tuple[Any, ...]]:
    return (
        select(
            AuditEvent.seq,
            AuditEvent.created_at,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.target,
            AuditEvent.outcome,
            AuditEvent.details,
        )
        .where(*event_conditions(filters))
        .order_by(AuditEvent.seq)
    )


def feedback_by_check(session: Session, check_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """What clinicians did with the alerts of these checks: who, when, what, and why.

    Feedback is not part of the hashed entry (it arrives later); its own security event
    (``cds.feedback.*``) is what makes it tamper-evident.
    """
    if not check_ids:
        return {}
    rows = session.execute(
        select(
            CdsFeedback.alert_log_id,
            LoggedAlert.alert_id,
            LoggedAlert.rule_code,
            CdsFeedback.outcome,
            CdsFeedback.accepted_suggestions,
            CdsFeedback.override_reason,
            CdsFeedback.override_comment,
            CdsFeedback.client_id,
            ApiClient.name,
            CdsFeedback.outcome_at,
            CdsFeedback.received_at,
        )
        .join(LoggedAlert, LoggedAlert.uuid == CdsFeedback.alert_uuid)
        .outerjoin(ApiClient, ApiClient.id == CdsFeedback.client_id)
        .where(CdsFeedback.alert_log_id.in_(check_ids))
        .order_by(CdsFeedback.received_at, CdsFeedback.id)
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r.alert_log_id, []).append(
            {
                "alert": r.alert_id,
                "rule": r.rule_code,
                "outcome": r.outcome,
                "accepted_suggestions": r.accepted_suggestions,
                "override_reason": r.override_reason,
                "comment": r.override_comment,
                "client_id": r.client_id,
                "client": r.name,
                "outcome_at": utc_text(r.outcome_at),
                "received_at": utc_text(r.received_at),
            }
        )
    return found


def check_line(row: Row[Any], feedback: list[dict[str, Any]]) -> str:
    """One check as a JSON Lines record: every field its leaf covers, the client's name, and the
    feedback on its alerts (each alert, in ``alerts``, names its rule and the also-matched ones).

    The four documents are spliced in as stored; ``json.loads`` of the line gives back exactly the
    values ``transparency.leaf_bytes`` covers, so the export can be verified outside the system.
    """
    head = _dumps(
        {
            "seq": row.seq,
            "id": row.id,
            "created_at": utc_text(row.created_at),
            "channel": row.channel,
            "client_id": row.client_id,
            "client": row.name,
            "request_id": row.request_id,
            "kb_version_id": row.kb_version_id,
            "patient_ref": row.patient_ref,
            "complete": row.complete,
            "highest_severity": row.highest_severity,
            "min_severity": row.min_severity,
        }
    )
    documents = "".join(f',"{name}":{getattr(row, name)}' for name in _DOCUMENTS)
    return f'{head[:-1]}{documents},"feedback":{_dumps(feedback)}}}\n'


# Only the ``also_matched`` lists of the alerts document are read: most are empty, and a million
# rows' alert documents decoded whole would cost more than the rest of the row.
_ALSO_MATCHED = re.compile(r'"also_matched"\s*:\s*\[([^\]]*)\]')


def _also_matched(alerts_text: str) -> list[str]:
    lists = [found for found in _ALSO_MATCHED.findall(alerts_text) if found.strip()]
    return sorted({str(rule) for found in lists for rule in json.loads(f"[{found}]")})


def _check_csv(row: Row[Any], feedback: list[dict[str, Any]]) -> list[Any]:
    scope = json.loads(row.scope) if row.scope else {}
    also = _also_matched(row.alerts or "")
    reasons = [
        f"{f['rule']}: {reason_label(f['override_reason'])}"
        for f in feedback
        if f["outcome"] == "overridden"
    ]
    return [
        row.seq,
        row.id,
        utc_text(row.created_at),
        row.channel,
        row.client_id or "",
        row.name or "",
        row.request_id,
        row.kb_version_id,
        row.patient_ref or "",
        "yes" if row.complete else "no",
        row.highest_severity or "",
        row.min_severity or "",
        row.alerts_count or 0,
        row.shown_count or 0,
        ";".join(sorted(set(row.rules.split(";")))) if row.rules else "",
        ";".join(also),
        sum(1 for f in feedback if f["outcome"] == "overridden"),
        sum(1 for f in feedback if f["outcome"] == "accepted"),
        "; ".join(reasons),
        _dumps(feedback) if feedback else "",
        "; ".join(str(x) for x in scope.get("not_checked", [])),
        row.inputs,
    ]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def event_record(row: Row[Any], names: dict[str, str]) -> dict[str, Any]:
    """An event as stored, with the actor's readable name beside the id the hash covers."""
    return {
        "seq": row.seq,
        "created_at": utc_text(row.created_at),
        "actor": row.actor,
        "actor_name": names.get(row.actor, row.actor),
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "details": row.details,
    }


def _event_csv(row: Row[Any], names: dict[str, str]) -> list[Any]:
    record = event_record(row, names)
    record["details"] = _dumps(row.details)
    return list(record.values())


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Export:
    """What to export and who asked: enough to stream it and to record it."""

    log: Log
    format: Format
    filters: CheckFilters | EventFilters
    actor: str

    @property
    def filename(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = "alert-log" if self.log == "checks" else "security-events"
        return f"{name}-{stamp}.{self.format}"

    def query(self, dialect: str) -> Select[*tuple[Any, ...]]:
        if isinstance(self.filters, CheckFilters):
            return _checks_query(self.filters, self.format, dialect)
        return _events_query(self.filters)

    def count(self, session: Session) -> int:
        if isinstance(self.filters, CheckFilters):
            return count_checks(session, self.filters)
        return count_events(session, self.filters)


def stream(
    db: Database, export: Export, progress: Callable[[int], None] | None = None
) -> Iterator[str]:
    """Yield the export in chunks; record it when done. ``progress`` gets the rows of each chunk."""
    rows = 0
    finished = False
    try:
        with db.unit_of_work(read_only=True) as session:
            query = export.query(session.get_bind().dialect.name)
            result = session.execute(query.execution_options(yield_per=BATCH))
            try:
                for chunk, count in _chunks(export, result, session):
                    yield chunk
                    rows += count
                    if progress is not None:
                        progress(count)
            finally:
                result.close()  # a server-side cursor: release it even if the download stops
        finished = True
    finally:
        _record(db, export, rows, finished)


def _chunks(export: Export, result: Any, session: Session) -> Iterator[tuple[str, int]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    checks = export.log == "checks"
    if export.format == "csv":
        writer.writerow(CHECK_CSV_COLUMNS if checks else EVENT_CSV_COLUMNS)
    pending = 0
    for batch in result.partitions():
        # One feedback query per batch of checks, not one per check.
        feedback = feedback_by_check(session, [r.id for r in batch]) if checks else {}
        names = {} if checks else actor_names(session, {r.actor for r in batch})
        for row in batch:
            if export.format == "csv":
                values = (
                    _check_csv(row, feedback.get(row.id, [])) if checks else _event_csv(row, names)
                )
                writer.writerow([safe_cell(v) for v in values])
            elif checks:
                buffer.write(check_line(row, feedback.get(row.id, [])))
            else:
                buffer.write(_dumps(event_record(row, names)) + "\n")
            pending += 1
            if buffer.tell() >= CHUNK_CHARS:
                yield buffer.getvalue(), pending
                buffer.seek(0)
                buffer.truncate()
                pending = 0
    if buffer.tell() or pending:
        yield buffer.getvalue(), pending


def _record(db: Database, export: Export, rows: int, finished: bool) -> None:
    with db.unit_of_work() as session:
        events.record_event(
            session,
            actor=export.actor,
            action="audit.export",
            target="alert_log" if export.log == "checks" else "audit_event",
            outcome="success" if finished else "failure",
            details={
                "format": export.format,
                "filters": dict(export.filters.params),
                "rows": rows,
                "complete": finished,
            },
        )
        session.commit()
