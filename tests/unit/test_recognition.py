"""Recognising what people type: brands, salts, strengths, combination products, codes, typos."""

from __future__ import annotations

import pytest

from service.domain.check import MedicationInput, recognize
from service.domain.snapshot import KbSnapshot
from service.domain.text import candidate_keys, name_key, to_milligrams


@pytest.mark.parametrize(
    ("text", "ingredients"),
    [
        ("Klonopin 2 mg tablet", ("clonazepam",)),
        ("PERCOCET 5/325", ("acetaminophen", "oxycodone")),
        ("oxycodone HCl 5mg", ("oxycodone",)),
        ("Tylenol PM", ("acetaminophen", "diphenhydramine")),
        ("alcohol", ("ethanol",)),
        ("  CLONAZEPAM  ", ("clonazepam",)),
        ("clonazepam 0.5 MG Oral Tablet", ("clonazepam",)),
        ("Xanax XR 1 mg", ("alprazolam",)),
        ("hydrocodone/acetaminophen 10-325", ("acetaminophen", "hydrocodone")),
        ("Tylenol with Codeine #3", ("acetaminophen", "codeine")),
        # A number that names the codeine strength must never fall back to plain Tylenol.
        ("Tylenol #3", ("acetaminophen", "codeine")),
        ("TYLENOL 4", ("acetaminophen", "codeine")),
        ("Tylenol No. 3 tablet", ("acetaminophen", "codeine")),
        ("Tylenol 500 mg", ("acetaminophen",)),
        ("Clonazépam", ("clonazepam",)),
        ("sodium oxybate", ("oxybate",)),
    ],
)
def test_free_text_resolves_to_ingredients(
    seed_kb: KbSnapshot, text: str, ingredients: tuple[str, ...]
) -> None:
    (med,) = recognize([MedicationInput(text=text)], seed_kb)
    assert med.recognized, text
    assert med.ingredients == ingredients


def test_an_rxcui_of_a_branded_product_resolves(seed_kb: KbSnapshot) -> None:
    (med,) = recognize([MedicationInput(rxcui="2598")], seed_kb)  # clonazepam ingredient
    assert med.recognized and med.ingredients == ("clonazepam",)


@pytest.mark.parametrize("tty", ["SCD", "SBD", "BN", "PIN"])
def test_rxcuis_of_every_term_type_resolve(seed_kb: KbSnapshot, tty: str) -> None:
    concept = next(n for n in seed_kb.kb.names if n.tty == tty)
    assert concept.rxcui is not None
    (med,) = recognize([MedicationInput(rxcui=concept.rxcui)], seed_kb)
    assert med.ingredients == concept.ingredients


def test_every_rxnorm_concept_resolves_completely(seed_kb: KbSnapshot) -> None:
    concepts = [n for n in seed_kb.kb.names if n.rxcui]
    assert len(concepts) > 3000
    for concept in concepts:
        resolved = seed_kb.lookup_code(concept.rxcui or "")
        assert resolved is not None and resolved.ingredients == concept.ingredients


def test_an_unknown_code_is_unrecognised_not_dropped(seed_kb: KbSnapshot) -> None:
    (med,) = recognize([MedicationInput(rxcui="999999999")], seed_kb)
    assert not med.recognized and med.input.rxcui == "999999999"


def test_a_typo_is_never_guessed(seed_kb: KbSnapshot) -> None:
    (med,) = recognize([MedicationInput(text="klonopinn")], seed_kb)
    assert not med.recognized
    assert med.suggestions[0] == "Klonopin (clonazepam)"


def test_gibberish_gets_no_suggestions(seed_kb: KbSnapshot) -> None:
    (med,) = recognize([MedicationInput(text="qqqzzzxxx")], seed_kb)
    assert not med.recognized and med.suggestions == ()


def test_a_combination_resolves_only_when_every_part_does(seed_kb: KbSnapshot) -> None:
    (med,) = recognize([MedicationInput(text="oxycodone / unobtainium")], seed_kb)
    assert not med.recognized


def test_names_compare_without_case_accents_or_punctuation() -> None:
    assert name_key("NyQuil Cold & Flu!") == name_key("nyquil  cold flu")
    assert name_key("Café") == "cafe"


def test_strength_form_and_salt_are_stripped_in_order() -> None:
    assert list(candidate_keys("Oxycodone HCl 5 mg ER tablet"))[-1] == "oxycodone"


@pytest.mark.parametrize(("value", "unit", "mg"), [(6, "mg", 6), (500, "mcg", 0.5), (1, "g", 1000)])
def test_dose_units_convert_to_milligrams(value: float, unit: str, mg: float) -> None:
    assert to_milligrams(value, unit) == pytest.approx(mg)


def test_an_unknown_dose_unit_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown dose unit"):
        to_milligrams(1, "tablespoons")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("acetaminophen 300 mg, codeine 30 mg", ("acetaminophen", "codeine")),
        ("acetaminophen 300 mg codeine 30 mg", ("acetaminophen", "codeine")),
        ("guaifenesin 100 mg, codeine 10 mg per 5 mL", ("guaifenesin", "codeine")),
        ("Tylenol (acetaminophen 300 mg/codeine 30 mg)", ("Tylenol", "codeine")),
        ("acetaminophen 500 mg q6h prn, oxycodone 5 mg", ("acetaminophen", "oxycodone")),
        ("phenelzine 15 mg tid, tramadol 50 mg prn", ("phenelzine", "tramadol")),
        ("clonazepam 2 mg qid, alprazolam 1 mg", ("clonazepam", "alprazolam")),
        # In the pharmacy's part or in the indication, still a medicine of its own.
        ("Percocet 5/325 qty 30, Xanax 1mg", ("Percocet", "Xanax")),
        ("oxycodone 5 mg q6h prn pain and xanax 1 mg prn anxiety", ("oxycodone", "Xanax")),
        ("oxycodone 5 mg for pain alprazolam 1 mg for anxiety", ("oxycodone", "alprazolam")),
        ("Norco 10/325 q4h prn + Soma 350 tid", ("Norco", "Soma")),
    ],
)
def test_a_line_of_two_medicines_is_not_checked_and_names_both(
    seed_kb: KbSnapshot, text: str, named: tuple[str, ...]
) -> None:
    # Read as one product, their pair would be exempt and the dose nobody's; read as the first
    # alone, the second was dropped with "complete": true.
    (med,) = recognize([MedicationInput(text=text)], seed_kb)
    assert not med.recognized and med.suggestions == named


@pytest.mark.parametrize(
    ("text", "ingredients"),
    [
        ("clonazepam 2 mg qid, do not take with alcohol", ("clonazepam",)),
        ("morphine ER 15 mg bid instead of oxycodone 5 mg", ("morphine",)),
        ("buprenorphine 8 mg SL daily, switched from methadone 40 mg", ("buprenorphine",)),
        ("levothyroxine 50 mcg daily same time each day", ("levothyroxine",)),  # SAMe: no strength
        ("clonazepam 1 mg tablet generic", ("clonazepam",)),
        ("ondansetron 4 mg prn nausea from oxycodone", ("ondansetron",)),  # no strength of its own
        ("Norco 10/325 disp #90 refills 2", ("acetaminophen", "hydrocodone")),
        ("oxycodone 5 mg tablet 1 po q6h prn pain 30 tablets", ("oxycodone",)),
        # A product's own ingredients written out again bring nothing new.
        ("Tylenol #3 (acetaminophen 300 mg/codeine 30 mg)", ("acetaminophen", "codeine")),
        (
            "acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet [Percocet]",
            ("acetaminophen", "oxycodone"),
        ),
    ],
)
def test_words_after_the_name_are_another_medicine_only_with_a_strength_and_not_negated(
    seed_kb: KbSnapshot, text: str, ingredients: tuple[str, ...]
) -> None:
    (med,) = recognize([MedicationInput(text=text)], seed_kb)
    assert med.recognized and med.ingredients == ingredients


def test_a_code_and_a_text_that_disagree_are_both_screened(seed_kb: KbSnapshot) -> None:
    # Acetaminophen's RxCUI sent with oxycodone's name: a caller's data error, not a reason to
    # screen only one of them.
    (med,) = recognize([MedicationInput(text="oxycodone 5 mg", rxcui="161")], seed_kb)
    assert med.ingredients == ("acetaminophen", "oxycodone")
    assert med.rxcui is None and med.route is None


def test_a_code_and_a_text_that_agree_keep_the_code(seed_kb: KbSnapshot) -> None:
    text = "oxycodone hydrochloride 5 MG Oral Tablet"
    (med,) = recognize([MedicationInput(text=text, rxcui="1049621")], seed_kb)
    assert (med.ingredients, med.rxcui) == (("oxycodone",), "1049621")
