"""Properties every answer keeps, whatever the list: order, symmetry, monotonicity, nothing dropped."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.check import CheckResult
from service.domain.snapshot import KbSnapshot

from ..strategies import medication_lists, medication_names
from .helpers import run

profile = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _signature(result: CheckResult) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(a.rule.id, a.severity.value, a.ingredients) for a in result.alerts]


@profile
@given(meds=medication_lists, data=st.data())
def test_the_order_of_the_list_does_not_change_the_alerts(
    seed_kb: KbSnapshot, meds: list[str], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(meds))
    assert _signature(run(seed_kb, *meds)) == _signature(run(seed_kb, *shuffled))


@profile
@given(a=medication_names, b=medication_names)
def test_a_pairs_alert_does_not_depend_on_the_pairs_order(
    seed_kb: KbSnapshot, a: str, b: str
) -> None:
    assert _signature(run(seed_kb, a, b)) == _signature(run(seed_kb, b, a))


@profile
@given(meds=medication_lists, extra=medication_names)
def test_adding_a_medication_never_removes_an_alert(
    seed_kb: KbSnapshot, meds: list[str], extra: str
) -> None:
    before = run(seed_kb, *meds)
    after = run(seed_kb, *meds, extra)
    kept = {(a.kind, a.ingredients): a.severity for a in after.alerts}
    for alert in before.alerts:
        if alert.kind.value == "cumulative":
            # The cumulative alert grows to name the new drug too; it never disappears or weakens.
            grown = [
                s
                for (kind, ing), s in kept.items()
                if kind is alert.kind and set(alert.ingredients) <= set(ing)
            ]
            assert grown and max(grown) >= alert.severity
        else:
            assert kept.get((alert.kind, alert.ingredients)) is not None
            assert kept[(alert.kind, alert.ingredients)] >= alert.severity


@profile
@given(meds=medication_lists)
def test_every_input_comes_back_recognised_or_not(seed_kb: KbSnapshot, meds: list[str]) -> None:
    result = run(seed_kb, *meds)
    assert [m.input.text for m in result.medications] == meds
    assert result.complete == all(m.recognized for m in result.medications)


@profile
@given(meds=medication_lists)
def test_alerts_come_most_severe_first(seed_kb: KbSnapshot, meds: list[str]) -> None:
    ranks = [a.severity.rank for a in run(seed_kb, *meds).alerts]
    assert ranks == sorted(ranks, reverse=True)
