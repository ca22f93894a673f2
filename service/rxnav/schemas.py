"""Pydantic models of the RxNav-compatible answers: they document ``/REST`` in ``/openapi.json``.

NLM's conventions: every value is a string, repeating elements are arrays, empty elements are
omitted. Our additions (``checkId``, ``kind``, ``unrecognizedRxcuis``, ``note``) are described
where they appear; clients that do not know them ignore them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..shared_schemas import Problem


class _Open(BaseModel):
    # NLM's shapes grow; so may ours. Clients ignore what they do not know.
    model_config = ConfigDict(extra="allow")


class MinConcept(_Open):
    rxcui: str = Field(
        description="RxCUI ('' when the entry is about several drugs).", examples=["2598"]
    )
    name: str = Field(examples=["clonazepam"])
    tty: str = Field(description="RxNorm term type ('' when unknown).", examples=["IN"])


class SourceConceptItem(_Open):
    id: str = Field(
        description="The rule id (NA for not-checked and failure entries).", examples=["R1"]
    )
    name: str
    url: str = Field(description="The rule's first source, or NA.")


class InteractionConcept(_Open):
    minConceptItem: MinConcept
    sourceConceptItem: SourceConceptItem


class InteractionPair(_Open):
    interactionConcept: list[InteractionConcept]
    severity: str = Field(
        description='RxNav severity word ("high", …); "N/A" for entries saying what was NOT '
        "checked or that the check FAILED.",
        examples=["high"],
    )
    description: str = Field(
        description="Severity in capitals, summary and management; NOT CHECKED / CHECK FAILED "
        "entries say so first."
    )


class FullInteractionType(_Open):
    comment: str
    kind: str | None = Field(
        default=None,
        description="Extension: interaction, duplication, cumulative, dose, not-checked, "
        "check-failed (and others the service may add).",
        examples=["interaction"],
    )
    minConcept: list[MinConcept] = Field(description="The input drugs the entry is about.")
    interactionPair: list[InteractionPair]


class FullInteractionTypeGroup(_Open):
    sourceDisclaimer: str
    sourceName: str = Field(examples=["InteractionAlerts 3f2a9c0b1d4e"])
    fullInteractionType: list[FullInteractionType]


class ListUserInput(_Open):
    sources: list[str]
    rxcuis: list[str]


class InteractionList(_Open):
    """findInteractionsFromList: one entry per shown alert, most severe first, then what was not
    checked. OpenEMR reads only ``fullInteractionTypeGroup[0].fullInteractionType``."""

    nlmDisclaimer: str
    userInput: ListUserInput
    checkId: str | None = Field(default=None, description="Extension: the alert-log entry.")
    unrecognizedRxcuis: list[str] | None = Field(
        default=None, description="Extension: RxCUIs not recognised, so NOT checked."
    )
    note: str | None = Field(default=None, description="Extension: why the check is incomplete.")
    fullInteractionTypeGroup: list[FullInteractionTypeGroup] | None = Field(
        default=None, description="Absent only when the list was checked and nothing was found."
    )


class InteractionType(_Open):
    comment: str
    minConceptItem: MinConcept
    interactionPair: list[InteractionPair]


class InteractionTypeGroup(_Open):
    sourceDisclaimer: str
    sourceName: str
    interactionType: list[InteractionType]


class DrugUserInput(_Open):
    sources: list[str]
    rxcui: str


class DrugInteractions(_Open):
    """findDrugInteractions: everything the knowledge base says interacts with the drug."""

    nlmDisclaimer: str
    userInput: DrugUserInput
    checkId: str | None = Field(default=None, description="Extension: the alert-log entry.")
    interactionTypeGroup: list[InteractionTypeGroup] | None = None


class IdGroupBody(_Open):
    name: str = Field(examples=["Klonopin"])
    rxnormId: list[str] | None = Field(
        default=None, description="Omitted when nothing matches, as NLM did.", examples=[["202479"]]
    )


class IdGroup(_Open):
    """findRxcuiByString over the knowledge base's names."""

    idGroup: IdGroupBody


class ListProblem(Problem):
    """A ``list.json`` failure: a problem document that also says CHECK FAILED where OpenEMR looks."""

    fullInteractionTypeGroup: list[FullInteractionTypeGroup] = Field(
        description="One check-failed entry, for clients that ignore the HTTP status."
    )
