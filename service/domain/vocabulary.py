"""Names and codes of one knowledge base: the curated files first, then all of RxNorm below them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .knowledge import KnowledgeBase, VocabularyConcept
from .text import name_key

# Which concept of the bulk file keeps a name that several share with different ingredients: the
# plainer one (an ingredient's name over a brand's, a brand's over a product string's).
TTY_RANK = {
    tty: rank
    for rank, tty in enumerate(
        ("IN", "PIN", "MIN", "BN", "SCD", "SBD", "GPCK", "BPCK", "SCDC", "SCDF", "SBDF")
    )
}


@dataclass(frozen=True, slots=True)
class Concept:
    """What a name or code resolves to; ``route`` when the name itself fixes it."""

    display: str
    ingredients: tuple[str, ...]
    rxcui: str | None = None
    route: str | None = None
    tty: str | None = None


@dataclass(frozen=True)
class Conflict:
    """A name or code of the bulk vocabulary that means other ingredients than an earlier entry.

    ``kept`` is what the name keeps meaning (a curated name always wins); the bulk concept is not
    used for that name or code. Reported by ``kb load``, never merged silently.
    """

    what: str  # "name" or "rxcui"
    text: str
    concept: str  # "<rxcui> <tty> <name>" of the bulk concept left out
    ingredients: tuple[str, ...]
    kept: tuple[str, ...]
    kept_from: str  # "curated" or "rxnorm"

    def __str__(self) -> str:
        return (
            f"{self.what} {self.text!r}: RxNorm {self.concept} means {', '.join(self.ingredients)}"
            f" but the {self.kept_from} entry means {', '.join(self.kept)}; the "
            f"{self.kept_from} entry is kept"
        )


@dataclass
class NameIndex:
    names: dict[str, Concept]
    codes: dict[str, Concept]
    conflicts: list[Conflict]
    # Every ingredient's RxCUI by name: the knowledge base's, then the vocabulary's IN rows.
    ingredient_rxcuis: dict[str, str]


def index_names(kb: KnowledgeBase) -> NameIndex:
    """Curated names (ingredients, ``names.csv``, ``rxnorm_concepts.csv``) first; then every concept
    of the bulk vocabulary whose name and code do not already mean something else."""
    names: dict[str, Concept] = {}
    codes: dict[str, Concept] = {}
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per ingredient set: less memory
    for ingredient in kb.ingredients:
        concept = Concept(ingredient.name, (ingredient.name,), ingredient.rxcui, tty="IN")
        names[name_key(ingredient.name)] = concept
        if ingredient.rxcui:
            codes[ingredient.rxcui] = concept
    for drug_name in kb.names:
        ingredients = tuple(sorted(drug_name.ingredients))
        concept = Concept(
            drug_name.name,
            shared.setdefault(ingredients, ingredients),
            drug_name.rxcui,
            drug_name.route,
            drug_name.tty,
        )
        names.setdefault(name_key(drug_name.name), concept)
        if drug_name.rxcui:
            codes.setdefault(drug_name.rxcui, concept)
    rxcuis = {i.name: i.rxcui for i in kb.ingredients if i.rxcui}
    conflicts: list[Conflict] = []
    if kb.vocabulary is None:
        return NameIndex(names, codes, conflicts, rxcuis)
    # A bulk ingredient takes the knowledge base's name for the same RxCUI, so rules find it.
    ingredient_name = dict(kb.vocabulary.ingredient_names)
    ingredient_name.update({rxcui: name for name, rxcui in rxcuis.items()})
    for rxcui in kb.vocabulary.ingredient_names:
        rxcuis.setdefault(ingredient_name[rxcui], rxcui)
    curated_keys = set(names)
    for item, ingredients in _bulk_concepts(kb.vocabulary.concepts, ingredient_name, shared):
        concept = Concept(item.name, ingredients, item.rxcui, item.route, item.tty)
        code_owner = codes.get(item.rxcui)
        if code_owner is None:
            codes[item.rxcui] = concept
        elif code_owner.ingredients != ingredients:
            conflicts.append(
                _conflict("rxcui", item.rxcui, item, ingredients, code_owner, "curated")
            )
        key = name_key(item.name)
        owner = names.get(key)
        if owner is None:
            names[key] = concept
        elif owner.ingredients == ingredients:
            if owner.rxcui is None:  # a curated brand without its code ("Prozac") takes RxNorm's
                names[key] = Concept(
                    owner.display, ingredients, item.rxcui, owner.route or item.route, item.tty
                )
        else:
            kept_from = "curated" if key in curated_keys else "rxnorm"
            conflicts.append(_conflict("name", item.name, item, ingredients, owner, kept_from))
    return NameIndex(names, codes, conflicts, rxcuis)


def _bulk_concepts(
    concepts: tuple[VocabularyConcept, ...],
    ingredient_name: dict[str, str],
    shared: dict[tuple[str, ...], tuple[str, ...]],
) -> Iterator[tuple[VocabularyConcept, tuple[str, ...]]]:
    """Plainest first (IN before brands before products), so a shared name keeps its plainest
    meaning; each with its ingredient names."""
    for item in sorted(concepts, key=lambda c: (TTY_RANK.get(c.tty, len(TTY_RANK)), int(c.rxcui))):
        ingredients = tuple(sorted(ingredient_name[r] for r in item.ingredient_rxcuis))
        yield item, shared.setdefault(ingredients, ingredients)


def _conflict(
    what: str,
    text: str,
    item: VocabularyConcept,
    ingredients: tuple[str, ...],
    kept: Concept,
    kept_from: str,
) -> Conflict:
    return Conflict(
        what,
        text,
        f"{item.rxcui} {item.tty} {item.name!r}",
        ingredients,
        kept.ingredients,
        kept_from,
    )
