"""The policy's clinical weight, read from the knowledge base: within a severity, the combinations
with an opioid come first, those for which the policy asks for naloxone first of all."""

from __future__ import annotations

import pytest

from service.domain.document import alert_record, with_texts
from service.domain.snapshot import KbSnapshot

from .helpers import alert_for, run


@pytest.mark.parametrize(
    ("rule_id", "weight"),
    [
        ("R1", 2),  # opioid with a benzodiazepine: naloxone suggested
        ("R9", 2),  # gabapentinoid with an opioid
        ("R5", 1),  # opioid with alcohol
        ("R12", 1),  # opioid with another CNS depressant
        ("R3", 1),  # opioid cough products: a subclass of the opioids, no members of its own
        ("R18", 1),  # methadone, an opioid ingredient, with an azole
        ("R4", 0),  # benzodiazepine with alcohol
        ("R10", 0),  # barbiturate with "an opioid or a benzodiazepine": not opioids only
        ("C1", 0),  # the cumulative rule has no sides
    ],
)
def test_a_rules_weight_comes_from_its_sides_and_flags(
    seed_kb: KbSnapshot, rule_id: str, weight: int
) -> None:
    assert seed_kb.clinical_weight([rule_id]) == weight


def test_an_alert_weighs_as_much_as_its_heaviest_matching_rule(seed_kb: KbSnapshot) -> None:
    assert seed_kb.clinical_weight(["R13", "R5"]) == 1
    assert seed_kb.clinical_weight(["R4", "R13"]) == 0


def test_the_answer_carries_each_alerts_weight(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "oxycodone", "alcohol", "clonazepam")
    documents = {}
    for pair in (("clonazepam", "oxycodone"), ("ethanol", "oxycodone"), ("clonazepam", "ethanol")):
        found = alert_for(result, *pair)
        assert found is not None
        documents[pair] = with_texts(alert_record(found, seed_kb, shown=True), seed_kb)
    assert [d["clinical_weight"] for d in documents.values()] == [2, 1, 0]
