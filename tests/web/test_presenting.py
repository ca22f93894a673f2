"""How the patient page arranges an answer: the reading order within a severity, and advice said once."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.web.presenting import reading_order, unsaid


def alert(severity: str, weight: int, rule: str) -> dict[str, Any]:
    return {"severity": severity, "clinical_weight": weight, "rule": rule}


def test_within_a_severity_the_heaviest_warning_comes_first_and_severity_still_wins() -> None:
    answer = [  # the check's own order: severity, then ingredient names
        alert("contraindicated", 0, "R6"),
        alert("major", 0, "R4"),
        alert("major", 0, "C1"),
        alert("major", 2, "R1"),
        alert("major", 1, "R5"),
        alert("major", 1, "R12"),
        alert("moderate", 2, "R81"),
    ]
    assert [a["rule"] for a in sorted(answer, key=reading_order)] == [
        "R6",
        "R1",
        "R5",
        "R12",
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
