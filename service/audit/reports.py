"""The auditors' reports: what fired, what was overridden, and what the knowledge base should learn.

Each report takes the same ``CheckFilters`` as the check list, so a report and the list it summarises
always count the same checks. Without a period a report covers the last ``DEFAULT_DAYS`` days:
reports aggregate, and an unbounded aggregate over years of log is a question nobody meant to ask.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, true
from sqlalchemy.orm import Session

from ..db.models import AlertLog, CdsFeedback, LoggedAlert
from .filters import SEVERITIES, CheckFilters, FilterError, Period
from .queries import (
    alert_conditions,
    check_conditions,
    client_names,
    feedback_conditions,
    rule_choices,
)

REPORTS = {
    "alerts-per-day": "Alerts per day by severity",
    "top-rules": "Rules that fire most",
    "override-by-rule": "Override rate by rule",
    "override-by-client": "Override rate by client",
    "override-matrix": "Overrides by rule and client",
    "override-reasons": "Top override reasons",
    "unrecognised-inputs": "Inputs most often not recognised",
}  # name → title, in the order the reports page lists them
DEFAULT_DAYS = 30
TOP = 15
FALLBACK_SCAN = 20_000  # checks read in Python where the database has no JSON table functions


def report_period(period: Period, now: datetime | None = None) -> Period:
    """The period a report covers: the one asked for, or the last ``DEFAULT_DAYS`` whole days."""
    if period.start and period.end:
        return period
    end = period.end or datetime.combine(
        (now or datetime.now(UTC)).date() + timedelta(days=1), time(), UTC
    )
    return Period(period.start or end - timedelta(days=DEFAULT_DAYS), end)


MAX_REPORT_DAYS = 3660  # ten years of days: alerts-per-day lists every day of the period


def check_report_period(period: Period) -> Period:
    """The period, if a report may cover it; a longer one is refused (``FilterError``), not cut."""
    assert period.start and period.end
    if period.end - period.start > timedelta(days=MAX_REPORT_DAYS):
        raise FilterError({"from": f"a report covers at most {MAX_REPORT_DAYS} days"})
    return period


def _bounded(filters: CheckFilters) -> CheckFilters:
    return replace(filters, period=report_period(filters.period))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# ---- alerts per day by severity ---------------------------------------------------------------


@dataclass(frozen=True)
class AlertsPerDay:
    period: Period
    days: list[date]
    counts: dict[str, list[int]]  # severity → one count per day, most severe first

    @property
    def totals(self) -> list[int]:
        return [sum(c[i] for c in self.counts.values()) for i in range(len(self.days))]


def _day(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp, whatever the session's time zone."""
    if _dialect(session) == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def alerts_per_day(session: Session, filters: CheckFilters) -> AlertsPerDay:
    """Every alert raised (shown or not), per UTC day and severity."""
    filters = _bounded(filters)
    day = _day(session, LoggedAlert.created_at).label("day")
    rows = session.execute(
        select(day, LoggedAlert.severity, func.count())
        .where(*alert_conditions(filters))
        .group_by(day, LoggedAlert.severity)
    )
    assert filters.period.start and filters.period.end
    first = filters.period.start.date()
    last = (filters.period.end - timedelta(microseconds=1)).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    index = {d: i for i, d in enumerate(days)}
    counts = {s: [0] * len(days) for s in SEVERITIES}
    for row_day, severity, n in rows:
        position = index.get(date.fromisoformat(str(row_day)[:10]))
        if position is not None and severity in counts:
            counts[severity][position] += int(n)
    return AlertsPerDay(filters.period, days, counts)


# ---- the rules that fire most -----------------------------------------------------------------


@dataclass(frozen=True)
class RuleCount:
    rule: str
    title: str
    alerts: int
    shown: int


def top_rules(session: Session, filters: CheckFilters, limit: int = TOP) -> list[RuleCount]:
    filters = _bounded(filters)
    count = func.count().label("alerts")
    shown = func.sum(case((LoggedAlert.shown.is_(True), 1), else_=0))
    rows = session.execute(
        select(LoggedAlert.rule_code, count, shown)
        .where(*alert_conditions(filters))
        .group_by(LoggedAlert.rule_code)
        .order_by(count.desc(), LoggedAlert.rule_code)
        .limit(limit)
    )
    titles = dict(rule_choices(session))
    return [RuleCount(r[0], titles.get(r[0], ""), int(r[1]), int(r[2] or 0)) for r in rows]


# ---- override rates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OverrideRate:
    """Feedback on alerts of one rule (or one client): how often the clinician overrode it."""

    key: str
    label: str
    responses: int
    overridden: int

    @property
    def accepted(self) -> int:
        return self.responses - self.overridden

    @property
    def rate(self) -> float:
        return self.overridden / self.responses if self.responses else 0.0


# Feedback joined to its alert and check by key and by the check's time, which all three copy:
# the same rows, but on PostgreSQL each probe reads only the check's month (partition pruning).
def _feedback_alert() -> ColumnElement[bool]:
    return and_(
        LoggedAlert.uuid == CdsFeedback.alert_uuid,
        LoggedAlert.created_at == CdsFeedback.check_created_at,
    )


def _feedback_check() -> ColumnElement[bool]:
    return and_(
        AlertLog.id == CdsFeedback.alert_log_id, AlertLog.created_at == CdsFeedback.check_created_at
    )


def _override_rows(
    session: Session, filters: CheckFilters, group: Any
) -> list[tuple[str | None, int, int]]:
    """Responses and overrides per ``group``, read from the period's feedback by its check's time."""
    filters = _bounded(filters)
    overridden = func.sum(case((CdsFeedback.outcome == "overridden", 1), else_=0))
    stmt = (
        select(group, func.count(CdsFeedback.id), overridden)
        .select_from(CdsFeedback)
        .where(*feedback_conditions(filters))
        .group_by(group)
    )
    if group.table is LoggedAlert.__table__:
        stmt = stmt.join(LoggedAlert, _feedback_alert())
    elif group.table is AlertLog.__table__:
        stmt = stmt.join(AlertLog, _feedback_check())
    rows = session.execute(stmt)
    return [(r[0], int(r[1]), int(r[2] or 0)) for r in rows]


def _by_rate(rates: list[OverrideRate]) -> list[OverrideRate]:
    return sorted(rates, key=lambda r: (-r.rate, -r.responses, r.key))


def override_by_rule(session: Session, filters: CheckFilters) -> list[OverrideRate]:
    titles = dict(rule_choices(session))
    rows = _override_rows(session, filters, LoggedAlert.rule_code)
    return _by_rate([OverrideRate(str(k), titles.get(str(k), ""), n, o) for k, n, o in rows])


def override_by_client(session: Session, filters: CheckFilters) -> list[OverrideRate]:
    names = client_names(session)
    rows = _override_rows(session, filters, AlertLog.client_id)
    return _by_rate(
        [
            OverrideRate(k or "", names.get(k or "", "(no client)") if k else "(no client)", n, o)
            for k, n, o in rows
        ]
    )


# ---- overrides by rule and client, and why ----------------------------------------------------

NO_REASON = "(no reason given)"
TOP_REASONS = 3


def reason_label(reason: dict[str, Any] | None) -> str:
    """What a clinician chose, as a person reads it: the reason's display, else its code."""
    if not reason:
        return NO_REASON
    return str(reason.get("display") or reason.get("code") or NO_REASON)


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    code: str
    times: int


@dataclass(frozen=True)
class OverrideCell:
    """One rule's feedback from one client: counts, rate, and the reasons most often given."""

    responses: int
    overridden: int
    reasons: list[ReasonCount]

    @property
    def rate(self) -> float:
        return self.overridden / self.responses if self.responses else 0.0


@dataclass(frozen=True)
class OverrideMatrix:
    """Rules (rows, most overridden first) × clients (columns, A→Z); a missing cell had no feedback."""

    rules: list[tuple[str, str]]  # (code, title)
    clients: list[tuple[str, str]]  # (id, name); id "" is feedback from no client
    cells: dict[tuple[str, str], OverrideCell]
    totals: dict[str, OverrideCell]  # per rule, every client together


def _feedback_rows(session: Session, filters: CheckFilters) -> Any:
    """Each answer of the period: its alert's rule, the client, the outcome and the reason."""
    filters = _bounded(filters)
    return session.execute(
        select(
            LoggedAlert.rule_code,
            AlertLog.client_id,
            CdsFeedback.outcome,
            CdsFeedback.override_reason,
        )
        .select_from(CdsFeedback)
        .join(LoggedAlert, _feedback_alert())
        .join(AlertLog, _feedback_check())
        .where(*feedback_conditions(filters))
        .execution_options(yield_per=2000)
    )


def _reason_key(reason: dict[str, Any] | None) -> tuple[str, str]:
    return (reason_label(reason), str((reason or {}).get("code") or ""))


def _cell(counts: tuple[int, int], reasons: Counter[tuple[str, str]], top: int) -> OverrideCell:
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:top]
    return OverrideCell(
        counts[0], counts[1], [ReasonCount(label, code, n) for (label, code), n in ranked]
    )


def override_matrix(session: Session, filters: CheckFilters) -> OverrideMatrix:
    """Which alerts were overridden most, by which client: one table for the whole period.

    Feedback is a clinician's answer to a card, far rarer than alerts; it is counted in Python so
    that reasons (a JSON document) are grouped the same way on every database.
    """
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    reasons: dict[tuple[str, str], Counter[tuple[str, str]]] = defaultdict(Counter)
    for rule, client_id, outcome, reason in _feedback_rows(session, filters):
        for key in ((rule, client_id or ""), (rule, "*")):
            counts[key][0] += 1
            if outcome == "overridden":
                counts[key][1] += 1
                reasons[key][_reason_key(reason)] += 1
    cells = {
        key: _cell((n[0], n[1]), reasons[key], TOP_REASONS)
        for key, n in counts.items()
        if key[1] != "*"
    }
    totals = {
        rule: _cell((n[0], n[1]), reasons[(rule, "*")], TOP_REASONS)
        for (rule, client), n in counts.items()
        if client == "*"
    }
    titles = dict(rule_choices(session))
    names = client_names(session)
    rules = sorted(totals, key=lambda r: (-totals[r].overridden, -totals[r].rate, r))
    client_ids = {client for _, client in cells}
    clients = sorted(
        ((c, names.get(c, "(no client)") if c else "(no client)") for c in client_ids),
        key=lambda c: (c[0] == "", c[1].lower()),
    )
    return OverrideMatrix([(r, titles.get(r, "")) for r in rules], clients, cells, totals)


@dataclass(frozen=True)
class OverrideReason:
    reason: str
    code: str
    times: int
    share: float  # of every override in the period
    rules: list[tuple[str, int]]  # the rules it was given for, most often first
    clients: list[tuple[str, int]]  # the clients' names


def override_reasons(
    session: Session, filters: CheckFilters, limit: int = TOP
) -> list[OverrideReason]:
    """Why clinicians overrode alerts, most frequent reason first, with the rules and clients."""
    names = client_names(session)
    times: Counter[tuple[str, str]] = Counter()
    by_rule: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    by_client: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for rule, client_id, outcome, reason in _feedback_rows(session, filters):
        if outcome != "overridden":
            continue
        key = _reason_key(reason)
        times[key] += 1
        by_rule[key][rule] += 1
        by_client[key][names.get(client_id, "(no client)") if client_id else "(no client)"] += 1
    total = sum(times.values())
    ranked = sorted(times.items(), key=lambda item: (-item[1], item[0]))[:limit]

    def _top(counter: Counter[str]) -> list[tuple[str, int]]:
        return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]

    return [
        OverrideReason(label, code, n, n / total, _top(by_rule[key]), _top(by_client[key]))
        for key, n in ranked
        for label, code in [key]
    ]


# ---- inputs most often unrecognised -----------------------------------------------------------


@dataclass(frozen=True)
class InputCount:
    text: str
    times: int


@dataclass(frozen=True)
class UnrecognisedInputs:
    inputs: list[InputCount]
    # Set when a backend without JSON table functions was read in Python, newest checks first,
    # and the period held more incomplete checks than that scan reads.
    scanned_only_latest: int | None = None


def unrecognised_inputs(
    session: Session, filters: CheckFilters, limit: int = TOP, *, portable: bool = False
) -> UnrecognisedInputs:
    """What people typed that the knowledge base did not recognise, most frequent first.

    Reads each check's ``scope.not_checked`` (the labels of its ``unrecognized`` medications, as the
    answer told the caller), lower-cased, and only from incomplete checks. PostgreSQL and SQLite
    unnest the JSON in SQL; anything else (or ``portable=True``) counts in Python over a bounded scan.
    """
    filters = _bounded(filters)
    conditions = [AlertLog.complete.is_(False), *check_conditions(filters)]
    dialect = _dialect(session)
    if portable or dialect not in ("postgresql", "sqlite"):
        return _unrecognised_in_python(session, conditions, limit)
    if dialect == "postgresql":
        items = func.json_array_elements_text(
            func.json_extract_path(AlertLog.scope, "not_checked")
        ).table_valued("value", joins_implicitly=True)
    else:
        items = func.json_each(AlertLog.scope, "$.not_checked").table_valued(
            "value", joins_implicitly=True
        )
    text = func.lower(func.trim(items.c.value)).label("text")
    times = func.count().label("times")
    rows = session.execute(
        select(text, times)
        .select_from(AlertLog)
        .join(items, true())
        .where(*conditions)
        .group_by(text)
        .order_by(times.desc(), text)
        .limit(limit)
    )
    return UnrecognisedInputs([InputCount(str(r[0]), int(r[1])) for r in rows])


def _unrecognised_in_python(
    session: Session, conditions: list[ColumnElement[bool]], limit: int
) -> UnrecognisedInputs:
    rows = session.execute(
        select(AlertLog.scope)
        .where(*conditions)
        .order_by(AlertLog.seq.desc())
        .limit(FALLBACK_SCAN + 1)
        .execution_options(yield_per=1000)
    )
    counter: Counter[str] = Counter()
    scanned = 0
    for (scope,) in rows:
        scanned += 1
        if scanned > FALLBACK_SCAN:
            break
        for label in (scope or {}).get("not_checked", []):
            counter[str(label).strip().lower()] += 1
    rows.close()
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return UnrecognisedInputs(
        [InputCount(t, n) for t, n in ranked], FALLBACK_SCAN if scanned > FALLBACK_SCAN else None
    )
