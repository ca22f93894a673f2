"""The sign-off report, built from knowledge-base values: no database, no files."""

from __future__ import annotations

import json
from dataclasses import replace

from service.domain.knowledge import DrugClass, KnowledgeBase, Ref, Rule, Source
from service.domain.severity import AlertKind, Severity
from service.domain.snapshot import KbSnapshot
from service.kb.review import build_review, to_json, to_markdown

SOURCES = (
    Source("S1", "Klonopin label", "https://example.org/klonopin", kind="label"),
    Source("S2", "A review article", "https://example.org/review", kind="literature"),
    Source("S3", "FDA DSC", "https://example.org/dsc", kind="fda"),
)


def _rule(rule_id: str, family: str, sources: tuple[str, ...], **changes: object) -> Rule:
    rule = Rule(
        id=rule_id,
        kind=AlertKind.INTERACTION,
        title=f"Rule {rule_id}",
        severity=Severity.MAJOR,
        summary="s",
        effect="e",
        mechanism="m",
        management="g",
        patient_text="p",
        sources=sources,
        between=((Ref("drug", "clonazepam"),), (Ref("drug", "oxycodone"),)),
        family=family,
        evidence="label, VERIFIED",
    )
    return replace(rule, **changes)  # type: ignore[arg-type]


def _kb(
    rules: tuple[Rule, ...], members: tuple[str, ...] = ("alprazolam", "clonazepam")
) -> KnowledgeBase:
    benzodiazepines = DrugClass(
        "benzodiazepines",
        "Benzodiazepines",
        members=members,
        sources=("S3",),
        member_sources=(("clonazepam", ("S1",)),),
        routes=("oral", "intranasal"),
    )
    return KnowledgeBase("scope", SOURCES, (), (), (benzodiazepines,), rules)


BEFORE = _kb(
    (
        _rule("R1", "cns-depression", ("S1",)),
        _rule("R2", "cns-depression", ("S1",)),
        _rule("R3", "cyp3a-and-opioids", ("S3",)),
    )
)
AFTER = _kb(
    (
        _rule("R1", "cns-depression", ("S1", "S2"), severity=Severity.MODERATE),
        _rule("R3", "cyp3a-and-opioids", ("S3",)),
        _rule("R4", "cyp3a-and-opioids", ("S2",), unconfirmed=True, notes="Label not retrieved."),
    ),
    members=("alprazolam", "clonazepam", "diazepam"),
)


def test_rules_are_grouped_by_family_with_their_sources_and_evidence() -> None:
    report = build_review("v2", AFTER)
    assert [(f.name, [r.id for r in f.rules]) for f in report.families] == [
        ("cns-depression", ["R1"]),
        ("cyp3a-and-opioids", ["R3", "R4"]),
    ]
    r1 = report.families[0].rules[0]
    assert [(s.id, s.kind) for s in r1.sources] == [("S1", "label"), ("S2", "literature")]
    assert r1.primary_source and r1.evidence == "label, VERIFIED"


def test_unconfirmed_rules_and_rules_without_a_primary_source_are_listed_apart() -> None:
    report = build_review("v2", AFTER)
    assert [(r.id, r.notes) for r in report.unconfirmed] == [("R4", "Label not retrieved.")]
    # A secondary or literature source may stand beside a primary one, never instead of it.
    assert [r.id for r in report.without_primary_source] == ["R4"]


def test_each_class_member_shows_the_sources_that_decided_it() -> None:
    (benzodiazepines,) = build_review("v2", AFTER).classes
    assert {m.ingredient: m.decided_by for m in benzodiazepines.members} == {
        "alprazolam": ("S3",),  # no source of its own: the class's
        "clonazepam": ("S1",),
        "diazepam": ("S3",),
    }
    assert benzodiazepines.routes == ("oral", "intranasal")


def test_what_changed_against_the_previous_version() -> None:
    changes = build_review("v2", AFTER, ("v1", BEFORE)).changes
    assert changes is not None and changes.against == "v1"
    assert changes.rules_added == ("R4",)
    assert changes.rules_removed == ("R2",)
    assert [(c.rule, c.before, c.after) for c in changes.severity_changed] == [
        ("R1", "major", "moderate")
    ]
    assert [(c.rule, c.added, c.removed) for c in changes.sources_changed] == [("R1", ("S2",), ())]
    assert [(c.drug_class, c.added, c.removed) for c in changes.classes_changed] == [
        ("benzodiazepines", ("diazepam",), ())
    ]


def test_without_a_previous_version_nothing_is_compared() -> None:
    assert build_review("v1", BEFORE).changes is None
    assert "No earlier version to compare with." in to_markdown(build_review("v1", BEFORE))


def test_the_markdown_has_every_section_and_the_json_parses() -> None:
    report = build_review("v2", AFTER, ("v1", BEFORE))
    text = to_markdown(report)
    for heading in (
        "## What changed since v1",
        "## Rules without a primary source",
        "## Unconfirmed",
        "### cns-depression",
        "### cyp3a-and-opioids",
        "### benzodiazepines: Benzodiazepines (routes: oral, intranasal)",
    ):
        assert heading in text
    assert "- severity: R1 major → moderate" in text and "- removed: R2" in text
    assert "- **R4** Rule R4 (major) — Label not retrieved." in text
    document = json.loads(to_json(report))
    assert document["changes"]["rules_added"] == ["R4"]
    assert document["without_primary_source"][0]["id"] == "R4"


def test_every_rule_of_the_shipped_knowledge_base_has_a_primary_source(seed_kb: KbSnapshot) -> None:
    assert build_review(seed_kb.version, seed_kb.kb).without_primary_source == ()
