"""The report a pharmacist reads before signing a knowledge-base version off: built from plain values.

``build_review`` takes the version under review and the one it would replace, and returns a plain
structure; ``to_markdown`` and ``to_json`` render it. Nothing here reads a database or a request.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..domain.knowledge import DrugClass, KnowledgeBase, Rule, Source

NO_FAMILY = "(no family)"  # rules stored before families were kept


@dataclass(frozen=True)
class SourceView:
    id: str
    kind: str
    label: str
    url: str


@dataclass(frozen=True)
class RuleView:
    id: str
    title: str
    severity: str
    evidence: str
    sources: tuple[SourceView, ...]
    primary_source: bool
    unconfirmed: bool
    notes: str


@dataclass(frozen=True)
class Family:
    name: str
    rules: tuple[RuleView, ...]


@dataclass(frozen=True)
class Member:
    ingredient: str
    decided_by: tuple[str, ...]  # source ids; the class's own sources when none is given per member


@dataclass(frozen=True)
class ClassView:
    id: str
    name: str
    helper: bool
    routes: tuple[str, ...]  # none: every route
    union_of: tuple[str, ...]
    members: tuple[Member, ...]


@dataclass(frozen=True)
class SeverityChange:
    rule: str
    before: str
    after: str


@dataclass(frozen=True)
class SourcesChange:
    rule: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class MembersChange:
    drug_class: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Changes:
    against: str
    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]
    severity_changed: tuple[SeverityChange, ...]
    sources_changed: tuple[SourcesChange, ...]
    classes_changed: tuple[MembersChange, ...]


@dataclass(frozen=True)
class Review:
    version: str
    families: tuple[Family, ...]
    unconfirmed: tuple[RuleView, ...]
    without_primary_source: tuple[RuleView, ...]
    classes: tuple[ClassView, ...]
    changes: Changes | None  # None when there is no earlier version to compare with


def build_review(
    version: str,
    knowledge: KnowledgeBase,
    previous: tuple[str, KnowledgeBase] | None = None,
) -> Review:
    """The review of ``knowledge`` (id ``version``), with what changed since ``previous`` if given."""
    sources = {s.id: s for s in knowledge.sources}
    rules = [_rule_view(r, sources) for r in knowledge.rules]
    by_family: dict[str, list[RuleView]] = {}
    for rule, view in zip(knowledge.rules, rules, strict=True):
        by_family.setdefault(rule.family or NO_FAMILY, []).append(view)
    return Review(
        version=version,
        families=tuple(Family(name, tuple(views)) for name, views in by_family.items()),
        unconfirmed=tuple(r for r in rules if r.unconfirmed),
        without_primary_source=tuple(r for r in rules if not r.primary_source),
        classes=tuple(_class_view(c) for c in sorted(knowledge.classes, key=lambda c: c.id)),
        changes=_changes(previous[0], previous[1], knowledge) if previous else None,
    )


def _rule_view(rule: Rule, sources: dict[str, Source]) -> RuleView:
    cited = [sources[i] for i in rule.sources]
    return RuleView(
        id=rule.id,
        title=rule.title,
        severity=rule.severity.value,
        evidence=rule.evidence,
        sources=tuple(SourceView(s.id, s.kind, s.label, s.url) for s in cited),
        primary_source=any(s.primary for s in cited),
        unconfirmed=rule.unconfirmed,
        notes=rule.notes,
    )


def _class_view(drug_class: DrugClass) -> ClassView:
    decided_by = dict(drug_class.member_sources)
    return ClassView(
        id=drug_class.id,
        name=drug_class.name,
        helper=drug_class.helper,
        routes=drug_class.routes,
        union_of=drug_class.union_of,
        members=tuple(
            Member(m, decided_by.get(m) or drug_class.sources) for m in drug_class.members
        ),
    )


def _changes(against: str, before: KnowledgeBase, after: KnowledgeBase) -> Changes:
    old = {r.id: r for r in before.rules}
    new = {r.id: r for r in after.rules}
    kept = [r for r in after.rules if r.id in old]
    old_classes = {c.id: set(c.members) for c in before.classes}
    new_classes = {c.id: set(c.members) for c in after.classes}
    members = [
        MembersChange(
            class_id,
            tuple(sorted(new_classes.get(class_id, set()) - old_classes.get(class_id, set()))),
            tuple(sorted(old_classes.get(class_id, set()) - new_classes.get(class_id, set()))),
        )
        for class_id in sorted(old_classes.keys() | new_classes.keys())
    ]
    sources = [
        SourcesChange(
            r.id,
            tuple(s for s in r.sources if s not in old[r.id].sources),
            tuple(s for s in old[r.id].sources if s not in r.sources),
        )
        for r in kept
    ]
    return Changes(
        against=against,
        rules_added=tuple(r.id for r in after.rules if r.id not in old),
        rules_removed=tuple(r.id for r in before.rules if r.id not in new),
        severity_changed=tuple(
            SeverityChange(r.id, old[r.id].severity.value, r.severity.value)
            for r in kept
            if r.severity != old[r.id].severity
        ),
        sources_changed=tuple(s for s in sources if s.added or s.removed),
        classes_changed=tuple(m for m in members if m.added or m.removed),
    )


def to_json(review: Review) -> str:
    return json.dumps(asdict(review), indent=2)


def to_markdown(review: Review) -> str:
    """One document, in the order a sign-off reads it: the rules, then what needs attention."""
    out = [f"# Knowledge-base review: {review.version}", ""]
    out += _changes_markdown(review.changes)
    out += ["## Rules without a primary source (label, FDA, guideline)", ""]
    out += [_rule_line(r) for r in review.without_primary_source] or ["None."]
    out += ["", "## Unconfirmed", ""]
    out += [f"{_rule_line(r)}{f' — {r.notes}' if r.notes else ''}" for r in review.unconfirmed] or [
        "None."
    ]
    out += ["", "## Rules by family", ""]
    for family in review.families:
        out += [f"### {family.name}", ""]
        for rule in family.rules:
            flags = "" if rule.primary_source else " **no primary source**"
            flags += " **unconfirmed**" if rule.unconfirmed else ""
            out.append(f"- **{rule.id}** {rule.title} — {rule.severity}{flags}")
            if rule.evidence:
                out.append(f"  - evidence: {rule.evidence}")
            out += [
                f"  - [{s.id}] ({s.kind or 'kind not given'}) [{s.label}]({s.url})"
                for s in rule.sources
            ]
        out.append("")
    out += ["## Classes", ""]
    for drug_class in review.classes:
        notes = ", ".join(
            n for n in ("helper" if drug_class.helper else "", _routes(drug_class)) if n
        )
        out += [f"### {drug_class.id}: {drug_class.name}" + (f" ({notes})" if notes else ""), ""]
        if drug_class.union_of:
            out.append(f"- union of: {', '.join(drug_class.union_of)}")
        out += [
            f"- {m.ingredient}: {', '.join(m.decided_by) or 'no source'}"
            for m in drug_class.members
        ]
        out.append("")
    return "\n".join(out)


def _rule_line(rule: RuleView) -> str:
    return f"- **{rule.id}** {rule.title} ({rule.severity})"


def _routes(drug_class: ClassView) -> str:
    return f"routes: {', '.join(drug_class.routes)}" if drug_class.routes else ""


def _changes_markdown(changes: Changes | None) -> list[str]:
    if changes is None:
        return ["## What changed", "", "No earlier version to compare with.", ""]
    out = [f"## What changed since {changes.against}", ""]
    lines = [
        *(f"- added: {r}" for r in changes.rules_added),
        *(f"- removed: {r}" for r in changes.rules_removed),
        *(f"- severity: {c.rule} {c.before} → {c.after}" for c in changes.severity_changed),
        *(
            f"- sources of {c.rule}: {_plus_minus(c.added, c.removed)}"
            for c in changes.sources_changed
        ),
        *(
            f"- members of {c.drug_class}: {_plus_minus(c.added, c.removed)}"
            for c in changes.classes_changed
        ),
    ]
    return [*out, *(lines or ["Nothing."]), ""]


def _plus_minus(added: tuple[str, ...], removed: tuple[str, ...]) -> str:
    return ", ".join([*(f"+{a}" for a in added), *(f"-{r}" for r in removed)])
