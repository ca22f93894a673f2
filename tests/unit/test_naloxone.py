"""The naloxone suggestion: the knowledge base's product in the knowledge base's words, offered only
to a patient who has no naloxone yet."""

from __future__ import annotations

from dataclasses import replace

from service.domain.naloxone import NASAL_SPRAY_OFFER, naloxone_suggestion
from service.domain.snapshot import KbSnapshot


def test_the_seed_offers_its_nasal_spray_in_the_words_the_cards_have_always_used(
    seed_kb: KbSnapshot,
) -> None:
    suggestion = naloxone_suggestion(seed_kb, ["oxycodone", "acetaminophen"])
    assert suggestion is not None
    assert suggestion.rxcui == "1725059"
    assert "naloxone" in suggestion.name.lower() and "nasal spray" in suggestion.name.lower()
    assert suggestion.offer == NASAL_SPRAY_OFFER
    assert suggestion.offer.label == "Add naloxone nasal spray (opioid overdose rescue)"
    assert suggestion.offer.dosing == (
        "For suspected opioid overdose: 1 spray in one nostril; call 911; may repeat in the other "
        "nostril after 2 to 3 minutes."
    )


def test_a_patient_who_already_has_naloxone_is_not_offered_more(seed_kb: KbSnapshot) -> None:
    assert naloxone_suggestion(seed_kb, ["buprenorphine", "naloxone", "alprazolam"]) is None


def test_a_knowledge_base_without_a_naloxone_product_offers_nothing(seed_kb: KbSnapshot) -> None:
    without = KbSnapshot(
        "no-naloxone", replace(seed_kb.kb, naloxone_rxcui=None, naloxone_offer=None)
    )
    assert naloxone_suggestion(without, ["oxycodone"]) is None


def test_the_kb_words_the_offer_and_a_version_stored_before_it_keeps_the_old_wording(
    seed_kb: KbSnapshot,
) -> None:
    reworded = replace(NASAL_SPRAY_OFFER, label="Add naloxone (rescue)")
    newer = KbSnapshot("reworded", replace(seed_kb.kb, naloxone_offer=reworded))
    older = KbSnapshot("older", replace(seed_kb.kb, naloxone_offer=None))
    assert (newer_suggestion := naloxone_suggestion(newer, [])) is not None
    assert newer_suggestion.offer.label == "Add naloxone (rescue)"
    assert (older_suggestion := naloxone_suggestion(older, [])) is not None
    assert older_suggestion.offer == NASAL_SPRAY_OFFER


def test_the_offer_enters_the_version_id_only_when_there_is_one(seed_kb: KbSnapshot) -> None:
    """Versions stored before the KB held the wording keep their ids; a change of wording is a new one."""
    knowledge = seed_kb.kb
    reworded = replace(knowledge, naloxone_offer=replace(NASAL_SPRAY_OFFER, dosing="1 spray."))
    assert reworded.content_hash() != knowledge.content_hash()
    assert replace(knowledge, naloxone_offer=None).content_hash() != knowledge.content_hash()
