"""Precedence P1-P5, routes and rescue drugs, on knowledge bases small enough to read in the test."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from service.domain.check import MedicationInput
from service.domain.knowledge import (
    SYSTEMIC,
    DoseLimit,
    DrugClass,
    DrugName,
    DuplicationCriteria,
    Ingredient,
    KnowledgeBase,
    Ref,
    Route,
    Rule,
    Source,
)
from service.domain.severity import AlertKind, Severity
from service.domain.snapshot import KbSnapshot

from .helpers import alert_for, run

DRUGS = ("alprazolam", "ritonavir", "itraconazole", "clonazepam", "phenobarbital", "naloxone")
ROUTES = (
    Route("oral", "oral", True),
    Route("injectable", "injection", True),
    Route("topical", "topical", False),
)


def rule(rule_id: str, kind: AlertKind, severity: str, **fields: object) -> Rule:
    """A rule whose texts only name it: these tests are about which rule decides."""
    return Rule(
        id=rule_id,
        kind=kind,
        title=f"Rule {rule_id}",
        severity=Severity(severity),
        summary=f"{rule_id} summary.",
        effect=f"{rule_id} effect.",
        mechanism=f"{rule_id} mechanism.",
        management=f"{rule_id} management.",
        patient_text=f"{rule_id} patient text.",
        sources=("L1",),
        **fields,  # type: ignore[arg-type]
    )


def interaction(
    rule_id: str,
    severity: str,
    left: tuple[str, ...],
    right: tuple[str, ...],
    **fields: object,
) -> Rule:
    between = (tuple(map(Ref.parse, left)), tuple(map(Ref.parse, right)))
    return rule(rule_id, AlertKind.INTERACTION, severity, between=between, **fields)


def classes() -> tuple[DrugClass, ...]:
    return (
        DrugClass("benzodiazepines", "Benzodiazepines", ("alprazolam", "clonazepam")),
        DrugClass("barbiturates", "Barbiturates", ("phenobarbital",)),
        DrugClass(
            "strong_cyp3a_inhibitors",
            "Strong CYP3A inhibitors",
            ("itraconazole", "ritonavir"),
            routes=(SYSTEMIC,),
            helper=True,
        ),
        DrugClass("injected_benzodiazepines", "Injected", ("clonazepam",), routes=("injectable",)),
        DrugClass("cns", "CNS depressants", union_of=("benzodiazepines", "barbiturates")),
    )


def snapshot(*rules: Rule, never_alert: tuple[str, ...] = ()) -> KbSnapshot:
    kb = KnowledgeBase(
        scope="Test scope.",
        sources=(Source("L1", "A label", "https://example.org/label", "label"),),
        ingredients=tuple(Ingredient(d) for d in DRUGS),
        names=(DrugName("Nizoral A-D", ("itraconazole",), "brand", route="topical"),),
        classes=classes(),
        rules=rules,
        routes=ROUTES,
        never_alert=never_alert,
    )
    return KbSnapshot("test", kb)


def test_a_specific_moderate_rule_never_lowers_a_broad_major_one() -> None:
    kb = snapshot(
        interaction("R10", "major", ("class:barbiturates",), ("class:benzodiazepines",)),
        interaction("R14", "moderate", ("drug:clonazepam",), ("drug:phenobarbital",)),
    )
    alert = alert_for(run(kb, "clonazepam", "phenobarbital"), "clonazepam", "phenobarbital")
    assert alert is not None
    assert (alert.severity, alert.rule.id) == (Severity.MAJOR, "R10")
    assert [rule.id for rule in alert.also_applies] == ["R14"]


def test_at_one_severity_the_most_specific_rule_supplies_the_words() -> None:
    kb = snapshot(
        interaction("broad", "major", ("class:cns",), ("class:cns",)),
        interaction("narrow", "major", ("drug:clonazepam",), ("class:barbiturates",)),
    )
    alert = alert_for(run(kb, "phenobarbital", "clonazepam"), "clonazepam", "phenobarbital")
    assert alert is not None and alert.rule.id == "narrow"
    assert [rule.id for rule in alert.also_applies] == ["broad"]


def test_more_specific_lower_rules_are_listed_before_broader_ones() -> None:
    kb = snapshot(
        interaction("top", "contraindicated", ("class:cns",), ("class:cns",)),
        interaction("mid", "major", ("class:benzodiazepines",), ("class:barbiturates",)),
        interaction("drug", "minor", ("drug:clonazepam",), ("drug:phenobarbital",)),
    )
    alert = alert_for(run(kb, "clonazepam", "phenobarbital"), "clonazepam", "phenobarbital")
    assert alert is not None and alert.rule.id == "top"
    assert [rule.id for rule in alert.also_applies] == ["drug", "mid"]


def test_a_declared_exception_narrows_the_rule_and_leaves_the_others() -> None:
    kb = snapshot(
        interaction(
            "R23",
            "contraindicated",
            ("drug:alprazolam",),
            ("class:strong_cyp3a_inhibitors",),
        ),
        interaction("R24", "major", ("drug:alprazolam",), ("drug:ritonavir",)),
    )
    excepted = replace(kb.rules["R23"], excluded=((), (Ref("drug", "ritonavir"),)))
    kb = snapshot(excepted, kb.rules["R24"])
    result = run(kb, "alprazolam", "ritonavir", "itraconazole")
    with_ritonavir = alert_for(result, "alprazolam", "ritonavir")
    with_itraconazole = alert_for(result, "alprazolam", "itraconazole")
    assert with_ritonavir is not None and with_ritonavir.rule.id == "R24"
    assert with_ritonavir.also_applies == ()
    assert with_itraconazole is not None
    assert with_itraconazole.severity is Severity.CONTRAINDICATED


def test_an_exception_applies_from_either_side_of_the_pair() -> None:
    rule = interaction(
        "R23",
        "contraindicated",
        ("class:strong_cyp3a_inhibitors",),
        ("class:benzodiazepines",),
        excluded=((Ref("drug", "ritonavir"),), ()),
    )
    kb = snapshot(rule)
    assert alert_for(run(kb, "alprazolam", "ritonavir"), "alprazolam", "ritonavir") is None
    assert alert_for(run(kb, "ritonavir", "alprazolam"), "alprazolam", "ritonavir") is None
    assert alert_for(run(kb, "itraconazole", "alprazolam"), "alprazolam", "itraconazole")


def test_a_systemic_only_class_ignores_a_topical_product_but_not_an_unknown_route() -> None:
    kb = snapshot(
        interaction(
            "R23", "contraindicated", ("drug:alprazolam",), ("class:strong_cyp3a_inhibitors",)
        )
    )
    assert alert_for(run(kb, "alprazolam", "Nizoral A-D"), "alprazolam", "itraconazole") is None
    assert (
        alert_for(run(kb, "alprazolam", "itraconazole cream"), "alprazolam", "itraconazole") is None
    )
    topical = MedicationInput(text="itraconazole", route="topical")
    assert alert_for(run(kb, "alprazolam", topical), "alprazolam", "itraconazole") is None
    assert alert_for(run(kb, "alprazolam", "itraconazole"), "alprazolam", "itraconazole")
    assert alert_for(run(kb, "alprazolam", "itraconazole tablet"), "alprazolam", "itraconazole")


def test_words_pointing_to_a_systemic_and_a_topical_route_count_as_systemic() -> None:
    kb = snapshot(
        interaction(
            "R23", "contraindicated", ("drug:alprazolam",), ("class:strong_cyp3a_inhibitors",)
        )
    )
    result = run(kb, "alprazolam", "itraconazole tablet cream")
    assert result.medications[1].route is None
    assert alert_for(result, "alprazolam", "itraconazole")


def test_a_class_of_listed_routes_needs_the_route_documented() -> None:
    kb = snapshot(
        interaction("R11", "moderate", ("class:barbiturates",), ("class:benzodiazepines",)),
        interaction("R92", "major", ("class:injected_benzodiazepines",), ("class:barbiturates",)),
    )
    oral = alert_for(run(kb, "clonazepam", "phenobarbital"), "clonazepam", "phenobarbital")
    injected = alert_for(
        run(kb, "clonazepam injection", "phenobarbital"), "clonazepam", "phenobarbital"
    )
    assert oral is not None and oral.rule.id == "R11"
    assert injected is not None and injected.rule.id == "R92"


def test_a_fallback_rule_stands_aside_for_rules_at_least_as_severe_but_never_lowers() -> None:
    kb = snapshot(
        interaction("R1", "minor", ("drug:alprazolam",), ("drug:phenobarbital",)),
        interaction("R2", "moderate", ("drug:clonazepam",), ("drug:phenobarbital",)),
        interaction("R93", "moderate", ("class:cns",), ("class:cns",), fallback=True),
    )
    milder = alert_for(run(kb, "alprazolam", "phenobarbital"), "alprazolam", "phenobarbital")
    as_severe = alert_for(run(kb, "clonazepam", "phenobarbital"), "clonazepam", "phenobarbital")
    assert milder is not None and milder.rule.id == "R93"
    assert [rule.id for rule in milder.also_applies] == ["R1"]
    assert as_severe is not None and as_severe.rule.id == "R2" and as_severe.also_applies == ()
    # Two members of one of the union's classes are alike, not an interaction.
    assert alert_for(run(kb, "clonazepam", "alprazolam"), "alprazolam", "clonazepam") is None


def test_naloxone_never_alerts_not_even_as_a_duplicate() -> None:
    duplication = rule(
        "D1", AlertKind.DUPLICATION, "major", duplication=DuplicationCriteria(same_ingredient=True)
    )
    kb = snapshot(
        interaction("R78", "contraindicated", ("drug:naloxone",), ("class:benzodiazepines",)),
        duplication,
        never_alert=("naloxone",),
    )
    result = run(kb, "naloxone", "naloxone", "alprazolam")
    assert result.alerts == ()
    assert result.complete


def test_flags_and_required_wording_of_any_matching_rule_apply() -> None:
    kb = snapshot(
        interaction("R10", "major", ("class:barbiturates",), ("class:benzodiazepines",)),
        interaction(
            "R2",
            "moderate",
            ("drug:clonazepam",),
            ("class:barbiturates",),
            suggest_naloxone=True,
            always_say="Never stop the treatment.",
            always_tell_patient="Keep taking it.",
        ),
    )
    alert = alert_for(run(kb, "clonazepam", "phenobarbital"), "clonazepam", "phenobarbital")
    assert alert is not None and alert.rule.id == "R10" and alert.suggest_naloxone
    rule_ids = [r.id for r in alert.rules]
    assert kb.required_wording(rule_ids) == ["Never stop the treatment."]
    patient_text, language = kb.patient_wording(rule_ids, "en")
    assert patient_text.endswith(" Keep taking it.") and language == "en"


def test_an_indication_matches_in_any_case_or_near_spelling() -> None:
    dose = rule(
        "H2",
        AlertKind.DOSE,
        "moderate",
        dose_limit=DoseLimit("clonazepam", 4.0, ("epilepsy", "Lennox-Gastaut syndrome")),
    )
    kb = snapshot(dose)

    def dosed(indication: str | None) -> MedicationInput:
        return MedicationInput(text="clonazepam", daily_dose_mg=6.0, indication=indication)

    for exempt in (
        "EPILEPSY",
        "epilepsey",
        "lennox gastaut syndrome",
        "Lennox\u2013Gastaut Syndrome",
    ):
        assert run(kb, dosed(exempt)).alerts == (), exempt
    for not_exempt in (None, "panic disorder", "anxiety"):
        assert run(kb, dosed(not_exempt)).alerts, not_exempt


SEVERITIES = st.sampled_from([s.value for s in Severity])
REFS = st.sampled_from(
    [f"drug:{d}" for d in DRUGS[:5]] + [f"class:{c.id}" for c in classes() if c.id != "cns"]
)


@given(
    base=st.lists(st.tuples(SEVERITIES, REFS, REFS), max_size=4),
    extra=st.tuples(SEVERITIES, REFS, REFS),
    meds=st.lists(st.sampled_from(DRUGS[:5]), min_size=2, max_size=4, unique=True),
)
def test_adding_a_rule_never_lowers_a_pairs_severity(
    base: list[tuple[str, str, str]], extra: tuple[str, str, str], meds: list[str]
) -> None:
    rules = [interaction(f"B{i}", s, (a,), (b,)) for i, (s, a, b) in enumerate(base)]
    before = run(snapshot(*rules), *meds)
    after = run(snapshot(*rules, interaction("X", extra[0], (extra[1],), (extra[2],))), *meds)
    severity_after = {a.ingredients: a.severity for a in after.alerts}
    for alert in before.alerts:
        assert severity_after[alert.ingredients] >= alert.severity
