"""Turn the files in ``seed_data/`` into a validated ``KnowledgeBase``, or say exactly what is wrong."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ..domain.knowledge import (
    CumulativeCriteria,
    DoseLimit,
    DrugClass,
    DrugName,
    DuplicationCriteria,
    Ingredient,
    KnowledgeBase,
    OlderAdultEscalation,
    ProductCombination,
    Ref,
    Rule,
    Source,
)
from ..domain.severity import AlertKind, Severity
from ..domain.text import name_key, to_milligrams
from .files import FileFormatError, Record, read_csv, read_yaml_dir, read_yaml_mapping

NAME_KINDS = frozenset({"brand", "synonym", "misspelling", "salt", "combination"})
RXNORM_TTYS = frozenset({"IN", "PIN", "MIN", "BN", "SCD", "SBD", "GPCK", "BPCK", "SCDC", "SBDC"})
SCHEDULES = frozenset({"CI", "CII", "CIII", "CIV", "CV"})
SUMMARY_MAX = 100
RULE_TEXT_FIELDS = ("title", "summary", "effect", "mechanism", "management", "patient_text")

T = TypeVar("T")


class KbValidationError(ValueError):
    """Every problem found, each naming its file and line; nothing is written when this is raised."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("knowledge base is invalid:\n  " + "\n  ".join(problems))


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, record: Record, message: str) -> None:
        self.items.append(f"{record.where}: {message}")

    def attempt(self, record: Record, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except (ValueError, KeyError, TypeError) as error:
            message = error.args[0] if error.args else repr(error)
            self.add(
                record,
                str(message) if not isinstance(error, KeyError) else f"missing field {message!r}",
            )
            return None


def read_knowledge_base(directory: Path) -> KnowledgeBase:
    """Read and cross-check every file; raise ``KbValidationError`` listing all problems found."""
    problems = _Problems()
    try:
        meta = read_yaml_mapping(directory / "kb.yaml")
        source_records = read_yaml_dir(directory / "sources")
        ingredient_records = read_csv(directory / "ingredients.csv")
        name_records = read_csv(directory / "names.csv")
        concept_records = read_csv(directory / "rxnorm_concepts.csv")
        class_records = read_yaml_dir(directory / "classes")
        rule_records = read_yaml_dir(directory / "rules")
    except (OSError, FileFormatError) as error:
        raise KbValidationError([str(error)]) from error

    sources = _unique(problems, source_records, "id", _source)
    ingredients = _unique(problems, ingredient_records, "name", _ingredient)
    known_ingredients = {i.name for i in ingredients}
    names = [
        n
        for records, build in ((name_records, _drug_name), (concept_records, _rxnorm_concept))
        for r in records
        if (n := problems.attempt(r, partial(build, r, known_ingredients))) is not None
    ]
    _check_name_conflicts(
        problems, ingredient_records, name_records + concept_records, ingredients, names
    )
    classes = _unique(problems, class_records, "id", _drug_class)
    _check_classes(problems, class_records, classes, known_ingredients, {s.id for s in sources})
    rules = _unique(problems, rule_records, "id", _rule)
    _check_rules(
        problems, rule_records, rules, known_ingredients, {c.id: c for c in classes}, sources
    )
    scope = str(meta.data.get("scope", "")).strip()
    if not scope:
        problems.add(meta, "the scope statement is missing")
    naloxone = str(meta.data.get("naloxone_rxcui") or "").strip() or None
    if naloxone and not any(n.rxcui == naloxone and "naloxone" in n.ingredients for n in names):
        problems.add(
            meta, f"naloxone_rxcui {naloxone} is not a naloxone product in rxnorm_concepts.csv"
        )
    if problems.items:
        raise KbValidationError(problems.items)
    return KnowledgeBase(
        scope=scope,
        sources=tuple(sources),
        ingredients=tuple(ingredients),
        names=tuple(names),
        classes=tuple(classes),
        rules=tuple(rules),
        naloxone_rxcui=naloxone,
    )


def _unique(
    problems: _Problems, records: list[Record], key: str, build: Callable[[Record], T]
) -> list[T]:
    seen: dict[str, Record] = {}
    built = []
    for record in records:
        ident = str(record.data.get(key, "")).strip()
        if ident in seen:
            problems.add(record, f"duplicate {key} {ident!r} (first at {seen[ident].where})")
            continue
        seen[ident] = record
        item = problems.attempt(record, partial(build, record))
        if item is not None:
            built.append(item)
    return built


def _text(data: dict[str, Any], key: str, required: bool = True) -> str:
    value = data.get(key)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValueError(f"{key} is required")
    return text


def _str_list(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list")
    return tuple(str(v).strip() for v in value)


def _source(record: Record) -> Source:
    data = record.data
    url = _text(data, "url")
    if not re.match(r"https?://", url):
        raise ValueError(f"source url {url!r} must start with http:// or https://")
    return Source(_text(data, "id"), _text(data, "label"), url)


def _ingredient(record: Record) -> Ingredient:
    data = record.data
    name = _text(data, "name")
    if name != name.lower():
        raise ValueError(f"ingredient name {name!r} must be lower case")
    rxcui = _text(data, "rxcui", required=False) or None
    if rxcui and not rxcui.isdigit():
        raise ValueError(f"rxcui {rxcui!r} must be digits")
    schedule = _text(data, "schedule", required=False) or None
    if schedule and schedule not in SCHEDULES:
        raise ValueError(
            f"unknown schedule {schedule!r} (expected one of: {', '.join(sorted(SCHEDULES))})"
        )
    return Ingredient(name, rxcui, schedule, _text(data, "notes", required=False))


def _ingredient_list(text: str, known: set[str]) -> tuple[str, ...]:
    ingredients = tuple(sorted({part.strip() for part in text.split(";") if part.strip()}))
    if not ingredients:
        raise ValueError("ingredients are required")
    unknown = [i for i in ingredients if i not in known]
    if unknown:
        raise ValueError(f"unknown ingredient(s): {', '.join(unknown)}")
    return ingredients


def _drug_name(record: Record, known: set[str]) -> DrugName:
    data = record.data
    kind = _text(data, "kind")
    if kind not in NAME_KINDS:
        raise ValueError(
            f"unknown name kind {kind!r} (expected one of: {', '.join(sorted(NAME_KINDS))})"
        )
    ingredients = _ingredient_list(_text(data, "ingredients"), known)
    return DrugName(
        _text(data, "name"), ingredients, kind, notes=_text(data, "notes", required=False)
    )


def _rxnorm_concept(record: Record, known: set[str]) -> DrugName:
    data = record.data
    rxcui, tty = _text(data, "rxcui"), _text(data, "tty")
    if not rxcui.isdigit():
        raise ValueError(f"rxcui {rxcui!r} must be digits")
    if tty not in RXNORM_TTYS:
        raise ValueError(f"unknown RxNorm term type {tty!r}")
    ingredients = _ingredient_list(_text(data, "ingredients"), known)
    return DrugName(
        _text(data, "name"), ingredients, "rxnorm", rxcui, tty, _text(data, "evidence_url")
    )


def _check_name_conflicts(
    problems: _Problems,
    ingredient_records: list[Record],
    name_records: list[Record],
    ingredients: list[Ingredient],
    names: list[DrugName],
) -> None:
    """A name or code must mean one thing: two meanings would make recognition a guess."""
    by_key: dict[str, tuple[tuple[str, ...], Record]] = {}
    by_code: dict[str, tuple[tuple[str, ...], Record]] = {}
    records = {r.data.get("name", ""): r for r in ingredient_records}
    entries: list[tuple[str, str | None, tuple[str, ...], Record]] = [
        (i.name, i.rxcui, (i.name,), records[i.name]) for i in ingredients if i.name in records
    ]
    name_record_by_text = {(r.data.get("name", ""), r.file): r for r in name_records}
    for drug_name in names:
        file = "rxnorm_concepts.csv" if drug_name.kind == "rxnorm" else "names.csv"
        entries.append(
            (
                drug_name.name,
                drug_name.rxcui,
                drug_name.ingredients,
                name_record_by_text[(drug_name.name, file)],
            )
        )
    for text, rxcui, meaning, record in entries:
        key = name_key(text)
        if not key:
            problems.add(record, f"name {text!r} has no letters or digits")
            continue
        first = by_key.setdefault(key, (meaning, record))
        if first[0] != meaning:
            problems.add(
                record,
                f"name {text!r} means {', '.join(meaning)} but {first[1].where} gives it "
                f"{', '.join(first[0])}",
            )
        if rxcui:
            first = by_code.setdefault(rxcui, (meaning, record))
            if first[0] != meaning:
                problems.add(
                    record,
                    f"RxCUI {rxcui} means {', '.join(meaning)} but {first[1].where} "
                    f"gives it {', '.join(first[0])}",
                )


def _drug_class(record: Record) -> DrugClass:
    data = record.data
    combo = data.get("products_combining")
    combination = None
    if combo is not None:
        if not isinstance(combo, dict):
            raise ValueError("products_combining must be a mapping with member_of and with_any_of")
        combination = ProductCombination(_text(combo, "member_of"), _text(combo, "with_any_of"))
    return DrugClass(
        id=_text(data, "id"),
        name=_text(data, "name"),
        members=tuple(sorted(set(_str_list(data, "members")))),
        parent=_text(data, "parent", required=False) or None,
        union_of=_str_list(data, "union_of"),
        products_combining=combination,
        sources=tuple(sorted(set(_str_list(data, "sources")))),
        notes=_text(data, "notes", required=False),
    )


def _check_classes(
    problems: _Problems,
    records: list[Record],
    classes: list[DrugClass],
    ingredients: set[str],
    sources: set[str],
) -> None:
    by_id = {c.id: c for c in classes}
    record_of = {r.data.get("id"): r for r in records}
    for drug_class in classes:
        record = record_of[drug_class.id]
        for member in drug_class.members:
            if member not in ingredients:
                problems.add(record, f"class {drug_class.id}: unknown drug {member!r}")
        combo = drug_class.products_combining
        referenced = [drug_class.parent, *drug_class.union_of]
        referenced += [combo.member_of, combo.with_any_of] if combo else []
        for other in referenced:
            if other is not None and other not in by_id:
                problems.add(record, f"class {drug_class.id}: unknown class {other!r}")
        for source in drug_class.sources:
            if source not in sources:
                problems.add(record, f"class {drug_class.id}: unknown source {source!r}")
        seen, parent = {drug_class.id}, drug_class.parent
        while parent in by_id:
            if parent in seen:
                problems.add(
                    record, f"class {drug_class.id}: parent chain loops through {parent!r}"
                )
                break
            seen.add(parent)
            parent = by_id[parent].parent
        if not (drug_class.members or drug_class.union_of or combo):
            problems.add(
                record, f"class {drug_class.id} has no members, union_of or products_combining"
            )


def _refs(values: Any, what: str) -> tuple[Ref, ...]:
    if not isinstance(values, list) or not values:
        raise ValueError(f"{what} must be a non-empty list of class:<id> or drug:<ingredient>")
    return tuple(Ref.parse(str(v)) for v in values)


def _rule(record: Record) -> Rule:
    data = record.data
    kind_text = _text(data, "kind")
    try:
        kind = AlertKind(kind_text)
    except ValueError:
        raise ValueError(f"unknown rule kind {kind_text!r}") from None
    texts = {f: _text(data, f) for f in RULE_TEXT_FIELDS}
    if len(texts["summary"]) > SUMMARY_MAX:
        raise ValueError(f"summary is {len(texts['summary'])} characters; at most {SUMMARY_MAX}")
    sources = _str_list(data, "sources")
    if not sources:
        raise ValueError(f"rule {data.get('id')} has no source")
    rule = Rule(
        id=_text(data, "id"),
        kind=kind,
        title=texts["title"],
        severity=Severity.parse(_text(data, "severity")),
        summary=texts["summary"],
        effect=texts["effect"],
        mechanism=texts["mechanism"],
        management=texts["management"],
        patient_text=texts["patient_text"],
        sources=sources,
        notes=_text(data, "notes", required=False),
        suggest_naloxone=bool(data.get("suggest_naloxone", False)),
        family=rule_family(record.file),
    )
    return _with_criteria(rule, data)


def rule_family(file: str) -> str:
    """``rules/02-cyp3a-and-opioids.yaml`` → ``cyp3a-and-opioids``: the prefix only orders files."""
    return re.sub(r"^\d+-", "", Path(file).stem)


def _with_criteria(rule: Rule, data: dict[str, Any]) -> Rule:
    if rule.kind is AlertKind.INTERACTION:
        between = data.get("between")
        if not isinstance(between, list) or len(between) != 2:
            raise ValueError("an interaction rule needs between: [[left refs], [right refs]]")
        return replace(
            rule, between=(_refs(between[0], "between[0]"), _refs(between[1], "between[1]"))
        )
    if rule.kind is AlertKind.DUPLICATION:
        same_ingredient = data.get("same_ingredient")
        except_refs: tuple[Ref, ...] = ()
        if isinstance(same_ingredient, dict):
            except_refs = _refs(same_ingredient.get("except"), "same_ingredient.except")
        same_class = _refs(data["same_class"], "same_class") if "same_class" in data else ()
        if not same_ingredient and not same_class:
            raise ValueError("a duplication rule needs same_ingredient or same_class")
        return replace(
            rule, duplication=DuplicationCriteria(bool(same_ingredient), except_refs, same_class)
        )
    if rule.kind is AlertKind.CUMULATIVE:
        spec = data.get("cumulative")
        if not isinstance(spec, dict):
            raise ValueError("a cumulative rule needs cumulative: {class, min_count, ...}")
        older = spec.get("older_adults")
        escalation = None
        if older is not None:
            escalation = OlderAdultEscalation(
                int(older["min_age"]),
                str(older["class"]),
                int(older["min_count"]),
                Severity.parse(str(older["severity"])),
            )
        major_if = (
            _refs(spec["major_if_any_of"], "major_if_any_of") if "major_if_any_of" in spec else ()
        )
        return replace(
            rule,
            cumulative=CumulativeCriteria(
                str(spec["class"]), int(spec["min_count"]), major_if, escalation
            ),
        )
    spec = data.get("dose_limit")
    if not isinstance(spec, dict) or not isinstance(spec.get("max_daily"), dict):
        raise ValueError("a dose rule needs dose_limit: {ingredient, max_daily: {value, unit}}")
    max_daily = spec["max_daily"]
    milligrams = to_milligrams(float(max_daily["value"]), str(max_daily["unit"]))
    unless = tuple(str(i) for i in spec.get("unless_indication") or [])
    return replace(rule, dose_limit=DoseLimit(str(spec["ingredient"]), milligrams, unless))


def _check_rules(
    problems: _Problems,
    records: list[Record],
    rules: list[Rule],
    ingredients: set[str],
    classes: dict[str, DrugClass],
    sources: list[Source],
) -> None:
    record_of = {r.data.get("id"): r for r in records}
    source_ids = {s.id for s in sources}

    def check_ref(record: Record, ref: Ref) -> None:
        if ref.kind == "class" and ref.id not in classes:
            problems.add(record, f"rule {record.data.get('id')}: unknown class {ref.id!r}")
        if ref.kind == "drug" and ref.id not in ingredients:
            problems.add(record, f"rule {record.data.get('id')}: unknown drug {ref.id!r}")

    for rule in rules:
        record = record_of[rule.id]
        for source in rule.sources:
            if source not in source_ids:
                problems.add(record, f"rule {rule.id}: unknown source {source!r}")
        refs: list[Ref] = []
        if rule.between:
            refs += [*rule.between[0], *rule.between[1]]
        if rule.duplication:
            refs += [*rule.duplication.except_refs, *rule.duplication.same_class]
        if rule.cumulative:
            refs += [Ref("class", rule.cumulative.class_id), *rule.cumulative.major_if_any_of]
            if rule.cumulative.older_adults:
                refs.append(Ref("class", rule.cumulative.older_adults.class_id))
        if rule.dose_limit:
            refs.append(Ref("drug", rule.dose_limit.ingredient))
        for ref in refs:
            check_ref(record, ref)
