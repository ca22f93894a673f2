"""The one check every door calls: recognise, check, log in the same transaction, or fail closed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .db import Database, chain, kb_store
from .db.models import AlertLog, LoggedAlert
from .domain.check import CheckContext, CheckResult, MedicationInput, check, recognize
from .domain.document import alert_document, is_shown, medication_document, scope_document
from .domain.severity import Severity
from .domain.snapshot import KbSnapshot


class ServiceUnavailable(Exception):
    """The knowledge base or the alert log cannot be used: the answer must be an error, never "no alerts"."""


class SnapshotCache:
    """Holds the snapshot of the active KB version; rebuilt once when a new version is activated."""

    def __init__(self) -> None:
        self._snapshot: KbSnapshot | None = None
        self._lock = threading.Lock()

    def cached(self, version_id: str) -> KbSnapshot | None:
        """The snapshot of ``version_id`` if it is the one in memory: for rendering a fresh answer."""
        snapshot = self._snapshot
        return snapshot if snapshot is not None and snapshot.version == version_id else None

    def get(self, session: Session) -> KbSnapshot:
        version_id = kb_store.active_version_id(session)
        if version_id is None:
            raise ServiceUnavailable("no knowledge base is loaded")
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version_id:
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or snapshot.version != version_id:
                snapshot = KbSnapshot(version_id, kb_store.load(session, version_id))
                self._snapshot = snapshot
        return snapshot


def active_snapshot(db: Database, snapshots: SnapshotCache) -> KbSnapshot:
    """The active KB for lookups that answer no check (search, rules); fails closed like a check."""
    try:
        with db.unit_of_work(read_only=True) as session:
            return snapshots.get(session)
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the database is unreachable") from error


@dataclass(frozen=True)
class Caller:
    """The authenticated client a door resolved, and the least severity it is to be shown."""

    client_id: str
    min_severity: Severity


@dataclass(frozen=True)
class CheckRequest:
    """A door's parsed request: the items as received (for the log) and as the domain reads them."""

    raw_items: Sequence[Any]
    items: Sequence[MedicationInput]
    context: CheckContext
    min_severity: Severity | None
    raw_request: dict[str, Any]


def run_check(
    db: Database,
    snapshots: SnapshotCache,
    request: CheckRequest,
    *,
    channel: str,
    request_id: str,
    caller: Caller | None = None,
    patient_ref: str | None = None,
) -> dict[str, Any]:
    """Check and log; returns the answer document. Raises ``ServiceUnavailable`` to fail closed."""

    def evaluate(kb: KbSnapshot) -> CheckResult:
        return check(recognize(request.items, kb), kb, request.context)

    return answer_and_log(
        db,
        snapshots,
        evaluate,
        request,
        channel=channel,
        request_id=request_id,
        caller=caller,
        patient_ref=patient_ref,
    )


def answer_and_log(
    db: Database,
    snapshots: SnapshotCache,
    evaluate: Callable[[KbSnapshot], CheckResult],
    request: CheckRequest,
    *,
    channel: str,
    request_id: str,
    caller: Caller | None = None,
    patient_ref: str | None = None,
) -> dict[str, Any]:
    """Evaluate against the active KB and write the log row in the same transaction, or fail closed.

    ``evaluate`` is the domain call (a list check, or a one-drug lookup); everything else is shared.
    """
    floors = [request.min_severity, caller.min_severity if caller else None]
    min_severity = max((s for s in floors if s is not None), default=None)
    try:
        with db.unit_of_work() as session:
            kb = snapshots.get(session)
            result = evaluate(kb)
            alerts = [alert_document(a, kb, is_shown(a, min_severity)) for a in result.alerts]
            for alert in alerts:
                alert["uuid"] = str(uuid.uuid4())
            entry = AlertLog(
                id=str(uuid.uuid4()),
                created_at=datetime.now(UTC),
                channel=channel,
                client_id=caller.client_id if caller else None,
                request_id=request_id,
                kb_version_id=kb.version,
                inputs=request.raw_request,
                medications=[
                    medication_document(m, raw, kb)
                    for m, raw in zip(result.medications, request.raw_items, strict=True)
                ],
                alerts=alerts,
                scope=scope_document(result, kb),
                complete=result.complete,
                highest_severity=result.highest_severity.value if result.highest_severity else None,
                min_severity=min_severity.value if min_severity else None,
                patient_ref=patient_ref,
            )
            chain.append(session, chain.ALERT_LOG, entry)
            session.flush()  # the log row first: its alerts reference it
            session.add_all(
                LoggedAlert(
                    uuid=a["uuid"],
                    alert_log_id=entry.id,
                    alert_id=a["id"],
                    rule_code=a["rule"]["id"],
                    severity=a["severity"],
                    shown=a["shown"],
                )
                for a in alerts
            )
            session.commit()
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the alert log could not be written") from error
    return answer_document(entry)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z; SQLite hands back naive datetimes, which we stored as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def answer_document(entry: AlertLog) -> dict[str, Any]:
    """The answer as the caller received it, rebuilt from its log row (alerts below the minimum hidden)."""
    shown = [{k: v for k, v in a.items() if k != "shown"} for a in entry.alerts if a["shown"]]
    highest = max((Severity(a["severity"]) for a in shown), default=None)
    return {
        "check_id": entry.id,
        "kb_version": entry.kb_version_id,
        "checked_at": iso_utc(entry.created_at),
        "complete": entry.complete,
        "highest_severity": highest.value if highest else None,
        "scope": entry.scope,
        "medications": entry.medications,
        "alerts": shown,
    }


def find_check(db: Database, check_id: str, client_id: str | None) -> dict[str, Any] | None:
    """A logged check, only for the client that asked for it."""
    try:
        with db.unit_of_work(read_only=True) as session:
            entry = session.get(AlertLog, check_id)
            return answer_document(entry) if entry and entry.client_id == client_id else None
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the alert log could not be read") from error
