"""Medication text as pharmacies and EHRs send it, split into name, strength, form, release, route and sig.

One compiled pattern tokenises the text in one pass; a walk over the tokens then decides which words
are the drug's name. Nothing is guessed: what the text does not say, or says twice differently, stays
None, and an unknown route counts as systemic downstream, so doubt never hides an alert.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .text import ABBREVIATIONS, DOSE_UNITS, to_milligrams

MAX_CHARS = 300  # after normalisation: a medication line is far shorter, and the work stays bounded
_RAW_CHARS = 1200  # before normalisation, which can lengthen text


@dataclass(frozen=True)
class Strength:
    """``25 mcg/hr`` is ``Strength(25, "mcg", "hr")``; ``per`` is None for an amount per unit taken."""

    value: float
    unit: str
    per: str | None = None


@dataclass(frozen=True)
class Sig:
    """How it is taken. ``contradictory``: two different amounts or frequencies (a taper), so no dose."""

    doses_per_day: float | None
    units_per_dose: float | None
    as_needed: bool
    indication: str | None
    duration_days: float | None = None
    contradictory: bool = False


@dataclass(frozen=True)
class ParsedText:
    """``names_to_try`` runs from the most specific ("Xanax XR") to the bare name ("Xanax")."""

    name: str
    names_to_try: tuple[str, ...]
    strengths: tuple[Strength, ...]
    dose_form: str | None
    release: str | None
    route: str | None
    sig: Sig
    # Words after the name, written with a strength of their own: another medicine on the same line
    # ("acetaminophen 300 mg, codeine 30 mg"). None after a negation ("instead of oxycodone 5 mg").
    other_names: tuple[str, ...] = ()


# --- vocabulary: one entry per word or phrase, looked up after the pattern has found it -------------

_ANY = frozenset[str]()  # a form that admits any stated route
# canonical dose form -> (route the form implies, routes a stated route may be; empty: any)
_FORM_ROUTES: dict[str, tuple[str | None, frozenset[str]]] = {
    "tablet": ("oral", frozenset({"oral", "sublingual", "buccal", "vaginal"})),
    "capsule": ("oral", frozenset({"oral", "inhalation", "vaginal"})),
    "orally disintegrating tablet": ("oral", frozenset({"oral"})),
    "chewable tablet": ("oral", frozenset({"oral"})),
    "syrup": ("oral", frozenset({"oral"})),
    "elixir": ("oral", frozenset({"oral"})),
    "granules": ("oral", frozenset({"oral"})),
    "lozenge": ("oral", frozenset({"oral", "mucosal", "buccal"})),
    "troche": ("oral", frozenset({"oral", "mucosal", "buccal"})),
    "solution": (None, _ANY),
    "suspension": (None, _ANY),
    "concentrate": (None, _ANY),
    "liquid": (None, _ANY),
    "powder": (None, _ANY),
    "gel": (None, _ANY),  # testosterone gel is systemic, diclofenac gel topical
    "spray": (None, _ANY),
    "film": (None, frozenset({"sublingual", "buccal", "oral"})),
    # a patch said to be "topical" is in doubt (fentanyl's is not), so the stated route must agree
    "patch": ("transdermal", frozenset({"transdermal"})),
    "transdermal system": ("transdermal", frozenset({"transdermal"})),
    "injection": ("injectable", frozenset({"injectable"})),
    "implant": ("implant", frozenset({"implant"})),
    "suppository": ("rectal", frozenset({"rectal", "vaginal"})),
    "enema": ("rectal", frozenset({"rectal"})),
    "ring": ("vaginal", frozenset({"vaginal"})),
    "cream": ("topical", frozenset({"topical", "vaginal", "rectal"})),
    "ointment": ("topical", frozenset({"topical", "ophthalmic", "rectal", "vaginal", "otic"})),
    "lotion": ("topical", frozenset({"topical"})),
    "shampoo": ("topical", frozenset({"topical"})),
    "foam": ("topical", frozenset({"topical", "rectal", "vaginal"})),
    "drops": (None, frozenset({"ophthalmic", "otic", "oral", "nasal"})),
    "eye drops": ("ophthalmic", frozenset({"ophthalmic"})),
    "ear drops": ("otic", frozenset({"otic"})),
    "inhaler": ("inhalation", frozenset({"inhalation"})),
}
_FORMS = {
    **{w: "tablet" for w in ("tab", "tabs", "tablet", "tablets", "tbl", "caplet", "caplets")},
    **{
        w: "capsule"
        for w in ("cap", "caps", "capsule", "capsules", "softgel", "softgels", "gelcap")
    },
    **{w: "orally disintegrating tablet" for w in ("odt", "orally disintegrating tablet")},
    "chewable": "chewable tablet",
    "chewable tablet": "chewable tablet",
    **{w: "solution" for w in ("solution", "soln", "sol")},
    **{w: "suspension" for w in ("suspension", "susp")},
    **{w: "syrup" for w in ("syrup", "syr")},
    **{w: "elixir" for w in ("elixir", "elix")},
    **{w: "concentrate" for w in ("concentrate", "conc", "intensol")},
    "liquid": "liquid",
    "powder": "powder",
    "granules": "granules",
    **{w: "gel" for w in ("gel", "gels", "jelly")},
    **{w: "spray" for w in ("spray", "sprays")},
    **{w: "film" for w in ("film", "films", "strip", "strips")},
    **{w: "patch" for w in ("patch", "patches", "transdermal patch")},
    "transdermal system": "transdermal system",
    **{w: "injection" for w in ("injection", "inj", "vial", "ampule", "ampoule", "syringe")},
    **{w: "injection" for w in ("prefilled syringe", "autoinjector", "auto-injector")},
    "implant": "implant",
    **{w: "suppository" for w in ("suppository", "suppositories", "supp", "supps")},
    "enema": "enema",
    "ring": "ring",
    **{w: "cream" for w in ("cream", "crm")},
    **{w: "ointment" for w in ("ointment", "oint", "ung")},
    "lotion": "lotion",
    "shampoo": "shampoo",
    "foam": "foam",
    **{w: "drops" for w in ("drops", "drop", "gtt", "gtts")},
    **{w: "eye drops" for w in ("eye drops", "eye drop", "eyedrops")},
    **{w: "ear drops" for w in ("ear drops", "ear drop", "eardrops")},
    **{w: "inhaler" for w in ("inhaler", "mdi", "hfa", "dpi", "metered dose inhaler")},
    **{w: "lozenge" for w in ("lozenge", "lozenges")},
    **{w: "troche" for w in ("troche", "troches")},
}
# Stated routes. "OD" is missing on purpose: British prescribers write it for "once daily".
_ROUTES = {
    **{w: "oral" for w in ("po", "oral", "orally", "by mouth", "per os", "swish and swallow")},
    **{w: "oral" for w in ("chew", "swallow")},
    **{w: "sublingual" for w in ("sl", "sublingual", "sublingually", "under the tongue")},
    **{w: "buccal" for w in ("buccal", "buccally", "in the cheek", "between cheek and gum")},
    **{w: "mucosal" for w in ("transmucosal", "oral transmucosal")},
    **{w: "nasal" for w in ("nasal", "intranasal", "intranasally", "nasally")},
    **{w: "nasal" for w in ("each nostril", "in each nostril", "per nostril", "in nostril")},
    **{w: "inhalation" for w in ("inhaled", "inhale", "inhalation", "inhalations", "nebulized")},
    **{w: "inhalation" for w in ("nebulizer", "nebuliser", "neb", "nebs", "via nebulizer")},
    **{w: "injectable" for w in ("iv", "ivp", "ivpb", "iv push", "iv piggyback", "im", "sc", "sq")},
    **{w: "injectable" for w in ("subq", "sub-q", "subcut", "subcutaneous", "subcutaneously")},
    **{w: "injectable" for w in ("intravenous", "intravenously", "intramuscular")},
    **{w: "injectable" for w in ("intramuscularly", "injectable", "inject", "infusion")},
    **{w: "transdermal" for w in ("td", "transdermal", "transdermally")},
    **{w: "topical" for w in ("topical", "topically", "apply topically")},
    **{w: "ophthalmic" for w in ("ophthalmic", "ophth", "ou", "os", "each eye", "in each eye")},
    **{w: "ophthalmic" for w in ("both eyes", "affected eye", "left eye", "right eye", "in eye")},
    **{w: "otic" for w in ("otic", "each ear", "in each ear", "affected ear", "both ears")},
    **{w: "otic" for w in ("left ear", "right ear", "in ear", "auricular")},
    **{w: "rectal" for w in ("pr", "rectal", "rectally", "per rectum")},
    **{w: "vaginal" for w in ("pv", "vaginal", "vaginally", "intravaginal", "per vagina")},
    **{w: "implant" for w in ("subdermal",)},
    **{w: "intrauterine" for w in ("intrauterine", "iud")},
    "dental": "dental",
    **{w: "irrigation" for w in ("irrigation", "irrigate")},
    **{
        w: "oral (mouth rinse)"
        for w in ("mouthwash", "mouth rinse", "oral rinse", "swish and spit")
    },
}
_RELEASES = {
    **{w: w.upper() for w in ("er", "xr", "sr", "cr", "dr", "ir", "la", "xl")},
    **{w: "ER" for w in ("extended release", "ext release", "ext rel", "extended")},
    **{w: "SR" for w in ("sustained release", "slow release")},
    **{w: "CR" for w in ("controlled release",)},
    **{w: "DR" for w in ("delayed release", "enteric coated", "ec")},
    **{w: "IR" for w in ("immediate release",)},
    **{w: "LA" for w in ("long acting",)},
}
_FREQUENCIES = {
    **{w: 1.0 for w in ("daily", "qd", "qday", "qdaily", "qam", "qpm", "qhs", "hs", "nightly")},
    **{w: 1.0 for w in ("every day", "each day", "per day", "a day", "every morning", "q am")},
    **{w: 1.0 for w in ("every evening", "every night", "each morning", "each evening")},
    **{w: 1.0 for w in ("each night", "in the morning", "in the evening", "at bedtime")},
    **{w: 1.0 for w in ("at night", "before bed", "before bedtime", "q pm", "q hs", "q day")},
    **{w: 2.0 for w in ("bid", "bd")},
    **{w: 3.0 for w in ("tid", "tds")},
    **{w: 4.0 for w in ("qid", "qds")},
    **{w: 0.5 for w in ("qod", "every other day")},
    **{w: 24.0 for w in ("hourly", "qh", "every hour")},
    **{w: 1 / 7 for w in ("weekly", "qweek", "qwk", "every week", "q week")},
    **{w: 1 / 30 for w in ("monthly", "qmonth", "every month", "q month")},
}
_AS_NEEDED = frozenset(["prn", "as needed", "if needed", "when needed", "as required"])
_CONNECTORS = frozenset(["/", "&", "+", "w/", "and", "with", "of", "plus"])
_SIG_STARTS = frozenset(  # words that begin the instructions: the name ends before them
    [
        "take",
        "takes",
        "give",
        "apply",
        "use",
        "instill",
        "insert",
        "place",
        "dissolve",
        "administer",
        "change",
        "remove",
        "replace",
        "rinse",
        "gargle",
        "wear",
        "sig",
        "then",
        "start",
        "until",
    ]
)
_STOPS = frozenset(["disp", "dispense", "qty", "quantity", "refill", "refills", "rf", "dx"])
# Words after which the medicines a line names are not taken: "instead of oxycodone 5 mg",
# "switched from methadone 40 mg", "do not take with tramadol 50 mg".
_NEGATIONS = frozenset(
    [
        *["no", "not", "avoid", "without", "never", "instead", "except", "unlike", "like"],
        *["caution", "stop", "stopped", "hold", "held", "switch", "switched", "previously"],
        *["formerly", "prior", "replaces", "replaced", "replacing", "history", "hx", "allergy"],
        *["allergic", "overdose"],
    ]
)
_FILLERS = frozenset(
    [
        *[
            "by",
            "to",
            "the",
            "on",
            "at",
            "in",
            "into",
            "via",
            "per",
            "each",
            "every",
            "mouth",
            "release",
            "w/o",
            "mg",
            "mcg",
            "ml",
            "hr",
            "hrs",
            "hours",
        ],
        *["day", "days", "dose", "doses", "skin", "area", "affected", "once", "twice", "x", "or"],
        *["with food", "with meals", "with water", "with a meal", "as directed", "up to"],
        *["w/ food", "w/ meals", "w/ water"],
        *["on an empty stomach", "affected area", "to affected area"],
    ]
)
_NUMBER_WORDS = {
    **{"a": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0},
    **{"seven": 7.0, "eight": 8.0, "twelve": 12.0, "other": 2.0, "half": 0.5},
    **{"one-half": 0.5, "one half": 0.5, "a half": 0.5, "once": 1.0, "twice": 2.0, "thrice": 3.0},
}
_UNITS = {
    **{u: "mg" for u in ("mg", "mgs", "milligram", "milligrams")},
    **{u: "mcg" for u in ("mcg", "µg", "μg", "ug", "microgram", "micrograms")},
    **{u: "g" for u in ("g", "gm", "gram", "grams")},
    **{u: "mL" for u in ("ml", "milliliter", "milliliters", "millilitre", "millilitres", "cc")},
    **{"l": "L", "iu": "IU", "meq": "mEq", "mmol": "mmol", "%": "%"},
    **{u: "units" for u in ("u", "unit", "units")},
}
_PER = {
    **{u: "mL" for u in ("ml", "cc")},
    **{"l": "L", "kg": "kg", "m2": "m2", "actuation": "actuation", "act": "actuation"},
    **{u: "hr" for u in ("hr", "hrs", "h", "hour", "hours")},
    **{u: "day" for u in ("day", "d", "24h")},
    **{u: "actuation" for u in ("actuations", "spray", "sprays", "puff", "puffs", "inh")},
    **{u: "dose" for u in ("dose", "doses")},
}
_AMOUNT_FORMS = {  # "1 tab" also tells the dose form
    **{u: "tablet" for u in ("tab", "tabs", "tablet", "tablets", "tbl", "caplet", "caplets")},
    **{u: "capsule" for u in ("cap", "caps", "capsule", "capsules", "softgel", "softgels")},
    **{u: "patch" for u in ("patch", "patches")},
    **{u: "drops" for u in ("drop", "drops", "gtt", "gtts")},
    **{u: "film" for u in ("film", "films", "strip", "strips")},
    **{u: "suppository" for u in ("suppository", "suppositories", "supp", "supps")},
    **{u: "spray" for u in ("spray", "sprays")},
    **{u: "lozenge" for u in ("lozenge", "lozenges")},
    **{u: "troche" for u in ("troche", "troches")},
}
_AMOUNT_UNITS = [
    *_AMOUNT_FORMS,
    *[
        "puff",
        "puffs",
        "pill",
        "pills",
        "pump",
        "pumps",
        "application",
        "applications",
        "applicatorful",
        "applicatorfuls",
    ],
    *[
        "inhalation",
        "inhalations",
        "actuation",
        "actuations",
        "vial",
        "vials",
        "packet",
        "packets",
        "sachet",
        "sachets",
    ],
    *["piece", "pieces", "teaspoon", "teaspoons", "tsp", "tablespoon", "tablespoons", "tbsp"],
]
_PERIOD_PER_DAY = {
    **{u: 24.0 for u in ("hour", "hours", "hr", "hrs", "h")},
    **{u: 1440.0 for u in ("min", "mins", "minute", "minutes")},
    **{u: 1.0 for u in ("day", "days", "d", "daily", "night", "nightly")},
    **{u: 1 / 7 for u in ("week", "weeks", "wk", "wks", "w", "weekly")},
    **{u: 1 / 30 for u in ("month", "months", "mo", "mos", "monthly")},
}
_DAYS_IN = {
    **{u: 1.0 for u in ("day", "days", "d")},
    **{u: 7.0 for u in ("week", "weeks", "wk", "wks")},
    **{u: 30.0 for u in ("month", "months", "mo", "mos")},
}
# "OD" means the right eye only beside a form that goes in an eye; "solution 200 mg OD" is once daily.
_EYE_FORMS = frozenset(["drops", "ointment"])
# Route words that also name a part of the body, as an indication does ("vaginal yeast infection",
# "dental abscess", "left ear infection"). Such a word sets the route only when the product agrees:
# a form that goes elsewhere than the mouth, or a strength in %. "Otic", "ophthalmic", "in each eye"
# name only a route.
_SITE_WORDS = frozenset(["vaginal", "dental", "topical"]) | {
    f"{side} {organ}" for side in ("left", "right", "affected") for organ in ("eye", "ear")
}
_NOT_SWALLOWED = frozenset(
    ["drops", *(f for f, (implied, _) in _FORM_ROUTES.items() if implied not in (None, "oral"))]
)
# Grams of these are grams of product ("Voltaren gel 4 g qid"), not of the drug.
_WEIGHED_FORMS = frozenset(["cream", "ointment", "gel", "lotion", "shampoo", "foam", "powder"])


def _key(text: str) -> str:
    """A word or phrase as the vocabulary knows it: lower case, no dots, a hyphen read as a space."""
    return text.lower().replace(".", "").replace("-", " ")


_UNKNOWN: tuple[str, str | float | None] = ("unknown", None)
_ROUTE_VERBS = frozenset(["chew", "swallow", "inhale", "inject"])  # they also begin the sig
_VOCABULARY: dict[str, tuple[str, str | float | None]] = {
    _key(word): (kind, value)
    for kind, table in (
        ("filler", dict.fromkeys(_FILLERS)),
        ("connector", dict.fromkeys(_CONNECTORS)),
        ("stop", dict.fromkeys(_STOPS)),
        ("sig", dict.fromkeys(_SIG_STARTS)),
        ("as needed", dict.fromkeys(_AS_NEEDED)),
        ("for", {"for": None}),
        ("eye side", {"od": None}),  # right eye, or once daily in British usage: never a frequency
        ("frequency", _FREQUENCIES),
        ("release", _RELEASES),
        ("form", _FORMS),
        ("route", _ROUTES),
    )
    for word, value in table.items()
}


# --- the pattern ----------------------------------------------------------------------------------

_Trie = dict[str, Any]


def _alternation(words: Iterable[str]) -> str:
    """The words as a trie-shaped pattern: the engine steps by character instead of trying each word.

    The text is lower case with single spaces by then; a space in a phrase matches a space or a hyphen.
    """
    trie: _Trie = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _render(trie)


def _render(node: _Trie) -> str:
    branches = [
        (r"[ \-]" if char == " " else re.escape(char)) + _render(child)
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


_END = r"(?![^\W_])"  # not followed by a letter or digit
_NUM = r"(?<![0-9.,])(?:[0-9]{1,6}(?:[.,][0-9]{1,4})?|\.[0-9]{1,4})(?![.,]?[0-9])"
# "every 6 (six) hours": some EHRs spell the number out again in parentheses
_COUNT = rf"(?:{_NUM}(?: \([a-z -]{{3,20}}\))?|{_alternation(_NUMBER_WORDS)})"
_AMOUNT = rf"(?:[0-9]{{1,2}} [0-9]/[0-9]|[0-9]{{1,2}} ?/ ?[0-9]{{1,2}}|{_COUNT})"
_UNIT = rf"(?:{_alternation(u for u in _UNITS if u != '%')}){_END}|%"
_PER_UNIT = rf"(?:[0-9]{{1,3}}(?:\.[0-9]{{1,2}})? ?)?(?:{_alternation(_PER)}){_END}"
_PERIOD = rf"(?:{_alternation(_PERIOD_PER_DAY)})"


def _starts(words: Iterable[str]) -> str:
    """A look-ahead letting through only a number or these words' first letters: a cheap early no."""
    return f"(?=[0-9.{re.escape(''.join(sorted({w[0] for w in words})))}])"


_NUMERIC_TOKENS = [  # tried only where a number starts
    ("hours", rf"(?<![0-9])(?:8|12|24) ?-? ?(?:hours?|hrs?|h){_END}"),
    ("conc", rf"(?P<c_v>{_NUM}) ?(?P<c_u>{_UNIT}) ?(?:/|per ) ?(?P<c_p>{_PER_UNIT})"),
    ("combo", rf"{_NUM}(?: ?(?:{_UNIT}))?(?: ?(?:/|-|to) ?{_NUM}(?: ?(?:{_UNIT}))?){{1,2}}"),
    ("strength", rf"(?P<s_v>{_NUM}) ?(?P<s_u>{_UNIT})(?P<s_total> total)?"),
    ("number", r"[0-9.][0-9.,]*"),
]
_TOKENS = [  # in order of preference; a token's kind is the empty group closing it
    ("marker", r"(?:\#|no\.? ?) ?[0-9]{1,2}(?![0-9])"),
    (
        "q",
        rf"q\.? ?(?P<q_a>{_NUM})(?: ?(?:-|to) ?(?P<q_b>{_NUM}))? ?\.? ?(?P<q_u>{_PERIOD})\.?{_END}",
    ),
    (
        "every",
        rf"every (?P<e_a>{_COUNT})(?: ?(?:-|to|or) ?(?P<e_b>{_COUNT}))? ?(?P<e_u>{_PERIOD}){_END}",
    ),
    (
        "times",
        rf"{_starts(_NUMBER_WORDS)}(?:(?P<t_a>{_COUNT})(?: ?(?:-|to|or) ?(?P<t_b>{_COUNT}))?"
        rf" ?(?:times|x)|(?P<t_w>once|twice|thrice)) ?(?:(?:a|an|per|each|every|/) ?)?"
        rf"(?P<t_p>{_PERIOD}){_END}",
    ),
    ("limit", r"(?:max(?:imum)?|not to exceed|do not exceed|nte|no more than)(?=[ :(]{0,3}[0-9])"),
    (
        "amount",
        rf"{_starts(_NUMBER_WORDS)}(?P<a_a>{_AMOUNT})(?: ?(?:-|to|or) ?(?P<a_b>{_AMOUNT}))? ?"
        rf"(?P<a_u>{_alternation(_AMOUNT_UNITS)}){_END}",
    ),
    (
        "duration",
        rf"{_starts(['x', 'for', 'times'])}(?:(?:x|for|times) ?)?(?P<d_a>{_NUM})"
        rf"(?: ?(?:-|to) ?(?P<d_b>{_NUM}))? ?(?P<d_u>{_alternation(_DAYS_IN)}){_END}",
    ),
    ("", "(?=[0-9.])(?:" + "|".join(f"{p}(?P<{k}>)" for k, p in _NUMERIC_TOKENS) + ")"),
    ("phrase", rf"(?:{_alternation(k for k in _VOCABULARY if ' ' in k or k == 'w/o')}){_END}"),
    ("conn", r"w/(?!o)|[/&+\-]"),
    ("word", r"[^\W\d_][^\W_]*(?:[.'\u2019\-][^\W_]+)*\.?"),  # "Goody's", "A-D", "p.o."
    ("other", r"\S"),
]
# An empty group after each token, not a group around it, lets the engine skip a token by its first
# character: the tokeniser runs about twice as fast.
_TOKEN = re.compile("|".join(f"(?:{p})(?P<{k}>)" if k else p for k, p in _TOKENS))
_COMBO_PART = re.compile(rf"({_NUM}) ?({_UNIT})?|(to)|(-)|(/)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u205f-\u206f\ufeff\s]+")
_FRACTIONS = str.maketrans({"½": " 1/2", "¼": " 1/4", "¾": " 3/4", "⅓": " 1/3", "⅔": " 2/3"})


def _normalise(text: str) -> str:
    """Compatibility forms folded, control and zero-width characters turned to spaces, length capped."""
    text = text[:_RAW_CHARS]
    if text.isascii() and text.isprintable():  # the usual case, five times faster
        return " ".join(text.split())[:MAX_CHARS]
    text = unicodedata.normalize("NFKC", text.translate(_FRACTIONS))
    return _CONTROL.sub(" ", text).strip()[:MAX_CHARS]


def _number(text: str) -> float:
    """``1,000`` is a thousand, ``0,5`` a half: a comma before exactly three digits groups them."""
    if "," in text:
        whole, _, part = text.partition(",")
        text = whole + part if len(part) == 3 else f"{whole}.{part}"
    return float(text)


def _count(text: str) -> float:
    """A count as written: "2", "two", "1/2", "1 1/2", "6 (six)"."""
    text = text.partition(" (")[0]
    if text in _NUMBER_WORDS:
        return _NUMBER_WORDS[text]
    if "/" in text:
        whole, _, fraction = text.replace(" /", "/").replace("/ ", "/").rpartition(" ")
        numerator, _, denominator = fraction.partition("/")
        ratio = float(numerator) / float(denominator) if float(denominator) else 0.0
        return ratio + (float(whole) if whole else 0.0)
    return _number(text)


# --- the walk -------------------------------------------------------------------------------------


class _Walk:
    """State while reading tokens left to right: the name grows until the instructions begin.

    Tokens are matched on the lower-case text; ``original`` (same length) gives the writer's spelling.
    """

    # Flags and single values start as class attributes: a walk per item, so setting fewer is faster.
    started = False
    closed = False  # the instructions have begun: no more name
    gap = False  # something other than the name came after it
    amount_form: str | None = None
    release: str | None = None
    eye_side = False
    as_needed = False
    indication: list[str] | None = None  # collecting after "for" or "prn"
    duration_days: float | None = None
    limited = False  # after "max": numbers are a ceiling, not the dose
    stopped = False  # after "disp", "qty": the rest is for the pharmacy
    after_verb = False

    def __init__(self, original: str) -> None:
        self.original = original
        self.name: list[str] = []
        self.pending: list[str] = []  # connectors ("/", "with") kept only if a name word follows
        self.suffixes: list[str] = []  # "XR", "#3": part of some brand names
        self.strengths: list[Strength] = []
        self.forms: list[str] = []
        self.routes: set[str] = set()
        self.frequencies: list[float] = []
        self.amounts: list[float] = []
        self.indications: list[str] = []
        self.sure_routes: set[str] = set()  # routes stated by a word that names nothing else
        self.other_runs: list[list[str]] = []  # words left out of the name, split where others came
        self.dosed_runs: set[int] = set()  # the runs a strength follows: medicines, not words
        self._other_end = -1  # where the last such word ended: the next word or strength follows it
        self.negated = False  # "instead of", "avoid": the medicines named after it are not taken

    def _as_written(self, match: re.Match[str]) -> str:
        """The token as the writer spelled it, with the space before it if there was one."""
        start = match.start()
        spaced = start > 0 and self.original[start - 1] == " "
        return self.original[start - spaced : match.end()]

    # token handlers, named as the pattern's groups

    def marker(self, match: re.Match[str]) -> None:
        if self.started and not self.closed:
            self.suffixes.append("#" + "".join(ch for ch in match.group() if ch.isdigit()))
            self.gap = True

    def q(self, match: re.Match[str]) -> None:
        self._frequency(match["q_a"], match["q_b"], match["q_u"], interval=True)

    def every(self, match: re.Match[str]) -> None:
        self._frequency(match["e_a"], match["e_b"], match["e_u"], interval=True)

    def times(self, match: re.Match[str]) -> None:
        self._frequency(match["t_a"] or match["t_w"], match["t_b"], match["t_p"], interval=False)

    def limit(self, match: re.Match[str]) -> None:
        self._begin_instructions()
        self.limited = True

    def amount(self, match: re.Match[str]) -> None:
        self._begin_instructions()
        self.amount_form = self.amount_form or _AMOUNT_FORMS.get(match["a_u"])
        most = max(_count(c) for c in (match["a_a"], match["a_b"]) if c)
        if most > 0 and not self.limited and not self.stopped:
            self.amounts.append(most)

    def duration(self, match: re.Match[str]) -> None:
        self._begin_instructions()
        self.duration_days = _number(match["d_b"] or match["d_a"]) * _DAYS_IN[match["d_u"]] or None

    def hours(self, match: re.Match[str]) -> None:
        if self.closed:  # "12 hours on, 12 hours off" is an instruction, not a release
            return
        self._release("".join(ch for ch in match.group() if ch.isdigit()) + " hr")
        self.suffixes.append(self._as_written(match).strip())
        self._not_name()

    def conc(self, match: re.Match[str]) -> None:
        self._strength_follows(match)
        amount, _, unit = match["c_p"].rpartition(" ")
        bare = unit.lstrip("0123456789.")
        per = _PER[bare]
        amount = amount or unit[: len(unit) - len(bare)]
        self._strengths([Strength(_number(match["c_v"]), _UNITS[match["c_u"]], _join(amount, per))])

    def combo(self, match: re.Match[str]) -> None:
        self._strength_follows(match)
        values: list[float] = []
        units: list[str | None] = []
        separators: set[str] = set()
        for number, unit, to, dash, slash in _COMBO_PART.findall(match.group()):
            if number:
                values.append(_number(number))
                units.append(_UNITS[unit] if unit else None)
            else:
                separators.add(to or dash or slash)
        known = [u for u in units if u]
        if not known:
            self._unitless_pair(values, separators)
            return
        filled = [u or next((k for k in units[i:] if k), known[-1]) for i, u in enumerate(units)]
        if len(set(filled)) == 1 and _is_range(values, separators):
            self._strengths([Strength(max(values), filled[0])])  # "2-4 mg": the most that is given
        else:
            self._strengths([Strength(v, u) for v, u in zip(values, filled, strict=True)])

    def strength(self, match: re.Match[str]) -> None:
        self._strength_follows(match)
        strength = Strength(_number(match["s_v"]), _UNITS[match["s_u"]])
        if (self.after_verb or match["s_total"]) and strength.unit in DOSE_UNITS:
            self._dose_by_mass(strength)  # "Take 600 mg", "1 tablet (5 mg total)"
        else:
            self._strengths([strength])
        self.after_verb = False

    def number(self, match: re.Match[str]) -> None:
        self._strength_follows(match)  # "Soma 350"
        if self.after_verb and not self.limited and _NUMERIC.fullmatch(match.group()):
            self.amounts.append(_number(match.group()))  # "take 2 daily"
        self._end_indication()
        self._not_name()
        self.after_verb = False

    def phrase(self, match: re.Match[str]) -> None:
        self._vocabulary(match.group().replace("-", " "), match)

    def conn(self, match: re.Match[str]) -> None:
        self._connector(match)

    def word(self, match: re.Match[str]) -> None:
        text = match.group()
        self._vocabulary(text.replace(".", "") if "." in text else text, match)

    def other(self, match: re.Match[str]) -> None:
        self._end_indication()
        self._not_name()
        self.after_verb = False

    # shared steps

    def _vocabulary(self, key: str, match: re.Match[str]) -> None:
        if self.stopped:  # "qty 30, Xanax 1mg": the pharmacy's part may still name a medicine
            if key not in _VOCABULARY:
                self._other_word(match)
            return
        kind, value = _VOCABULARY.get(key, _UNKNOWN)
        after_verb = False
        if kind == "unknown":
            self._name_word(match)
        elif kind == "connector":
            self._connector(match)
        elif kind == "filler":
            if self.indication is not None:
                self.indication.append(key)
            else:
                self._not_name()
            after_verb = self.after_verb and key == "the"  # "take the ..."
        elif kind == "frequency":
            self._begin_instructions()
            if not self.limited:
                self.frequencies.append(float(value or 0))
        elif kind == "as needed":
            self._begin_instructions()
            self.as_needed = True
            self.indication = []
        elif kind == "for":
            self._begin_instructions()
            self.indication = []
        elif kind == "sig":
            self._begin_instructions()
            after_verb = True
        elif kind == "stop":
            self._end_indication()
            self.stopped = True
        else:
            self._end_indication()
            self._not_name()
            if kind == "route":
                self.routes.add(str(value))
                if key not in _SITE_WORDS:
                    self.sure_routes.add(str(value))
                if key in _ROUTE_VERBS:
                    self._begin_instructions()
            elif kind == "form":
                self.forms.append(str(value))
            elif kind == "release":
                self._release(str(value))
                self.suffixes.append(self._as_written(match).strip())
            else:  # "eye side"
                self.eye_side = True
        self.after_verb = after_verb

    def _name_word(self, match: re.Match[str]) -> None:
        if self.indication is not None:
            self.indication.append(match.group().rstrip("."))
            self._other_word(match)  # "prn pain and xanax 1 mg": a medicine if a strength follows
        elif self.closed or (self.started and self.gap and not self.pending):
            self.closed = self.started
            self._other_word(match)
        else:
            self.name.extend(self.pending)
            self.name.append(_expand(self._as_written(match)))
            self.pending.clear()
            self.started = True
            self.gap = False

    def _other_word(self, match: re.Match[str]) -> None:
        word = match.group().rstrip(".")
        self.negated = self.negated or word in _NEGATIONS
        if self.negated:
            return
        if self.other_runs and match.start() == self._other_end + 1:
            self.other_runs[-1].append(word)
        else:
            self.other_runs.append([word])
        self._other_end = match.end()

    def _strength_follows(self, match: re.Match[str]) -> None:
        """A strength (or a bare number) right after words left out of the name: they may name a
        medicine of their own."""
        if self.other_runs and match.start() in (self._other_end, self._other_end + 1):
            self.dosed_runs.add(len(self.other_runs) - 1)

    def _connector(self, match: re.Match[str]) -> None:
        if self.indication is not None:
            self.indication.append(match.group())
        elif self.started and not self.closed:
            written = self._as_written(match)
            # "oxycodone - acetaminophen": a spaced hyphen joins ingredients; "/" says so to lookup
            self.pending.append(written.replace("-", "/") if match.group() == "-" else written)

    def _not_name(self) -> None:
        self.gap = self.started
        self.pending.clear()

    def _begin_instructions(self) -> None:
        if self.indication is not None:
            self._end_indication()
        self.closed = self.started
        self.pending.clear()
        self.after_verb = False

    def _end_indication(self) -> None:
        if self.indication is not None:
            words = self.indication
            while words and (words[-1] in _FILLERS or words[-1] in _CONNECTORS):
                words.pop()
            while words and (words[0] in _FILLERS or words[0] in _CONNECTORS):
                words.pop(0)
            if words:
                self.indications.append(" ".join(words))
            self.indication = None

    def _release(self, release: str) -> None:
        self.release = self.release or release

    def _strengths(self, strengths: list[Strength]) -> None:
        self._end_indication()
        if not self.limited and not self.stopped:
            self.strengths.extend(strengths)
        self._not_name()

    def _dose_by_mass(self, dose: Strength) -> None:
        """A dose in mg is so many units of the one product strength, or itself the strength."""
        self._end_indication()
        self._not_name()
        if self.limited or self.stopped:
            return
        if not self.strengths:
            self.strengths.append(dose)
            self.amounts.append(1.0)  # "2 tablets (10 mg total)" then disagrees: no dose is guessed
            return
        product = self.strengths[0]
        if len(self.strengths) == 1 and product.per is None and product.unit in DOSE_UNITS:
            per_unit = to_milligrams(product.value, product.unit)
            if per_unit:
                self.amounts.append(to_milligrams(dose.value, dose.unit) / per_unit)
                return
        self.strengths.append(dose)

    def _unitless_pair(self, values: list[float], separators: set[str]) -> None:
        """``Norco 10-325`` right after a name is a combination strength in mg; ``1-2`` is a count."""
        if self.after_verb and not self.limited:
            if separators == {"/"} and len(values) == 2 and values[1]:
                self.amounts.append(values[0] / values[1])  # "take 1/2"
            else:
                self.amounts.append(max(values))
        elif (
            self.started
            and not self.closed
            and not self.strengths
            and not _is_range(values, separators)
            and max(values) >= 10
        ):
            self.strengths.extend(Strength(v, "mg") for v in values)
        self._not_name()

    def _frequency(self, low: str, high: str | None, unit: str, *, interval: bool) -> None:
        self._begin_instructions()
        counts = [_count(low)] + ([_count(high)] if high else [])
        period = _PERIOD_PER_DAY[unit.rstrip(".")]
        if period > 24:  # "q5min prn" repeats a rescue dose a few times: no daily schedule
            return
        if interval:  # "q4-6h": the shortest interval is the most doses
            shortest = min(counts)
            per_day = period / shortest if shortest else None
        else:
            per_day = max(counts) * period
        if not self.limited and per_day:
            self.frequencies.append(per_day)

    # the result

    def result(self) -> ParsedText:
        self._end_indication()
        name = "".join(self.name).strip()
        if name and self.suffixes:
            names: tuple[str, ...] = (" ".join([name, *self.suffixes]), name)
        else:
            names = (name,) if name else ()
        route = self._route()
        form = self.forms[0] if self.forms else self.amount_form
        if form == "drops" and route in ("ophthalmic", "otic"):
            form = "eye drops" if route == "ophthalmic" else "ear drops"
        doses_per_day, units_per_dose = _agreed(self.frequencies), _agreed(self.amounts)
        sig = Sig(
            doses_per_day,
            units_per_dose,
            self.as_needed,
            self.indications[0] if self.indications else None,
            self.duration_days,
            contradictory=(doses_per_day is None and bool(self.frequencies))
            or (units_per_dose is None and bool(self.amounts)),
        )
        others = tuple(" ".join(self.other_runs[i]) for i in sorted(self.dosed_runs))
        return ParsedText(
            name, names, tuple(self.strengths), form, self.release, route, sig, others
        )

    def _route(self) -> str | None:
        """A stated route wins if every stated form allows it; else the forms' own route; doubt: None."""
        forms = [*self.forms, self.amount_form] if self.amount_form else self.forms
        if not forms:  # the usual case
            route = next(iter(self.routes)) if len(self.routes) == 1 else None
            return route if self._product_agrees(route, forms) else None
        stated = set(self.routes)
        if self.eye_side and (set(forms) & _EYE_FORMS):
            stated.add("ophthalmic")
        if len(stated) > 1:
            return None
        if stated:
            (route,) = stated
            allowed = all(not _FORM_ROUTES[f][1] or route in _FORM_ROUTES[f][1] for f in forms)
            return route if allowed and self._product_agrees(route, forms) else None
        implied = {_FORM_ROUTES[f][0] for f in forms} - {None}
        return implied.pop() if len(implied) == 1 else None

    def _product_agrees(self, stated: str | None, forms: list[str]) -> bool:
        """Whether a route stated only by a body-site word is borne out by the product, not only by
        a word that may name what is treated ("clarithromycin 500 mg bid dental infection")."""
        if stated is None or stated in self.sure_routes:
            return True  # named by a word that means only the route ("otic", "PV")
        if any(s.unit == "%" for s in self.strengths):
            return True
        return bool(_NOT_SWALLOWED.intersection(forms))


_NUMERIC = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,4})?")


def _agreed(values: list[float]) -> float | None:
    """The one value every mention gives; None when there is none or they differ."""
    return values[0] if values and values.count(values[0]) == len(values) else None


def _join(amount: str, unit: str) -> str:
    return f"{amount} {unit}" if amount else unit


def _is_range(values: list[float], separators: set[str]) -> bool:
    """``2-4 mg`` and ``5 to 10 mg`` are dose ranges; ``10-325`` and ``8-2`` are two ingredients."""
    if len(values) != 2 or "/" in separators:
        return False
    low, high = values
    return "to" in separators or low < high <= 4 * low


def _expand(word: str) -> str:
    """Clinical abbreviations spelled out, also inside ``oxycodone-APAP``; the leading space is kept."""
    bare = word.lstrip()
    parts = [ABBREVIATIONS.get(part.lower(), part) for part in bare.split("-")]
    return word[: len(word) - len(bare)] + "-".join(parts)


def parse(text: str) -> ParsedText:
    """Split one medication line; never raises, and reads at most ``MAX_CHARS`` characters."""
    original = _normalise(text)
    lowered = original.lower()
    if len(lowered) != len(original):  # a rare letter whose lower case is longer ("İ")
        original = lowered
    walk = _Walk(original)
    for match in _TOKEN.finditer(lowered):
        getattr(walk, match.lastgroup or "other")(match)
    return walk.result()


def daily_dose_mg(parsed: ParsedText) -> float | None:
    """Milligrams a day when the text says it plainly; None when it cannot be worked out, never a guess."""
    sig = parsed.sig
    if sig.contradictory or len(parsed.strengths) != 1 or parsed.dose_form in _WEIGHED_FORMS:
        return None
    strength = parsed.strengths[0]
    if strength.unit not in DOSE_UNITS:
        return None
    if strength.per == "day":  # "60 mg/day" says the total itself
        return to_milligrams(strength.value, strength.unit)
    if strength.per is not None or sig.doses_per_day is None:
        return None
    units = sig.units_per_dose if sig.units_per_dose is not None else 1.0
    return to_milligrams(strength.value * units * sig.doses_per_day, strength.unit)
