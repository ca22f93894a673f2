"""An alert's patient text in the language asked for, never half translated, English otherwise."""

from __future__ import annotations

from dataclasses import replace

from service.domain.document import alert_record, with_texts
from service.domain.knowledge import PatientTranslation, Rule
from service.domain.snapshot import KbSnapshot

from .helpers import alert_for, run
from .test_precedence import interaction, snapshot


def _spanish(rule: Rule, must_tell: str = "") -> Rule:
    return replace(
        rule,
        translations=(
            PatientTranslation(
                "es", f"{rule.id} texto para el paciente.", must_tell, f"{rule.id} en español"
            ),
        ),
    )


def _two_matching_rules(*, translate_both: bool) -> KbSnapshot:
    broad = _spanish(
        interaction("R10", "major", ("class:barbiturates",), ("class:benzodiazepines",))
    )
    narrow = interaction(
        "R14",
        "moderate",
        ("drug:clonazepam",),
        ("drug:phenobarbital",),
        always_tell_patient="Keep taking it.",
    )
    return snapshot(broad, _spanish(narrow, "Siga tomándolo.") if translate_both else narrow)


def test_every_matching_rule_speaks_spanish_so_the_alert_does() -> None:
    kb = _two_matching_rules(translate_both=True)
    text, language = kb.patient_wording(["R10", "R14"], "es")
    assert (text, language) == ("R10 texto para el paciente. Siga tomándolo.", "es")


def test_one_untranslated_rule_makes_the_whole_alert_english() -> None:
    kb = _two_matching_rules(translate_both=False)
    text, language = kb.patient_wording(["R10", "R14"], "es")
    assert (text, language) == ("R10 patient text. Keep taking it.", "en")


def test_a_language_the_knowledge_base_does_not_have_falls_back_to_english() -> None:
    kb = _two_matching_rules(translate_both=True)
    assert kb.patient_wording(["R10"], "fr") == ("R10 patient text.", "en")


def test_the_answer_says_which_language_its_patient_text_is_in(seed_kb: KbSnapshot) -> None:
    alert = alert_for(run(seed_kb, "clonazepam", "oxycodone"), "clonazepam", "oxycodone")
    assert alert is not None
    record = alert_record(alert, seed_kb, shown=True)
    spanish, english = with_texts(record, seed_kb, "es"), with_texts(record, seed_kb)
    assert spanish["patient_text_language"] == "es" and english["patient_text_language"] == "en"
    assert spanish["patient_text"].startswith("Tomar un opioide")
    assert english["patient_text"].startswith("Taking an opioid")
    assert spanish["patient_title"] == "Opioide con una benzodiazepina"
    assert english["patient_title"] == english["rule"]["title"] == spanish["rule"]["title"]
    # Only the patient texts change: clinicians, auditors and the log read the same English.
    differing = {key for key in english if english[key] != spanish[key]}
    assert differing == {"patient_text", "patient_text_language", "patient_title"}


def test_the_other_matching_rules_are_titled_in_the_alerts_patient_language() -> None:
    record = {
        "rule": {"id": "R10", "title": "Rule R10"},
        "also_matched": ["R14"],
        "summary": "Summary.",
    }
    translated = with_texts(record, _two_matching_rules(translate_both=True), "es")
    assert translated["patient_title"] == "R10 en español"
    [other] = translated["also_applies"]
    assert (other["patient_title"], other["title"]) == ("R14 en español", "Rule R14")
    untranslated = with_texts(record, _two_matching_rules(translate_both=False), "es")
    assert untranslated["patient_title"] == "Rule R10"  # one rule untranslated: all English
    assert untranslated["also_applies"][0]["patient_title"] == "Rule R14"


def test_a_translation_stored_before_titles_were_translated_is_not_used() -> None:
    rule = interaction("R10", "major", ("class:barbiturates",), ("class:benzodiazepines",))
    untitled = replace(rule, translations=(PatientTranslation("es", "Texto.", ""),))
    assert untitled.patient_texts("es") is None and untitled.patient_title("es") is None
    assert snapshot(untitled).patient_wording(["R10"], "es") == ("R10 patient text.", "en")


def test_a_translation_is_part_of_the_version_id() -> None:
    rule = interaction("R10", "major", ("class:barbiturates",), ("class:benzodiazepines",))
    english_only, translated = snapshot(rule).kb, snapshot(_spanish(rule)).kb
    assert english_only.content_hash() != translated.content_hash()
