"""Hypothesis strategies that draw medications from the whole vocabulary the service knows: every
ingredient and name of the seed knowledge base, every concept of its RxNorm file, and misspellings
of them, so a property is tested against what the files hold rather than a hand-picked list."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from service.domain.knowledge import KnowledgeBase
from service.kb.loader import read_knowledge_base

SEED_DIR = Path(__file__).resolve().parents[1] / "seed_data"


@cache
def seed_knowledge() -> KnowledgeBase:
    """The seed files, read once per process (seconds, with the RxNorm file) and shared."""
    return read_knowledge_base(SEED_DIR)


@cache
def curated_names() -> tuple[str, ...]:
    """Every ingredient and every name the knowledge base curates."""
    kb = seed_knowledge()
    return tuple(sorted({i.name for i in kb.ingredients} | {n.name for n in kb.names}))


@cache
def rxnorm_names() -> tuple[str, ...]:
    """Every concept name of the bulk RxNorm vocabulary below the curated names."""
    vocabulary = seed_knowledge().vocabulary
    assert vocabulary is not None, "the seed knowledge base ships an RxNorm vocabulary"
    return tuple(sorted({concept.name for concept in vocabulary.concepts}))


def _without_one_letter(name: str, position: int) -> str:
    index = position % len(name)
    return name[:index] + name[index + 1 :]


# Deferred: the files are read when a test first draws, not when a test module is imported.
curated = st.deferred(lambda: st.sampled_from(curated_names()))
rxnorm = st.deferred(lambda: st.sampled_from(rxnorm_names()))
misspelt = st.builds(_without_one_letter, curated, st.integers(min_value=0))

medication_names = st.one_of(curated, rxnorm, misspelt)
medication_lists = st.lists(medication_names, min_size=1, max_size=8)
