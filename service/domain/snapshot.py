"""An immutable, indexed view of one knowledge-base version: built once, shared by every check."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import fuzz, process

from .answer import AlertWording, AlsoApplies, SourceRef
from .knowledge import (
    OPIOID_CLASS,
    PATIENT_LANGUAGES,
    SOURCE_LANGUAGE,
    SYSTEMIC,
    DrugClass,
    Ingredient,
    KnowledgeBase,
    Ref,
    Route,
    Rule,
    Source,
)
from .medtext import ParsedText, parse
from .severity import AlertKind
from .text import bare_key, candidate_keys, combination_parts, name_key
from .vocabulary import TTY_RANK, Concept, Conflict, index_names

__all__ = ["Choice", "Concept", "KbSnapshot", "Reading"]


@dataclass(frozen=True)
class Reading:
    """Free text as the service reads it: what it names, and what the parser found around it."""

    concept: Concept | None
    parsed: ParsedText
    also_named: tuple[Concept, ...] = ()  # other medicines the line names after its first one


@dataclass(frozen=True)
class RuleWording:
    """A rule's texts as every answer renders them, built once per KB version."""

    clinician_details: str
    management: str
    sources: tuple[SourceRef, ...]


MAX_MEMOISED_PAIRS = 200_000


def _negated(specificity: tuple[int, int]) -> tuple[int, int]:
    return (-specificity[0], -specificity[1])


def _unique_new(sentences: Iterable[str], already: list[str]) -> list[str]:
    found: list[str] = []
    for sentence in sentences:
        if sentence and sentence not in found and not any(sentence in text for text in already):
            found.append(sentence)
    return found


_UNDECIDED = object()  # not yet in the memo (None is a decision: no rule)
MAX_MEMOISED_TEXTS = 100_000
_ANY_ROUTE = "*"  # members of every route: what a class holds at all


class RuleIndex:
    """Which list-level rules (duplication, cumulative, dose) a check needs to look at at all.

    A check evaluates only the rules triggered by the classes present, so its cost follows the list,
    not the size of the knowledge base.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.same_ingredient: list[Rule] = []
        self.same_class: dict[str, list[Rule]] = defaultdict(list)
        self.cumulative: dict[str, list[Rule]] = defaultdict(list)
        self.dose: dict[str, list[Rule]] = defaultdict(list)
        self._order: dict[str, int] = {}
        for order, rule in enumerate(rules):
            self._order[rule.id] = order
            if rule.duplication and rule.duplication.same_ingredient:
                self.same_ingredient.append(rule)
            for ref in rule.duplication.same_class if rule.duplication else ():
                self.same_class[ref.id if ref.kind == "class" else f"drug:{ref.id}"].append(rule)
            if rule.cumulative:
                self.cumulative[rule.cumulative.class_id].append(rule)
                if rule.cumulative.older_adults:
                    self.cumulative[rule.cumulative.older_adults.class_id].append(rule)
            if rule.dose_limit:
                self.dose[rule.dose_limit.ingredient].append(rule)

    def triggered(
        self, by_key: dict[str, list[Rule]], classes: dict[str, frozenset[str]]
    ) -> list[Rule]:
        """The rules keyed by a class (or ``drug:<name>``) present in the list, in KB order."""
        present = set().union(*classes.values(), (f"drug:{i}" for i in classes))
        found = {rule.id: rule for key in present & by_key.keys() for rule in by_key[key]}
        return sorted(found.values(), key=lambda r: self._order[r.id])


@dataclass(frozen=True)
class Matcher:
    """One interaction rule's side pair, seen from one of its sides, with that orientation's
    declared exceptions; ``specificity`` chooses the words among rules of one severity."""

    rule: Rule
    order: int
    specificity: tuple[int, int]
    except_self: tuple[Ref, ...] = ()
    except_partner: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The rules matching one pair (P1-P3): ``rule`` decides severity and words; ``others`` also apply."""

    rule: Rule
    others: tuple[Rule, ...]

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (self.rule, *self.others)


class KbSnapshot:
    """Indexes of one KB version; lookups only, no database, safe to share across threads."""

    def __init__(self, version: str, kb: KnowledgeBase) -> None:
        self.version = version
        self.kb = kb
        self.ingredients: Mapping[str, Ingredient] = {i.name: i for i in kb.ingredients}
        self.sources: Mapping[str, Source] = {s.id: s for s in kb.sources}
        self.classes: Mapping[str, DrugClass] = {c.id: c for c in kb.classes}
        self.rules: Mapping[str, Rule] = {r.id: r for r in kb.rules}
        self.routes: Mapping[str, Route] = {r.id: r for r in kb.routes}
        self.never_alert = frozenset(kb.never_alert)
        self._class_depth = {c.id: self._depth(c) for c in kb.classes}
        self.members = self._expand_members()
        # Ingredients that are alcohol, by the KB's own class (none when it names no such class).
        self.alcohol: frozenset[str] = (
            self.members.get(kb.alcohol_class, frozenset()) if kb.alcohol_class else frozenset()
        )
        self._classes_by_route: dict[str | None, dict[str, frozenset[str]]] = {}
        self._product_classes_of = self._index_product_classes()
        names = index_names(kb)
        self._names, self._codes = names.names, names.codes
        self._ingredient_rxcuis = names.ingredient_rxcuis
        self.vocabulary_conflicts: tuple[Conflict, ...] = tuple(names.conflicts)
        self._partners = self._index_interaction_rules()
        self._named = self._index_named_drugs()
        self._fallback_partitions = self._index_fallback_partitions()
        self.index = RuleIndex(kb.rules)
        self._decisions: dict[tuple[str, frozenset[str], str, frozenset[str]], Decision | None] = {}
        self._texts: dict[str, Reading] = {}
        self._alert_wordings: dict[tuple[tuple[str, ...], str], tuple[str, AlertWording]] = {}
        # Built now, not on the first typo: it then lives in the frozen heap with the rest.
        self._choices = Choices.build(self)

    @cached_property
    def wording(self) -> dict[str, RuleWording]:
        return {
            rule.id: RuleWording(
                clinician_details=" ".join([rule.effect, rule.mechanism, rule.management]),
                management=rule.management,
                sources=tuple(
                    {"id": s, "label": self.sources[s].label, "url": self.sources[s].url}
                    for s in rule.sources
                ),
            )
            for rule in self.kb.rules
        }

    def required_wording(self, rule_ids: Iterable[str]) -> list[str]:
        """P4: what any matching rule says clinicians must always hear, once each, unless the
        deciding rule (the first) already says it."""
        rules = [self.rules[rule_id] for rule_id in rule_ids]
        decider = rules[0]
        clinician = [decider.management, decider.effect, decider.mechanism]
        return _unique_new((r.always_say for r in rules), clinician)

    @cached_property
    def opioid_combinations(self) -> frozenset[str]:
        """Ids of the pair rules one side of which names opioids only: the opioid class, one of
        its subclasses (opioid cough products), or classes and ingredients all of which are
        opioids (R1, R3, R5, R12, the CYP3A4 opioid rules ...)."""
        opioids = self.members.get(OPIOID_CLASS, frozenset())

        def is_opioid(ref: Ref) -> bool:
            if ref.kind != "class":
                return ref.id in opioids
            members = self.members[ref.id]
            return self._within(ref.id, OPIOID_CLASS) or (bool(members) and members <= opioids)

        return frozenset(
            rule.id
            for rule in self.kb.rules
            if rule.between is not None
            and any(bool(side) and all(map(is_opioid, side)) for side in rule.between)
        )

    def _within(self, class_id: str, ancestor: str) -> bool:
        """``class_id`` is ``ancestor`` or one of its subclasses, at any depth."""
        current: str | None = class_id
        while current is not None and current != ancestor:
            current = self.classes[current].parent
        return current == ancestor

    def clinical_weight(self, rule_ids: Iterable[str]) -> int:
        """How much the policy weighs an alert within its severity, so the heaviest is read first:
        2 when a matching rule asks for naloxone (P4: an opioid with another drug that slows
        breathing), 1 for another opioid combination (with alcohol, another sedative ...), else 0.
        """
        rules = [self.rules[rule_id] for rule_id in rule_ids]
        if any(rule.suggest_naloxone for rule in rules):
            return 2
        return 1 if any(rule.id in self.opioid_combinations for rule in rules) else 0

    def patient_wording(self, rule_ids: Sequence[str], language: str) -> tuple[str, str]:
        """An alert's patient text and the language it is in: the deciding rule's text, then
        every matching rule's required sentence (P4) once each.

        English when any of the rules lacks ``language`` (a version stored before it was
        translated): one paragraph is never written in two languages.
        """
        asked = language if language in PATIENT_LANGUAGES else SOURCE_LANGUAGE
        rules = [self.rules[rule_id] for rule_id in rule_ids]
        texts = [r.patient_texts(asked) for r in rules]
        used = asked
        if any(t is None for t in texts):
            used = SOURCE_LANGUAGE
            texts = [r.patient_texts(used) for r in rules]
        found = [t for t in texts if t is not None]
        decider_text = found[0][0]
        tell = _unique_new((must_tell for _, must_tell in found), [decider_text])
        return " ".join([decider_text, *tell]), used

    def patient_title(self, rule_id: str, language: str) -> str:
        """The rule's title for a patient in ``language``, which ``patient_wording`` chose for the
        alert (so every matching rule has it); English for a language the version lacks."""
        rule = self.rules[rule_id]
        return rule.patient_title(language) or rule.title

    def alert_wording(self, rule_ids: tuple[str, ...], language: str) -> tuple[str, AlertWording]:
        """The wording of an alert decided by ``rule_ids[0]`` (the others also matching), in
        ``language``: what its clinician text says after the alert's own summary, and the rest.

        Memoised: every alert of every answer asks again for one of a few hundred combinations,
        and building them was the larger part of rendering an answer. The texts are shared by
        the answers that carry them, which only ever read them.
        """
        key = (rule_ids, language)
        if (known := self._alert_wordings.get(key)) is not None:
            return known
        wording = self.wording[rule_ids[0]]
        must_say = self.required_wording(rule_ids)
        patient_text, used = self.patient_wording(rule_ids, language)
        texts: AlertWording = {
            "patient_text": patient_text,
            "patient_text_language": used,
            "patient_title": self.patient_title(rule_ids[0], used),
            "management": " ".join([wording.management, *must_say]),
            "sources": wording.sources,
            "also_applies": [self.also_applies_entry(rule_id, used) for rule_id in rule_ids[1:]],
            "unconfirmed": any(self.rules[rule_id].unconfirmed for rule_id in rule_ids),
            "clinical_weight": self.clinical_weight(rule_ids),
        }
        known = " ".join([wording.clinician_details, *must_say]), texts
        if len(self._alert_wordings) > MAX_MEMOISED_TEXTS:
            self._alert_wordings.clear()  # bounded memory, whatever the logs hold
        self._alert_wordings[key] = known
        return known

    def also_applies_entry(self, rule_id: str, language: str) -> AlsoApplies:
        """How another matching rule is listed beside the deciding one (P3)."""
        rule = self.rules[rule_id]
        return {
            "id": rule.id,
            "title": rule.title,
            "patient_title": self.patient_title(rule_id, language),
            "severity": rule.severity.value,
            "summary": rule.summary,
            "management": rule.management,
        }

    # --- classes -------------------------------------------------------------------------------

    def _depth(self, drug_class: DrugClass) -> int:
        """Unions rank below plain classes, subclasses above their parents."""
        if drug_class.union_of:
            return 0
        depth, parent = 1, drug_class.parent
        while parent is not None:
            depth += 1
            parent = next(c.parent for c in self.kb.classes if c.id == parent)
        return depth

    def _expand_members(self, route: str | None = _ANY_ROUTE) -> dict[str, frozenset[str]]:
        """Every class's members, as seen for products of ``route`` (the default: every route).

        A route-restricted class keeps its own members only for the routes it admits; unions and
        parents built from it lose them too.
        """
        members: dict[str, frozenset[str]] = {}

        def expand(class_id: str) -> frozenset[str]:
            if class_id not in members:
                drug_class = self.classes[class_id]
                found = set(drug_class.members) if self._admits(drug_class, route) else set()
                for part in drug_class.union_of:
                    found |= expand(part)
                members[class_id] = frozenset(found)
            return members[class_id]

        for class_id in self.classes:
            expand(class_id)
        # A parent holds its subclasses' members, so a subclass member is never missed by a parent rule.
        for drug_class in self.kb.classes:
            parent = drug_class.parent
            while parent is not None:
                members[parent] = members[parent] | members[drug_class.id]
                parent = self.classes[parent].parent
        return members

    def _admits(self, drug_class: DrugClass, route: str | None) -> bool:
        """Unknown route counts as systemic (fail safe); a listed route must be documented."""
        if not drug_class.routes or route == _ANY_ROUTE:
            return True
        if drug_class.routes == (SYSTEMIC,):
            return route is None or route not in self.routes or self.routes[route].systemic
        return route in drug_class.routes

    def _classes_for_route(self, route: str | None) -> dict[str, frozenset[str]]:
        """Each ingredient's classes for products of ``route``; built once per route seen."""
        index = self._classes_by_route.get(route)
        if index is None:
            members = self._expand_members(route)
            found: dict[str, set[str]] = defaultdict(set)
            for class_id, class_members in members.items():
                for ingredient in class_members:
                    found[ingredient].add(class_id)
            index = defaultdict(frozenset, {i: frozenset(c) for i, c in found.items()})
            self._classes_by_route[route] = index
        return index

    def classes_of(
        self, ingredient: str, product: frozenset[str] = frozenset(), route: str | None = None
    ) -> frozenset[str]:
        """The ingredient's classes in a product of ``route``, plus the product classes it takes
        on inside ``product``."""
        found = self._classes_for_route(route)[ingredient]
        for partners, gained in self._product_classes_of.get(ingredient, ()):
            if product & partners:
                found = found | gained
        return found

    def _index_product_classes(self) -> dict[str, list[tuple[frozenset[str], frozenset[str]]]]:
        """For each ingredient: the product classes it can take on, with whom, and what it gains.

        What it gains is the class and the unions containing it, so a cough product's opioid is
        also a CNS depressant for the rules that name the union.
        """
        unions: dict[str, set[str]] = defaultdict(set)
        for drug_class in self.kb.classes:
            for part in drug_class.union_of:
                unions[part].add(drug_class.id)
        index: dict[str, list[tuple[frozenset[str], frozenset[str]]]] = defaultdict(list)
        for drug_class in self.kb.classes:
            combo = drug_class.products_combining
            if combo is None:
                continue
            gained = frozenset({drug_class.id, *unions[drug_class.id]})
            partners = self.members[combo.with_any_of]
            for ingredient in self.members[combo.member_of]:
                index[ingredient].append((partners, gained))
        return dict(index)

    def in_any(self, ingredient: str, classes: frozenset[str], refs: Iterable[Ref]) -> bool:
        return any(
            (ref.kind == "drug" and ref.id == ingredient)
            or (ref.kind == "class" and ref.id in classes)
            for ref in refs
        )

    # --- interaction rules ---------------------------------------------------------------------

    def _ref_rank(self, ref: Ref) -> tuple[int, int]:
        return (1, 0) if ref.kind == "drug" else (0, self._class_depth[ref.id])

    def _index_interaction_rules(self) -> dict[str, dict[str, list[Matcher]]]:
        """Rule sides keyed by ``str(ref)``: strings hash once, which keeps the pair loop cheap."""
        partners: dict[str, dict[str, list[Matcher]]] = defaultdict(lambda: defaultdict(list))
        for order, rule in enumerate(self.kb.rules):
            if rule.kind is not AlertKind.INTERACTION or rule.between is None:
                continue
            (left, right), (except_left, except_right) = rule.between, rule.excluded
            for a in left:
                for b in right:
                    rank_a, rank_b = self._ref_rank(a), self._ref_rank(b)
                    specificity = (rank_a[0] + rank_b[0], rank_a[1] + rank_b[1])
                    partners[str(a)][str(b)].append(
                        Matcher(rule, order, specificity, except_left, except_right)
                    )
                    partners[str(b)][str(a)].append(
                        Matcher(rule, order, specificity, except_right, except_left)
                    )
        return {ref: dict(by_partner) for ref, by_partner in partners.items()}

    def _index_named_drugs(self) -> frozenset[str]:
        """Ingredients some interaction rule names by ``drug:``, on a side or in an exception."""
        named = {ref[len("drug:") :] for ref in self._partners if ref.startswith("drug:")}
        for rule in self.kb.rules:
            named.update(ref.id for side in rule.excluded for ref in side if ref.kind == "drug")
        return frozenset(named)

    def _index_fallback_partitions(self) -> dict[str, frozenset[str]]:
        """For a fallback rule: the classes its sides' unions are made of. Two ingredients sharing
        one of them are alike (duplication's concern), not an interaction."""
        partitions: dict[str, frozenset[str]] = {}
        for rule in self.kb.rules:
            if rule.fallback and rule.between:
                parts = {
                    part
                    for side in rule.between
                    for ref in side
                    if ref.kind == "class"
                    for part in self.classes[ref.id].union_of
                }
                partitions[rule.id] = frozenset(parts)
        return partitions

    def _refs(self, ingredient: str, classes: frozenset[str]) -> frozenset[str]:
        return frozenset((f"drug:{ingredient}", *(self._class_refs[c] for c in classes)))

    @cached_property
    def _class_refs(self) -> dict[str, str]:
        return {class_id: f"class:{class_id}" for class_id in self.classes}

    def decide(
        self, a: str, classes_a: frozenset[str], b: str, classes_b: frozenset[str]
    ) -> Decision | None:
        """Every rule matching the pair, ranked by the policy's precedence (P1-P5).

        Memoised: a pair with the same classes always gets the same answer from one KB version.
        An ingredient no rule names is keyed by its classes alone, so on a large KB its many
        class-mates share one entry instead of crowding the memo out.
        """
        named = self._named
        key = (a if a in named else "", classes_a, b if b in named else "", classes_b)
        decision = self._decisions.get(key, _UNDECIDED)
        if decision is not _UNDECIDED:
            return decision  # type: ignore[return-value]
        decision = self._rank(self._matching(a, classes_a, b, classes_b), classes_a & classes_b)
        if len(self._decisions) > MAX_MEMOISED_PAIRS:
            self._decisions.clear()  # bounded memory, whatever the traffic
        self._decisions[key] = decision
        return decision

    def _matching(
        self, a: str, classes_a: frozenset[str], b: str, classes_b: frozenset[str]
    ) -> dict[str, Matcher]:
        """Each matching rule once, by its most specific side pair; declared exceptions (P5) apply."""
        found: dict[str, Matcher] = {}
        refs_b = self._refs(b, classes_b)
        for ref_a in self._refs(a, classes_a):
            by_partner = self._partners.get(ref_a)
            if not by_partner:
                continue
            # In whichever order side pairs come, the best one not excepted is kept per rule.
            for ref_b in by_partner.keys() & refs_b:
                for matcher in by_partner[ref_b]:
                    best = found.get(matcher.rule.id)
                    if best is not None and matcher.specificity <= best.specificity:
                        continue
                    if self.in_any(a, classes_a, matcher.except_self) or self.in_any(
                        b, classes_b, matcher.except_partner
                    ):
                        continue
                    found[matcher.rule.id] = matcher
        return found

    def _rank(self, found: dict[str, Matcher], shared: frozenset[str]) -> Decision | None:
        """P1: the highest severity decides; P2: the most specific rule at it gives the words;
        P3: the others follow, most specific first (their advice is usually drug-specific).
        A fallback rule stands aside for any rule at least as severe, and never applies to two
        ingredients alike (duplication's concern); it is never lowered by a milder rule (P1)."""
        rules = [m for m in found.values() if not m.rule.fallback]
        strongest = max((m.rule.severity.rank for m in rules), default=0)
        matched = rules + [
            m
            for m in found.values()
            if m.rule.fallback
            and m.rule.severity.rank > strongest
            and not (shared & self._fallback_partitions.get(m.rule.id, frozenset()))
        ]
        if not matched:
            return None
        matched.sort(key=lambda m: (-m.rule.severity.rank, _negated(m.specificity), m.order))
        decider = matched[0]
        others = sorted(
            matched[1:], key=lambda m: (_negated(m.specificity), -m.rule.severity.rank, m.order)
        )
        return Decision(decider.rule, tuple(m.rule for m in others))

    @cached_property
    def ingredients_with_rules(self) -> frozenset[str]:
        """Ingredients some rule can fire for: the rest are recognised but outside the screen's scope."""
        covered: set[str] = set()

        def add(refs: Iterable[Ref]) -> None:
            for ref in refs:
                covered.update(self.members.get(ref.id, ()) if ref.kind == "class" else (ref.id,))

        for rule in self.kb.rules:
            if rule.between:
                add(rule.between[0])
                add(rule.between[1])
            if rule.duplication:
                add(rule.duplication.same_class)
            if rule.cumulative:
                covered.update(self.members[rule.cumulative.class_id])
            if rule.dose_limit:
                covered.add(rule.dose_limit.ingredient)
        return frozenset(covered)

    # --- names ---------------------------------------------------------------------------------

    def ingredient_rxcui(self, ingredient: str) -> str | None:
        """The RxCUI of any ingredient a name can resolve to: the KB's own, else RxNorm's IN."""
        return self._ingredient_rxcuis.get(ingredient)

    @property
    def name_count(self) -> int:
        """How many distinct names (after normalisation) recognition knows."""
        return len(self._names)

    def concepts_by_code(self) -> Mapping[str, Concept]:
        """Every code recognition resolves, with what it resolves to (read only)."""
        return self._codes

    def lookup_code(self, rxcui: str) -> Concept | None:
        return self._codes.get(rxcui.strip())

    def read_text(self, text: str) -> Reading:
        """Parse and resolve free text; memoised, since the same few thousand texts come again
        and again."""
        reading = self._texts.get(text)
        if reading is None:
            parsed = parse(text)
            reading = Reading(self._resolve_text(text, parsed), parsed, self._also_named(parsed))
            if len(self._texts) > MAX_MEMOISED_TEXTS:
                self._texts.clear()  # bounded memory, whatever the traffic
            self._texts[text] = reading
        return reading

    def lookup_text(self, text: str) -> Concept | None:
        return self.read_text(text).concept

    def _resolve_text(self, text: str, parsed: ParsedText) -> Concept | None:
        """The text as typed first (a product name may hold a number: "Tylenol #3"), then the
        names the parser found ("Xanax XR", then "Xanax"), then the text stripped of strength and
        form. Combination text resolves only if every part does."""
        keys = dict.fromkeys(
            [
                name_key(text),
                *(key for name in parsed.names_to_try for key in candidate_keys(name)),
                *candidate_keys(text),
            ]
        )
        for key in keys:
            concept = self._names.get(key)
            if concept is not None:
                return concept
        parts = combination_parts(parsed.name or text)
        if len(parts) < 2:
            return None
        resolved = [self.lookup_text(part) for part in parts]
        if any(concept is None for concept in resolved):
            return None
        ingredients = sorted({i for concept in resolved if concept for i in concept.ingredients})
        return Concept(text.strip(), tuple(ingredients))

    def _also_named(self, parsed: ParsedText) -> tuple[Concept, ...]:
        """The medicines a line names with a strength of their own after its first one, as far as
        they are known names ("acetaminophen 300 mg, codeine 30 mg": codeine). A name ends where
        its strength begins, so a run's last words are tried too ("for pain alprazolam 1 mg")."""
        found = []
        for run in parsed.other_names:
            words = run.split()
            tails = (" ".join(words[start:]) for start in range(len(words)))
            keys = (key for tail in tails for key in candidate_keys(tail))
            concept = next((c for key in keys if (c := self._names.get(key))), None)
            if concept is not None:
                found.append(concept)
        return tuple(found)

    def suggest(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """ "Did you mean" labels ("Tylenol (acetaminophen)"); never used to resolve, only to offer.

        Each label reads back as its name. The plain product comes first: a typo of a brand
        offers the single-ingredient product and its ingredient before the combinations that
        add something (a sedative, an opioid) the user did not ask for.
        """
        # The name as the parser separates it from strength, form and sig ("tylenoll 500 mg q6h").
        query = bare_key(self.read_text(text).parsed.name or text)
        if not query:
            return ()
        return tuple(c.label for c in self._choices.fuzzy(query, limit))

    def search_names(self, query: str, limit: int = 20) -> list[Choice]:
        """Autocomplete: names starting with the text, then names with a word starting with it,
        then (from four letters) names spelt nearly like it; plain products first in each group."""
        found = self._choices.search(name_key(query), limit)
        if found:
            return found
        # "clonazepam 0.5 mg tab": what the parser reads as the name, without strength and form.
        name = self.read_text(query).parsed.name
        return self._choices.search(name_key(name), limit) if name else []


@dataclass(frozen=True, slots=True)
class Choice:
    """A name worth offering people: what it resolves to, and how it is shown."""

    key: str
    label: str
    concept: Concept
    rank: tuple[int, int, int]  # fewer ingredients, plainer term type, shorter: offered first


FUZZY_CUTOFF = 80
FUZZY_BAND = 8  # scores this close to the best are ties, broken by how plain the product is
MIN_FUZZY_AUTOCOMPLETE = 4
_OFFERED_TTYS = frozenset({None, "IN", "PIN", "MIN", "BN"})


class Choices:
    """The names offered by "did you mean" and autocomplete: ingredients, brands and the names of
    ``names.csv`` (never an accepted misspelling, never a long clinical-drug string), keyed once."""

    def __init__(self, choices: list[Choice]) -> None:
        self.sorted = sorted(choices, key=lambda c: c.key)
        self.keys = [c.key for c in self.sorted]
        self.by_key = {c.key: c for c in self.sorted}
        # By length: a ratio of FUZZY_CUTOFF needs lengths within 2/3 to 3/2 of each other, so a
        # query is compared with a few thousand keys instead of all of them.
        by_length: dict[int, list[Choice]] = defaultdict(list)
        for choice in self.sorted:
            by_length[len(choice.key)].append(choice)
        self.by_length = {n: (items, [c.key for c in items]) for n, items in by_length.items()}

    @classmethod
    def build(cls, kb: KbSnapshot) -> Choices:
        misspellings = {name_key(n.name) for n in kb.kb.names if n.kind == "misspelling"}
        found: list[Choice] = []
        for key, concept in kb._names.items():
            if key in misspellings or concept.tty not in _OFFERED_TTYS:
                continue
            found.append(Choice(key, _label(concept), concept, _rank(key, concept)))
        return cls(found)

    def fuzzy(self, query: str, limit: int, *, plain_first: bool = True) -> list[Choice]:
        matches: list[tuple[Choice, float]] = []
        shortest, longest = -(-2 * len(query) // 3), 3 * len(query) // 2
        for length in range(shortest, longest + 1):
            items, keys = self.by_length.get(length, ((), []))
            found = process.extract(
                query, keys, scorer=fuzz.ratio, limit=limit * 8, score_cutoff=FUZZY_CUTOFF
            )
            matches += [(items[i], score) for _key, score, i in found]
        if not matches:
            return []
        best = max(score for _choice, score in matches)
        close = [(choice, score) for choice, score in matches if score >= best - FUZZY_BAND]
        close.sort(key=lambda m: (m[0].rank[0], -m[1], m[0].rank[1:], m[0].key))
        offered = [choice for choice, _score in close]
        single = [c for c in offered if len(c.concept.ingredients) == 1]
        # The ingredient of the plainest product, right after it ("Tylenol" -> acetaminophen); when
        # only combinations match, what they share comes first (never only the sedating variants).
        if not plain_first:
            pass
        elif single:
            offered.insert(1, self._ingredient_choice(single[0].concept.ingredients[0]))
        elif len(offered) > 1:
            shared = set.intersection(*(set(c.concept.ingredients) for c in offered))
            offered[:0] = [self._ingredient_choice(i) for i in sorted(shared)]
        unique: dict[str, Choice] = {}
        for choice in offered:
            unique.setdefault(choice.label, choice)
        return list(unique.values())[:limit]

    def _ingredient_choice(self, ingredient: str) -> Choice:
        key = name_key(ingredient)
        at = bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            return self.sorted[at]
        return Choice(key, ingredient, Concept(ingredient, (ingredient,)), (1, 0, len(key)))

    def search(self, key: str, limit: int) -> list[Choice]:
        if not key:
            return []
        start = bisect_left(self.keys, key)
        end = bisect_left(self.keys, key + "\uffff", lo=start)
        prefix = sorted(self.sorted[start:end], key=lambda c: (c.key != key, c.rank, c.key))
        found = dict.fromkeys(c.key for c in prefix[:limit])
        if len(found) < limit:
            word = " " + key
            inside = [c for c in self.sorted if word in c.key and c.key not in found]
            inside.sort(key=lambda c: (c.rank, c.key))
            found.update(dict.fromkeys(c.key for c in inside[: limit - len(found)]))
        if len(found) < limit and len(key) >= MIN_FUZZY_AUTOCOMPLETE:
            for choice in self.fuzzy(key, limit, plain_first=False):
                found.setdefault(choice.key, None)
        return [self.by_key[k] for k in list(found)[:limit]]


def _rank(key: str, concept: Concept) -> tuple[int, int, int]:
    return (len(concept.ingredients), TTY_RANK.get(concept.tty or "BN", 0), len(key))


def _label(concept: Concept) -> str:
    """ "Brand (generic)" unless the name already is the generic one."""
    generic = " / ".join(concept.ingredients)
    if concept.tty in ("IN", "PIN", "MIN") or name_key(concept.display) == name_key(generic):
        return concept.display
    return f"{concept.display} ({generic})"
