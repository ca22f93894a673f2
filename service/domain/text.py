"""How free text typed by people becomes lookup keys: case, accents, punctuation, strengths, forms, salts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NUMBER = r"\d+(?:[.,]\d+)?"
_UNIT = r"(?:mg|mcg|µg|ug|g|gm|gram|grams|ml|l|%|iu|units?|meq|mmol|hr|h)"
# "5 mg", "0.5mg", "5/325", "2 mg/ml", "#3" — strengths carry no identity for an interaction check.
_STRENGTH = re.compile(
    rf"(?:#\s*\d+\b)|(?:\b{_NUMBER}\s*{_UNIT}?(?:\s*/\s*{_NUMBER}?\s*{_UNIT}?)*(?=\s|$|[^a-z0-9]))"
)
_COMBINATION_SEPARATORS = re.compile(
    r"\s*(?:/|\+|&|,|;|\band\b|\bwith\b|\bw/|(?<=[a-z])-(?=[a-z]))\s*"
)

DOSE_FORM_WORDS = frozenset(
    [
        "tablet",
        "tablets",
        "tab",
        "tabs",
        "capsule",
        "capsules",
        "cap",
        "caps",
        "caplet",
        "caplets",
        "softgel",
        "softgels",
        "gelcap",
        "gelcaps",
        "oral",
        "orally",
        "solution",
        "suspension",
        "syrup",
        "liquid",
        "elixir",
        "drops",
        "injection",
        "injectable",
        "vial",
        "ampule",
        "patch",
        "transdermal",
        "film",
        "buccal",
        "sublingual",
        "nasal",
        "spray",
        "inhaler",
        "rectal",
        "suppository",
        "gel",
        "cream",
        "ointment",
        "lotion",
        "foam",
        "shampoo",
        "er",
        "xr",
        "sr",
        "cr",
        "xl",
        "la",
        "ir",
        "dr",
        "odt",
        "ext",
        "extended",
        "release",
        "immediate",
        "delayed",
        "disintegrating",
        "chewable",
        "dose",
        "doses",
        "daily",
        "day",
        "a",
        "once",
        "twice",
        "per",
        "by",
        "mouth",
        "po",
        "bid",
        "tid",
        "qid",
        "qhs",
        "hs",
        "prn",
        "nightly",
        "bedtime",
        "at",
        "mg",
        "mcg",
        "ml",
    ]
)
SALT_WORDS = frozenset(
    [
        "hydrochloride",
        "hcl",
        "bitartrate",
        "tartrate",
        "sulfate",
        "sulphate",
        "citrate",
        "phosphate",
        "maleate",
        "mesylate",
        "besylate",
        "succinate",
        "fumarate",
        "acetate",
        "hydrobromide",
        "bromide",
        "napsylate",
        "polistirex",
        "tannate",
        "sodium",
        "potassium",
        "calcium",
        "magnesium",
        "dihydrate",
        "monohydrate",
        "anhydrous",
        "base",
    ]
)
# Clinical abbreviations with one meaning only ("MS" is left alone: morphine or magnesium sulfate).
ABBREVIATIONS = {
    "hcl": "hydrochloride",
    "apap": "acetaminophen",
    "asa": "aspirin",
    "hctz": "hydrochlorothiazide",
    "mso4": "morphine sulfate",
}


def fold(text: str) -> str:
    """Lower case without accents: what every later step compares."""
    if text.isascii():  # nearly every name: NFKD would change nothing, and it is 20 times slower
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def name_key(text: str) -> str:
    """The key a name is stored and looked up under: folded, punctuation and spacing collapsed."""
    return _NON_ALNUM.sub(" ", fold(text)).strip()


def _without(key: str, words: frozenset[str]) -> str:
    return " ".join(token for token in key.split() if token not in words)


def _expand_abbreviations(key: str) -> str:
    return " ".join(ABBREVIATIONS.get(token, token) for token in key.split())


def candidate_keys(text: str) -> Iterator[str]:
    """Keys to try in order, from the text as typed to the bare name without strength, form or salt."""
    folded = fold(text)
    seen: set[str] = set()
    without_strength = name_key(_STRENGTH.sub(" ", folded))
    without_form = _without(without_strength, DOSE_FORM_WORDS)
    expanded = _expand_abbreviations(without_form)
    for key in (
        name_key(folded),
        without_strength,
        without_form,
        expanded,
        _without(expanded, SALT_WORDS),
    ):
        if key and key not in seen:
            seen.add(key)
            yield key


def combination_parts(text: str) -> list[str]:
    """Split ``oxycodone/acetaminophen`` or ``hydrocodone and APAP`` into the parts to resolve one by one."""
    folded = _STRENGTH.sub(" ", fold(text))
    return [part for part in _COMBINATION_SEPARATORS.split(folded) if name_key(part)]


def bare_key(text: str) -> str:
    """The shortest key of ``text``: what "did you mean" compares against known names."""
    keys = list(candidate_keys(text))
    return keys[-1] if keys else ""


_MG_PER_UNIT = {"mg": 1.0, "mcg": 0.001, "µg": 0.001, "ug": 0.001, "g": 1000.0}
DOSE_UNITS = tuple(_MG_PER_UNIT)


def to_milligrams(value: float, unit: str) -> float:
    """Convert a dose to milligrams; raises ``ValueError`` naming the units we accept."""
    factor = _MG_PER_UNIT.get(unit.strip().lower())
    if factor is None:
        raise ValueError(f"unknown dose unit {unit!r} (use one of: {', '.join(DOSE_UNITS)})")
    return value * factor
