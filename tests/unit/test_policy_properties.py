"""Properties of the policy (docs/clinical-policy.md) over the real seed knowledge base.

Medications are drawn from the whole vocabulary (``tests/strategies.py``): every ingredient and name
of the knowledge base and of its RxNorm file, so a property holds for what is in the files.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.check import Alert, CheckResult
from service.domain.knowledge import Ref
from service.domain.severity import AlertKind, Severity
from service.domain.snapshot import KbSnapshot

from ..strategies import medication_lists, medication_names
from .helpers import is_rule, run

profile = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# The rules that exist only because both drugs depress the CNS (policy §7.1–7.3).
CNS_RULES = frozenset({"R11", "R12", "R13", "R93", "C1"})


def _signature(result: CheckResult) -> list[tuple[object, ...]]:
    """Everything an alert says, except which list positions it points at."""
    return sorted(
        (
            a.kind.value,
            a.ingredients,
            a.severity.value,
            a.rule.id,
            tuple(r.id for r in a.also_applies),
            a.suggest_naloxone,
            a.reason_for_service,
        )
        for a in result.alerts
    )


def _pair_alerts(result: CheckResult) -> dict[tuple[AlertKind, tuple[str, ...]], Severity]:
    """Interaction and duplication alerts by (kind, ingredients), leaving out same-product pairs."""
    return {
        (a.kind, a.ingredients): a.severity
        for a in result.alerts
        if a.kind in (AlertKind.INTERACTION, AlertKind.DUPLICATION) and not _same_product(a)
    }


def _same_product(alert: Alert) -> bool:
    return len(alert.ingredients) > 1 and len(alert.medications) == 1


@profile
@given(data=st.data())
def test_the_order_of_the_list_never_changes_the_answer(
    seed_kb: KbSnapshot, data: st.DataObject
) -> None:
    meds = data.draw(medication_lists, label="medications")
    shuffled = data.draw(st.permutations(meds), label="shuffled")
    assert _signature(run(seed_kb, *meds)) == _signature(run(seed_kb, *shuffled))


@profile
@given(data=st.data())
def test_adding_a_drug_never_removes_or_weakens_an_alert(
    seed_kb: KbSnapshot, data: st.DataObject
) -> None:
    meds = data.draw(medication_lists, label="medications")
    extra = data.draw(medication_names, label="extra")
    before = _pair_alerts(run(seed_kb, *meds))
    after = _pair_alerts(run(seed_kb, *meds, extra))
    missing = sorted(key for key in before if key not in after)
    assert missing == [], f"adding {extra!r} removed {missing}"
    weaker = sorted(key for key, severity in before.items() if after[key] < severity)
    assert weaker == [], f"adding {extra!r} weakened {weaker}"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_adding_an_interaction_rule_never_lowers_a_pairs_severity(
    seed_kb: KbSnapshot, data: st.DataObject
) -> None:
    knowledge = seed_kb.kb
    class_ids = sorted(c.id for c in knowledge.classes if seed_kb.members[c.id])
    left = data.draw(st.sampled_from(class_ids), label="left class")
    right = data.draw(st.sampled_from(class_ids), label="right class")
    interaction_rules = [r for r in knowledge.rules if r.kind is AlertKind.INTERACTION]
    template = data.draw(st.sampled_from(interaction_rules), label="template")
    probe = replace(
        template,
        id="PROBE",
        severity=data.draw(st.sampled_from(list(Severity)), label="severity"),
        between=((Ref("class", left),), (Ref("class", right),)),
        excluded=((), ()),
        fallback=False,
        suggest_naloxone=False,
    )
    position = data.draw(st.integers(0, len(knowledge.rules)), label="position")
    rules = (*knowledge.rules[:position], probe, *knowledge.rules[position:])
    extended = KbSnapshot("probe", replace(knowledge, rules=rules))

    # One member of each side, so the new rule matches a pair, and whatever else.
    members = [
        data.draw(st.sampled_from(sorted(seed_kb.members[class_id])), label=f"{class_id} member")
        for class_id in (left, right)
    ]
    others = data.draw(st.lists(medication_names, max_size=4), label="others")
    meds = [*members, *others]
    before = _pair_alerts(run(seed_kb, *meds))
    after = _pair_alerts(run(extended, *meds))
    lowered = sorted(
        key
        for key, severity in before.items()
        if key[0] is AlertKind.INTERACTION and (key not in after or after[key] < severity)
    )
    assert lowered == [], f"{probe.between} at {probe.severity.value} lowered {lowered}"


@cache
def _helper_only_ingredients(kb: KbSnapshot) -> tuple[str, ...]:
    """Members of a helper class (CYP, MAO, serotonergic, QT …) that belong to no CNS class."""
    helpers: set[str] = set()
    for drug_class in kb.kb.classes:
        if drug_class.helper:
            helpers |= kb.members[drug_class.id]
    return tuple(sorted(helpers - kb.members["cns_depressants"]))


@profile
@given(data=st.data())
def test_a_helper_class_member_never_raises_a_cns_depression_alert(
    seed_kb: KbSnapshot, data: st.DataObject
) -> None:
    helper_only = _helper_only_ingredients(seed_kb)
    depressants = sorted(seed_kb.members["cns_depressants"])
    assert helper_only and depressants
    helper = data.draw(st.sampled_from(helper_only), label="helper-class member")
    others = data.draw(
        st.lists(st.sampled_from(depressants), min_size=1, max_size=2, unique=True),
        label="CNS depressants",
    )
    result = run(seed_kb, helper, *others)
    wrong = [
        (a.id, rule.id)
        for a in result.alerts
        if helper in a.ingredients
        for rule in (a.rule, *a.also_applies)
        if any(is_rule(rule.id, cns_rule) for cns_rule in CNS_RULES)
    ]
    assert wrong == [], f"{helper} is no CNS depressant but matched {wrong}"
