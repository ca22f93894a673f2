"""NCPDP Reason for Service (439-E4): the check gives each alert the code of what it is about.

standards.md section 4.2: DD drug-drug, OH alcohol, AT additive toxicity, ID ingredient duplication,
TD therapeutic duplication, HD high dose. Which ingredients are alcohol is the knowledge base's word
(``alcohol_class`` in kb.yaml), never a name in the code.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.domain.check import MedicationInput
from service.domain.snapshot import KbSnapshot

from .helpers import alert_for, run


@pytest.mark.parametrize(
    ("items", "ingredients", "kind", "code"),
    [
        (("clonazepam", "oxycodone"), ("clonazepam", "oxycodone"), "interaction", "DD"),
        (("clonazepam", "alcohol"), ("clonazepam", "ethanol"), "interaction", "OH"),
        (("oxycodone", "beer"), ("ethanol", "oxycodone"), "interaction", "OH"),
        (("sodium oxybate", "ethanol"), ("ethanol", "oxybate"), "interaction", "OH"),
        (("Klonopin", "clonazepam"), ("clonazepam",), "duplication", "ID"),
        (("clonazepam", "alprazolam"), ("alprazolam", "clonazepam"), "duplication", "TD"),
    ],
)
def test_each_alert_carries_the_reason_for_service_of_its_kind(
    seed_kb: KbSnapshot, items: tuple[str, ...], ingredients: tuple[str, ...], kind: str, code: str
) -> None:
    result = run(seed_kb, *items)
    alert = alert_for(result, *ingredients, kind=kind)
    assert alert is not None, [a.id for a in result.alerts]
    assert alert.reason_for_service == code


def test_the_cumulative_alert_is_additive_toxicity(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "clonazepam", "oxycodone", "alcohol")
    codes = {
        a.kind.value: a.reason_for_service for a in result.alerts if a.kind.value != "interaction"
    }
    assert codes == {"cumulative": "AT"}
    assert sorted(a.reason_for_service for a in result.alerts if a.kind.value == "interaction") == [
        "DD",
        "OH",
        "OH",
    ]


def test_the_beers_cumulative_alert_at_seventy_is_additive_toxicity(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "clonazepam", "zolpidem", "cyclobenzaprine", age=70)
    cumulative = next(a for a in result.alerts if a.kind.value == "cumulative")
    assert cumulative.reason_for_service == "AT"


def test_a_dose_over_the_limit_is_high_dose(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, MedicationInput(text="clonazepam", daily_dose_mg=30.0))
    (dose,) = [a for a in result.alerts if a.kind.value == "dose"]
    assert dose.reason_for_service == "HD"


def test_alcohol_is_whatever_the_knowledge_base_calls_alcohol(seed_kb: KbSnapshot) -> None:
    """A KB that names no alcohol class has no drug-alcohol code: its alerts stay DD."""
    without = KbSnapshot("no-alcohol-class", replace(seed_kb.kb, alcohol_class=None))
    alert = alert_for(run(without, "clonazepam", "alcohol"), "clonazepam", "ethanol")
    assert alert is not None and alert.reason_for_service == "DD"
    # Another class named as alcohol makes its members OH, whatever their name.
    benzodiazepines = KbSnapshot("benzos", replace(seed_kb.kb, alcohol_class="benzodiazepines"))
    alert = alert_for(run(benzodiazepines, "clonazepam", "oxycodone"), "clonazepam", "oxycodone")
    assert alert is not None and alert.reason_for_service == "OH"


def test_the_seed_knowledge_base_names_its_alcohol_class(seed_kb: KbSnapshot) -> None:
    assert seed_kb.kb.alcohol_class == "alcohol"
    assert "ethanol" in seed_kb.alcohol
