"""The clinical cases of the foundation issue and one case per policy rule, as a table."""

from __future__ import annotations

import pytest

from service.domain.check import MedicationInput
from service.domain.severity import Severity
from service.domain.snapshot import KbSnapshot

from .helpers import alert_for, run

MAJOR, MODERATE, CONTRA = Severity.MAJOR, Severity.MODERATE, Severity.CONTRAINDICATED


@pytest.mark.parametrize(
    ("medications", "pair", "severity", "rule"),
    [
        (["clonazepam", "oxycodone"], ("clonazepam", "oxycodone"), MAJOR, "R1"),
        (["Klonopin 2 mg", "alcohol"], ("clonazepam", "ethanol"), MAJOR, "R4"),
        (["alprazolam", "hydrocodone"], ("alprazolam", "hydrocodone"), MAJOR, "R1"),
        (["clonazepam", "Xyrem"], ("clonazepam", "oxybate"), MAJOR, "R8"),
        (["sodium oxybate", "alcohol"], ("ethanol", "oxybate"), CONTRA, "R6"),
        (["Suboxone", "clonazepam"], ("buprenorphine", "clonazepam"), MAJOR, "R2"),
        (["methadone", "lorazepam"], ("lorazepam", "methadone"), MAJOR, "R2"),
        (["Tussionex", "zolpidem"], ("hydrocodone", "zolpidem"), MAJOR, "R3"),
        (["promethazine with codeine", "alcohol"], ("codeine", "ethanol"), MAJOR, "R3"),
        (["Percocet", "wine"], ("ethanol", "oxycodone"), MAJOR, "R5"),
        (["Xyrem", "Ambien"], ("oxybate", "zolpidem"), CONTRA, "R7"),
        (["Xyrem", "triazolam"], ("oxybate", "triazolam"), CONTRA, "R7"),
        (["Xyrem", "oxycodone"], ("oxybate", "oxycodone"), MAJOR, "R8"),
        (["Lyrica", "morphine"], ("morphine", "pregabalin"), MAJOR, "R9"),
        (["gabapentin", "tramadol"], ("gabapentin", "tramadol"), MAJOR, "R9"),
        (["Fioricet", "oxycodone"], ("butalbital", "oxycodone"), MAJOR, "R10"),
        (["phenobarbital", "alprazolam"], ("alprazolam", "phenobarbital"), MAJOR, "R10"),
        (["clonazepam", "zolpidem"], ("clonazepam", "zolpidem"), MODERATE, "R11"),
        (["diazepam", "cyclobenzaprine"], ("cyclobenzaprine", "diazepam"), MODERATE, "R11"),
        (["clonazepam", "quetiapine"], ("clonazepam", "quetiapine"), MODERATE, "R11"),
        (["clonazepam", "trazodone"], ("clonazepam", "trazodone"), MODERATE, "R11"),
        (["clonazepam", "phenelzine"], ("clonazepam", "phenelzine"), MODERATE, "R11"),
        (["alprazolam", "levetiracetam"], ("alprazolam", "levetiracetam"), MODERATE, "R11"),
        (["clonazepam", "Belsomra"], ("clonazepam", "suvorexant"), MODERATE, "R11"),
        (["oxycodone", "zolpidem"], ("oxycodone", "zolpidem"), MAJOR, "R12"),
        (["oxycodone", "diphenhydramine"], ("diphenhydramine", "oxycodone"), MAJOR, "R12"),
        (["morphine", "mirtazapine"], ("mirtazapine", "morphine"), MAJOR, "R12"),
        (["alcohol", "gabapentin"], ("ethanol", "gabapentin"), MODERATE, "R13"),
        (["alcohol", "zolpidem"], ("ethanol", "zolpidem"), MODERATE, "R13"),
        (["clonazepam", "carbamazepine"], ("carbamazepine", "clonazepam"), MODERATE, "R14"),
        (["clonazepam", "Depakote"], ("clonazepam", "valproate"), MODERATE, "R15"),
        (["clonazepam", "ketoconazole"], ("clonazepam", "ketoconazole"), MODERATE, "R16"),
    ],
)
def test_a_pair_gets_the_rule_the_policy_decides(
    seed_kb: KbSnapshot,
    medications: list[str],
    pair: tuple[str, str],
    severity: Severity,
    rule: str,
) -> None:
    result = run(seed_kb, *medications)
    alert = alert_for(result, *pair, kind="interaction")
    assert alert is not None, [a.id for a in result.alerts]
    assert (alert.severity, alert.rule.id) == (severity, rule)


def test_clonazepam_with_neurontin_is_at_least_moderate(seed_kb: KbSnapshot) -> None:
    alert = alert_for(run(seed_kb, "clonazepam", "Neurontin"), "clonazepam", "gabapentin")
    assert alert is not None and alert.severity >= MODERATE


def test_three_cns_depressants_with_an_opioid_raise_a_major_cumulative_alert(
    seed_kb: KbSnapshot,
) -> None:
    result = run(seed_kb, "clonazepam", "oxycodone", "gabapentin")
    cumulative = alert_for(result, "clonazepam", "gabapentin", "oxycodone", kind="cumulative")
    assert cumulative is not None and cumulative.severity is MAJOR and cumulative.rule.id == "C1"
    for pair in [
        ("clonazepam", "oxycodone"),
        ("clonazepam", "gabapentin"),
        ("gabapentin", "oxycodone"),
    ]:
        assert alert_for(result, *pair, kind="interaction") is not None


def test_three_cns_depressants_without_opioid_or_oxybate_are_moderate(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "clonazepam", "zolpidem", "cyclobenzaprine")
    cumulative = alert_for(result, "clonazepam", "cyclobenzaprine", "zolpidem", kind="cumulative")
    assert cumulative is not None and cumulative.severity is MODERATE


def test_older_adults_on_three_beers_drugs_get_a_major_cumulative_alert(
    seed_kb: KbSnapshot,
) -> None:
    result = run(seed_kb, "clonazepam", "zolpidem", "cyclobenzaprine", age=72)
    cumulative = next(a for a in result.alerts if a.kind.value == "cumulative")
    assert cumulative.severity is MAJOR


def test_same_ingredient_twice_is_a_major_duplication(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "Klonopin", "clonazepam")
    alert = alert_for(result, "clonazepam", kind="duplication")
    assert alert is not None and alert.severity is MAJOR and alert.reason_for_service == "ID"
    assert alert.medications == (0, 1)


def test_two_benzodiazepines_are_a_therapeutic_duplication(seed_kb: KbSnapshot) -> None:
    alert = alert_for(
        run(seed_kb, "clonazepam", "alprazolam"), "alprazolam", "clonazepam", kind="duplication"
    )
    assert alert is not None and alert.severity is MODERATE and alert.reason_for_service == "TD"


def test_amoxicillin_raises_nothing_and_is_never_dropped(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "clonazepam", "amoxicillin")
    assert result.alerts == ()
    assert len(result.medications) == 2
    assert result.medications[1].recognized and result.medications[1].ingredients == (
        "amoxicillin",
    )
    assert "amoxicillin" in result.outside_scope


def test_a_panic_disorder_dose_above_four_mg_is_a_moderate_dose_alert(seed_kb: KbSnapshot) -> None:
    item = MedicationInput(text="clonazepam 2 mg", daily_dose_mg=6)
    alert = alert_for(run(seed_kb, item), "clonazepam", kind="dose")
    assert alert is not None and alert.severity is MODERATE and alert.rule.id == "H2"


def test_a_seizure_dose_of_eight_mg_is_within_the_label(seed_kb: KbSnapshot) -> None:
    item = MedicationInput(text="clonazepam", daily_dose_mg=8, indication="seizure disorder")
    assert alert_for(run(seed_kb, item), "clonazepam", kind="dose") is None


def test_above_twenty_mg_is_major_for_any_indication(seed_kb: KbSnapshot) -> None:
    item = MedicationInput(text="clonazepam", daily_dose_mg=24, indication="seizure disorder")
    alert = alert_for(run(seed_kb, item), "clonazepam", kind="dose")
    assert alert is not None and alert.severity is MAJOR and alert.rule.id == "H1"


def test_a_typo_is_unrecognised_with_a_suggestion(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "klonopinn", "oxycodone")
    assert not result.complete
    typo = result.medications[0]
    assert not typo.recognized and "Klonopin (clonazepam)" in typo.suggestions


def test_ingredients_of_one_combination_product_are_not_alerted_against_each_other(
    seed_kb: KbSnapshot,
) -> None:
    result = run(seed_kb, "promethazine with codeine")
    assert alert_for(result, "codeine", "promethazine", kind="interaction") is None


def test_a_combination_product_counts_toward_the_cumulative_rule(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "promethazine with codeine", "clonazepam")
    assert alert_for(result, "clonazepam", "codeine", "promethazine", kind="cumulative") is not None


def test_opioid_rules_suggest_naloxone(seed_kb: KbSnapshot) -> None:
    alert = alert_for(run(seed_kb, "clonazepam", "oxycodone"), "clonazepam", "oxycodone")
    assert alert is not None and alert.rule.suggest_naloxone
    assert "naloxone" in alert.rule.patient_text.lower()


def test_every_summary_fits_a_cds_card(seed_kb: KbSnapshot) -> None:
    result = run(
        seed_kb, "clonazepam", "oxycodone", "gabapentin", "zolpidem", "alcohol", "Tylenol PM"
    )
    assert result.alerts and all(len(a.summary) < 140 for a in result.alerts)
