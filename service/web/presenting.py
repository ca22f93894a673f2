"""The answer document rearranged for a person: their own words for their medicines, counts for the
verdict. Nothing here decides anything clinical; severity, alerts and wording come from the check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.severity import Severity

SEVERITIES = tuple(sorted(Severity, reverse=True))  # most severe first


@dataclass(frozen=True)
class Involved:
    """One of the patient's medicines named in an alert: as they typed it, or the alcohol box."""

    text: str
    from_alcohol_box: bool = False


@dataclass(frozen=True)
class Card:
    severity: str
    rule_id: str
    title: str
    patient_text: str
    involved: tuple[Involved, ...]
    sources: tuple[Mapping[str, Any], ...]
    also_applies: tuple[str, ...] = ()  # the other matching rules' titles (P3)


@dataclass(frozen=True)
class NotChecked:
    """A medicine the check did not recognise; ``position`` lets a suggestion replace it."""

    item: Involved
    position: int | None
    suggestions: tuple[str, ...]


@dataclass(frozen=True)
class ResultView:
    counts: tuple[tuple[str, int], ...]
    cards: tuple[Card, ...]
    not_checked: tuple[NotChecked, ...]
    outside_scope: tuple[Involved, ...]
    checked: int
    complete: bool
    scope_statement: str
    kb_version: str
    checked_at: str

    @property
    def alert_count(self) -> int:
        return sum(n for _, n in self.counts)


def result_view(
    answer: Mapping[str, Any], entered: Sequence[str], drinks_alcohol: bool
) -> ResultView:
    """Build the page's view of an answer for the medicines in the order they were checked."""
    items = [Involved(text) for text in entered]
    if drinks_alcohol:
        items.append(Involved("", from_alcohol_box=True))
    medications: list[Mapping[str, Any]] = answer["medications"]
    alerts: list[Mapping[str, Any]] = sorted(
        answer["alerts"], key=lambda a: -Severity(a["severity"]).rank
    )  # the check already orders them; sorted() is stable, so this only guarantees it
    tally = Counter(a["severity"] for a in alerts)
    without_rules = set(answer["scope"]["recognized_without_rules"])
    return ResultView(
        counts=tuple((s.value, tally[s.value]) for s in SEVERITIES if tally[s.value]),
        cards=tuple(
            Card(
                severity=a["severity"],
                rule_id=a["rule"]["id"],
                title=a["rule"]["title"],
                patient_text=a["patient_text"],
                involved=tuple(items[i] for i in a["medications"]),
                sources=tuple(a["sources"]),
                also_applies=tuple(other["title"] for other in a["also_applies"]),
            )
            for a in alerts
        ),
        not_checked=tuple(
            NotChecked(
                item=items[i],
                position=None if items[i].from_alcohol_box else i,
                suggestions=tuple(m["suggestions"]),
            )
            for i, m in enumerate(medications)
            if m["status"] != "recognized"
        ),
        outside_scope=tuple(
            items[i]
            for i, m in enumerate(medications)
            if m["status"] == "recognized"
            and m["ingredients"]
            and all(ing["name"] in without_rules for ing in m["ingredients"])
        ),
        checked=sum(1 for m in medications if m["status"] == "recognized"),
        complete=bool(answer["complete"]),
        scope_statement=answer["scope"]["statement"],
        kb_version=answer["kb_version"],
        checked_at=answer["checked_at"],
    )
