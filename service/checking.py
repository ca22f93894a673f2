"""The one check every door calls: recognise, check, log before answering, or fail closed."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from uuid_utils import uuid7

from .db import Database, kb_store, log_append, logged_alerts, prepared, transparency
from .db.models import AlertLog, Base
from .domain.answer import AnswerDocument, CheckLogRow, CheckRecord
from .domain.check import CheckContext, CheckResult, MedicationInput, check, recognize
from .domain.document import (
    alert_record,
    is_shown,
    medication_document,
    scope_document,
    with_texts,
)
from .domain.knowledge import SOURCE_LANGUAGE
from .domain.severity import Severity
from .domain.snapshot import KbSnapshot
from .observability import metrics


class ServiceUnavailable(Exception):
    """The knowledge base or the alert log cannot be used: the answer must be an error, never "no alerts"."""


OLDER_VERSIONS_KEPT = 4


class SnapshotCache:
    """Holds the snapshot of the active KB version; rebuilt once when a new version is activated."""

    def __init__(self) -> None:
        self._snapshot: KbSnapshot | None = None
        self._older: dict[str, KbSnapshot] = {}
        self._lock = threading.Lock()

    def current(self) -> KbSnapshot | None:
        """The snapshot in memory, if any: a check confirms its version where it writes its log."""
        return self._snapshot

    def cached(self, version_id: str) -> KbSnapshot | None:
        """The snapshot of ``version_id`` if it is the one in memory: for rendering a fresh answer."""
        snapshot = self._snapshot
        return snapshot if snapshot is not None and snapshot.version == version_id else None

    def for_version(self, session: Session, version_id: str) -> KbSnapshot:
        """Any version's snapshot (to re-render old answers); the few most recent stay in memory."""
        cached = self.cached(version_id) or self._older.get(version_id)
        if cached is not None:
            return cached
        snapshot = KbSnapshot(version_id, kb_store.load(session, version_id))
        with self._lock:
            if len(self._older) >= OLDER_VERSIONS_KEPT:
                self._older.pop(next(iter(self._older)))
            self._older[version_id] = snapshot
        return snapshot

    def get(self, connection: Connection) -> KbSnapshot:
        version_id = kb_store.active_version_id(connection)
        if version_id is None:
            raise ServiceUnavailable("no knowledge base is loaded")
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version_id:
            return snapshot
        with self._lock:
            previous = self._snapshot
            snapshot = previous
            if snapshot is None or snapshot.version != version_id:
                with Session(bind=connection) as session:
                    snapshot = KbSnapshot(version_id, kb_store.load(session, version_id))
                self._snapshot = snapshot
                metrics.record_kb_version(previous.version if previous else None, version_id)
                _freeze_long_lived_heap()
        return snapshot


def _freeze_long_lived_heap() -> None:
    """Freeze the heap, the new snapshot in it, out of the garbage collector's full collections.

    The snapshot and the modules loaded before it, ~140,000 objects, live as long as the version;
    walking them paused a worker ~100 ms every few thousand checks. Unfrozen first, so a replaced
    version's cycles are freed.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def active_snapshot(db: Database, snapshots: SnapshotCache) -> KbSnapshot:
    """The active KB for lookups that answer no check (search, rules); fails closed like a check."""
    try:
        with db.transaction(read_only=True) as connection:
            return snapshots.get(connection)
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the database is unreachable") from error


@dataclass(frozen=True)
class Caller:
    """The authenticated client a door resolved, and the least severity it is to be shown.

    ``rxnav_failure_status``: the HTTP status the RxNav door answers this client's failures with
    (200 for clients that drop non-200 bodies), or None for the failure's own status.
    """

    client_id: str
    min_severity: Severity
    rxnav_failure_status: int | None = None


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
    authenticate: Callable[[Connection], Caller | None] | None = None,
    patient_ref: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> AnswerDocument:
    """Check and log; returns the answer document, its patient texts in ``language`` where the
    KB version has them. Raises ``ServiceUnavailable`` to fail closed."""

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
        authenticate=authenticate,
        patient_ref=patient_ref,
        language=language,
    )


# Core statements on the tables, built once: the ORM's bookkeeping was a large share of a check's cost.
_INSERT_LOG = insert(Base.metadata.tables["alert_log"])


class NotAuthenticated(Exception):
    """The credentials a door passed in do not name an active client; nothing was checked."""


class _Changed(Exception):
    """The caller or the active KB version changed since the check was evaluated."""


ATTEMPTS = 3  # a check evaluated again more often than this meets a KB being reloaded in a loop


def answer_and_log(
    db: Database,
    snapshots: SnapshotCache,
    evaluate: Callable[[KbSnapshot], CheckResult],
    request: CheckRequest,
    *,
    channel: str,
    request_id: str,
    caller: Caller | None = None,
    authenticate: Callable[[Connection], Caller | None] | None = None,
    patient_ref: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> AnswerDocument:
    """Evaluate against the active KB and write the log row, or fail closed.

    ``evaluate`` is the domain call (a list check, or a one-drug lookup); everything else is shared.
    The check is evaluated outside any transaction, against the KB snapshot in memory and for the
    door's ``caller``; with ``authenticate``, that caller is only a hint (the one last seen with
    these credentials). The log's write transaction confirms both: ``authenticate`` must name the
    same caller and the snapshot's version must still be the active one, or the transaction rolls
    back and the check is evaluated again on what a read finds. So a check takes one transaction,
    concurrent checks wait for each other's writes, never for each other's evaluation, and every
    answer states the caller and KB version current when it was logged. A read comes first only
    when nothing is known yet. The auditors' index of the alerts follows the log in bulk.
    """
    started = time.perf_counter()
    kb = snapshots.current()
    for _ in range(ATTEMPTS):
        if kb is None or (authenticate is not None and caller is None):
            kb, caller = _read_first(db, snapshots, authenticate, caller)
        entry = _log_entry(evaluate(kb), kb, request, caller, channel, request_id, patient_ref)
        try:
            with db.transaction(pipelined=True) as connection:
                # One round trip for the three reads, one for the writes and the commit.
                version = kb_store.ask_active_version(connection)
                if authenticate is not None and authenticate(connection) != caller:
                    raise _Changed
                if (row := version.first()) is None or row[0] != kb.version:
                    raise _Changed
                created_at = datetime.now(UTC)
                stamped = {**entry, "created_at": created_at}
                seq = log_append.insert_entry(connection, transparency.ALERT_LOG, stamped)
                logged: CheckLogRow = {**entry, "created_at": created_at, "seq": seq}
        except _Changed:
            kb = None
            if authenticate is not None:
                caller = None
            continue
        except SQLAlchemyError as error:
            metrics.record_log_write_failure(channel)
            raise ServiceUnavailable("the alert log could not be written") from error
        metrics.record_check(channel, logged, time.perf_counter() - started)
        logged_alerts.keep_up(db, logged["seq"])
        return answer_document(logged, kb, language)
    raise ServiceUnavailable("the knowledge base kept changing while the check was evaluated")


class _ProbeDone(Exception):
    """Raised inside the probe's transaction so that it rolls back."""


def probe_log_write(db: Database, kb_version: str) -> None:
    """Write an alert-log entry exactly as a check does, then roll it back; fail if it cannot be written.

    Why insert and roll back rather than a dedicated probe table or a permissions query: the
    only proof that a check could be logged is doing what a check's write does — insert an
    ``alert_log`` row (its constraints, its foreign key to the KB version, the database's triggers
    and the role's INSERT grant all apply) — and rolling back leaves nothing. Its ``seq`` is given
    (-1, never committed), not drawn from PostgreSQL's sequence: a drawn number would leave a gap,
    which the alert index waits on. A DELETE afterwards would need a privilege the append-only log
    refuses on purpose. Raises
    ``ServiceUnavailable`` when the write is refused or the database cannot be reached.
    """
    entry: dict[str, Any] = {
        "id": str(uuid7()),
        "channel": "probe",
        "client_id": None,
        "request_id": "readiness-probe",
        "kb_version_id": kb_version,
        "inputs": {},
        "medications": [],
        "alerts": [],
        "scope": {},
        "complete": True,
        "highest_severity": None,
        "min_severity": None,
        "patient_ref": None,
        "seq": -1,
    }
    try:
        with db.transaction() as connection:
            if (
                connection.dialect.name == "postgresql"
            ):  # a stuck writer fails the probe, not hangs it
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            entry["created_at"] = datetime.now(UTC)
            prepared.execute(connection, _INSERT_LOG, [entry])
            raise _ProbeDone
    except _ProbeDone:
        return
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the alert log cannot be written") from error


def _read_first(
    db: Database,
    snapshots: SnapshotCache,
    authenticate: Callable[[Connection], Caller | None] | None,
    caller: Caller | None,
) -> tuple[KbSnapshot, Caller | None]:
    """The active KB's snapshot and the caller, read before evaluating when neither is known."""
    try:
        with db.transaction(read_only=True) as connection:
            if authenticate is not None:
                caller = authenticate(connection)
                if caller is None:
                    raise NotAuthenticated
            return snapshots.get(connection), caller
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the database could not be read") from error


def _log_entry(
    result: CheckResult,
    kb: KbSnapshot,
    request: CheckRequest,
    caller: Caller | None,
    channel: str,
    request_id: str,
    patient_ref: str | None,
) -> CheckRecord:
    """The log row of an evaluated check, all but its time and its place in the chain."""
    floors = [request.min_severity, caller.min_severity if caller else None]
    min_severity = max((s for s in floors if s is not None), default=None)
    # Time-ordered ids (UUIDv7): each insert lands on the indexes' last page, not on a random one.
    alerts = [alert_record(a, kb, is_shown(a, min_severity), str(uuid7())) for a in result.alerts]
    return {
        "id": str(uuid7()),
        "channel": channel,
        "client_id": caller.client_id if caller else None,
        "request_id": request_id,
        "kb_version_id": kb.version,
        "inputs": request.raw_request,
        "medications": [
            medication_document(m, raw, kb)
            for m, raw in zip(result.medications, request.raw_items, strict=True)
        ],
        "alerts": alerts,
        "scope": scope_document(result, kb),
        "complete": result.complete,
        "highest_severity": result.highest_severity.value if result.highest_severity else None,
        "min_severity": min_severity.value if min_severity else None,
        "patient_ref": patient_ref,
    }


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z; SQLite hands back naive datetimes, which we stored as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def answer_document(
    entry: CheckLogRow | AlertLog, kb: KbSnapshot, language: str = SOURCE_LANGUAGE
) -> AnswerDocument:
    """The answer as the caller received it, rebuilt from its log row and its KB version.

    Alerts below the caller's minimum severity stay in the log, hidden from the answer. The log
    is language-neutral (rule ids only), so the same check reads back in any ``language``.
    """
    row = _log_row(entry) if isinstance(entry, AlertLog) else entry
    shown = [with_texts(a, kb, language) for a in row["alerts"] if a["shown"]]
    highest = max((Severity(a["severity"]) for a in shown), default=None)
    return {
        "check_id": row["id"],
        "kb_version": row["kb_version_id"],
        "checked_at": iso_utc(row["created_at"]),
        "complete": row["complete"],
        "highest_severity": highest.value if highest else None,
        "scope": row["scope"],
        "medications": row["medications"],
        "alerts": shown,
        # Hidden is never silent: how many alerts the minimum severity kept out of ``alerts``.
        "min_severity": row["min_severity"],
        "alerts_not_shown": len(row["alerts"]) - len(shown),
    }


def _log_row(row: AlertLog) -> CheckLogRow:
    """The log row read back as the document it was written from."""
    return {
        "id": row.id,
        "channel": row.channel,
        "client_id": row.client_id,
        "request_id": row.request_id,
        "kb_version_id": row.kb_version_id,
        "inputs": row.inputs,
        "medications": row.medications,
        "alerts": row.alerts,
        "scope": row.scope,
        "complete": row.complete,
        "highest_severity": row.highest_severity,
        "min_severity": row.min_severity,
        "patient_ref": row.patient_ref,
        "created_at": row.created_at,
        "seq": row.seq,
    }


def find_check(
    db: Database,
    snapshots: SnapshotCache,
    check_id: str,
    client_id: str | None,
    language: str = SOURCE_LANGUAGE,
) -> AnswerDocument | None:
    """A logged check, only for the client that asked for it."""
    try:
        with db.unit_of_work(read_only=True) as session:
            entry = session.get(AlertLog, check_id)
            if entry is None or entry.client_id != client_id:
                return None
            kb = snapshots.for_version(session, entry.kb_version_id)
            return answer_document(entry, kb, language)
    except SQLAlchemyError as error:
        raise ServiceUnavailable("the alert log could not be read") from error
