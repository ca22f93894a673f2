"""The check: recognised medications + KB snapshot + context → alerts. Pure, deterministic, no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from rapidfuzz import fuzz

from .knowledge import Ref, Rule
from .medtext import daily_dose_mg
from .severity import AlertKind, Severity
from .snapshot import Concept, Decision, KbSnapshot
from .text import name_key

SUMMARY_LIMIT = 140


@dataclass(frozen=True)
class MedicationInput:
    """One item as the caller gave it; ``text`` or ``rxcui`` (or both) identify it."""

    text: str | None = None
    rxcui: str | None = None
    daily_dose_mg: float | None = None
    indication: str | None = None
    route: str | None = None

    @property
    def label(self) -> str:
        return self.text if self.text else f"RxCUI {self.rxcui}"


@dataclass(frozen=True)
class Medication:
    """An input after recognition: its ingredients, or why it could not be recognised.

    ``route`` is a route id of the knowledge base, or None when unknown (which counts as systemic).
    """

    index: int
    input: MedicationInput
    recognized: bool
    ingredients: tuple[str, ...] = ()
    matched: str | None = None
    rxcui: str | None = None
    suggestions: tuple[str, ...] = ()
    route: str | None = None
    dose_form: str | None = None


MAX_PATIENT_AGE = 130  # years: an age past it is a placeholder or a typo, at every door


@dataclass(frozen=True)
class CheckContext:
    patient_age: int | None = None


# NCPDP Reason for Service (439-E4) codes, standards.md section 4.2. The check decides them: a door
# only copies them into its answer.
DRUG_DRUG = "DD"
DRUG_ALCOHOL = "OH"  # an interaction with an ingredient of the KB's alcohol class
ADDITIVE_TOXICITY = "AT"  # the cumulative alert: many drugs adding up to one toxicity
INGREDIENT_DUPLICATION = "ID"
THERAPEUTIC_DUPLICATION = "TD"
HIGH_DOSE = "HD"


def _other_medicines(
    concept: Concept, named: tuple[Concept, ...], kb: KbSnapshot
) -> tuple[str, ...]:
    """The names of those ``named`` medicines that bring an ingredient some rule involves and the
    item's own concept lacks (a line's "Tylenol (acetaminophen 300 mg ...)" brings nothing)."""
    mine = set(concept.ingredients)
    return tuple(
        other.display
        for other in named
        if (set(other.ingredients) & kb.ingredients_with_rules) - mine
    )


def _with_text(coded: Concept | None, named: Concept) -> Concept:
    """The code's concept, unless the text names ingredients it lacks: then both, and no route.

    A code and a text that disagree ("oxycodone 5 mg" sent with acetaminophen's RxCUI) are a data
    error on the caller's side; screening only one of them could hide the other's alerts.
    """
    if coded is None:
        return named
    if set(named.ingredients) <= set(coded.ingredients):
        return coded
    ingredients = tuple(sorted({*coded.ingredients, *named.ingredients}))
    return Concept(f"{coded.display} + {named.display}", ingredients)


def interaction_reason(ingredients: Sequence[str], kb: KbSnapshot) -> str:
    """``OH`` when one of an interaction's ingredients is in the KB's alcohol class, else ``DD``."""
    return DRUG_ALCOHOL if kb.alcohol.intersection(ingredients) else DRUG_DRUG


@dataclass(frozen=True)
class Alert:
    """``rule`` decided severity and words; ``also_applies`` matched too (P3), in display order."""

    id: str
    kind: AlertKind
    severity: Severity
    rule: Rule
    ingredients: tuple[str, ...]
    medications: tuple[int, ...]
    summary: str
    also_applies: tuple[Rule, ...] = ()
    reason_for_service: str = DRUG_DRUG

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (self.rule, *self.also_applies)

    @property
    def suggest_naloxone(self) -> bool:
        """P4: a flag of any matching rule applies."""
        return any(rule.suggest_naloxone for rule in self.rules)


@dataclass(frozen=True)
class CheckResult:
    kb_version: str
    medications: tuple[Medication, ...]
    alerts: tuple[Alert, ...]  # in ``alert_order``: most severe first
    outside_scope: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return all(m.recognized for m in self.medications)

    @property
    def highest_severity(self) -> Severity | None:
        return self.alerts[0].severity if self.alerts else None  # most severe first

    @property
    def unrecognized(self) -> tuple[Medication, ...]:
        return tuple(m for m in self.medications if not m.recognized)


def alert_order(alert: Alert) -> tuple[int, tuple[str, ...], str, str]:
    """Most severe first, then by ingredient names: the order every answer uses."""
    return (-alert.severity.rank, alert.ingredients, alert.kind.value, alert.rule.id)


def recognize(items: Sequence[MedicationInput], kb: KbSnapshot) -> tuple[Medication, ...]:
    """Resolve every item; an item that does not resolve comes back unrecognised, never dropped."""
    return tuple(_recognize_one(index, item, kb) for index, item in enumerate(items))


def _recognize_one(index: int, item: MedicationInput, kb: KbSnapshot) -> Medication:
    concept = kb.lookup_code(item.rxcui) if item.rxcui else None
    reading = kb.read_text(item.text) if item.text else None
    if reading is not None and reading.concept is not None:
        concept = _with_text(concept, reading.concept)
    if concept is None:
        suggestions = kb.suggest(item.text) if item.text else ()
        return Medication(index, item, recognized=False, suggestions=suggestions)
    if reading is not None and (others := _other_medicines(concept, reading.also_named, kb)):
        # Two medicines on one line cannot be checked as one product (their pair would be exempt,
        # a dose would be nobody's): not checked, each offered to be entered on its own.
        return Medication(index, item, recognized=False, suggestions=(concept.display, *others))
    parsed = reading.parsed if reading is not None else None
    if parsed is not None:
        # What the text says fills only what the caller left out.
        # Built field by field: dataclasses.replace cost a tenth of recognising a list.
        item = MedicationInput(
            text=item.text,
            rxcui=item.rxcui,
            daily_dose_mg=item.daily_dose_mg
            if item.daily_dose_mg is not None
            else daily_dose_mg(parsed),
            indication=item.indication or parsed.sig.indication,
            route=item.route,
        )
    return Medication(
        index,
        item,
        True,
        concept.ingredients,
        concept.display,
        concept.rxcui,
        route=item.route or concept.route or (parsed.route if parsed else None),
        dose_form=parsed.dose_form if parsed else None,
    )


def check(medications: Sequence[Medication], kb: KbSnapshot, context: CheckContext) -> CheckResult:
    """Every alert the knowledge base raises for these medications, most severe first."""
    recognized = [m for m in medications if m.recognized]
    occurrences: dict[str, list[int]] = defaultdict(list)
    classes: dict[str, frozenset[str]] = defaultdict(frozenset)
    for med in recognized:
        product = frozenset(med.ingredients)
        for ingredient in product - kb.never_alert:  # R82: rescue drugs are never discouraged
            occurrences[ingredient].append(med.index)
            found = kb.classes_of(ingredient, product, med.route)
            # The snapshot's own set where there is one: its hash is kept, and the memo of rule
            # decisions compares it by identity instead of member by member.
            classes[ingredient] = classes[ingredient] | found if ingredient in classes else found

    alerts = [
        *_interactions(occurrences, classes, kb),
        *_duplications(occurrences, classes, kb),
        *_cumulative(occurrences, classes, kb, context),
        *_dose(recognized, kb),
    ]
    alerts.sort(key=alert_order)
    outside = sorted(i for i in occurrences if i not in kb.ingredients_with_rules)
    return CheckResult(kb.version, tuple(medications), tuple(alerts), tuple(outside))


def _interactions(
    occurrences: dict[str, list[int]], classes: dict[str, frozenset[str]], kb: KbSnapshot
) -> list[Alert]:
    alerts = []
    for a, b in combinations(sorted(occurrences), 2):
        meds_a, meds_b = occurrences[a], occurrences[b]
        # Ingredients of one combination product are not alerted against each other.
        if len(meds_a) == 1 and meds_a == meds_b:
            continue
        decision = kb.decide(a, classes[a], b, classes[b])
        if decision is not None:
            reason = interaction_reason((a, b), kb)
            alerts.append(_alert(decision, (a, b), meds_a + meds_b, reason=reason))
    return alerts


def _duplications(
    occurrences: dict[str, list[int]], classes: dict[str, frozenset[str]], kb: KbSnapshot
) -> list[Alert]:
    alerts = []
    repeated = [(i, meds) for i, meds in sorted(occurrences.items()) if len(meds) > 1]
    for rule in kb.index.same_ingredient if repeated else ():
        criteria = rule.duplication
        assert criteria is not None
        for ingredient, meds in repeated:
            if not kb.in_any(ingredient, classes[ingredient], criteria.except_refs):
                alerts.append(
                    _alert(Decision(rule, ()), (ingredient,), meds, reason=INGREDIENT_DUPLICATION)
                )
    for rule in kb.index.triggered(kb.index.same_class, classes):
        criteria = rule.duplication
        assert criteria is not None
        pairs: set[tuple[str, str]] = set()
        for ref in criteria.same_class:
            pairs.update(combinations(sorted(_named_by(ref, occurrences, classes)), 2))
        for a, b in sorted(pairs):
            meds_a, meds_b = occurrences[a], occurrences[b]
            if not (len(meds_a) == 1 and meds_a == meds_b):
                alerts.append(
                    _alert(
                        Decision(rule, ()), (a, b), meds_a + meds_b, reason=THERAPEUTIC_DUPLICATION
                    )
                )
    return alerts


def _named_by(
    ref: Ref, occurrences: dict[str, list[int]], classes: dict[str, frozenset[str]]
) -> list[str]:
    """The list's ingredients a rule's reference names: the ingredient itself, or a class's members."""
    if ref.kind == "drug":
        return [ref.id] if ref.id in occurrences else []
    return [i for i in occurrences if ref.id in classes[i]]


def _cumulative(
    occurrences: dict[str, list[int]],
    classes: dict[str, frozenset[str]],
    kb: KbSnapshot,
    context: CheckContext,
) -> list[Alert]:
    alerts = []
    for rule in kb.index.triggered(kb.index.cumulative, classes):
        criteria = rule.cumulative
        assert criteria is not None
        involved = {i for i in occurrences if criteria.class_id in classes[i]}
        severity: Severity | None = None
        if len(involved) >= criteria.min_count:
            escalate = any(kb.in_any(i, classes[i], criteria.major_if_any_of) for i in involved)
            severity = Severity.MAJOR if escalate else rule.severity
        older = criteria.older_adults
        if older and context.patient_age is not None and context.patient_age >= older.min_age:
            beers = {i for i in occurrences if older.class_id in classes[i]}
            if len(beers) >= older.min_count:
                involved |= beers
                severity = max(severity or older.severity, older.severity)
        if severity is not None:
            ingredients = tuple(sorted(involved))
            meds = [m for i in ingredients for m in occurrences[i]]
            alerts.append(
                _alert(
                    Decision(rule, ()),
                    ingredients,
                    meds,
                    severity=severity,
                    reason=ADDITIVE_TOXICITY,
                )
            )
    return alerts


def _dose(meds: Sequence[Medication], kb: KbSnapshot) -> list[Alert]:
    alerts = []
    present = sorted({m.ingredients[0] for m in meds if len(m.ingredients) == 1})
    for ingredient in present:
        rules = kb.index.dose.get(ingredient)
        # A combination product's dose is not this ingredient's dose; only single-ingredient items count.
        dosed = [
            m for m in meds if m.ingredients == (ingredient,) and m.input.daily_dose_mg is not None
        ]
        if not rules or not dosed:
            continue
        total = sum(m.input.daily_dose_mg or 0.0 for m in dosed)
        exceeded = []
        for rule in rules:
            limit = rule.dose_limit
            assert limit is not None
            # Missing context never suppresses: exempt only when every dosed item states an exempt use.
            if all(_is_indication(m.input.indication, limit.unless_indication) for m in dosed):
                continue
            if total > limit.max_daily_mg:
                exceeded.append(rule)
        if exceeded:
            exceeded.sort(key=lambda r: (-r.severity.rank, r.id))
            decision = Decision(exceeded[0], tuple(exceeded[1:]))
            alerts.append(
                _alert(decision, (ingredient,), [m.index for m in dosed], reason=HIGH_DOSE)
            )
    return alerts


INDICATION_SIMILARITY = 90  # "epilepsey", "Lennox Gastaut": spelling variants of one concept


def _is_indication(text: str | None, synonyms: tuple[str, ...]) -> bool:
    """Whether ``text`` names one of the indication's synonyms, in any case or a near spelling."""
    if not text:
        return False
    key = name_key(text)
    return any(fuzz.ratio(key, name_key(synonym)) >= INDICATION_SIMILARITY for synonym in synonyms)


def _alert(
    decision: Decision,
    ingredients: tuple[str, ...],
    medications: Sequence[int],
    *,
    reason: str = DRUG_DRUG,
    severity: Severity | None = None,
) -> Alert:
    rule = decision.rule
    return Alert(
        id=f"{rule.id}:{'+'.join(ingredients)}",
        kind=rule.kind,
        severity=severity or rule.severity,
        rule=rule,
        ingredients=ingredients,
        medications=tuple(sorted(set(medications))),
        summary=_summary(rule, ingredients),
        also_applies=decision.others,
        reason_for_service=reason,
    )


def _summary(rule: Rule, ingredients: tuple[str, ...]) -> str:
    """Name the drugs when it fits the 140-character limit CDS cards impose; else the rule alone."""
    named = f"{' + '.join(ingredients).capitalize()}: {rule.summary}"
    return named if len(named) < SUMMARY_LIMIT else rule.summary
