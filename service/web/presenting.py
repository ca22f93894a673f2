"""The answer document rearranged for a person: their own words for their medicines, counts for the
verdict. Nothing here decides anything clinical; severity, alerts and wording come from the check."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.severity import Severity

SEVERITIES = tuple(sorted(Severity, reverse=True))  # most severe first
URGENT = frozenset({Severity.CONTRAINDICATED.value, Severity.MAJOR.value})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


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
    patient_text: str  # only the sentences not already said higher up the page
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
    items: tuple[Involved, ...] = ()  # everything checked, in the order entered

    @property
    def alert_count(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def urgent(self) -> bool:
        """A major or contraindicated warning: what to do now, and 911, come first."""
        return any(card.severity in URGENT for card in self.cards)

    @property
    def covered(self) -> int:
        """Recognised medicines that this service has rules for: the ones really checked."""
        return self.checked - len(self.outside_scope)


def result_view(
    answer: Mapping[str, Any], entered: Sequence[str], drinks_alcohol: bool
) -> ResultView:
    """Build the page's view of an answer for the medicines in the order they were checked."""
    items = [Involved(text) for text in entered]
    if drinks_alcohol:
        items.append(Involved("", from_alcohol_box=True))
    medications: list[Mapping[str, Any]] = answer["medications"]
    alerts: list[Mapping[str, Any]] = sorted(answer["alerts"], key=reading_order)
    tally = Counter(a["severity"] for a in alerts)
    without_rules = set(answer["scope"]["recognized_without_rules"])
    said: set[str] = set()
    return ResultView(
        counts=tuple((s.value, tally[s.value]) for s in SEVERITIES if tally[s.value]),
        cards=tuple(
            Card(
                severity=a["severity"],
                rule_id=a["rule"]["id"],
                title=a["patient_title"],
                patient_text=unsaid(a["patient_text"], said),
                involved=tuple(items[i] for i in a["medications"]),
                sources=tuple(a["sources"]),
                also_applies=tuple(other["patient_title"] for other in a["also_applies"]),
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
        items=tuple(items),
    )


def reading_order(alert: Mapping[str, Any]) -> tuple[int, int]:
    """Most severe first; within a severity, the heaviest by the policy's clinical weight (the
    knowledge base's: opioid combinations, those that call for naloxone first).

    The check's own order breaks ties (``sorted`` is stable), so the warning that says "this can
    cause death" is read before the ones about feeling drowsy.
    """
    return -Severity(alert["severity"]).rank, -alert["clinical_weight"]


def unsaid(text: str, said: set[str]) -> str:
    """The sentences of ``text`` not already on the page; adds them to ``said``.

    Rules that match together often end with the same advice ("Do not stop ... on your own"):
    a frightened reader should meet each sentence once, not five times.
    """
    kept = []
    for sentence in _SENTENCE_END.split(text.strip()):
        if sentence and sentence not in said:
            said.add(sentence)
            kept.append(sentence)
    return " ".join(kept)
