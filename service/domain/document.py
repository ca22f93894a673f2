"""The answer as plain JSON-ready dicts: one shape, logged and served by every JSON door."""

from __future__ import annotations

from typing import Any

from .check import Alert, CheckResult, Medication
from .knowledge import SOURCE_LANGUAGE
from .severity import Severity
from .snapshot import KbSnapshot


def ingredient_refs(names: tuple[str, ...], kb: KbSnapshot) -> list[dict[str, Any]]:
    return [{"name": n, "rxcui": kb.ingredient_rxcui(n)} for n in names]


def medication_document(med: Medication, raw_input: Any, kb: KbSnapshot) -> dict[str, Any]:
    return {
        "input": raw_input,
        "status": "recognized" if med.recognized else "unrecognized",
        "matched": med.matched,
        "rxcui": med.rxcui,
        "ingredients": ingredient_refs(med.ingredients, kb),
        "route": med.route,
        "dose_form": med.dose_form,
        "suggestions": list(med.suggestions),
    }


def alert_record(alert: Alert, kb: KbSnapshot, shown: bool) -> dict[str, Any]:
    """What the log keeps of an alert: everything but the rule's texts, which its KB version holds."""
    mapping = alert.severity.mapping
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "rule": {"id": alert.rule.id, "title": alert.rule.title},
        "also_matched": [rule.id for rule in alert.also_applies],
        "ingredients": ingredient_refs(alert.ingredients, kb),
        "medications": list(alert.medications),
        "summary": alert.summary,
        "suggest_naloxone": alert.suggest_naloxone,
        "ncpdp": {
            "reason_for_service": alert.reason_for_service,
            "clinical_significance": mapping.ncpdp_clinical_significance,
        },
        "cds_indicator": mapping.cds_indicator,
        "shown": shown,
    }


def with_texts(
    record: dict[str, Any], kb: KbSnapshot, language: str = SOURCE_LANGUAGE
) -> dict[str, Any]:
    """A logged alert as answered: its rule's wording and sources, from the KB version that
    produced it, added; the log's own ``shown`` flag left out.

    The patient texts (``patient_text``, and the ``patient_title`` of the alert and of each
    also-applies entry) are in ``language`` where the KB version has it, else in English;
    ``patient_text_language`` says which. Clinician texts, ``title`` included, are always English.
    """
    rule_ids = [record["rule"]["id"], *record.get("also_matched", ())]
    wording = kb.wording[rule_ids[0]]
    alert = dict(record)
    alert.pop("shown", None)
    must_say = kb.required_wording(rule_ids)
    alert["clinician_text"] = " ".join([record["summary"], wording.clinician_details, *must_say])
    alert["patient_text"], patient_language = kb.patient_wording(rule_ids, language)
    alert["patient_text_language"] = patient_language
    alert["patient_title"] = kb.patient_title(rule_ids[0], patient_language)
    alert["management"] = " ".join([wording.management, *must_say])
    alert["sources"] = wording.sources
    alert["also_applies"] = [
        kb.also_applies_entry(rule_id, patient_language) for rule_id in rule_ids[1:]
    ]
    alert["unconfirmed"] = any(kb.rules[rule_id].unconfirmed for rule_id in rule_ids)
    alert["clinical_weight"] = kb.clinical_weight(rule_ids)
    return alert


def scope_document(result: CheckResult, kb: KbSnapshot) -> dict[str, Any]:
    return {
        "statement": kb.kb.scope,
        "not_checked": [m.input.label for m in result.unrecognized],
        "recognized_without_rules": list(result.outside_scope),
    }


def is_shown(alert: Alert, min_severity: Severity | None) -> bool:
    return min_severity is None or alert.severity >= min_severity
