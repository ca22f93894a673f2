"""The naloxone suggestion: which product an opioid alert offers to co-prescribe, and in what words.

The rules decide which alerts ask for naloxone (``suggest_naloxone``); the knowledge base names the
product and its wording; this module decides whether a check offers it at all. Doors only render it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .knowledge import NaloxoneOffer
from .snapshot import KbSnapshot

NALOXONE = "naloxone"
# The wording the service used before the knowledge base held its own (for the KB versions stored
# then, which name the nasal spray as their product): their answers stay as they were.
NASAL_SPRAY_OFFER = NaloxoneOffer(
    label="Add naloxone nasal spray (opioid overdose rescue)",
    order="Add a draft order for naloxone nasal spray.",
    dosing="For suspected opioid overdose: 1 spray in one nostril; call 911; may repeat in the "
    "other nostril after 2 to 3 minutes.",
)


@dataclass(frozen=True)
class NaloxoneSuggestion:
    """The rescue product to order (RxNorm code and name) and the KB's words for the suggestion."""

    rxcui: str
    name: str
    offer: NaloxoneOffer


def naloxone_suggestion(
    snapshot: KbSnapshot, ingredients: Iterable[str]
) -> NaloxoneSuggestion | None:
    """What alerts asking for naloxone offer, given the ingredients the patient already takes.

    None when the knowledge base names no product, or when the patient already has naloxone:
    suggesting a second rescue product would be noise on an alert that matters.
    """
    rxcui = snapshot.kb.naloxone_rxcui
    if rxcui is None or NALOXONE in set(ingredients):
        return None
    concept = snapshot.lookup_code(rxcui)
    return NaloxoneSuggestion(
        rxcui=rxcui,
        name=concept.display if concept else "naloxone nasal spray",
        offer=snapshot.kb.naloxone_offer or NASAL_SPRAY_OFFER,
    )
