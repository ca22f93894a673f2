"""How the patient page arranges an answer: the reading order within a severity, and advice said once."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.web.presenting import reading_order, unsaid


def alert(severity: str, naloxone: bool, rule: str) -> dict[str, Any]:
    return {"severity": severity, "suggest_naloxone": naloxone, "rule": rule}


def test_within_a_severity_the_naloxone_warning_comes_first_and_severity_still_wins() -> None:
    answer = [  # the check's own order: severity, then ingredient names
        alert("contraindicated", False, "R6"),
        alert("major", False, "R4"),
        alert("major", False, "C1"),
        alert("major", True, "R1"),
        alert("moderate", True, "R81"),
    ]
    assert [a["rule"] for a in sorted(answer, key=reading_order)] == [
        "R6",
        "R1",
        "R4",
        "C1",
        "R81",
    ]


def test_a_sentence_already_on_the_page_is_not_said_again() -> None:
    said: set[str] = set()
    first = unsaid("Stop drinking. Do not stop on your own. Stopping can be dangerous.", said)
    second = unsaid("You could fall. Do not stop on your own. Stopping can be dangerous.", said)
    assert first == "Stop drinking. Do not stop on your own. Stopping can be dangerous."
    assert second == "You could fall."
    assert unsaid("Do not stop on your own.", said) == ""


sentence = st.sampled_from(["Call today.", "Do not stop.", "You could fall!", "Why?", "Ask first."])


@given(st.lists(st.lists(sentence, max_size=6), max_size=6))
def test_every_sentence_is_kept_exactly_once_in_page_order(texts: list[list[str]]) -> None:
    said: set[str] = set()
    shown = [unsaid(" ".join(text), said) for text in texts]
    kept = " ".join(s for s in shown if s).split()
    expected: list[str] = []
    for text in texts:
        for s in text:
            if s not in expected:
                expected.append(s)
    assert kept == " ".join(expected).split()
