"""The check list: every filter narrows to exactly the right checks, every column sorts both ways,
and keyset pages return every row exactly once, forwards and backwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.audit import queries
from service.audit.filters import (
    CHECK_SORTS,
    Cursor,
    FilterError,
    Sort,
    parse_check_filters,
    parse_period,
)
from service.pseudonyms import patient_ref

from .conftest import RANK, Log, Spec

pytestmark = pytest.mark.both_databases  # audit queries: filters, sorting, keyset pages

Predicate = Callable[[Spec, Log], bool]


def _has(spec: Spec, test: Callable[[Any], bool]) -> bool:
    return any(test(a) for a in spec.alerts)


def _feedback(spec: Spec) -> set[str]:
    return {o for a in spec.alerts for o in a.feedback}


MIDDLE = {"from": "2026-01-06T00:00Z", "to": "2026-01-08T12:00Z"}  # the fixture spans 5-9 Jan


def _in_middle(spec: Spec) -> bool:
    start, end = (datetime.fromisoformat(MIDDLE[k].replace("Z", "+00:00")) for k in ("from", "to"))
    return start <= spec.created_at < end


FILTER_CASES: list[tuple[str, dict[str, str], Predicate]] = [
    (
        "a period of whole days includes the last day",
        {"from": "2026-01-06", "to": "2026-01-07"},
        lambda s, _: (
            datetime(2026, 1, 6).date() <= s.created_at.date() <= datetime(2026, 1, 7).date()
        ),
    ),
    (
        "a period can start at a UTC time",
        {"from": "2026-01-08T12:00Z"},
        lambda s, _: s.created_at >= datetime.fromisoformat("2026-01-08T12:00+00:00"),
    ),
    ("channel api", {"channel": "api"}, lambda s, _: s.channel == "api"),
    ("channel cds-hooks", {"channel": "cds-hooks"}, lambda s, _: s.channel == "cds-hooks"),
    ("channel rxnav", {"channel": "rxnav"}, lambda s, _: s.channel == "rxnav"),
    ("channel web", {"channel": "web"}, lambda s, _: s.channel == "web"),
    ("channel cli", {"channel": "cli"}, lambda s, _: s.channel == "cli"),
    ("client by name", {"client": "north"}, lambda s, _: s.client == "north"),
    ("highest severity", {"severity": "major"}, lambda s, _: s.highest == "major"),
    (
        "any alert of a severity, even below the highest",
        {"alert_severity": "minor"},
        lambda s, _: _has(s, lambda a: a.severity == "minor"),
    ),
    ("rule", {"rule": "R11"}, lambda s, _: _has(s, lambda a: a.rule == "R11")),
    (
        "ingredient in an alert",
        {"ingredient": "Oxycodone"},
        lambda s, _: _has(s, lambda a: "oxycodone" in a.ingredients),
    ),
    (
        "an ingredient with a space in its name",
        {"ingredient": "sodium oxybate"},
        lambda s, _: _has(s, lambda a: "sodium oxybate" in a.ingredients),
    ),
    ("part of an ingredient's name matches nothing", {"ingredient": "codone"}, lambda s, _: False),
    ("LIKE wildcards are taken literally", {"ingredient": "%"}, lambda s, _: False),
    ("accepted", {"outcome": "accepted"}, lambda s, _: "accepted" in _feedback(s)),
    ("overridden", {"outcome": "overridden"}, lambda s, _: "overridden" in _feedback(s)),
    (
        "no response to a shown alert",
        {"outcome": "none"},
        lambda s, _: _has(s, lambda a: a.shown) and not _feedback(s),
    ),
    (
        "a rule and a response: that rule's alert got the response",
        {"rule": "R5", "outcome": "overridden"},
        lambda s, _: _has(s, lambda a: a.rule == "R5" and "overridden" in a.feedback),
    ),
    # Alert-level filters also bound the alerts by the check's time: the same checks must match.
    (
        "rule within a period",
        {"rule": "R11", **MIDDLE},
        lambda s, _: _in_middle(s) and _has(s, lambda a: a.rule == "R11"),
    ),
    (
        "ingredient within a period",
        {"ingredient": "oxycodone", **MIDDLE},
        lambda s, _: _in_middle(s) and _has(s, lambda a: "oxycodone" in a.ingredients),
    ),
    (
        "overridden within a period",
        {"outcome": "overridden", **MIDDLE},
        lambda s, _: _in_middle(s) and "overridden" in _feedback(s),
    ),
    (
        "no response within a period",
        {"outcome": "none", **MIDDLE},
        lambda s, _: _in_middle(s) and _has(s, lambda a: a.shown) and not _feedback(s),
    ),
    (
        "filters combine",
        {"channel": "cds-hooks", "outcome": "overridden", "client": "south"},
        lambda s, _: (
            s.channel == "cds-hooks" and s.client == "south" and "overridden" in _feedback(s)
        ),
    ),
]


@pytest.mark.parametrize(
    ("name", "params", "expected"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES]
)
def test_each_filter_narrows_to_exactly_the_matching_checks(
    session: Session, log: Log, name: str, params: dict[str, str], expected: Predicate
) -> None:
    filters = parse_check_filters(params)
    page = queries.list_checks(session, filters, Sort("time", True), Cursor(), 500)
    want = {s.id for s in log.specs if expected(s, log)}
    assert {r.id for r in page.rows} == want
    assert queries.count_checks(session, filters) == len(want)
    if name not in (
        "part of an ingredient's name matches nothing",
        "LIKE wildcards are taken literally",
    ):
        assert 0 < len(want) < len(log.specs), "the fixture should make every filter matter"


def test_a_client_can_be_named_by_its_id(session: Session, log: Log) -> None:
    filters = parse_check_filters({"client": log.client_ids["south"]})
    rows = queries.list_checks(session, filters, Sort("time", True), Cursor(), 500).rows
    assert {r.id for r in rows} == {s.id for s in log.specs if s.client == "south"}


def test_a_patient_reference_finds_only_that_patients_checks(
    app: Flask, session: Session, log: Log
) -> None:
    with app.test_request_context():
        reference = patient_ref("MRN-1")
    filters = parse_check_filters({"patient_ref": reference})
    rows = queries.list_checks(session, filters, Sort("time", True), Cursor(), 500).rows
    assert {r.id for r in rows} == {s.id for s in log.specs if s.patient == "MRN-1"}
    assert rows and all(r.patient_ref == reference for r in rows)


SORT_KEYS: dict[str, Callable[[Spec, Log], Any]] = {
    "time": lambda s, _: s.created_at,
    "seq": lambda s, _: s.seq,
    "channel": lambda s, _: s.channel,
    "client": lambda s, _: s.client or "",
    "patient": lambda s, _: s.ref or "",
    "severity": lambda s, _: RANK.get(s.highest or "", 0),
    "alerts": lambda s, _: len(s.alerts),
    "complete": lambda s, _: s.complete,
    "kb_version": lambda s, log: log.kb_version,
}


def _walk(
    session: Session, sort: Sort, limit: int, params: dict[str, str] | None = None
) -> list[list[str]]:
    pages, cursor = [], Cursor()
    filters = parse_check_filters(params or {})
    while True:
        page = queries.list_checks(session, filters, sort, cursor, limit)
        pages.append([r.id for r in page.rows])
        if page.next_after is None:
            return pages
        cursor = Cursor(after=page.next_after)


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("column", CHECK_SORTS)
def test_every_column_sorts_both_ways_with_seq_breaking_ties_and_pages_cover_each_row_once(
    session: Session, log: Log, column: str, descending: bool
) -> None:
    assert set(SORT_KEYS) == set(CHECK_SORTS)
    expected = [
        s.id
        for s in sorted(
            log.specs, key=lambda s: (SORT_KEYS[column](s, log), s.seq), reverse=descending
        )
    ]
    pages = _walk(session, Sort(column, descending), limit=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 4]
    assert [i for p in pages for i in p] == expected


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("column", ["channel", "severity"])
def test_within_a_period_the_columns_with_whole_log_indexes_sort_the_same(
    session: Session, log: Log, column: str, descending: bool
) -> None:
    expected = [
        s.id
        for s in sorted(
            (s for s in log.specs if _in_middle(s)),
            key=lambda s: (SORT_KEYS[column](s, log), s.seq),
            reverse=descending,
        )
    ]
    pages = _walk(session, Sort(column, descending), limit=4, params=MIDDLE)
    assert [i for p in pages for i in p] == expected
    assert 4 < len(expected) < len(log.specs)


def test_previous_page_links_walk_back_over_the_same_pages(session: Session, log: Log) -> None:
    sort = Sort("severity", True)
    forwards = _walk(session, sort, limit=7)
    filters = parse_check_filters({})
    last = queries.list_checks(session, filters, sort, Cursor(), 7)
    while last.next_after is not None:
        last = queries.list_checks(session, filters, sort, Cursor(after=last.next_after), 7)
    backwards, page = [[r.id for r in last.rows]], last
    while page.previous_before is not None:
        page = queries.list_checks(session, filters, sort, Cursor(before=page.previous_before), 7)
        backwards.append([r.id for r in page.rows])
    assert list(reversed(backwards)) == forwards


def test_a_cursor_from_another_view_starts_again_at_the_top(session: Session, log: Log) -> None:
    api_only = parse_check_filters({"channel": "api"})
    outside = next(s for s in log.specs if s.channel != "api")
    page = queries.list_checks(session, api_only, Sort("time", True), Cursor(after=outside.seq), 3)
    first = queries.list_checks(session, api_only, Sort("time", True), Cursor(), 3)
    assert [r.id for r in page.rows] == [r.id for r in first.rows]


def test_rows_carry_their_alert_counts(session: Session, log: Log) -> None:
    rows = queries.list_checks(
        session, parse_check_filters({}), Sort("seq", False), Cursor(), 50
    ).rows
    by_id = {s.id: s for s in log.specs}
    for row in rows:
        spec = by_id[row.id]
        assert (row.alerts, row.shown) == (len(spec.alerts), sum(a.shown for a in spec.alerts))
        assert row.client_name == spec.client and row.highest_severity == spec.highest


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-01-07", "to": "2026-01-06"}, "to"),
        ({"channel": "fax"}, "channel"),
        ({"severity": "severe"}, "severity"),
        ({"outcome": "ignored"}, "outcome"),
        ({"patient_ref": "MRN-1"}, "patient_ref"),
        ({"rule": "R" * 201}, "rule"),
    ],
)
def test_a_filter_that_is_not_understood_names_its_parameter(
    params: dict[str, str], field: str
) -> None:
    with pytest.raises(FilterError) as raised:
        parse_check_filters(params)
    assert field in raised.value.errors


def test_a_date_to_includes_that_whole_day_and_a_time_to_is_exclusive() -> None:
    by_date = parse_period("2026-01-01", "2026-01-31")
    assert by_date.end == datetime.fromisoformat("2026-02-01T00:00:00+00:00")
    by_time = parse_period(None, "2026-01-31T14:00:00+02:00")
    assert by_time.end == datetime.fromisoformat("2026-01-31T12:00:00+00:00")


def test_the_api_pages_with_next_links_until_every_check_is_listed(
    auditor_token: FlaskClient, log: Log
) -> None:
    url: str | None = "/api/v1/audit/checks?limit=10&sort=client&dir=asc&channel=cds-hooks"
    seen: list[str] = []
    while url:
        body = auditor_token.get(url).get_json()
        assert body["count"] == sum(1 for s in log.specs if s.channel == "cds-hooks")
        seen += [item["id"] for item in body["items"]]
        url = body["next"]
    assert sorted(seen) == sorted(s.id for s in log.specs if s.channel == "cds-hooks")
    assert len(seen) == len(set(seen))


def test_the_api_rejects_unknown_filters_values_with_a_problem_listing_them(
    auditor_token: FlaskClient, log: Log
) -> None:
    response = auditor_token.get("/api/v1/audit/checks?severity=severe&sort=colour&limit=0")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert "severity" in fields
