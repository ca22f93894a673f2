"""What an auditor asks for: filters, sort order and page position, parsed once for every door.

Pages and the API read them from query parameters, the CLI from options; all three build the same
frozen values, so a filter means the same thing wherever it is typed. Errors name the parameter, so a
page can show them beside the field and the API can list them in its problem document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from werkzeug.datastructures import MultiDict

CHANNELS = ("api", "cds-hooks", "rxnav", "web", "cli")
SEVERITIES = ("contraindicated", "major", "moderate", "minor")  # most severe first
OUTCOMES = ("accepted", "overridden", "none")
EVENT_OUTCOMES = ("success", "failure")

CHECK_SORTS = (
    "time", "seq", "channel", "client", "patient", "severity", "alerts", "complete", "kb_version",
)  # fmt: skip
EVENT_SORTS = ("time", "seq", "actor", "action", "target", "outcome")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_TEXT = 200
MAX_INGREDIENTS = 10
FIRST_YEAR, LAST_YEAR = 1900, 9998

_PATIENT_REF = re.compile(r"^[0-9a-f]{64}$")


class FilterError(ValueError):
    """Some parameters were not understood; ``errors`` maps each parameter to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Period:
    """A half-open UTC interval: ``start`` included, ``end`` excluded; either may be open."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class CheckFilters:
    """Which checks: every field narrows; ``None`` means "any"."""

    period: Period = Period()
    channel: str | None = None
    client: str | None = None  # an API client's id or name
    severity: str | None = None  # the check's highest severity
    alert_severity: str | None = None  # any alert of this severity
    # Any of these ingredients in an alert. Parsed, they are the names as typed (lower-cased);
    # ``resolve.resolve_check_filters`` turns synonyms and brands into the KB's ingredient names.
    ingredients: tuple[str, ...] = ()
    rule: str | None = None
    outcome: str | None = None  # accepted, overridden, or none (a shown alert without feedback)
    patient_ref: str | None = None
    # The parameters as given (cleaned): carried into sort, page and export links unchanged.
    params: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class EventFilters:
    """Which security events."""

    period: Period = Period()
    actor: str | None = None  # part of the actor, any case
    action: str | None = None  # an action, or a family such as ``cds.feedback``
    target: str | None = None
    outcome: str | None = None
    params: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Sort:
    column: str
    descending: bool

    @property
    def direction(self) -> str:
        return "desc" if self.descending else "asc"


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the ``seq`` of the row a page starts after (or ends before)."""

    after: int | None = None
    before: int | None = None


def parse_period(start_text: str | None, end_text: str | None) -> Period:
    """``from`` is the first moment included, ``to`` the end: a date ``to`` includes that whole day."""
    errors: dict[str, str] = {}
    start = end = None
    if start_text:
        try:
            start = _moment(start_text, end_of_day=False)
        except ValueError as error:
            errors["from"] = str(error)
    if end_text:
        try:
            end = _moment(end_text, end_of_day=True)
        except ValueError as error:
            errors["to"] = str(error)
    if start and end and start >= end:
        errors["to"] = "must be after 'from'"
    if errors:
        raise FilterError(errors)
    return Period(start, end)


def _moment(text: str, *, end_of_day: bool) -> datetime:
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except (ValueError, OverflowError):  # 9999-12-31 as an end date overflows
        raise ValueError("must be a date (2026-01-31) or a UTC time (2026-01-31T14:00Z)") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:  # room for a report's default month either side
        raise ValueError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return moment


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = (args.get(name) or "").strip()
    return value or None


def _choice(
    args: Mapping[str, str], name: str, allowed: tuple[str, ...], errors: dict[str, str]
) -> str | None:
    value = _text(args, name)
    if value is not None:
        value = value.lower()
        if value not in allowed:
            errors[name] = f"must be one of: {', '.join(allowed)}"
            return None
    return value


def _bounded(args: Mapping[str, str], name: str, errors: dict[str, str]) -> str | None:
    value = _text(args, name)
    if value is not None and len(value) > MAX_TEXT:
        errors[name] = f"must be at most {MAX_TEXT} characters"
        return None
    return value


def _names(args: Mapping[str, str], name: str, errors: dict[str, str]) -> tuple[str, ...]:
    """Several values: repeated parameters or one comma-separated list, each lower-cased, deduplicated."""
    values = args.getlist(name) if isinstance(args, MultiDict) else [args.get(name) or ""]
    names = [n.strip().lower() for value in values for n in value.split(",")]
    found = tuple(dict.fromkeys(n for n in names if n))
    if len(found) > MAX_INGREDIENTS or any(len(n) > MAX_TEXT for n in found):
        errors[name] = f"name at most {MAX_INGREDIENTS} ingredients of {MAX_TEXT} characters each"
        return ()
    return found


def _period(args: Mapping[str, str], errors: dict[str, str]) -> Period:
    try:
        return parse_period(_text(args, "from"), _text(args, "to"))
    except FilterError as error:
        errors.update(error.errors)
        return Period()


def _given(args: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {n: v for n in names if (v := _text(args, n)) is not None}


CHECK_FILTER_NAMES = (
    "from", "to", "channel", "client", "severity", "alert_severity", "ingredient", "rule",
    "outcome", "patient_ref",
)  # fmt: skip
EVENT_FILTER_NAMES = ("from", "to", "actor", "action", "target", "outcome")


def parse_check_filters(args: Mapping[str, str]) -> CheckFilters:
    """Read check filters from query parameters or CLI options; raises ``FilterError``."""
    errors: dict[str, str] = {}
    period = _period(args, errors)
    patient_ref = _text(args, "patient_ref")
    if patient_ref is not None:
        patient_ref = patient_ref.lower()
        if not _PATIENT_REF.match(patient_ref):
            errors["patient_ref"] = "must be a patient reference (64 hexadecimal characters)"
    ingredients = _names(args, "ingredient", errors)
    rule = _bounded(args, "rule", errors)
    filters = CheckFilters(
        period=period,
        channel=_choice(args, "channel", CHANNELS, errors),
        client=_bounded(args, "client", errors),
        severity=_choice(args, "severity", SEVERITIES, errors),
        alert_severity=_choice(args, "alert_severity", SEVERITIES, errors),
        ingredients=ingredients,
        rule=rule,
        outcome=_choice(args, "outcome", OUTCOMES, errors),
        patient_ref=patient_ref,
        params=_given(args, CHECK_FILTER_NAMES)
        | ({"ingredient": ", ".join(ingredients)} if ingredients else {}),
    )
    if errors:
        raise FilterError(errors)
    return filters


def parse_event_filters(args: Mapping[str, str]) -> EventFilters:
    """Read security-event filters; raises ``FilterError``."""
    errors: dict[str, str] = {}
    filters = EventFilters(
        period=_period(args, errors),
        actor=_bounded(args, "actor", errors),
        action=_bounded(args, "action", errors),
        target=_bounded(args, "target", errors),
        outcome=_choice(args, "outcome", EVENT_OUTCOMES, errors),
        params=_given(args, EVENT_FILTER_NAMES),
    )
    if errors:
        raise FilterError(errors)
    return filters


def parse_sort(args: Mapping[str, str], allowed: tuple[str, ...]) -> Sort:
    """``sort`` names a column (default: time), ``dir`` is asc or desc (default: newest first)."""
    column = _text(args, "sort") or "time"
    direction = (_text(args, "dir") or "desc").lower()
    errors = {}
    if column not in allowed:
        errors["sort"] = f"must be one of: {', '.join(allowed)}"
    if direction not in ("asc", "desc"):
        errors["dir"] = "must be asc or desc"
    if errors:
        raise FilterError(errors)
    return Sort(column, direction == "desc")


def parse_cursor(args: Mapping[str, str]) -> Cursor:
    errors = {}
    values: dict[str, int | None] = {}
    for name in ("after", "before"):
        text = _text(args, name)
        values[name] = None
        if text is not None:
            if not text.isdigit() or len(text) > 18:
                errors[name] = "must be an entry number"
            else:
                values[name] = int(text)
    if errors:
        raise FilterError(errors)
    return Cursor(values["after"], values["before"])


def parse_limit(args: Mapping[str, str]) -> int:
    text = _text(args, "limit")
    if text is None:
        return PAGE_SIZE
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise FilterError({"limit": f"must be a number from 1 to {MAX_PAGE_SIZE}"})
    return int(text)
