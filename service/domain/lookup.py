"""Questions about one drug or one name, answered from the KB snapshot: no list, no I/O."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from .check import (
    Alert,
    CheckContext,
    CheckResult,
    Medication,
    MedicationInput,
    alert_order,
    check,
)
from .severity import AlertKind
from .snapshot import KbSnapshot


def known_interactions(medication: Medication, kb: KbSnapshot) -> CheckResult:
    """Every interaction the check raises between ``medication`` and any one KB ingredient.

    Each partner is checked as a single-ingredient product taken alongside ``medication``, through
    ``check`` itself, so precedence, product classes and the same-product exemption are the check's
    and cannot drift. Only interaction rules answer "what does this drug interact with"; duplication,
    cumulative and dose rules depend on the whole list and belong to a list check. Alerts refer to
    the queried drug alone (``medications == (0,)``), deduplicated by id, most severe first.
    """
    queried = replace(medication, index=0)
    if not queried.recognized:
        return CheckResult(kb.version, (queried,), ())
    context = CheckContext()
    found: dict[str, Alert] = {}
    for partner in sorted(kb.ingredients):
        pair = (queried, _single_ingredient_product(partner, kb))
        for alert in check(pair, kb, context).alerts:
            if alert.kind is AlertKind.INTERACTION and alert.id not in found:
                found[alert.id] = replace(alert, medications=(0,))
    # The order check() gives a list's alerts; merged across partners, so it is applied again here.
    alerts = sorted(found.values(), key=alert_order)
    outside = check((queried,), kb, context).outside_scope
    return CheckResult(kb.version, (queried,), tuple(alerts), outside)


def _single_ingredient_product(ingredient: str, kb: KbSnapshot) -> Medication:
    return Medication(
        index=1,
        input=MedicationInput(text=ingredient),
        recognized=True,
        ingredients=(ingredient,),
        matched=ingredient,
        rxcui=kb.ingredients[ingredient].rxcui,
    )


def rxcuis_for_name(name: str, kb: KbSnapshot, *, normalized: bool) -> tuple[str, ...]:
    """RxCUIs of a name: exact (case and spacing aside) or, if ``normalized``, as the check reads it.

    Exact matches KB names that carry an RxCUI. Normalized resolves the text the way recognition
    does (strength, dose form, salt, abbreviations) and answers the closest code the KB has: the
    concept's own, else the coded concept of the same name (a brand listed in names.csv and in
    RxNorm), else the ingredient of a single-ingredient name known without a code ("oxycodone hcl"),
    as NLM's normalized search strips salts. Text naming several ingredients has no one code.
    """
    if not normalized:
        return _coded_names(kb).get(_exact_key(name), ())
    concept = kb.lookup_text(name)
    if concept is None:
        return ()
    if concept.rxcui:
        return (concept.rxcui,)
    coded = _coded_names(kb).get(_exact_key(concept.display), ())
    if coded or len(concept.ingredients) != 1:
        return coded
    ingredient = kb.ingredient_rxcui(concept.ingredients[0])
    return (ingredient,) if ingredient else ()


def rxnorm_tty(rxcui: str, kb: KbSnapshot) -> str | None:
    """The RxNorm term type (IN, SCD, SBD, BN, ...) of a code the KB knows, as recognition reads it."""
    return _term_types(kb).get(rxcui.strip())


def _exact_key(name: str) -> str:
    return " ".join(name.casefold().split())


@lru_cache(maxsize=4)
def _coded_names(kb: KbSnapshot) -> dict[str, tuple[str, ...]]:
    """Built once per snapshot (snapshots are immutable and few)."""
    found: dict[str, list[str]] = {}
    coded = [(i.name, i.rxcui) for i in kb.kb.ingredients]
    coded += [(n.name, n.rxcui) for n in kb.kb.names]
    # The bulk vocabulary's codes, where its name means what recognition reads it as.
    coded += [(c.display, c.rxcui) for c in kb.concepts_by_code().values()]
    for text, rxcui in coded:
        if rxcui:
            codes = found.setdefault(_exact_key(text), [])
            if rxcui not in codes:
                codes.append(rxcui)
    return {key: tuple(codes) for key, codes in found.items()}


@lru_cache(maxsize=4)
def _term_types(kb: KbSnapshot) -> dict[str, str]:
    """Ingredient codes first, then the first named concept, then the bulk vocabulary: the
    precedence ``lookup_code`` uses."""
    found = {i.rxcui: "IN" for i in kb.kb.ingredients if i.rxcui}
    for drug_name in kb.kb.names:
        if drug_name.rxcui and drug_name.tty:
            found.setdefault(drug_name.rxcui, drug_name.tty)
    for rxcui, concept in kb.concepts_by_code().items():
        if concept.tty:
            found.setdefault(rxcui, concept.tty)
    return found
