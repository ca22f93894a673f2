"""Run the pure check from plain Python values, as the doors would."""

from __future__ import annotations

from service.domain.check import CheckContext, CheckResult, MedicationInput, check, recognize
from service.domain.snapshot import KbSnapshot


def run(kb: KbSnapshot, *items: str | MedicationInput, age: int | None = None) -> CheckResult:
    inputs = [MedicationInput(text=i) if isinstance(i, str) else i for i in items]
    return check(recognize(inputs, kb), kb, CheckContext(patient_age=age))


def alert_for(result: CheckResult, *ingredients: str, kind: str | None = None):  # type: ignore[no-untyped-def]
    """The alert naming exactly these ingredients (and kind), or None."""
    wanted = tuple(sorted(ingredients))
    for alert in result.alerts:
        if alert.ingredients == wanted and (kind is None or alert.kind.value == kind):
            return alert
    return None


def is_rule(rule_id: str, policy_id: str) -> bool:
    """The policy's R60 is encoded as R60, or split by side as R60a, R60b …"""
    rest = rule_id.removeprefix(policy_id)
    return rule_id.startswith(policy_id) and (rest == "" or rest.isalpha())
