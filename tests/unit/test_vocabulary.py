"""All of RxNorm as the vocabulary: every name and code resolves, curated names win, nothing silently."""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.domain.check import MedicationInput, recognize
from service.domain.knowledge import KnowledgeBase
from service.domain.snapshot import KbSnapshot
from service.domain.text import name_key
from service.domain.vocabulary import index_names

from ..strategies import seed_knowledge
from .helpers import run


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return seed_knowledge()


def _ingredient_names(kb: KbSnapshot) -> dict[str, str]:
    """Each IN RxCUI of the vocabulary with the name recognition gives it (the KB's, if it has it)."""
    assert kb.kb.vocabulary is not None
    names = dict(kb.kb.vocabulary.ingredient_names)
    names.update({i.rxcui: i.name for i in kb.kb.ingredients if i.rxcui})
    return names


def test_the_seed_ships_all_of_rxnorm_as_its_vocabulary(seed_kb: KbSnapshot) -> None:
    vocabulary = seed_kb.kb.vocabulary
    assert vocabulary is not None and len(vocabulary.concepts) > 40_000
    assert "06-Oct-2025" in vocabulary.release
    assert {c.tty for c in vocabulary.concepts} >= {"IN", "BN", "SCD", "SBD", "GPCK", "BPCK"}


def test_every_code_of_the_vocabulary_resolves_to_its_ingredients_unless_reported(
    seed_kb: KbSnapshot,
) -> None:
    assert seed_kb.kb.vocabulary is not None
    names = _ingredient_names(seed_kb)
    reported = {c.text for c in seed_kb.vocabulary_conflicts if c.what == "rxcui"}
    for concept in seed_kb.kb.vocabulary.concepts:
        found = seed_kb.lookup_code(concept.rxcui)
        assert found is not None, concept
        if concept.rxcui not in reported:
            assert found.ingredients == tuple(sorted(names[r] for r in concept.ingredient_rxcuis))


def test_every_brand_and_ingredient_name_is_recognised_as_typed(seed_kb: KbSnapshot) -> None:
    assert seed_kb.kb.vocabulary is not None
    names = _ingredient_names(seed_kb)
    reported = {name_key(c.text) for c in seed_kb.vocabulary_conflicts if c.what == "name"}
    plain = [c for c in seed_kb.kb.vocabulary.concepts if c.tty in ("IN", "BN", "MIN")]
    for concept in plain:
        found = seed_kb.lookup_text(concept.name)
        assert found is not None, concept.name
        if name_key(concept.name) not in reported:
            assert found.ingredients == tuple(sorted(names[r] for r in concept.ingredient_rxcuis))


@pytest.mark.parametrize(
    ("text", "ingredients", "rxcui", "tty"),
    [
        ("Eliquis", ("apixaban",), "1364436", "BN"),
        ("apixaban 5 MG Oral Tablet", ("apixaban",), "1364445", "SCD"),
        ("apixaban 2.5 MG Oral Tablet [Eliquis]", ("apixaban",), "1364441", "SBD"),
        ("Valtoco", ("diazepam",), None, "BN"),
        # A pack resolves to every ingredient of every item in it.
        (
            "{24 (drospirenone 3 MG / ethinyl estradiol 0.02 MG Oral Tablet) / 4 (inert ingredients"
            " 1 MG Oral Tablet) } Pack",
            ("drospirenone", "ethinyl estradiol", "inert ingredients"),
            "748798",
            "GPCK",
        ),
        ("lisinopril 10 mg tablet daily", ("lisinopril",), "29046", "IN"),
        ("metformin ER 500 mg 2 tabs qpm", ("metformin",), "6809", "IN"),
    ],
)
def test_rxnorm_names_resolve_to_their_ingredients_and_code(
    seed_kb: KbSnapshot, text: str, ingredients: tuple[str, ...], rxcui: str | None, tty: str
) -> None:
    (med,) = recognize([MedicationInput(text=text)], seed_kb)
    assert med.recognized and med.ingredients == ingredients
    if rxcui:
        assert med.rxcui == rxcui and seed_kb.lookup_code(rxcui).tty == tty  # type: ignore[union-attr]


def test_a_drug_rxnorm_knows_but_no_rule_mentions_is_recognised_and_out_of_scope(
    seed_kb: KbSnapshot,
) -> None:
    result = run(seed_kb, "lisinopril 10 mg daily", "metformin 500 mg bid", "Eliquis 5 mg bid")
    assert result.complete and result.alerts == ()
    assert result.outside_scope == ("apixaban", "lisinopril", "metformin")


def test_rxnorm_codes_of_any_term_type_are_recognised_and_checked(seed_kb: KbSnapshot) -> None:
    diazepam_nasal_pack, oxycodone = "2272621", "7804"
    result = run(
        seed_kb, MedicationInput(rxcui=diazepam_nasal_pack), MedicationInput(rxcui=oxycodone)
    )
    assert result.complete
    assert result.medications[0].ingredients == ("diazepam",)
    assert any(set(a.ingredients) == {"diazepam", "oxycodone"} for a in result.alerts)


def test_every_knowledge_base_ingredient_has_an_rxcui_or_says_why_not(
    seed_kb: KbSnapshot,
) -> None:
    for ingredient in seed_kb.kb.ingredients:
        assert bool(ingredient.rxcui) != bool(ingredient.no_rxcui_reason), ingredient
    assert seed_kb.ingredients["alprazolam"].rxcui == "596"
    assert seed_kb.ingredients["mitragynine"].no_rxcui_reason  # kratom


def test_an_ingredient_the_kb_does_not_hold_takes_its_rxcui_from_rxnorm(
    seed_kb: KbSnapshot,
) -> None:
    assert "apixaban" not in seed_kb.ingredients
    assert seed_kb.ingredient_rxcui("apixaban") == "1364430"


@pytest.mark.parametrize("brand", ["Tylenol", "Xanax", "Lipitor", "Norvasc", "Amoxil", "Ventolin"])
def test_common_brands_rxnorm_has_no_brand_row_for_are_curated(
    seed_kb: KbSnapshot, brand: str
) -> None:
    assert seed_kb.lookup_text(f"{brand} 10 mg tab daily") is not None


def test_the_curated_name_wins_over_the_bulk_file_and_the_conflict_is_reported(
    seed_kb: KbSnapshot,
) -> None:
    # RxNorm models lithium carbonate as its own ingredient; the KB treats it as lithium.
    lithobid = seed_kb.lookup_text("Lithobid")
    assert lithobid is not None and lithobid.ingredients == ("lithium",)
    reported = [c for c in seed_kb.vocabulary_conflicts if c.text == "Lithobid"]
    assert reported and reported[0].kept == ("lithium",) and reported[0].kept_from == "curated"
    assert "lithium carbonate" in str(reported[0])


def test_a_curated_name_meaning_other_ingredients_than_rxnorm_is_reported_not_merged(
    knowledge: KnowledgeBase,
) -> None:
    eliquis = next(n for n in knowledge.names if n.name == "Lipitor")
    changed = replace(
        knowledge,
        names=(*knowledge.names, replace(eliquis, name="Eliquis", ingredients=("aspirin",))),
    )
    index = index_names(changed)
    assert index.names[name_key("Eliquis")].ingredients == ("aspirin",)
    (conflict,) = [c for c in index.conflicts if c.text == "Eliquis"]
    assert conflict.ingredients == ("apixaban",) and conflict.kept == ("aspirin",)


def test_the_vocabulary_is_part_of_the_version_id(knowledge: KnowledgeBase) -> None:
    assert knowledge.vocabulary is not None
    fewer = replace(
        knowledge,
        vocabulary=replace(knowledge.vocabulary, concepts=knowledge.vocabulary.concepts[1:]),
    )
    assert fewer.content_hash() != knowledge.content_hash()
    assert replace(knowledge, vocabulary=None).content_hash() != knowledge.content_hash()


# --- suggestions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "first", "second"),
    [
        ("Tylenoll", "Tylenol (acetaminophen)", "acetaminophen"),
        ("tylenoll 500 mg tab po q6h prn", "Tylenol (acetaminophen)", "acetaminophen"),
        ("Lipitr", "Lipitor (atorvastatin)", "atorvastatin"),
        ("Eliquiss", "Eliquis (apixaban)", "apixaban"),
        ("Xanaxx", "Xanax (alprazolam)", "alprazolam"),
        ("zolpidm", "zolpidem", None),
    ],
)
def test_did_you_mean_offers_the_plain_product_and_its_ingredient_first(
    seed_kb: KbSnapshot, typo: str, first: str, second: str | None
) -> None:
    (med,) = recognize([MedicationInput(text=typo)], seed_kb)
    assert not med.recognized
    assert med.suggestions[0] == first
    if second:
        assert med.suggestions[1] == second


def test_a_non_sedating_request_is_never_offered_only_sedating_variants(
    seed_kb: KbSnapshot,
) -> None:
    (med,) = recognize([MedicationInput(text="Tylenoll")], seed_kb)
    offered = [seed_kb.lookup_text(s) for s in med.suggestions]
    assert any(c is not None and c.ingredients == ("acetaminophen",) for c in offered)
    assert "Tylenol PM" not in med.suggestions[0] and "Codeine" not in med.suggestions[0]


def test_every_suggestion_label_reads_back_as_its_name(seed_kb: KbSnapshot) -> None:
    for typo in ("Tylenoll", "Lipitr", "percocett", "klonopinn", "Eliquiss"):
        (med,) = recognize([MedicationInput(text=typo)], seed_kb)
        assert med.suggestions
        for label in med.suggestions:
            assert seed_kb.lookup_text(label) is not None, label


def test_autocomplete_finds_by_prefix_plain_products_first(seed_kb: KbSnapshot) -> None:
    found = seed_kb.search_names("tyl", 5)
    assert found[0].label == "Tylenol (acetaminophen)"
    assert all(c.key.startswith("tyl") for c in found)


def test_autocomplete_tolerates_typos(seed_kb: KbSnapshot) -> None:
    assert "Norvasc (amlodipine)" in [c.label for c in seed_kb.search_names("norvsc", 5)]
    assert "Eliquis (apixaban)" in [c.label for c in seed_kb.search_names("eliquiss", 5)]


def test_autocomplete_never_offers_long_clinical_drug_strings(seed_kb: KbSnapshot) -> None:
    for choice in seed_kb.search_names("apixaban", 20):
        assert choice.concept.tty in (None, "IN", "PIN", "MIN", "BN")


def test_autocomplete_reads_the_name_out_of_a_typed_strength_and_form(seed_kb: KbSnapshot) -> None:
    assert seed_kb.search_names("clonazepam 0.5 mg tab", 3)[0].label == "clonazepam"
