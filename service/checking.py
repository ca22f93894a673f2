"""The one check every door calls: evaluate, log before answering, or fail closed."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from uuid_utils import uuid7

from . import callers
from .callers import Caller, Credentials
from .db import Database, kb_store, log_append, prepared, transparency
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
from .domain.lookup import known_interactions
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
class CheckRequest:
    """A door's parsed request: the items as received (for the log) and as the domain reads them.

    ``one_drug``: RxNav's ``interaction.json`` asks what its one drug interacts with, not how the
    items interact with each other.
    """

    raw_items: Sequence[Any]
    items: Sequence[MedicationInput]
    context: CheckContext
    min_severity: Severity | None
    raw_request: dict[str, Any]
    one_drug: bool = False

    def evaluate(self, kb: KbSnapshot) -> CheckResult:
        """The domain's answer to this request on ``kb``."""
        recognized = recognize(self.items, kb)
        if self.one_drug:
            return known_interactions(recognized[0], kb)
        return check(recognized, kb, self.context)


# Core statements on the tables, built once: the ORM's bookkeeping was a large share of a check's cost.
_INSERT_LOG = insert(Base.metadata.tables["alert_log"])


class _KbChanged(Exception):
    """Another KB version became active after the check was evaluated on the one in memory."""


ATTEMPTS = 3  # a check evaluated again more often than this meets a KB being reloaded in a loop


def check_and_log(
    db: Database,
    snapshots: SnapshotCache,
    request: CheckRequest,
    credentials: Credentials,
    *,
    channel: str,
    request_id: str,
    patient_ref: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> AnswerDocument:
    """The one check every door calls: evaluate, log in one transaction, answer; or fail closed.

    The request is evaluated outside any transaction, on the KB snapshot in memory. Then one short
    write transaction reads the client ``credentials`` name (none for the web form; raises
    ``NotAuthenticated`` when it is revoked or unknown), confirms that the snapshot's version is
    still the active one, and inserts the log row. The answer is built from that row once it is
    committed; any database failure raises ``ServiceUnavailable``, so no answer leaves without its
    row. A KB activated meanwhile means evaluating again on it. The sealer adds the row to the
    log's tree and the auditors' alert index later, off this path (``service/sealing.py``).
    """
    started = time.perf_counter()
    kb = snapshots.current() or active_snapshot(db, snapshots)
    for _ in range(ATTEMPTS):
        record = _log_entry(request.evaluate(kb), kb, request, channel, request_id, patient_ref)
        try:
            with db.transaction(pipelined=True) as connection:
                # One round trip for the reads, one for the writes and the commit (PostgreSQL).
                asked = callers.Asked(connection, credentials)
                version = kb_store.ask_active_version(connection)
                caller = asked.caller()
                if (row := version.first()) is None or row[0] != kb.version:
                    raise _KbChanged
                entry = _for_caller(record, caller, created_at=datetime.now(UTC))
                seq = log_append.insert_entry(connection, transparency.ALERT_LOG, entry)
                logged: CheckLogRow = {**entry, "seq": seq}
        except _KbChanged:
            kb = active_snapshot(db, snapshots)
            continue
        except SQLAlchemyError as error:
            metrics.record_log_write_failure(channel)
            raise ServiceUnavailable("the alert log could not be written") from error
        metrics.record_check(channel, logged, time.perf_counter() - started)
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


def _log_entry(
    result: CheckResult,
    kb: KbSnapshot,
    request: CheckRequest,
    channel: str,
    request_id: str,
    patient_ref: str | None,
) -> CheckRecord:
    """The log row of an evaluated check, before its caller is confirmed and its time stamped."""
    # Time-ordered ids (UUIDv7): each insert lands on the indexes' last page, not on a random one.
    alerts = [
        alert_record(a, kb, is_shown(a, request.min_severity), str(uuid7())) for a in result.alerts
    ]
    return {
        "id": str(uuid7()),
        "channel": channel,
        "client_id": None,
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
        "min_severity": request.min_severity.value if request.min_severity else None,
        "patient_ref": patient_ref,
    }


class _Stamped(CheckRecord):
    created_at: datetime


def _for_caller(record: CheckRecord, caller: Caller | None, created_at: datetime) -> _Stamped:
    """The row for its confirmed caller: its client, and the stricter of the two minimum severities."""
    stamped: _Stamped = {**record, "created_at": created_at}
    if caller is None:
        return stamped
    stamped["client_id"] = caller.client_id
    asked = Severity(record["min_severity"]) if record["min_severity"] else None
    if asked is not None and asked >= caller.min_severity:
        return stamped
    floor = caller.min_severity
    stamped["min_severity"] = floor.value
    stamped["alerts"] = [
        {**alert, "shown": Severity(alert["severity"]) >= floor} for alert in record["alerts"]
    ]
    return stamped


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
