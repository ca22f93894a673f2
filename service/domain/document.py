"""A check's documents, in the shapes typed in ``answer``: logged, then served by every door."""

from __future__ import annotations

from typing import Any, cast

from .answer import (
    AlertRecord,
    AnsweredAlert,
    IngredientRef,
    MedicationDocument,
    ScopeDocument,
)
from .check import Alert, CheckResult, Medication
from .knowledge import SOURCE_LANGUAGE
from .severity import Severity
from .snapshot import KbSnapshot


def ingredient_refs(names: tuple[str, ...], kb: KbSnapshot) -> list[IngredientRef]:
    return [{"name": n, "rxcui": kb.ingredient_rxcui(n)} for n in names]


def medication_document(med: Medication, raw_input: Any, kb: KbSnapshot) -> MedicationDocument:
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


def alert_record(alert: Alert, kb: KbSnapshot, shown: bool, uuid: str) -> AlertRecord:
    """What the log keeps of an alert: everything but the rule's texts, which its KB version holds.

    ``uuid`` names this alert in this check (CDS cards, feedback); the caller draws it.
    """
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
        "uuid": uuid,
    }


def with_texts(
    record: AlertRecord, kb: KbSnapshot, language: str = SOURCE_LANGUAGE
) -> AnsweredAlert:
    """A logged alert as answered: its rule's wording and sources, from the KB version that
    produced it, added; the log's own ``shown`` flag left out.

    The patient texts (``patient_text``, and the ``patient_title`` of the alert and of each
    also-applies entry) are in ``language`` where the KB version has it, else in English;
    ``patient_text_language`` says which. Clinician texts, ``title`` included, are always English.
    """
    rule_ids = (record["rule"]["id"], *record.get("also_matched", ()))
    clinician_details, wording = kb.alert_wording(rule_ids, language)
    # Copied whole, not key by key: a row logged by an older release reads back as it was logged.
    facts = {key: value for key, value in record.items() if key != "shown"}
    clinician_text = f"{record['summary']} {clinician_details}"
    return cast(AnsweredAlert, {**facts, "clinician_text": clinician_text, **wording})


def scope_document(result: CheckResult, kb: KbSnapshot) -> ScopeDocument:
    return {
        "statement": kb.kb.scope,
        "not_checked": [m.input.label for m in result.unrecognized],
        "recognized_without_rules": list(result.outside_scope),
    }


def is_shown(alert: Alert, min_severity: Severity | None) -> bool:
    return min_severity is None or alert.severity >= min_severity
