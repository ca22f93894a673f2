"""Every patient text of the knowledge base reads at grade 8 or below, in English and in Spanish.

English: Flesch-Kincaid grade level at most 8 (the US health-literacy target for patient material).
Spanish: Fernández-Huerta readability at least 60 ("normal", about grade 7-8; the corrected
formula 206.84 - 60 * syllables per word - 1.02 * words per sentence, as textstat computes it).
A mandatory sentence (``always_tell_patient``) is held to the same bar as the text around it.
"""

from __future__ import annotations

import pytest
import textstat

from ..strategies import seed_knowledge

MAX_ENGLISH_GRADE = 8.0
MIN_SPANISH_EASE = 60.0


def _patient_texts(language: str) -> list[pytest.ParameterSet]:
    found = []
    for rule in seed_knowledge().rules:
        texts = rule.patient_texts(language)
        assert texts is not None, f"{rule.id} has no {language} patient text"
        for field, text in zip(("patient_text", "always_tell_patient"), texts, strict=True):
            if text:
                found.append(pytest.param(text, id=f"{rule.id}.{field}"))
    return found


@pytest.mark.parametrize("text", _patient_texts("en"))
def test_an_english_patient_text_is_at_grade_8_or_below(text: str) -> None:
    textstat.set_lang("en")
    assert textstat.flesch_kincaid_grade(text) <= MAX_ENGLISH_GRADE


@pytest.mark.parametrize("text", _patient_texts("es"))
def test_a_spanish_patient_text_reads_as_normal_or_easier(text: str) -> None:
    textstat.set_lang("es")
    assert textstat.fernandez_huerta(text) >= MIN_SPANISH_EASE
