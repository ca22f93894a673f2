"""The auditor's questions as SQL: filtered, sorted, keyset-paginated lists, counts and one check.

Pages, the API, exports and reports all narrow the log with ``check_conditions`` and
``event_conditions``, so a filter means the same rows everywhere. Lists page by keyset (the sort key
and ``seq`` of the last row shown), never by OFFSET: page 1,000 of a million rows costs what page 1
costs, and rows written while an auditor pages cannot shift or repeat what they see.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from ..db import kb_store
from ..db.models import (
    SEVERITY_RANK,
    AlertLog,
    ApiClient,
    AuditEvent,
    CdsFeedback,
    KbVersion,
    LoggedAlert,
    Rule,
)
from ..domain import knowledge
from ..domain.answer import AlertRecord
from .filters import CheckFilters, Cursor, EventFilters, Period, Sort

T = TypeVar("T")
KB_CACHE_SIZE = 8
CLIENT_ACTOR = "client:"  # how the log names an API client that acted: by its id


def severity_rank(column: Any) -> ColumnElement[int]:
    """Severities sort by meaning (minor < … < contraindicated), not alphabetically; none is 0.

    Written with literals, not parameters, so that PostgreSQL matches it to the index on the same
    expression (``ix_alert_log_severity_rank_seq``) even in a prepared statement's generic plan.
    """
    ranks: dict[Any, Any] = {
        literal_column(f"'{name}'"): literal_column(str(r)) for name, r in SEVERITY_RANK.items()
    }
    return case(ranks, value=column, else_=literal_column("0"))


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%+{escaped}+%"


def _period_conditions(column: Any, period: Period) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if period.start is not None:
        conditions.append(column >= period.start)
    if period.end is not None:
        conditions.append(column < period.end)
    return conditions


def _alert_of_check() -> ColumnElement[bool]:
    """An alert joined to its check by id and by time: the same rows, but on PostgreSQL, where
    both tables are partitioned by month, the time lets each probe read one month's partition."""
    return and_(
        LoggedAlert.alert_log_id == AlertLog.id, LoggedAlert.created_at == AlertLog.created_at
    )


def check_conditions(filters: CheckFilters) -> list[ColumnElement[bool]]:
    """The WHERE clause of a filtered view of ``alert_log``; the same for lists, exports, reports."""
    f = filters
    conditions = _period_conditions(AlertLog.created_at, f.period)
    # An alert carries its check's time: the same period on the alerts lets the database read one
    # period's alerts (by index) to answer an alert-level filter, not every alert of the log.
    alert_period = _period_conditions(LoggedAlert.created_at, f.period)

    def _has_alert(*where: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(_alert_of_check(), *alert_period, *where)

    if f.channel:
        conditions.append(AlertLog.channel == f.channel)
    if f.client:
        ids = select(ApiClient.id).where(or_(ApiClient.id == f.client, ApiClient.name == f.client))
        conditions.append(AlertLog.client_id.in_(ids))
    if f.severity:
        conditions.append(AlertLog.highest_severity == f.severity)
    if f.alert_severity:
        conditions.append(_has_alert(LoggedAlert.severity == f.alert_severity))
    if f.rule:
        conditions.append(_has_alert(LoggedAlert.rule_code == f.rule))
    if f.ingredients:
        # Alert ids read "R1:clonazepam+oxycodone": as "+R1+clonazepam+oxycodone+" every ingredient
        # sits between two "+", so one LIKE matches whole names only, on every backend.
        # The plain substring test goes first: it rejects most alerts without building a string.
        tokens = literal("+") + func.replace(LoggedAlert.alert_id, ":", "+") + literal("+")
        any_named = or_(
            *(
                and_(
                    LoggedAlert.alert_id.contains(name, autoescape=True),
                    tokens.like(_like_pattern(name), escape="\\"),
                )
                for name in f.ingredients
            )
        )
        conditions.append(_has_alert(any_named))
    if f.outcome in ("accepted", "overridden"):
        # Feedback carries its check's id and time: one period of one outcome, read from its index.
        answered = select(CdsFeedback.alert_log_id).where(
            CdsFeedback.outcome == f.outcome,
            *_period_conditions(CdsFeedback.check_created_at, f.period),
        )
        if f.rule:
            # With a rule, the answer is to that rule's alert: "R1, overridden" lists the checks
            # whose R1 alert was overridden, the ones the override reports count for R1.
            answered = answered.join(LoggedAlert, LoggedAlert.uuid == CdsFeedback.alert_uuid).where(
                LoggedAlert.rule_code == f.rule
            )
        conditions.append(AlertLog.id.in_(answered))
    elif f.outcome == "none":
        # An alert the clinician saw and nobody answered; checks without alerts have nothing to answer.
        conditions.append(
            and_(
                _has_alert(LoggedAlert.shown.is_(True)),
                ~exists().where(
                    CdsFeedback.alert_log_id == AlertLog.id,
                    *_period_conditions(CdsFeedback.check_created_at, f.period),
                ),
            )
        )
    if f.patient_ref:
        conditions.append(AlertLog.patient_ref == f.patient_ref)
    return conditions


def alert_conditions(filters: CheckFilters) -> list[ColumnElement[bool]]:
    """The alerts (``logged_alert`` rows) of the checks ``filters`` selects, for the reports.

    A period alone is answered from the alerts' own times; only other filters bring in the checks.
    """
    conditions = _period_conditions(LoggedAlert.created_at, filters.period)
    if replace(filters, period=Period()) != CheckFilters():
        checks = select(AlertLog.id).where(*check_conditions(filters))
        conditions.append(LoggedAlert.alert_log_id.in_(checks))
    return conditions


def feedback_conditions(filters: CheckFilters) -> list[ColumnElement[bool]]:
    """The feedback (``cds_feedback`` rows) on the checks ``filters`` selects, for the reports.

    Feedback carries its check's time: a period alone is answered from the feedback itself.
    """
    conditions = _period_conditions(CdsFeedback.check_created_at, filters.period)
    if replace(filters, period=Period()) != CheckFilters():
        checks = select(AlertLog.id).where(*check_conditions(filters))
        conditions.append(CdsFeedback.alert_log_id.in_(checks))
    return conditions


def event_conditions(filters: EventFilters) -> list[ColumnElement[bool]]:
    f = filters
    conditions = _period_conditions(AuditEvent.created_at, f.period)
    if f.actor:
        escaped = f.actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped.lower()}%"
        # A client acts as "client:<id>"; the auditor types its name, as the list shows it.
        named_clients = select(literal(CLIENT_ACTOR) + ApiClient.id).where(
            func.lower(ApiClient.name).like(pattern, escape="\\")
        )
        conditions.append(
            or_(
                func.lower(AuditEvent.actor).like(pattern, escape="\\"),
                AuditEvent.actor.in_(named_clients),
            )
        )
    if f.action:
        family = f.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(
            or_(AuditEvent.action == f.action, AuditEvent.action.like(f"{family}.%", escape="\\"))
        )
    if f.target:
        conditions.append(AuditEvent.target == f.target)
    if f.outcome:
        conditions.append(AuditEvent.outcome == f.outcome)
    return conditions


# ---- keyset pagination ------------------------------------------------------------------------


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_after`` / ``previous_before`` are the cursors of the links."""

    rows: list[T]
    next_after: int | None
    previous_before: int | None


def _keyset(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    key: ColumnElement[Any],
    seq: ColumnElement[int],
    sort: Sort,
    cursor: Cursor,
    limit: int,
) -> tuple[Sequence[Row[Any]], int | None, int | None]:
    """Rows of ``stmt`` ordered by (key, seq), starting after / ending before the cursor's row."""
    backwards = cursor.before is not None
    anchor = cursor.before if backwards else cursor.after
    descending = (
        sort.descending != backwards
    )  # walking back to the previous page reverses the order
    same = key is seq
    if anchor is not None:
        found = session.execute(stmt.with_only_columns(key).where(seq == anchor)).first()
        if found is None:
            anchor = None  # the row left this view (filters changed): start from the top
        else:
            value = found[0]
            # Written out rather than as a row comparison so a single-column index on the key serves.
            if same:
                stmt = stmt.where(seq < anchor if descending else seq > anchor)
            elif descending:
                stmt = stmt.where(key <= value, or_(key < value, seq < anchor))
            else:
                stmt = stmt.where(key >= value, or_(key > value, seq > anchor))
    order = [key.desc() if descending else key.asc()]
    if not same:
        order.append(seq.desc() if descending else seq.asc())
    rows = list(session.execute(stmt.order_by(*order).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    if not rows:
        return rows, None, None
    next_after = rows[-1].seq if (more or backwards) else None
    previous_before = rows[0].seq if anchor is not None and (more or not backwards) else None
    return rows, next_after, previous_before


# ---- checks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRow:
    seq: int
    id: str
    created_at: datetime
    channel: str
    client_id: str | None
    client_name: str | None
    patient_ref: str | None
    highest_severity: str | None
    complete: bool
    kb_version_id: str
    alerts: int
    shown: int


def check_sort_key(column: str, *, within_period: bool = False) -> ColumnElement[Any]:
    """The SQL each sortable column orders by; NULLs are folded so keyset comparisons stay total.

    Channel and severity have indexes in (key, seq) order, to sort the whole log. Within a period
    they are a trap: PostgreSQL walks one expecting the period's checks to turn up soon, and reads
    most of the log when the period is long past. There the key is written so that no index
    matches it (``|| ''``, ``+ 0``): the period's checks are found by time, then sorted.
    """
    channel: Any = AlertLog.channel
    severity = severity_rank(AlertLog.highest_severity)
    if within_period:
        channel, severity = channel.concat(literal_column("''")), severity + literal_column("0")
    keys: dict[str, Any] = {
        "time": AlertLog.created_at,
        "seq": AlertLog.seq,
        "channel": channel,
        "client": func.coalesce(ApiClient.name, ""),
        "patient": func.coalesce(AlertLog.patient_ref, ""),
        "severity": severity,
        "alerts": func.json_array_length(AlertLog.alerts),
        "complete": case((AlertLog.complete.is_(True), 1), else_=0),
        "kb_version": AlertLog.kb_version_id,
    }
    key: ColumnElement[Any] = keys[column]
    return key


def filtered_checks(filters: CheckFilters, *columns: Any) -> Select[*tuple[Any, ...]]:
    """``columns`` of the checks ``filters`` selects, with their client's row joined (lists, exports)."""
    return (
        select(*columns)
        .select_from(AlertLog)
        .outerjoin(ApiClient, ApiClient.id == AlertLog.client_id)
        .where(*check_conditions(filters))
    )


def _checks_select(filters: CheckFilters) -> Select[*tuple[Any, ...]]:
    return filtered_checks(
        filters,
        AlertLog.seq,
        AlertLog.id,
        AlertLog.created_at,
        AlertLog.channel,
        AlertLog.client_id,
        ApiClient.name.label("client_name"),
        AlertLog.patient_ref,
        AlertLog.highest_severity,
        AlertLog.complete,
        AlertLog.kb_version_id,
    )


def list_checks(
    session: Session, filters: CheckFilters, sort: Sort, cursor: Cursor, limit: int
) -> Page[CheckRow]:
    """One page of the filtered check list, with each row's alert counts."""
    seq: ColumnElement[int] = AlertLog.seq  # type: ignore[assignment]
    within_period = filters.period != Period()
    key = seq if sort.column == "seq" else check_sort_key(sort.column, within_period=within_period)
    rows, next_after, previous_before = _keyset(
        session, _checks_select(filters), key, seq, sort, cursor, limit
    )
    counts = _alert_counts(session, [r.id for r in rows])
    checks = []
    for r in rows:
        alerts, shown = counts.get(r.id, (0, 0))
        checks.append(
            CheckRow(
                seq=r.seq,
                id=r.id,
                created_at=r.created_at,
                channel=r.channel,
                client_id=r.client_id,
                client_name=r.client_name,
                patient_ref=r.patient_ref,
                highest_severity=r.highest_severity,
                complete=r.complete,
                kb_version_id=r.kb_version_id,
                alerts=alerts,
                shown=shown,
            )
        )
    return Page(checks, next_after, previous_before)


def _alert_counts(session: Session, ids: list[str]) -> dict[str, tuple[int, int]]:
    """Alerts and shown alerts per check, for one page only (never computed over the whole log)."""
    if not ids:
        return {}
    shown = func.sum(case((LoggedAlert.shown.is_(True), 1), else_=0))
    rows = session.execute(
        select(LoggedAlert.alert_log_id, func.count(), shown)
        .where(LoggedAlert.alert_log_id.in_(ids))
        .group_by(LoggedAlert.alert_log_id)
    )
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


def count_checks(session: Session, filters: CheckFilters) -> int:
    stmt = select(func.count()).select_from(AlertLog).where(*check_conditions(filters))
    return int(session.scalar(stmt) or 0)


# ---- one check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackView:
    outcome: str
    reason: dict[str, Any] | None
    comment: str | None
    accepted_suggestions: list[Any]
    outcome_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class AlertView:
    """An alert as logged (``document``), whether the caller saw it, and what was done with it."""

    document: AlertRecord
    shown: bool
    feedback: list[FeedbackView]


@dataclass(frozen=True)
class RuleView:
    code: str
    title: str
    kind: str
    severity: str
    between: list[list[str]] | None
    summary: str
    effect: str
    mechanism: str
    management: str
    sources: list[tuple[str, str]]
    fired: bool


@dataclass(frozen=True)
class CheckDetail:
    entry: AlertLog
    client_name: str | None
    alerts: list[AlertView]
    kb_version: KbVersion | None
    rules: list[RuleView]
    previous_id: str | None
    next_id: str | None

    @property
    def fired_rules(self) -> list[RuleView]:
        return [r for r in self.rules if r.fired]


def check_detail(
    session: Session,
    check_id: str,
    kb_cache: MutableMapping[str, knowledge.KnowledgeBase] | None = None,
) -> CheckDetail | None:
    """Everything about one check: as received, as answered, the rules as they were, the feedback."""
    entry = session.get(AlertLog, check_id)
    if entry is None:
        return None
    client_name = (
        session.scalar(select(ApiClient.name).where(ApiClient.id == entry.client_id))
        if entry.client_id
        else None
    )
    feedback: dict[str, list[FeedbackView]] = {}
    for row in session.scalars(
        select(CdsFeedback)
        .join(LoggedAlert, LoggedAlert.uuid == CdsFeedback.alert_uuid)
        .where(LoggedAlert.alert_log_id == entry.id, LoggedAlert.created_at == entry.created_at)
        .order_by(CdsFeedback.received_at, CdsFeedback.id)
    ):
        feedback.setdefault(row.alert_uuid, []).append(
            FeedbackView(
                row.outcome,
                row.override_reason,
                row.override_comment,
                list(row.accepted_suggestions),
                row.outcome_at,
                row.received_at,
            )
        )
    alerts = [
        AlertView(a, bool(a.get("shown", True)), feedback.get(str(a.get("uuid")), []))
        for a in entry.alerts
    ]
    fired = {str(a.get("rule", {}).get("id")) for a in entry.alerts}
    version = session.get(KbVersion, entry.kb_version_id)
    rules = (
        _rules_as_they_were(session, entry.kb_version_id, fired, kb_cache)
        if version is not None
        else []
    )
    neighbours: dict[int, str] = {
        seq: id_
        for seq, id_ in session.execute(
            select(AlertLog.seq, AlertLog.id).where(
                AlertLog.seq.in_([entry.seq - 1, entry.seq + 1])
            )
        )
    }
    return CheckDetail(
        entry,
        client_name,
        alerts,
        version,
        rules,
        neighbours.get(entry.seq - 1),
        neighbours.get(entry.seq + 1),
    )


def _rules_as_they_were(
    session: Session,
    version_id: str,
    fired: set[str],
    cache: MutableMapping[str, knowledge.KnowledgeBase] | None,
) -> list[RuleView]:
    """The version's rules rebuilt from its rows; versions never change, so a rebuild is cached."""
    kb = cache.get(version_id) if cache is not None else None
    if kb is None:
        kb = kb_store.load(session, version_id)
        if cache is not None:
            while len(cache) >= KB_CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[version_id] = kb
    sources = {s.id: s for s in kb.sources}
    return [
        RuleView(
            code=r.id,
            title=r.title,
            kind=r.kind.value,
            severity=r.severity.value,
            between=[[str(ref) for ref in side] for side in r.between] if r.between else None,
            summary=r.summary,
            effect=r.effect,
            mechanism=r.mechanism,
            management=r.management,
            sources=[(sources[s].label, sources[s].url) for s in r.sources if s in sources],
            fired=r.id in fired,
        )
        for r in kb.rules
    ]


# ---- security events --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    seq: int
    created_at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    details: dict[str, Any]
    actor_name: str  # the actor as a person reads it: "client:Northside Pharmacy", not its id


def actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    """Readable names for actors stored by id (API clients); others already read as names."""
    ids = {a.removeprefix(CLIENT_ACTOR) for a in actors if a.startswith(CLIENT_ACTOR)}
    if not ids:
        return {}
    rows = session.execute(select(ApiClient.id, ApiClient.name).where(ApiClient.id.in_(ids)))
    return {f"{CLIENT_ACTOR}{id_}": f"{CLIENT_ACTOR}{name}" for id_, name in rows}


def event_sort_key(column: str) -> ColumnElement[Any]:
    keys: dict[str, Any] = {
        "time": AuditEvent.created_at,
        "seq": AuditEvent.seq,
        "actor": AuditEvent.actor,
        "action": AuditEvent.action,
        "target": AuditEvent.target,
        "outcome": AuditEvent.outcome,
    }
    key: ColumnElement[Any] = keys[column]
    return key


def list_events(
    session: Session, filters: EventFilters, sort: Sort, cursor: Cursor, limit: int
) -> Page[EventRow]:
    seq: ColumnElement[int] = AuditEvent.seq  # type: ignore[assignment]
    key = seq if sort.column == "seq" else event_sort_key(sort.column)
    stmt = select(
        AuditEvent.seq,
        AuditEvent.created_at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.target,
        AuditEvent.outcome,
        AuditEvent.details,
    ).where(*event_conditions(filters))
    rows, next_after, previous_before = _keyset(session, stmt, key, seq, sort, cursor, limit)
    names = actor_names(session, {r.actor for r in rows})
    found = [
        EventRow(
            r.seq,
            r.created_at,
            r.actor,
            r.action,
            r.target,
            r.outcome,
            r.details,
            names.get(r.actor, r.actor),
        )
        for r in rows
    ]
    return Page(found, next_after, previous_before)


def count_events(session: Session, filters: EventFilters) -> int:
    stmt = select(func.count()).select_from(AuditEvent).where(*event_conditions(filters))
    return int(session.scalar(stmt) or 0)


# ---- context for the pages --------------------------------------------------------------------


@dataclass(frozen=True)
class LastVerification:
    """The latest ``audit verify`` run, as its own security event recorded it."""

    at: datetime
    actor: str
    ok: bool
    chains: dict[str, dict[str, Any]]


def last_verification(session: Session) -> LastVerification | None:
    event = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "audit.verify")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if event is None:
        return None
    chains = {k: v for k, v in event.details.items() if isinstance(v, dict)}
    return LastVerification(event.created_at, event.actor, event.outcome == "success", chains)


def client_choices(session: Session) -> list[tuple[str, str]]:
    """(id, name) of every client, for the filter form."""
    rows = session.execute(select(ApiClient.id, ApiClient.name).order_by(ApiClient.name))
    return [(r[0], r[1]) for r in rows]


def client_names(session: Session) -> dict[str, str]:
    return dict(client_choices(session))


def rule_choices(session: Session) -> list[tuple[str, str]]:
    """(code, title) of the active version's rules, for the filter form and report labels."""
    version_id = kb_store.active_version_id(session)
    if version_id is None:
        return []
    rows = session.execute(
        select(Rule.code, Rule.title)
        .where(Rule.kb_version_id == version_id)
        .order_by(Rule.position)
    )
    return [(r[0], r[1]) for r in rows]
