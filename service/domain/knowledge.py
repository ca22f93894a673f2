"""The knowledge base as plain values: what the loader produces and the snapshot is built from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from operator import itemgetter
from typing import Any, Literal

from .severity import AlertKind, Severity

RefKind = Literal["class", "drug"]


@dataclass(frozen=True, order=True)
class Ref:
    """A rule's reference to a class (``class:opioids``) or an ingredient (``drug:clonazepam``)."""

    kind: RefKind
    id: str

    @classmethod
    def parse(cls, text: str) -> Ref:
        kind, sep, ident = text.strip().partition(":")
        if not sep or kind not in ("class", "drug") or not ident:
            raise ValueError(f"reference {text!r} must look like class:<id> or drug:<ingredient>")
        return cls(kind, ident.strip())  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


SOURCE_KINDS = ("label", "fda", "guideline", "literature", "secondary")
PRIMARY_SOURCE_KINDS = frozenset({"label", "fda", "guideline"})
EVIDENCE_LEVELS = ("contraindication", "boxed-warning", "label", "fda-communication", "guideline")
SYSTEMIC = "systemic"  # a class's ``routes`` value: systemic products, or products of unknown route
# Routes as RxNorm's dose forms give them; the knowledge base says which are systemic.
ROUTE_IDS = (
    "oral",
    "sublingual",
    "buccal",
    "mucosal",
    "nasal",
    "inhalation",
    "injectable",
    "transdermal",
    "rectal",
    "implant",
    "intrauterine",
    "topical",
    "ophthalmic",
    "otic",
    "vaginal",
    "dental",
    "irrigation",
    "oral (mouth rinse)",
)


@dataclass(frozen=True)
class Source:
    """``kind``: a US label, an FDA communication or a guideline is primary; the rest support one."""

    id: str
    label: str
    url: str
    kind: str = "secondary"

    @property
    def primary(self) -> bool:
        return self.kind in PRIMARY_SOURCE_KINDS


@dataclass(frozen=True)
class Route:
    """A route of administration, and whether a drug given by it reaches the whole body."""

    id: str
    name: str
    systemic: bool


@dataclass(frozen=True)
class Ingredient:
    """``no_rxcui_reason`` says why an ingredient has no RxCUI (kratom, a withdrawn drug)."""

    name: str
    rxcui: str | None = None
    schedule: str | None = None
    notes: str = ""
    no_rxcui_reason: str = ""


@dataclass(frozen=True)
class DrugName:
    """A name or code that resolves to one or more ingredients (brand, salt, combination, RxNorm concept)."""

    name: str
    ingredients: tuple[str, ...]
    kind: str
    rxcui: str | None = None
    tty: str | None = None
    provenance: str | None = None
    notes: str = ""
    route: str | None = None


@dataclass(frozen=True, slots=True)
class VocabularyConcept:
    """One RxNorm concept of the bulk vocabulary: its ingredients are RxCUIs of its IN rows."""

    rxcui: str
    name: str
    tty: str
    ingredient_rxcuis: tuple[str, ...]
    route: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    """All of RxNorm the service knows (``seed_data/rxnorm/``), below the curated names.

    Stored once per ``digest``, however many knowledge-base versions share it; the digest is part
    of every version id, so a version's id stays the SHA-256 of everything it contains.
    """

    release: str
    concepts: tuple[VocabularyConcept, ...]

    @classmethod
    def from_rows(
        cls, release: str, rows: Iterable[tuple[str, str, str, str, str | None]]
    ) -> Vocabulary:
        """From (rxcui, name, tty, ";"-joined ingredient RxCUIs, route) rows, sharing the values
        that repeat (term types, routes, ingredient sets): 40k concepts, a few MB less per worker."""
        shared: dict[Any, Any] = {}
        concepts = []
        for rxcui, name, tty, codes, route in rows:
            ingredients = tuple(codes.split(";")) if codes else ()
            concepts.append(
                VocabularyConcept(
                    rxcui,
                    name,
                    shared.setdefault(tty, tty),
                    shared.setdefault(ingredients, ingredients),
                    shared.setdefault(route, route) if route else None,
                )
            )
        return cls(release, tuple(concepts))

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the release and every concept, in RxCUI order: the same however stored."""
        digest = hashlib.sha256(self.release.encode("utf-8"))
        for c in sorted(self.concepts, key=lambda c: int(c.rxcui)):
            fields = (c.rxcui, c.name, c.tty, ";".join(c.ingredient_rxcuis), c.route or "")
            digest.update(("\n" + "\t".join(fields)).encode("utf-8"))
        return digest.hexdigest()

    @cached_property
    def ingredient_names(self) -> dict[str, str]:
        """The name of every IN concept, by RxCUI."""
        return {c.rxcui: c.name for c in self.concepts if c.tty == "IN"}


@dataclass(frozen=True)
class ProductCombination:
    """Members of ``member_of`` take the class when their product also contains one of ``with_any_of``."""

    member_of: str
    with_any_of: str


@dataclass(frozen=True)
class DrugClass:
    """``member_sources`` says which sources decided each member; ``sources`` is all of them.

    ``routes`` narrows membership to products of those routes; ``(SYSTEMIC,)`` means systemic or
    unknown route (a topical ketoconazole is no CYP3A inhibitor). A ``helper`` class (CYP, serotonin)
    exists for rules to name and is never a CNS-depressant class.
    """

    id: str
    name: str
    members: tuple[str, ...] = ()
    parent: str | None = None
    union_of: tuple[str, ...] = ()
    products_combining: ProductCombination | None = None
    sources: tuple[str, ...] = ()
    notes: str = ""
    member_sources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    routes: tuple[str, ...] = ()
    helper: bool = False


@dataclass(frozen=True)
class DuplicationCriteria:
    same_ingredient: bool = False
    except_refs: tuple[Ref, ...] = ()
    same_class: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class OlderAdultEscalation:
    min_age: int
    class_id: str
    min_count: int
    severity: Severity


@dataclass(frozen=True)
class CumulativeCriteria:
    class_id: str
    min_count: int
    major_if_any_of: tuple[Ref, ...] = ()
    older_adults: OlderAdultEscalation | None = None


@dataclass(frozen=True)
class DoseLimit:
    ingredient: str
    max_daily_mg: float
    unless_indication: tuple[str, ...] = ()


# The class whose combinations the policy weighs most within a severity: an opioid with another
# drug can stop someone breathing, so its warnings are read first (see ``KbSnapshot.clinical_weight``).
OPIOID_CLASS = "opioids"

# English is the language the knowledge base is written and reviewed in; the others translate its
# patient-facing texts (clinician texts stay English: they are what the sources say).
SOURCE_LANGUAGE = "en"
PATIENT_LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class PatientTranslation:
    """A rule's patient-facing texts in another language, reviewed like the English ones.

    ``title`` is empty only in versions stored before titles were translated: such a translation
    is incomplete, and the rule then speaks English to patients (never half one, half the other).
    """

    language: str
    patient_text: str
    always_tell_patient: str = ""
    title: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    kind: AlertKind
    title: str
    severity: Severity
    summary: str
    effect: str
    mechanism: str
    management: str
    patient_text: str
    sources: tuple[str, ...]
    notes: str = ""
    suggest_naloxone: bool = False
    between: tuple[tuple[Ref, ...], tuple[Ref, ...]] | None = None
    excluded: tuple[tuple[Ref, ...], tuple[Ref, ...]] = ((), ())
    fallback: bool = False
    always_say: str = ""
    always_tell_patient: str = ""
    evidence: str = ""
    unconfirmed: bool = False
    family: str = ""
    duplication: DuplicationCriteria | None = None
    cumulative: CumulativeCriteria | None = None
    dose_limit: DoseLimit | None = None
    translations: tuple[PatientTranslation, ...] = ()

    def patient_texts(self, language: str) -> tuple[str, str] | None:
        """``(patient_text, always_tell_patient)`` in ``language``, or None if not translated."""
        if language == SOURCE_LANGUAGE:
            return self.patient_text, self.always_tell_patient
        translation = self._translation(language)
        return (
            None
            if translation is None
            else (translation.patient_text, translation.always_tell_patient)
        )

    def patient_title(self, language: str) -> str | None:
        """The title a patient reads in ``language``, or None if not translated."""
        if language == SOURCE_LANGUAGE:
            return self.title
        translation = self._translation(language)
        return None if translation is None else translation.title

    def _translation(self, language: str) -> PatientTranslation | None:
        return next(
            (t for t in self.translations if t.language == language and t.title),
            None,
        )


@dataclass(frozen=True)
class NaloxoneOffer:
    """How a suggestion offers the KB's naloxone product: clinical wording, reviewed with the KB.

    ``label`` names the suggestion, ``order`` describes the draft order it creates and ``dosing`` is
    the order's dosage instruction; all three must fit the product ``naloxone_rxcui`` names.
    """

    label: str
    order: str
    dosing: str


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything in ``seed_data/``, validated; its content hash is the version id."""

    scope: str
    sources: tuple[Source, ...]
    ingredients: tuple[Ingredient, ...]
    names: tuple[DrugName, ...]
    classes: tuple[DrugClass, ...]
    rules: tuple[Rule, ...]
    naloxone_rxcui: str | None = None
    routes: tuple[Route, ...] = ()
    never_alert: tuple[str, ...] = ()
    vocabulary: Vocabulary | None = None
    # The class whose members are alcohol: their interactions are NCPDP "OH" (alcohol), not "DD".
    alcohol_class: str | None = None
    # The wording of the naloxone suggestion; None in versions stored before the KB held it.
    naloxone_offer: NaloxoneOffer | None = None

    def content_hash(self) -> str:
        """Order-independent where order means nothing; rules keep theirs (it breaks precedence ties).

        The bulk vocabulary enters by its own digest (hashing 40k concepts through ``asdict`` would
        make every load slow), so the id still changes with any concept. A field added later is
        left out while empty, so the versions stored before it keep their ids.
        """
        content = asdict(replace(self, vocabulary=None))
        del content["vocabulary"]
        if self.vocabulary is not None:
            content["vocabulary"] = self.vocabulary.digest
        for later_field in ("alcohol_class", "naloxone_offer"):
            if content[later_field] is None:
                del content[later_field]
        for rule in content["rules"]:
            if not rule["translations"]:
                del rule["translations"]
            for translation in rule.get("translations", ()):
                if not translation["title"]:
                    del translation["title"]
        for key, sort_by in (
            ("sources", "id"),
            ("ingredients", "name"),
            ("classes", "id"),
            ("routes", "id"),
        ):
            content[key] = sorted(content[key], key=itemgetter(sort_by))
        content["names"] = sorted(
            content["names"], key=lambda n: (n["name"], n["kind"], n["rxcui"] or "")
        )
        canonical = json.dumps(
            content, sort_keys=True, default=_json_default, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def counts(self) -> dict[str, int]:
        return {
            "ingredients": len(self.ingredients),
            "names": len(self.names),
            "classes": len(self.classes),
            "rules": len(self.rules),
            "sources": len(self.sources),
            "vocabulary_concepts": len(self.vocabulary.concepts) if self.vocabulary else 0,
        }


def _json_default(value: object) -> object:
    if isinstance(value, AlertKind | Severity):
        return value.value
    raise TypeError(f"cannot serialise {value!r}")
