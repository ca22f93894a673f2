"""Turn the files in ``seed_data/`` into a validated ``KnowledgeBase``, or say exactly what is wrong."""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ..domain.knowledge import (
    EVIDENCE_LEVELS,
    PATIENT_LANGUAGES,
    ROUTE_IDS,
    SOURCE_KINDS,
    SOURCE_LANGUAGE,
    SYSTEMIC,
    CumulativeCriteria,
    DoseLimit,
    DrugClass,
    DrugName,
    DuplicationCriteria,
    Ingredient,
    KnowledgeBase,
    NaloxoneOffer,
    OlderAdultEscalation,
    PatientTranslation,
    ProductCombination,
    Ref,
    Route,
    Rule,
    Source,
    Vocabulary,
)
from ..domain.severity import AlertKind, Severity
from ..domain.text import name_key, to_milligrams
from .files import (
    FileFormatError,
    Record,
    read_csv,
    read_yaml_dir,
    read_yaml_list,
    read_yaml_mapping,
)

NAME_KINDS = frozenset({"brand", "synonym", "misspelling", "salt", "combination"})
RXNORM_TTYS = frozenset({"IN", "PIN", "MIN", "BN", "SCD", "SBD", "GPCK", "BPCK", "SCDC", "SBDC"})
# The bulk vocabulary also holds RxNorm's dose-form concepts (SCDF "oxycodone Oral Tablet" ...).
VOCABULARY_TTYS = RXNORM_TTYS | {"SCDF", "SCDG", "SBDF", "SBDG"}
VOCABULARY_COLUMNS = ["rxcui", "name", "tty", "ingredient_rxcuis", "route"]
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
        route_records = read_yaml_list(directory / "routes.yaml")
        source_records = read_yaml_dir(directory / "sources")
        ingredient_records = read_csv(directory / "ingredients.csv")
        name_records = read_csv(directory / "names.csv")
        concept_records = read_csv(directory / "rxnorm_concepts.csv")
        class_records = read_yaml_dir(directory / "classes")
        rule_records = read_yaml_dir(directory / "rules")
    except (OSError, FileFormatError) as error:
        raise KbValidationError([str(error)]) from error

    sources = _unique(problems, source_records, "id", _source)
    routes = _unique(problems, route_records, "id", _route)
    route_ids = {r.id for r in routes}
    vocabulary = _vocabulary(problems, directory, meta, route_ids)
    ingredients = _unique(problems, ingredient_records, "name", _ingredient)
    _check_ingredient_codes(problems, ingredient_records, ingredients, vocabulary)
    known_ingredients = {i.name for i in ingredients}
    names = [
        n
        for records, build in ((name_records, _drug_name), (concept_records, _rxnorm_concept))
        for r in records
        if (n := problems.attempt(r, partial(build, r, known_ingredients, route_ids))) is not None
    ]
    _check_name_conflicts(
        problems, ingredient_records, name_records + concept_records, ingredients, names
    )
    classes = _unique(problems, class_records, "id", partial(_drug_class, route_ids=route_ids))
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
    naloxone_offer = _naloxone_offer(problems, meta, naloxone)
    never_alert = tuple(sorted(set(_str_list(meta.data, "never_alert"))))
    for ingredient in never_alert:
        if ingredient not in known_ingredients:
            problems.add(meta, f"never_alert: unknown ingredient {ingredient!r}")
    alcohol_class = str(meta.data.get("alcohol_class") or "").strip() or None
    if alcohol_class and alcohol_class not in {c.id for c in classes}:
        problems.add(meta, f"alcohol_class: unknown class {alcohol_class!r}")
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
        routes=tuple(routes),
        never_alert=never_alert,
        vocabulary=vocabulary,
        alcohol_class=alcohol_class,
        naloxone_offer=naloxone_offer,
    )


def _naloxone_offer(
    problems: _Problems, meta: Record, naloxone_rxcui: str | None
) -> NaloxoneOffer | None:
    """The suggestion's wording (``naloxone_offer``: label, order, dosing), needed with a product."""
    spec = meta.data.get("naloxone_offer")
    if spec is None:
        if naloxone_rxcui:
            problems.add(meta, "naloxone_rxcui needs naloxone_offer (label, order, dosing)")
        return None
    fields = ("label", "order", "dosing")
    if not isinstance(spec, dict) or set(spec) != set(fields):
        problems.add(meta, "naloxone_offer must be a mapping with label, order and dosing")
        return None
    texts = {key: " ".join(str(spec[key] or "").split()) for key in fields}
    if not all(texts.values()) or not naloxone_rxcui:
        problems.add(meta, "naloxone_offer needs naloxone_rxcui and all three texts")
        return None
    return NaloxoneOffer(**texts)


def _vocabulary(
    problems: _Problems, directory: Path, meta: Record, route_ids: set[str]
) -> Vocabulary | None:
    """The bulk RxNorm file ``kb.yaml`` names under ``vocabulary`` (optional: a test KB has none).

    A route RxNorm's dose form gives that the knowledge base does not know (intravesical, ...) is
    left unknown, which counts as systemic.
    """
    spec = meta.data.get("vocabulary")
    if spec is None:
        return None
    if not isinstance(spec, dict) or not spec.get("file") or not spec.get("release"):
        problems.add(meta, "vocabulary must be a mapping with file and release")
        return None
    path = directory / str(spec["file"])
    where = str(spec["file"])
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            rows = list(reader)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
        problems.add(meta, f"vocabulary {where}: cannot be read: {error}")
        return None
    if header != VOCABULARY_COLUMNS:
        problems.add(meta, f"vocabulary {where}: columns must be {','.join(VOCABULARY_COLUMNS)}")
        return None
    concepts: list[tuple[str, str, str, str, str | None]] = []
    seen: set[str] = set()
    ingredient_codes = {row[0] for row in rows if len(row) == 5 and row[2] == "IN"}
    for line, row in enumerate(rows, start=2):
        here = f"{where}:{line}"
        if len(row) != 5:
            problems.items.append(f"{here}: expected 5 fields, found {len(row)}")
            continue
        rxcui, name, tty, codes, route = row
        ingredients = tuple(codes.split(";")) if codes else ()
        if not rxcui.isdigit() or rxcui in seen:
            problems.items.append(f"{here}: rxcui {rxcui!r} must be digits and appear once")
        elif tty not in VOCABULARY_TTYS or not name.strip():
            problems.items.append(f"{here}: unknown term type {tty!r} or empty name")
        elif not ingredients or any(code not in ingredient_codes for code in ingredients):
            problems.items.append(f"{here}: ingredients {codes!r} must be RxCUIs of IN rows")
        else:
            seen.add(rxcui)
            known_route = route if route in route_ids else None
            concepts.append((rxcui, name, tty, codes, known_route))
    return Vocabulary.from_rows(str(spec["release"]), concepts)


def _check_ingredient_codes(
    problems: _Problems,
    records: list[Record],
    ingredients: list[Ingredient],
    vocabulary: Vocabulary | None,
) -> None:
    """Every ingredient carries its RxCUI, or says why it has none (kratom, a withdrawn drug); with
    a vocabulary loaded, the code must be that ingredient's IN concept there, when RxNorm has it."""
    record_of = {r.data.get("name"): r for r in records}
    by_code = {c.rxcui: c for c in vocabulary.concepts} if vocabulary else {}
    for ingredient in ingredients:
        record = record_of[ingredient.name]
        if not ingredient.rxcui and not ingredient.no_rxcui_reason:
            problems.add(
                record,
                f"ingredient {ingredient.name!r} has no rxcui: give its RxNorm IN code, or say "
                "why it has none in no_rxcui_reason",
            )
        elif ingredient.rxcui and ingredient.no_rxcui_reason:
            problems.add(
                record, f"ingredient {ingredient.name!r} has an rxcui and a no_rxcui_reason"
            )
        concept = by_code.get(ingredient.rxcui or "")
        if concept is not None and (concept.tty != "IN" or concept.name.lower() != ingredient.name):
            problems.add(
                record,
                f"ingredient {ingredient.name!r}: RxCUI {ingredient.rxcui} is "
                f"{concept.tty} {concept.name!r} in the RxNorm vocabulary",
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
    kind = _text(data, "kind", required=False) or "secondary"
    _one_of(kind, SOURCE_KINDS, "source kind")
    return Source(_text(data, "id"), _text(data, "label"), url, kind)


def _one_of(value: str, allowed: tuple[str, ...] | frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(
            f"unknown {what} {value!r} (expected one of: {', '.join(sorted(allowed))})"
        )


def _route(record: Record) -> Route:
    data = record.data
    systemic = data.get("systemic")
    if not isinstance(systemic, bool):
        raise ValueError("systemic must be true or false")
    route_id = _text(data, "id")
    _one_of(route_id, ROUTE_IDS, "route")
    return Route(route_id, _text(data, "name"), systemic)


def _route_of(data: dict[str, Any], route_ids: set[str]) -> str | None:
    route = _text(data, "route", required=False) or None
    if route is not None:
        _one_of(route, frozenset(route_ids), "route")
    return route


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
    return Ingredient(
        name,
        rxcui,
        schedule,
        _text(data, "notes", required=False),
        _text(data, "no_rxcui_reason", required=False),
    )


def _ingredient_list(text: str, known: set[str]) -> tuple[str, ...]:
    ingredients = tuple(sorted({part.strip() for part in text.split(";") if part.strip()}))
    if not ingredients:
        raise ValueError("ingredients are required")
    unknown = [i for i in ingredients if i not in known]
    if unknown:
        raise ValueError(f"unknown ingredient(s): {', '.join(unknown)}")
    return ingredients


def _drug_name(record: Record, known: set[str], route_ids: set[str]) -> DrugName:
    data = record.data
    kind = _text(data, "kind")
    if kind not in NAME_KINDS:
        raise ValueError(
            f"unknown name kind {kind!r} (expected one of: {', '.join(sorted(NAME_KINDS))})"
        )
    ingredients = _ingredient_list(_text(data, "ingredients"), known)
    return DrugName(
        _text(data, "name"),
        ingredients,
        kind,
        notes=_text(data, "notes", required=False),
        route=_route_of(data, route_ids),
    )


def _rxnorm_concept(record: Record, known: set[str], route_ids: set[str]) -> DrugName:
    data = record.data
    rxcui, tty = _text(data, "rxcui"), _text(data, "tty")
    if not rxcui.isdigit():
        raise ValueError(f"rxcui {rxcui!r} must be digits")
    if tty not in RXNORM_TTYS:
        raise ValueError(f"unknown RxNorm term type {tty!r}")
    ingredients = _ingredient_list(_text(data, "ingredients"), known)
    return DrugName(
        _text(data, "name"),
        ingredients,
        "rxnorm",
        rxcui,
        tty,
        _text(data, "evidence_url"),
        route=_route_of(data, route_ids),
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


def _drug_class(record: Record, route_ids: set[str]) -> DrugClass:
    data = record.data
    combo = data.get("products_combining")
    combination = None
    if combo is not None:
        if not isinstance(combo, dict):
            raise ValueError("products_combining must be a mapping with member_of and with_any_of")
        combination = ProductCombination(_text(combo, "member_of"), _text(combo, "with_any_of"))
    decided_by = data.get("members") or {}
    if not isinstance(decided_by, dict):
        raise ValueError("members must map each source id to the members it decided")
    member_sources: dict[str, set[str]] = {}
    for source in decided_by:
        for member in _str_list(decided_by, source):
            member_sources.setdefault(member, set()).add(str(source))
    return DrugClass(
        id=_text(data, "id"),
        name=_text(data, "name"),
        members=tuple(sorted(member_sources)),
        parent=_text(data, "parent", required=False) or None,
        union_of=_str_list(data, "union_of"),
        products_combining=combination,
        sources=tuple(sorted(str(s) for s in decided_by)),
        notes=_text(data, "notes", required=False),
        member_sources=tuple((m, tuple(sorted(s))) for m, s in sorted(member_sources.items())),
        routes=_class_routes(data.get("routes"), route_ids),
        helper=_flag(data, "helper"),
    )


def _class_routes(value: Any, route_ids: set[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if value == SYSTEMIC:
        return (SYSTEMIC,)
    if not isinstance(value, list) or not value:
        raise ValueError(f"routes must be {SYSTEMIC!r} or a non-empty list of route ids")
    for route in value:
        _one_of(str(route), frozenset(route_ids), "route")
    return tuple(sorted(str(r) for r in value))


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


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
        if not drug_class.helper:
            for part in drug_class.union_of:
                if part in by_id and by_id[part].helper:
                    problems.add(
                        record,
                        f"class {drug_class.id}: helper class {part!r} cannot be part of it "
                        "(helper classes never count as CNS-depressant classes)",
                    )
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
    evidence = _text(data, "evidence")
    _one_of(evidence, EVIDENCE_LEVELS, "evidence")
    notes = _text(data, "notes", required=False)
    unconfirmed = _flag(data, "unconfirmed")
    if unconfirmed and not notes:
        raise ValueError("an unconfirmed rule must say in notes which claim is unconfirmed")
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
        notes=notes,
        suggest_naloxone=_flag(data, "suggest_naloxone"),
        always_say=_text(data, "always_say", required=False),
        always_tell_patient=_text(data, "always_tell_patient", required=False),
        evidence=evidence,
        unconfirmed=unconfirmed,
        family=_family(record.file),
        translations=tuple(
            _translation(data, language)
            for language in PATIENT_LANGUAGES
            if language != SOURCE_LANGUAGE
        ),
    )
    return _with_criteria(rule, data)


def _translation(data: dict[str, Any], language: str) -> PatientTranslation:
    """A rule's patient texts in ``language`` (``title_es``, ``patient_text_es``,
    ``always_tell_patient_es``).

    Required: a patient who reads that language must never get a warning half translated, and a
    mandatory sentence (P4) must be mandatory in every language.
    """
    texts = {f: _text(data, f"{f}_{language}", required=False) for f in ("title", "patient_text")}
    for field, text in texts.items():
        if not text:
            raise ValueError(f"{field} has no {language!r} version: add {field}_{language}")
    must_tell = _text(data, f"always_tell_patient_{language}", required=False)
    if bool(must_tell) != bool(_text(data, "always_tell_patient", required=False)):
        raise ValueError(
            f"always_tell_patient_{language} must be given exactly when always_tell_patient is"
        )
    return PatientTranslation(language, texts["patient_text"], must_tell, texts["title"])


def _family(file: str) -> str:
    """``rules/02-cyp3a-and-opioids.yaml`` is the family ``cyp3a-and-opioids``."""
    stem = Path(file).stem
    return re.sub(r"^\d+-", "", stem)


def _side(value: Any, what: str) -> tuple[tuple[Ref, ...], tuple[Ref, ...]]:
    """A side is a list of refs, or ``{any_of: [...], except: [...]}`` (P5: declared exceptions)."""
    if isinstance(value, dict):
        unknown = set(value) - {"any_of", "except"}
        if unknown:
            raise ValueError(f"{what}: unknown key(s) {', '.join(sorted(unknown))}")
        excluded = _refs(value["except"], f"{what}.except") if "except" in value else ()
        return _refs(value.get("any_of"), f"{what}.any_of"), excluded
    return _refs(value, what), ()


def _with_criteria(rule: Rule, data: dict[str, Any]) -> Rule:
    if rule.kind is AlertKind.INTERACTION:
        between = data.get("between")
        if not isinstance(between, list) or len(between) != 2:
            raise ValueError("an interaction rule needs between: [[left refs], [right refs]]")
        (left, left_except), (right, right_except) = (
            _side(between[0], "between[0]"),
            _side(between[1], "between[1]"),
        )
        return replace(
            rule,
            between=(left, right),
            excluded=(left_except, right_except),
            fallback=_flag(data, "fallback"),
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
    source_by_id = {s.id: s for s in sources}

    def check_ref(record: Record, ref: Ref) -> None:
        if ref.kind == "class" and ref.id not in classes:
            problems.add(record, f"rule {record.data.get('id')}: unknown class {ref.id!r}")
        if ref.kind == "drug" and ref.id not in ingredients:
            problems.add(record, f"rule {record.data.get('id')}: unknown drug {ref.id!r}")

    for rule in rules:
        record = record_of[rule.id]
        for source in rule.sources:
            if source not in source_by_id:
                problems.add(record, f"rule {rule.id}: unknown source {source!r}")
        if not any(source_by_id[s].primary for s in rule.sources if s in source_by_id):
            problems.add(
                record,
                f"rule {rule.id} cites no primary source (a US label, an FDA communication "
                "or a guideline)",
            )
        refs: list[Ref] = []
        if rule.between:
            refs += [*rule.between[0], *rule.between[1], *rule.excluded[0], *rule.excluded[1]]
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
