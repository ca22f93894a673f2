"""CSV and JSON Lines exports of a filtered view, streamed in constant memory, and always recorded.

Rows come from one query read through a server-side cursor (``yield_per``) and leave as chunks of
about 64 KiB, so a million-row export holds one batch in memory, never the result. Rows go out in log
order (``seq``): a JSON Lines export of checks carries every hashed field with its chain hashes, so an
auditor can re-verify the exported part of the chain outside the system with ``chain.entry_hash``.

The export is recorded as an ``audit.export`` event once the last row is written (or the download is
abandoned, then with outcome ``failure``), with the format, the filters and the number of rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Select, Text, case, cast, func, literal, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from ..db import Database, events
from ..db.models import AlertLog, ApiClient, AuditEvent, LoggedAlert
from .filters import CheckFilters, EventFilters
from .queries import count_checks, count_events, event_conditions, filtered_checks

Format = Literal["csv", "jsonl"]
Log = Literal["checks", "events"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
BATCH = 2_000
CHUNK_CHARS = 64 * 1024

CHECK_CSV_COLUMNS = (
    "seq", "check_id", "created_at", "channel", "client_id", "client", "request_id", "kb_version",
    "patient_ref", "complete", "highest_severity", "min_severity", "alerts", "alerts_shown",
    "rules", "not_checked", "inputs", "prev_hash", "row_hash",
)  # fmt: skip
EVENT_CSV_COLUMNS = (
    "seq", "created_at", "actor", "action", "target", "outcome", "details", "prev_hash", "row_hash",
)  # fmt: skip
# Spreadsheet programs run cells that start with these as formulas; inputs are typed by the public.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def utc_text(moment: datetime) -> str:
    """The chain's canonical form of a time, so exported entries hash exactly as stored ones."""
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
        AlertLog.prev_hash,
        AlertLog.row_hash,
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
        .where(LoggedAlert.alert_log_id == AlertLog.id)
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
            AuditEvent.prev_hash,
            AuditEvent.row_hash,
        )
        .where(*event_conditions(filters))
        .order_by(AuditEvent.seq)
    )


def check_line(row: Row[Any]) -> str:
    """One check as a JSON Lines record: every hashed field, the client's name and the hashes.

    The four documents are spliced in as stored; ``json.loads`` of the line gives back exactly the
    values ``chain.entry_hash`` covers, so the export can be verified outside the system.
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
    return f'{head[:-1]}{documents},"prev_hash":"{row.prev_hash}","row_hash":"{row.row_hash}"}}\n'


def _check_csv(row: Row[Any]) -> list[Any]:
    scope = json.loads(row.scope) if row.scope else {}
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
        "; ".join(str(x) for x in scope.get("not_checked", [])),
        row.inputs,
        row.prev_hash,
        row.row_hash,
    ]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def event_record(row: Row[Any]) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "created_at": utc_text(row.created_at),
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "details": row.details,
        "prev_hash": row.prev_hash,
        "row_hash": row.row_hash,
    }


def _event_csv(row: Row[Any]) -> list[Any]:
    record = event_record(row)
    record["details"] = _dumps(row.details)
    return list(record.values())


def _safe_cell(value: Any) -> Any:
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
                for chunk, count in _chunks(export, result):
                    yield chunk
                    rows += count
                    if progress is not None:
                        progress(count)
            finally:
                result.close()  # a server-side cursor: release it even if the download stops
        finished = True
    finally:
        _record(db, export, rows, finished)


def _chunks(export: Export, result: Any) -> Iterator[tuple[str, int]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    checks = export.log == "checks"
    if export.format == "csv":
        writer.writerow(CHECK_CSV_COLUMNS if checks else EVENT_CSV_COLUMNS)
    pending = 0
    for row in result:
        if export.format == "csv":
            writer.writerow(
                [_safe_cell(v) for v in (_check_csv(row) if checks else _event_csv(row))]
            )
        elif checks:
            buffer.write(check_line(row))
        else:
            buffer.write(_dumps(event_record(row)) + "\n")
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
